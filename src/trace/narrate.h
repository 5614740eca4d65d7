// The human narrative of a run: one readable, time-stamped line for each
// trace event worth reading, in the spirit of the seed's per-actor output.
// `raftkv run` prints it live and `raftkv replay --narrate` prints it from a
// trace file, with the same code, so the two always agree.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "trace/codec.h"

namespace raftkv {

class Narrator {
 public:
  // The line for one event, or nothing for events too fine-grained to print
  // (persist, empty heartbeats and their acks, CommitNotification sends).
  std::optional<std::string> line(const json& event);

 private:
  std::map<std::pair<int64_t, int64_t>, int64_t> invoked_at_;  // (client, seq) -> t
};

// "PUT "a" = "val_3"", "GET "a"", "DELETE "a"", "NOOP".
std::string describe_command(const json& cmd);
// "ok", "\"val_3\"", "key_exists", ...
std::string describe_result(const json& result);

}  // namespace raftkv
