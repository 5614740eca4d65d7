#include "replay/replay.h"

#include <deque>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>

#include "config/config.h"
#include "config/config_json.h"
#include "raft/node.h"
#include "raft/node_set.h"
#include "trace/codec.h"
#include "trace/event_table.h"
#include "trace/narrate.h"
#include "trace/reader.h"

namespace raftkv {
namespace {

// Feeds the nodes inputs through the NodeSet the runtime uses too, turning
// each step's Effects into the trace events the runtime would write.
class Driver {
 public:
  Driver(int num_nodes, NodeOptions options)
      : nodes_(num_nodes, options), started_(static_cast<size_t>(num_nodes) + 1, false) {}

  // Has the node had its start event? (Before it, the trace knows no state.)
  bool exists(int id) const { return nodes_.exists(id) && started_[static_cast<size_t>(id)]; }
  bool up(int id) const { return nodes_.is_up(id); }

  json state(int id) const { return to_json(nodes_.node(id).state(), nodes_.is_up(id)); }
  const Node& node(int id) const { return nodes_.node(id); }

  std::vector<json> start(int id) {
    started_[static_cast<size_t>(id)] = true;
    nodes_.up(id);
    return step(id, [&](Effects& fx) { nodes_.start(id, fx); });
  }
  std::vector<json> timeout(int id, Timer timer) {
    return step(id, [&](Effects& fx) { nodes_.timeout(id, timer, fx); });
  }
  std::vector<json> deliver(const Message& m) {
    return step(m.to, [&](Effects& fx) { nodes_.deliver(m, fx); });
  }
  void crash(int id) { nodes_.crash(id); }
  void restart_node(int id) { nodes_.restart(id); }
  std::vector<json> start_existing(int id) {
    return step(id, [&](Effects& fx) { nodes_.start(id, fx); });
  }

  // Messages of the last step, in send order (ids not yet assigned).
  std::vector<Message>& last_messages() { return last_messages_; }

 private:
  template <typename F>
  std::vector<json> step(int id, F input) {
    Effects fx;
    fx.trace = true;
    input(fx);
    std::vector<json> out;
    for (const NodeEvent& e : fx.events) out.push_back(to_json(e, id));
    last_messages_ = std::move(fx.messages);
    for (Message& m : last_messages_) {
      m.from = id;
      out.push_back(
          json{{"event", "send"}, {"node", id}, {"state", state(id)}, {"msg", to_json(m)}});
    }
    return out;
  }

