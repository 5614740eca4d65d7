// The fast encoder: the events that make up nearly all of a trace (a node's
// effects, its sends and deliveries, its timers) written straight from their
// typed values into a JSON line, byte for byte what appending to_json() of the
// same event would give (keys in sorted order, as nlohmann::json orders them),
// without building a json object. A test compares the two on whole runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft/events.h"
#include "raft/types.h"
#include "trace/line_buffer.h"
#include "trace/runtime_events.h"

namespace raftkv {

// Each node's last written state. A node's state changes on few of its events
// (a term, a commit, an append), and then in one or two fields, so a node
// line carries `state` only when it differs from the one the node's previous
// line carried or implied (schema version 3), and then only the fields that
// changed (version 4; the node's first line has all of them).
class StateCache {
 public:
  // The fields a line of node `node` in state `s` (role "down" if !up) must
  // write, as a mask over trace::kStateFields: those that differ from the
  // node's last state, all of them if there was none, 0 if the line leaves
  // `state` out. Every node line asks exactly once, in trace order.
  uint8_t changed(int node, const NodeState& s, bool up);

 private:
  struct Slot {
    bool valid = false;
    bool up = true;
    NodeState state;
  };
  std::vector<Slot> slots_;  // index = node id
};

// Appends `{"...":...}` for an effect event of `node` at (seq, t).
// Each appending function writes to a std::string or, without the copy a
// string needs (trace/line_buffer.h), to a LineBuffer.
void append_node_event(std::string& out, StateCache& states, const NodeEvent& event, int node,
                       int64_t seq, int64_t t);
void append_node_event(LineBuffer& out, StateCache& states, const NodeEvent& event, int node,
                       int64_t seq, int64_t t);

// Appends a node's input or send event: "send" (with `msg`), "deliver" (with
// `msg_id`, the id of `msg`),
// "timeout" (with `timer`), "start", "crash" or "restart" (msg and timer null),
// "transfer" (with `to`, the transfer's target; 0 for every other event),
// "join", "leave", "change" (with `action` "add"/"remove" and its target in `to`).
void append_node_input(std::string& out, StateCache& states, const char* event, int node,
                       const NodeState& state, bool up, const Message* msg, const char* timer,
                       int64_t seq, int64_t t, int to = 0, const char* action = nullptr);
void append_node_input(LineBuffer& out, StateCache& states, const char* event, int node,
                       const NodeState& state, bool up, const Message* msg, const char* timer,
                       int64_t seq, int64_t t, int to = 0, const char* action = nullptr);

// Appends a runtime event (drop, duplicate, client_*) at (seq, t).
void append_runtime_event(std::string& out, const RuntimeEvent& event, int64_t seq, int64_t t);
void append_runtime_event(LineBuffer& out, const RuntimeEvent& event, int64_t seq, int64_t t);

// Appends a message object as the trace writes it.
void append_message(std::string& out, const Message& m);

// Deferred lines. A sink whose buffer is written out on another thread
// (FileSink) may take, in place of the text of one of a run's most frequent
// lines (a deliver; a progress, persist, commit, append or apply; the send of
// an AppendEntries, AppendEntriesResponse, CommitNotification or ClientReply;
// a client's invoke, send, receive and complete: nearly all of a steady
// run's lines), a record of the line's values: the run's thread then
// copies the values instead of formatting them, and expand_deferred, on the
// sink's thread, writes the very text the append_* functions above would
// have, with the same writers. The two threads of a traced run then share
// the encoding. Which of its state's fields the line carries is decided when
// the record is made (the StateCache is the run's), so a record holds the
// state and the mask of the fields to write.
//
// Each defer_* appends a record for the line and returns true, or returns
// false having changed nothing (not a kind that is deferred: the caller
// writes the line as text). A record starts with the byte kDeferredMark, which
// the text of a line never holds (JSON escapes control characters inside
// strings), and its length follows from its contents.
inline constexpr char kDeferredMark = '\x01';
bool defer_node_event(std::string& out, StateCache& states, const NodeEvent& event, int node,
                      int64_t seq, int64_t t);
bool defer_node_event(LineBuffer& out, StateCache& states, const NodeEvent& event, int node,
                      int64_t seq, int64_t t);
bool defer_deliver(std::string& out, StateCache& states, int node, const NodeState& state, bool up,
                   int64_t msg_id, int64_t seq, int64_t t);
bool defer_deliver(LineBuffer& out, StateCache& states, int node, const NodeState& state, bool up,
                   int64_t msg_id, int64_t seq, int64_t t);
bool defer_send(std::string& out, StateCache& states, int node, const NodeState& state,
                const Message& m, int64_t seq, int64_t t);
bool defer_send(LineBuffer& out, StateCache& states, int node, const NodeState& state,
                const Message& m, int64_t seq, int64_t t);
bool defer_runtime_event(std::string& out, const RuntimeEvent& event, int64_t seq, int64_t t);
bool defer_runtime_event(LineBuffer& out, const RuntimeEvent& event, int64_t seq, int64_t t);
// Appends `block` to `out` with each record in it replaced by its line's text.
void expand_deferred(std::string_view block, std::string& out);
void expand_deferred(std::string_view block, LineBuffer& out);

}  // namespace raftkv
