// JSON form of the protocol types, exactly as spec/trace-schema.md defines it.
// Encoding writes every field of a message type (no nulls); decoding accepts
// only that form and throws CodecError naming the offending field.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "raft/events.h"
#include "raft/types.h"
#include "trace/runtime_events.h"

namespace raftkv {

using json = nlohmann::json;

class CodecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

json to_json(const Command& cmd);
json to_json(const Entry& entry);
json to_json(const std::vector<Entry>& entries);
json to_json(const Result& result);
json to_json(const Message& msg);

// A node's state as the trace's `state` object; a node that is down shows
// role "down" with the values it held when it crashed.
json to_json(const NodeState& state, bool up = true);
// Schema version 4's rule for a node line's `state` on the json path: `last`
// is the node's last state (null before its first line) and becomes `state`;
// `state` keeps only the fields that differ from it (all, for a first state).
// Returns false when none differs: the line leaves `state` out.
bool keep_changed_state(json& state, json& last);
// The schema's name of an effect event ("term_update", "append", ...).
const char* event_name(const NodeEventBody& body);
// An effect event as a trace line (without seq and t, which the runtime adds).
json to_json(const NodeEvent& event, int node);
// A runtime event (drop, duplicate, client_*) as a trace line without seq and t.
json to_json(const RuntimeEvent& event);

// The reverse of the encoders above: a trace line's effect event as the typed
// value the node reported (its node in *node), and a `state` object (*up is
// false for role "down"). Throws CodecError naming the field that is wrong.
NodeEvent node_event_from_json(const json& j, int* node);
NodeState node_state_from_json(const json& j, bool* up);

Command command_from_json(const json& j);
Entry entry_from_json(const json& j);
Result result_from_json(const json& j);
Message message_from_json(const json& j);

// A header's `initial_state` (spec/trace-schema.md): what a node holds on
// disk before it boots, as Figure 2's persistent state.
struct InitialNodeState {
  int node = 0;
  int64_t term = 0;
  int vote = 0;
  std::vector<Entry> log;
};
// The header's initial_state, or none when it has no such key.
std::vector<InitialNodeState> initial_state_from_header(const json& header);
json to_json(const std::vector<InitialNodeState>& states);

Op op_from_string(const std::string& s);
Status status_from_string(const std::string& s);
MsgType msg_type_from_string(const std::string& s);

}  // namespace raftkv
