// The runtime's own frequent events (spec/trace-schema.md, "Runtime events"):
// what the network does to a message and what a client does. Like the node
// events of raft/events.h they are typed values, turned into a trace line by
// the fast encoder (trace/line_encoder.h) or into json by to_json (for sinks
// that want objects). They are views: the message, command or reason they
// point to lives only while the event is being written.
// The rare runtime events (partition, heal, cut, uncut, end) are still built
// as json by the runtime; they are a handful per run.
#pragma once

#include <cstdint>
#include <variant>

#include "raft/types.h"

namespace raftkv {
namespace rt {

// A message made by hand (a scenario), not sent by any node, put on the
// network; its `from` names the node it claims to come from.
struct Inject {
  const Message* msg = nullptr;
};
// The network lost a message (reason: node_down, loss, partition, cut, test).
struct Drop {
  const Message* msg = nullptr;
  const char* reason = "";
};
// The network will deliver a message twice.
struct Duplicate {
  const Message* msg = nullptr;
};
// A client began an operation (its seq-th) and will send it to `to`.
struct ClientInvoke {
  int client = 0;
  int64_t client_seq = 0;
  const Command* cmd = nullptr;
  int to = 0;
};
// A client put its request on the network.
struct ClientSend {
  int client = 0;
  int64_t client_seq = 0;
  int to = 0;
  const Message* msg = nullptr;
};
// A ClientReply reached its client.
struct ClientReceive {
  int client = 0;
  const Message* msg = nullptr;
};
// A client will try again (reason: not_leader or timeout) at node `to`.
struct ClientRetry {
  int client = 0;
  int64_t client_seq = 0;
  const char* reason = "";
  int to = 0;
};
// A client answered its caller (from 0 when no node did: the deadline passed).
struct ClientComplete {
  int client = 0;
  int64_t client_seq = 0;
  const Result* result = nullptr;
  int from = 0;
};

}  // namespace rt

using RuntimeEvent =
    std::variant<rt::Inject, rt::Drop, rt::Duplicate, rt::ClientInvoke, rt::ClientSend,
                 rt::ClientReceive, rt::ClientRetry, rt::ClientComplete>;

}  // namespace raftkv
