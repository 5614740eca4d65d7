// The human narrative of a run: one readable, time-stamped line for each
// trace event worth reading, in the spirit of the seed's per-actor output.
// `raftkv run` prints it live and `raftkv replay --narrate` prints it from a
// trace file, with the same code, so the two always agree.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "trace/codec.h"

namespace raftkv {

class Narrator {
 public:
  // The line for one event, or nothing for events too fine-grained to print
  // (persist, empty heartbeats and their acks, CommitNotification sends).
  std::optional<std::string> line(const json& event);

 private:
  // A deliver names its message by id (schema v2), so the narrator keeps the
  // sent messages a delivery narrates (vote replies, refused AppendEntries,
  // client requests), each until its last copy is delivered or dropped.
  struct Pending {
    json msg;
    int copies = 1;
  };
  void note_message(const std::string& event, const json& ev);
  const json& delivered_message(const json& ev) const;

  std::map<std::pair<int64_t, int64_t>, int64_t> invoked_at_;  // (client, seq) -> t
  std::unordered_map<int64_t, Pending> pending_;               // msg id -> message
};

// "PUT "a" = "val_3"", "GET "a"", "DELETE "a"", "NOOP".
std::string describe_command(const json& cmd);
// "ok", "\"val_3\"", "key_exists", ...
std::string describe_result(const json& result);

}  // namespace raftkv
