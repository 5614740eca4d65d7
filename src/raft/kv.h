// The replicated state machine: a string -> string map with the seed's
// semantics, plus per-client deduplication that makes client commands take
// effect exactly once and in each client's order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "raft/types.h"

namespace raftkv {

// How the state machine recognises client commands that must not execute.
// Only Full is correct; the others are planted bugs (raft/planted_bugs.h).
enum class DedupMode {
  Full,         // a seq at or below the client's last applied seq never executes
  LastSeqOnly,  // planted bug dedup_last_seq_only: only a repeat of the last seq is caught
  Off,          // planted bug no_client_dedup: every command executes
};

class KvStore {
 public:
  // Applies one committed command and returns its result:
  //   put(k, v): ok if k was absent (k := v), else key_exists
  //   get(k):    ok with the value, else not_found
  //   delete(k): ok if k was present (removed), else not_found
  //   noop:      ok, no change
  // Exactly-once, in client order (Raft §8; a client has one request in
  // flight and numbers its requests 1, 2, 3, ...). For a client command with
  // seq s and the client's last applied seq L:
  //   s > L: executes, and (s, result) becomes the client's last applied;
  //   s = L: a retry of the command that took effect: the remembered result,
  //          no change (so a retried put never reports key_exists because of
  //          its own first attempt);
  //   s < L: an old request that committed after a later one of its client
  //          (a duplicated or abandoned retry): executing it now would run it
  //          twice or out of order, so it does not execute; its result is
  //          `stale`, which no client waits for (the client is past s).
  // Noops and client 0 (requests injected by tests) are never deduplicated.
  Result apply(const Command& cmd, DedupMode mode = DedupMode::Full);

  const std::map<std::string, std::string>& data() const { return data_; }
  // FNV-1a 64 over the sorted "key=value\n" lines, as 16 hex digits.
  std::string digest() const;

 private:
  struct LastApplied {
    int64_t seq = 0;
    Result result;
    bool known = false;  // a slot of dense_sessions_ no command has filled
  };
  Result execute(const Command& cmd);
  LastApplied* find_session(int client);
  LastApplied& add_session(int client);

  // Runtime clients are numbered 1..num_clients, so their sessions sit in a
  // vector indexed by client id: this lookup runs for every entry every node
  // applies, and an unordered_map's bucket index (a division) and node chase
  // cost more than the rest of apply(). Other ids (tests may use any int)
  // go to the map.
  static constexpr int kDenseClients = 4096;
  std::map<std::string, std::string> data_;  // ordered: digest needs order
  std::vector<LastApplied> dense_sessions_;
  std::unordered_map<int, LastApplied> sparse_sessions_;
};

// FNV-1a 64 of a byte string, continuing from `hash` (start from
// kFnv1a64Offset). Published vectors: "" -> cbf29ce484222325,
// "a" -> af63dc4c8601ec8c.
inline constexpr uint64_t kFnv1a64Offset = 14695981039346656037ull;
uint64_t fnv1a64(const std::string& bytes, uint64_t hash = kFnv1a64Offset);

}  // namespace raftkv