  NodeSet nodes_;
  std::vector<bool> started_;
  std::vector<Message> last_messages_;
};

NodeOptions options_from_header(const LineReader& r, const json& header, int* num_nodes) {
  NodeOptions options;
  const json* cfg = &header;
  if (header.contains("config")) cfg = &header["config"];
  if (!cfg->is_object()) r.fail("'config' must be an object");
  *num_nodes = static_cast<int>(get_int(r, *cfg, "num_nodes"));
  if (*num_nodes < 1 || *num_nodes > 1000) r.fail("num_nodes must be in 1..1000");
  if (cfg->contains("leader_noop")) {
    if (!(*cfg)["leader_noop"].is_boolean()) r.fail("'leader_noop' must be a boolean");
    options.leader_noop = (*cfg)["leader_noop"].get<bool>();
  }
  if (header.contains("planted_bugs")) {
    const json& bugs = header["planted_bugs"];
    if (!bugs.is_array()) r.fail("'planted_bugs' must be an array of names");
    for (const json& b : bugs) {
      if (!b.is_string() || !plant_bug(options.bugs, b.get<std::string>())) {
        r.fail("unknown planted bug " + b.dump());
      }
    }
  }
  return options;
}

json strip(json ev) {
  ev.erase("seq");
  ev.erase("t");
  return ev;
}

// --- Trace mode -------------------------------------------------------------

ReplayResult compare_trace(LineReader& r, const json& header, const ReplayOptions& opts,
                           TraceFraming& framing) {
  int n = 0;
  NodeOptions options = options_from_header(r, header, &n);
  Driver d(n, options);
  ReplayResult result;
  Narrator narrator;
  std::deque<json> expected;  // effects the node produced that the trace must show next
  int64_t expected_from_line = 0;
  std::map<int64_t, json> sent;  // message id -> message as sent

  auto diverge = [&](int64_t line, const std::string& what) {
    result.identical = false;
    result.divergence_line = line;
    result.divergence = what;
  };
  // Ends a step: the node must not have produced anything the trace lacks.
  auto close_step = [&]() {
    if (expected.empty()) return true;
    diverge(r.line(), "the node produced an event the trace does not have (step began at line " +
                          std::to_string(expected_from_line) + "): actual " +
                          expected.front().dump());
    return false;
  };
  auto node_of = [&](const json& ev) {
    int id = static_cast<int>(get_int(r, ev, "node"));
    if (id < 1 || id > n) r.fail("node " + std::to_string(id) + " does not exist");
    return id;
  };

  // A message the network drops, duplicates or hands to a client must be
  // one that was sent, unchanged.
  auto check_sent = [&](const json& ev, const std::string& what) {
    if (!ev.contains("msg") || !ev["msg"].is_object()) r.fail(what + " without a msg object");
    int64_t id = get_int(r, ev["msg"], "id");
    auto it = sent.find(id);
    if (it == sent.end()) {
      diverge(r.line(), what + " of message #" + std::to_string(id) + ", which was never sent");
      return false;
    }
    if (it->second != ev["msg"]) {
      diverge(r.line(), what + " of message #" + std::to_string(id) +
                            " differs from the one sent: sent " + it->second.dump() + ", " + what +
                            " " + ev["msg"].dump());
      return false;
    }
    return true;
  };

  // The message a deliver names by its msg_id (schema v2): the one an earlier
  // send or client_send carried, or a divergence if none did.
  auto delivered_message = [&](const json& ev) -> std::optional<Message> {
    int64_t id = get_int(r, ev, "msg_id");
    auto it = sent.find(id);
    if (it == sent.end()) {
      diverge(r.line(), "delivers message #" + std::to_string(id) + ", which was never sent");
      return std::nullopt;
    }
    try {
      return message_from_json(it->second);
    } catch (const CodecError& e) {
      r.fail("message #" + std::to_string(id) + " as sent: " + e.what());
    }
  };

  // Copies of each message the network still holds: one per send, one more
  // per duplicate; every delivery or drop takes one.
  std::map<int64_t, int> copies;
  auto take_copy = [&](int64_t id, const std::string& what) {
    if (--copies[id] < 0) {
      diverge(r.line(), what + " of message #" + std::to_string(id) +
                            " once more than it was sent and duplicated");
      return false;
    }
    return true;
  };
  // Client bookkeeping: the command each operation invoked, and the last
  // reply each client received.
  std::map<std::pair<int64_t, int64_t>, json> invoked;
  std::map<int64_t, json> last_reply;

  json ev;
  while (r.next(ev)) {
    ++result.events;
    std::string name = framing.read(r, ev);
    if (opts.narrate) {
      if (auto text = narrator.line(ev)) *opts.narrate << *text << '\n';
    }

    if (is_effect_event(name)) {
      if (expected.empty()) {
        diverge(r.line(), "the trace has an event the node did not produce: " + ev.dump());
        return result;
      }
      json actual = expected.front();
      expected.pop_front();
      if (name == "send") {
        // Message ids are assigned by the runtime, not the node.
        if (!ev.contains("msg") || !ev["msg"].is_object()) r.fail("send without a msg object");
        actual["msg"]["id"] = get_int(r, ev["msg"], "id");
        sent[actual["msg"]["id"].get<int64_t>()] = actual["msg"];
        ++copies[actual["msg"]["id"].get<int64_t>()];
      }
      if (strip(ev) != actual) {
        diverge(r.line(),
                "expected (trace) " + strip(ev).dump() + "\n  actual (code)  " + actual.dump());
        return result;
      }
      continue;
    }
    if (is_runtime_event(name)) {
      if (name == "client_send") {
        if (!ev.contains("msg") || !ev["msg"].is_object()) r.fail("client_send without msg");
        sent[get_int(r, ev["msg"], "id")] = ev["msg"];
        ++copies[get_int(r, ev["msg"], "id")];
      }
      if (name == "drop" || name == "duplicate" || name == "client_receive") {
        if (!check_sent(ev, name)) return result;
        if (name == "duplicate") {
          ++copies[ev["msg"]["id"].get<int64_t>()];
        } else if (!take_copy(ev["msg"]["id"].get<int64_t>(), name)) {
          return result;
        }
      }
      if (name == "client_invoke") {
        invoked[{get_int(r, ev, "client"), get_int(r, ev, "client_seq")}] = ev.value("cmd", json());
      }
      if (name == "client_send") {
        auto it = invoked.find({get_int(r, ev, "client"), get_int(r, ev, "client_seq")});
        if (it != invoked.end() && it->second != ev["msg"].value("cmd", json())) {
          diverge(r.line(), "client sends " + ev["msg"].value("cmd", json()).dump() +
                                " for an operation that invoked " + it->second.dump());
          return result;
        }
      }
      if (name == "client_receive") last_reply[get_int(r, ev, "client")] = ev["msg"];
      if (name == "client_complete") {
        // A final result other than unknown is the one the client was just told.
        int64_t client = get_int(r, ev, "client");
        json res = ev.value("result", json());
        if (res.value("status", "") != "unknown") {
          auto it = last_reply.find(client);
          if (it == last_reply.end() ||
              it->second.value("seq", int64_t{-1}) != get_int(r, ev, "client_seq") ||
              it->second.value("result", json()) != res) {
            diverge(r.line(),
                    "client " + std::to_string(client) + " completes with " + res.dump() +
                        ", but its last reply was " +
                        (it == last_reply.end() ? std::string("none") : it->second.dump()));
            return result;
          }
        }
      }
      if (name == "end") {
        if (!close_step()) return result;
        if (!ev.contains("nodes") || !ev["nodes"].is_array()) r.fail("end without nodes");
        for (const json& ns : ev["nodes"]) {
          int id = node_of(ns);
          if (!d.exists(id)) continue;
          json want = json{{"state", ns.value("state", json())},
                           {"store_digest", ns.value("store_digest", std::string())},
                           {"store_size", ns.value("store_size", int64_t{-1})}};
          json have = json{{"state", d.state(id)},
                           {"store_digest", d.node(id).store().digest()},
                           {"store_size", static_cast<int64_t>(d.node(id).store().data().size())}};
          if (want != have) {
            diverge(r.line(), "final state of node " + std::to_string(id) + ": expected " +
                                  want.dump() + ", actual " + have.dump());
            return result;
          }
        }
      }
      continue;
    }
    if (!is_input_event(name)) r.fail("unknown event '" + name + "'");

    // An input event: the previous step must be fully accounted for.
    if (!close_step()) return result;
    ++result.steps;
    expected_from_line = r.line();
    int id = node_of(ev);
    if (!ev.contains("state") || !ev["state"].is_object()) r.fail("input event without state");
    std::vector<json> produced;
    if (name == "start") {
      produced = d.start(id);
    } else if (name == "restart") {
      if (!d.exists(id) || d.up(id)) {
        diverge(r.line(), "restart of node " + std::to_string(id) + ", which is not crashed");
        return result;
      }
      d.restart_node(id);
    } else if (!d.exists(id) || !d.up(id)) {
      diverge(r.line(), name + " at node " + std::to_string(id) + ", which is not running");
      return result;
    }
    // The input's recorded state is the node's state when the input arrived
    // (after a crash or restart: the state that resulted).
    if (name == "crash") d.crash(id);
    if (name != "start" && ev["state"] != d.state(id)) {
      diverge(r.line(), "state of node " + std::to_string(id) + " before the step: expected " +
                            ev["state"].dump() + ", actual " + d.state(id).dump());
      return result;
    }
    if (name == "restart") {
      produced = d.start_existing(id);
    } else if (name == "timeout") {
      std::string timer = get_str(r, ev, "timer");
      Timer t = timer == "heartbeat"        ? Timer::Heartbeat
                : timer == "start_election" ? Timer::StartElection
                : timer == "election"       ? Timer::Election
                                            : (r.fail("unknown timer '" + timer + "'"), Timer{});
      produced = d.timeout(id, t);
    } else if (name == "deliver") {
      std::optional<Message> m = delivered_message(ev);
      if (!m) return result;
      if (m->to != id) r.fail("deliver: msg.to is not the event's node");
      if (!take_copy(m->id, "delivery")) return result;
      produced = d.deliver(*m);
    }
    if (name == "start" && ev["state"] != d.state(id)) {
      diverge(r.line(), "state of node " + std::to_string(id) + " at start: expected " +
                            ev["state"].dump() + ", actual " + d.state(id).dump());
      return result;
    }
    expected.assign(produced.begin(), produced.end());
  }
  close_step();
  return result;
}

// After a divergence, the rest of the file: it must still be a whole trace
// (one JSON object per line, consecutive seq, ending with its end event).
void read_rest_of_trace(LineReader& r, TraceFraming& framing) {
  json ev;
  while (r.next(ev)) framing.read(r, ev);
}

ReplayResult replay_trace(LineReader& r, const json& header, const ReplayOptions& opts) {
  TraceFraming framing;
  ReplayResult result = compare_trace(r, header, opts, framing);
  // A divergence in a file that is not a whole trace is where the file was
  // cut or broken (a trace cut inside a step lacks the step's last effects),
  // not a difference in the code: the input is malformed.
  if (!result.identical) read_rest_of_trace(r, framing);
  // spec/trace-schema.md: a trace ends with its end event; without it the
  // file was cut short, and what is missing cannot be compared.
  framing.finish(r);
  return result;
}

// --- Scenario mode ----------------------------------------------------------

ReplayResult run_scenario(LineReader& r, const json& header, const ReplayOptions& opts) {
  int n = 0;
  NodeOptions options = options_from_header(r, header, &n);
  Driver d(n, options);
  Config cfg;
  cfg.num_nodes = n;
  cfg.num_clients = 0;
  cfg.requests_per_client = 0;
  cfg.initial_leader = 0;
  cfg.seed = 0;
  cfg.leader_noop = options.leader_noop;

  ReplayResult result;
  result.scenario = true;
  Narrator narrator;
  int64_t seq = 1, t = 0, next_id = 1;
  std::map<int64_t, Message> sent;
  std::set<int64_t> pending;  // sent to a node, neither delivered nor dropped yet
  // Copies of each message the network holds, as replay and the checker count
  // them: one per send, one more per duplicate; a delivery or drop takes one.
  std::map<int64_t, int> copies;
  auto write = [&](json ev) {
    ev["seq"] = seq++;
    ev["t"] = t;
    ++result.events;
    if (opts.trace_out) *opts.trace_out << ev.dump() << '\n';
    if (opts.narrate) {
      if (auto text = narrator.line(ev)) *opts.narrate << *text << '\n';
    }
  };
  auto write_step = [&](std::vector<json> events) {
    size_t k = 0;
    for (json& e : events) {
      if (e["event"] == "send") {
        Message& m = d.last_messages()[k++];
        m.id = next_id++;
        e["msg"]["id"] = m.id;
        sent[m.id] = m;
        copies[m.id] = 1;
        if (m.type != MsgType::ClientReply) pending.insert(m.id);
      }
      write(std::move(e));
    }
    ++result.steps;
  };
  auto input = [&](const char* name, int id, json fields = json::object()) {
    fields["event"] = name;
    fields["node"] = id;
    fields["state"] = d.state(id);
    write(std::move(fields));
  };

  auto deliver_or_drop = [&](const Message& m, bool drop) {
    pending.erase(m.id);
    // Delivering (or dropping) a message once more than it was sent is a
    // duplicate: the trace says so first, as the runtime does at send time,
    // so that the extra delivery is accounted for.
    if (copies[m.id] == 0) {
      write(json{{"event", "duplicate"}, {"msg", to_json(m)}});
      ++copies[m.id];
    }
    --copies[m.id];
    if (drop || !d.up(m.to)) {
      // A scenario's drop is a lost message: the schema's "loss".
      write(json{{"event", "drop"}, {"msg", to_json(m)}, {"reason", drop ? "loss" : "node_down"}});
      return;
    }
    input("deliver", m.to, json{{"msg_id", m.id}});
    Message copy = m;
    write_step(d.deliver(copy));
  };

  if (opts.trace_out) {
    *opts.trace_out << json{{"format", "raftkv-trace"},
                            {"version", trace::kTraceVersion},
                            {"seed", 0},
                            {"config", config_to_json(cfg)},
                            {"planted_bugs", planted_bug_list(options.bugs)}}
                           .dump()
                    << '\n';
  }
  // Every node boots at time 0, as in a run.
  for (int id = 1; id <= n; ++id) {
    d.start(id);  // creates the node; its start step has no traced effects
    input("start", id);
  }

  json ev;
  while (r.next(ev)) {
    std::string name = get_str(r, ev, "event");
    if (ev.contains("t")) {
      int64_t nt = get_int(r, ev, "t");
      if (nt < t) r.fail("'t' goes backwards");
      t = nt;
    } else {
      t += 1;
    }
    auto node_id = [&]() {
      int id = static_cast<int>(get_int(r, ev, "node"));
      if (id < 1 || id > n) r.fail("node " + std::to_string(id) + " does not exist");
      return id;
    };
    if (name == "timeout") {
      int id = node_id();
      std::string timer = ev.value("timer", std::string("election"));
      if (timer != "election" && timer != "heartbeat" && timer != "start_election") {
        r.fail("unknown timer '" + timer + "'");
      }
      if (!d.up(id)) r.fail("timeout at node " + std::to_string(id) + ", which is crashed");
      // The runtime discards a heartbeat timer at a non-leader and an election
      // timer at a leader without tracing them; a scenario may not fire them
      // either (the spec has no action for a timer that does nothing).
      bool leader = d.node(id).role() == Role::Leader;
      if (timer == "heartbeat" && !leader) {
        r.fail("heartbeat timeout at node " + std::to_string(id) +
               ", which is not leader (only a leader's heartbeat timer fires)");
      }
      if (timer != "heartbeat" && leader) {
        r.fail(timer + " timeout at node " + std::to_string(id) +
               ", which is leader (a leader's election timer does not fire)");
      }
      input("timeout", id, json{{"timer", timer}});
      write_step(d.timeout(id, timer == "heartbeat"        ? Timer::Heartbeat
                               : timer == "start_election" ? Timer::StartElection
                                                           : Timer::Election));
    } else if (name == "deliver" || name == "drop") {
      int64_t id = get_int(r, ev, "id");
      auto it = sent.find(id);
      if (it == sent.end()) r.fail("no message #" + std::to_string(id) + " has been sent yet");
      if (it->second.type == MsgType::ClientReply) {
        r.fail("message #" + std::to_string(id) + " is a ClientReply; clients are not emulated");
      }
      deliver_or_drop(it->second, name == "drop");
    } else if (name == "deliver_pending") {
      // Every message pending now (not those this event's deliveries send),
      // in id order, optionally only those to or from the listed nodes.
      auto listed = [&](const char* key, int id) {
        if (!ev.contains(key)) return true;
        if (!ev[key].is_array()) r.fail(std::string("'") + key + "' must be a list of node ids");
        for (const json& x : ev[key]) {
          if (x == id) return true;
        }
        return false;
      };
      std::vector<int64_t> batch(pending.begin(), pending.end());
      for (int64_t id : batch) {
        const Message& m = sent[id];
        if (listed("to", m.to) && listed("from", m.from)) deliver_or_drop(m, false);
      }
    } else if (name == "client_request") {
      int id = node_id();
      if (!ev.contains("cmd") || !ev["cmd"].is_object()) r.fail("client_request needs 'cmd'");
      json cmd = ev["cmd"];
      for (const char* k : {"key", "value"}) {
        if (!cmd.contains(k)) cmd[k] = "";
      }
      for (const char* k : {"client", "seq"}) {
        if (!cmd.contains(k)) cmd[k] = 0;
      }
      Message m;
      m.type = MsgType::ClientRequest;
      m.to = id;
      m.id = next_id++;
      try {
        m.cmd = command_from_json(cmd);
      } catch (const CodecError& e) {
        r.fail(std::string("cmd: ") + e.what());
      }
      m.client = m.cmd.client;
      sent[m.id] = m;
      copies[m.id] = 1;
      write(json{{"event", "client_send"},
                 {"client", m.client},
                 {"client_seq", m.cmd.seq},
                 {"to", id},
                 {"msg", to_json(m)}});
      deliver_or_drop(m, false);  // a client request arrives at once
    } else if (name == "crash") {
      int id = node_id();
      if (!d.up(id)) r.fail("crash of node " + std::to_string(id) + ", which is already down");
      d.crash(id);
      input("crash", id);
      ++result.steps;
    } else if (name == "restart") {
      int id = node_id();
      if (d.up(id)) r.fail("restart of node " + std::to_string(id) + ", which is running");
      d.restart_node(id);
      input("restart", id);
      write_step(d.start_existing(id));
    } else {
      r.fail("unknown scenario event '" + name +
             "' (expected timeout, deliver, deliver_pending, drop, client_request, crash or "
             "restart)");
    }
  }
  json nodes = json::array();
  for (int id = 1; id <= n; ++id) {
    nodes.push_back(json{{"node", id},
                         {"state", d.state(id)},
                         {"store_digest", d.node(id).store().digest()},
                         {"store_size", d.node(id).store().data().size()}});
  }
  write(json{{"event", "end"}, {"nodes", nodes}});
  return result;
}

}  // namespace

ReplayResult replay(std::istream& in, const std::string& name, const ReplayOptions& opts) {
  LineReader r(in, name);
  json header;
  if (!r.next(header)) r.fail_at_end("empty file (expected a header line)");
  const bool scenario = header.value("format", json()) == "raftkv-scenario";
  if (scenario) {
    if (!header.contains("version") || header["version"] != 1) {
      r.fail("unsupported or missing 'version' (expected 1)");
    }
  } else {
    // Anything else is read as a trace, with the same verdict on a bad header
    // as every other reader of traces.
    try {
      trace::validate_header(header);
    } catch (const trace::SchemaError& e) {
      r.fail(e.what());
    }
  }
  try {
    return scenario ? run_scenario(r, header, opts) : replay_trace(r, header, opts);
  } catch (const json::exception& e) {
    // Fields are checked as they are read; this backstop turns one of an
    // unexpected type that slipped through into malformed input at its line
    // instead of aborting the program.
    r.fail(std::string("a field of the wrong type: ") + e.what());
  }
}

}  // namespace raftkv
