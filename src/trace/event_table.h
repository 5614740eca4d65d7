// The trace contract of spec/trace-schema.md as data: every event, every
// message type and every field, with its JSON type. Every reader of traces
// (check, replay, export-tla, the narrator) validates each line against these
// tables before it looks at the line, so the same malformed file gets the same
// verdict, naming the same line and field, from every command. A test compares
// the tables with the schema document's, so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace raftkv {
using json = nlohmann::json;
}  // namespace raftkv

namespace raftkv::trace {

// The schema version this code writes. Version 2 names a delivered message by
// id (`deliver.msg_id`) instead of repeating it; version 3 leaves a node
// line's `state` out when it equals the state of that node's previous line;
// version 4 writes only the fields of `state` that changed.
inline constexpr int kTraceVersion = 4;
// The oldest version this code reads: a version-3 trace is a valid version-4
// one (its states, whole where present, name every field, changed or not).
// A reader given another version rejects the file with version_mismatch's
// message.
inline constexpr int kOldestReadVersion = 3;
inline bool readable_version(int64_t v) { return v >= kOldestReadVersion && v <= kTraceVersion; }
// "version is 2; this raftkv reads version 3 and 4 traces (regenerate ...)":
// one wording for every command, so check, replay and export-tla agree.
std::string version_mismatch(int64_t version);
// A node line without `state` whose node has no earlier line with one: the
// line's state is unknown, which makes the file malformed. One wording for the
// nlohmann reader (TraceFraming) and the checker.
std::string missing_state(int64_t node);
// A node's first state (its first line that has one) without field `field`:
// the field is unknown, as no earlier line of the node gave it (schema
// version 4 writes only the fields that changed, so a node's first state
// must be whole).
std::string incomplete_state(int64_t node, std::string_view field);

// The fields of a node's state in the order a line writes them (sorted): the
// bit 1 << i of a state mask stands for kStateFields[i].
inline constexpr const char* kStateFields[] = {"applied", "commit", "last_index", "last_term",
                                               "role",    "term",   "vote"};
inline constexpr int kStateFieldCount = 7;
inline constexpr uint8_t kWholeState = 0x7f;

// Where an event comes from (spec/trace-schema.md, "Steps").
enum class EventKind {
  Input,    // begins a node's step: start, deliver, timeout, crash, restart
  Effect,   // a node's effect inside a step
  Runtime,  // the network, the clients, the fault schedule, the end
};

enum class FieldType {
  Int,  // an integer in [0, 2^31)
  Bool,
  String,  // any string, or one of FieldSpec::allowed
  IntArray,
  StringArray,
  Groups,       // array of arrays of node ids (partition)
  State,        // a node's post-state, every field (the end event's)
  StateChange,  // a node line's post-state: the fields that changed (schema v4)
  Message,      // checked against the message table
  Command,
  Entry,        // {term, cmd}
  Entries,      // array of Entry
  Result,       // {status, value}
  EndNodes,     // end: array of {node, state, store_digest, store_size}
  Object,       // an object with the fields FieldSpec::fields (the header's config)
  ObjectArray,  // an array of such objects
};

struct FieldSpec {
  const char* name;
  FieldType type;
  std::vector<std::string> allowed = {};  // String only: the values the schema allows (empty: any)
  std::vector<FieldSpec> fields = {};     // Object and ObjectArray only
  bool required = true;
};

struct EventSpec {
  const char* name;
  EventKind kind;
  std::vector<FieldSpec> fields;  // besides seq, t, event (and node, state on node events)
};

struct MessageSpec {
  const char* type;
  std::vector<FieldSpec> fields;  // besides id, type, from, to
};

// The tables, in the schema document's order.
const std::vector<EventSpec>& event_table();
const std::vector<MessageSpec>& message_table();
const EventSpec* find_event(std::string_view name);
// The names a header's planted_bugs may hold: the trace's vocabulary, kept
// here so the reader (and the checker on it) depends on no protocol code; a
// test holds it equal to raft/planted_bugs.cpp's table.
const std::vector<std::string>& planted_bug_vocabulary();
// Node events (input and effect) carry `node`, and `state` (the fields that
// changed, version 4) unless it is the state of the node's previous line
// (version 3); runtime events carry neither.
inline bool is_node_event(const EventSpec& e) { return e.kind != EventKind::Runtime; }
// The fields of the schema's nested objects, one definition for every validator (the nlohmann
// one below and the one of trace/fast_reader.h, which parses the writer's encoding).
const std::vector<FieldSpec>& event_common_fields(const EventSpec& event);  // seq, t, event (...)
const std::vector<FieldSpec>& message_common_fields();                      // id, type, from, to
const std::vector<FieldSpec>& state_fields();
const std::vector<FieldSpec>& state_change_fields();  // state_fields, none required
const std::vector<FieldSpec>& command_fields();
const std::vector<FieldSpec>& entry_fields();
const std::vector<FieldSpec>& result_fields();
const std::vector<FieldSpec>& end_node_fields();

// A line that breaks the contract; readers add the file name and line number.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The schema's encoding rules for any line: no null, every number an integer
// in [0, 2^31), nesting no deeper than 32.
void check_encoding(const json& line);
// An event line (line 2 onwards) against the tables: a known event, every
// field present with its type, no field the schema does not name. Throws
// SchemaError naming the field by its path (e.g. 'msg.entries[0].cmd.op').
void validate_event(const json& event);
// The header (line 1) of a raftkv-trace, version kTraceVersion: format, version, seed,
// planted_bugs (known names) and config (the keys config_to_json writes, each
// with its type; num_nodes and num_clients required, the rest optional since
// hand-made traces leave them out).
void validate_header(const json& header);

// The highest node id a trace with this (validated) header may name: its
// config.num_nodes, or the node of an add_node fault (thesis §4.1: servers
// that join later have the ids above num_nodes).
int64_t max_node_id(const json& header);

}  // namespace raftkv::trace
