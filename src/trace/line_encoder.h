// The fast encoder: the events that make up nearly all of a trace (a node's
// effects, its sends and deliveries, its timers) written straight from their
// typed values into a JSON line, byte for byte what appending to_json() of the
// same event would give (keys in sorted order, as nlohmann::json orders them),
// without building a json object. A test compares the two on whole runs.
#pragma once

#include <cstdint>
#include <string>

#include "raft/events.h"
#include "raft/types.h"

namespace raftkv {

// Appends `{"...":...}` for an effect event of `node` at (seq, t).
void append_node_event(std::string& out, const NodeEvent& event, int node, int64_t seq, int64_t t);

// Appends a node's input or send event: "deliver"/"send" (with `msg`),
// "timeout" (with `timer`), "start", "crash" or "restart" (msg and timer null).
void append_node_input(std::string& out, const char* event, int node, const NodeState& state,
                       bool up, const Message* msg, const char* timer, int64_t seq, int64_t t);

// Appends a message object as the trace writes it.
void append_message(std::string& out, const Message& m);

}  // namespace raftkv
