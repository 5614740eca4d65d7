// The replicated state machine: a string -> string map with the seed's
// semantics, plus per-client deduplication of retried commands.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "raft/types.h"

namespace raftkv {

class KvStore {
 public:
  // Applies one committed command and returns its result:
  //   put(k, v): ok if k was absent (k := v), else key_exists
  //   get(k):    ok with the value, else not_found
  //   delete(k): ok if k was present (removed), else not_found
  //   noop:      ok, no change
  // A command whose (client, seq) equals that client's last applied seq is a
  // retry of a command that already took effect: it returns the remembered
  // result and changes nothing, so a retried put never reports key_exists
  // because of its own first attempt. A command with an older seq (an
  // abandoned request that committed late) executes normally but does not
  // replace the remembered result. `dedup` = false plants the "client dedup
  // off" bug.
  Result apply(const Command& cmd, bool dedup = true);

  const std::map<std::string, std::string>& data() const { return data_; }
  // FNV-1a 64 over the sorted "key=value\n" lines, as 16 hex digits.
  std::string digest() const;

 private:
  struct LastApplied {
    int64_t seq = 0;
    Result result;
  };
  Result execute(const Command& cmd);

  std::map<std::string, std::string> data_;  // ordered: digest needs order
  std::unordered_map<int, LastApplied> sessions_;
};

}  // namespace raftkv
