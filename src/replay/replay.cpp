#include "replay/replay.h"

#include <algorithm>
#include <deque>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "config/clock.h"
#include "config/config.h"
#include "config/config_json.h"
#include "config/fields.h"
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
  // max_id: the highest node id (above num_nodes: servers that join later).
  Driver(int num_nodes, NodeOptions options, int max_id)
      : nodes_(num_nodes, options, max_id),
        clocks_(std::max(num_nodes, max_id), options.clock_drift_ppm),
        started_(static_cast<size_t>(std::max(num_nodes, max_id)) + 1, false) {}

  // The true time of the inputs that follow: each node reads its own clock
  // from it, as in a run (sim/clock.h).
  void set_time(int64_t t_ms) { t_ms_ = t_ms; }

  // Has the node had its start event? (Before it, the trace knows no state.)
  bool exists(int id) const { return nodes_.exists(id) && started_[static_cast<size_t>(id)]; }
  bool up(int id) const { return nodes_.is_up(id); }

  json state(int id) const { return to_json(nodes_.node(id).state(), nodes_.is_up(id)); }
  const Node& node(int id) const { return nodes_.node(id); }

  // What nodes hold on disk before they boot (the header's initial_state).
  void preload(const std::vector<InitialNodeState>& states) {
    for (const InitialNodeState& s : states) {
      nodes_.preload(s.node, PersistentState{s.term, s.vote, s.log, nullptr});
    }
  }

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
  std::vector<json> transfer(int id, int to) {
    return step(id, [&](Effects& fx) { nodes_.transfer(id, to, fx); });
  }
  std::vector<json> change(int id, ChangeAction action, int target) {
    return step(id, [&](Effects& fx) { nodes_.change(id, action, target, fx); });
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
    fx.clock_us = clocks_.read_us(id, t_ms_);
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
  NodeClocks clocks_;
  int64_t t_ms_ = 0;
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
  // [raft] switches: a trace header writes them in a `raft` object (absent
  // when all are off); a scenario header may give them at its config's top
  // level ("pre_vote": true).
  auto switch_from = [&r](const json& obj, const char* key, bool* out) {
    if (!obj.is_object() || !obj.contains(key)) return;
    if (!obj[key].is_boolean()) r.fail(std::string("'") + key + "' must be a boolean");
    *out = obj[key].get<bool>();
  };
  switch_from(*cfg, "pre_vote", &options.pre_vote);
  switch_from(*cfg, "check_quorum", &options.check_quorum);
  // read_mode: "log" (the default), "read_index" or "lease".
  auto mode_from = [&r, &options](const json& obj) {
    if (!obj.is_object() || !obj.contains("read_mode")) return;
    const json& v = obj["read_mode"];
    if (!v.is_string() || (v != "log" && v != "read_index" && v != "lease")) {
      r.fail("'read_mode' must be \"log\", \"read_index\" or \"lease\"");
    }
    options.read_index = v != "log";
    options.lease_reads = v == "lease";
  };
  mode_from(*cfg);
  if (cfg->contains("raft")) {
    switch_from((*cfg)["raft"], "pre_vote", &options.pre_vote);
    switch_from((*cfg)["raft"], "check_quorum", &options.check_quorum);
    mode_from((*cfg)["raft"]);
  }
  // The clocks and the lease's length: [timing] as the header gives it.
  auto timing_from = [&r](const json& obj, const char* key, int64_t max, int64_t* out) {
    if (!obj.is_object() || !obj.contains(key)) return;
    const json& v = obj[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > max) {
      r.fail(std::string("'timing.") + key + "' must be an integer in 0.." + std::to_string(max));
    }
    *out = v.get<int64_t>();
  };
  if (cfg->contains("timing")) {
    timing_from((*cfg)["timing"], "election_timeout_min_ms", kConfigIntMax,
                &options.election_timeout_min_ms);
    timing_from((*cfg)["timing"], "clock_drift_ppm", 500000, &options.clock_drift_ppm);
  }
  // A scenario's config gives the drift at its top level (its timing is the default's).
  timing_from(*cfg, "clock_drift_ppm", 500000, &options.clock_drift_ppm);
  // [raft] snapshot_every / snapshot_chunk_bytes (Raft paper §7): a trace
  // header has them in `raft` (each only when not 0), a scenario at its
  // config's top level, as the switches above.
  auto count_from = [&r](const json& obj, const char* key, int64_t max, int64_t* out) {
    if (!obj.is_object() || !obj.contains(key)) return;
    const json& v = obj[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > max) {
      r.fail(std::string("'") + key + "' must be an integer in 0.." + std::to_string(max));
    }
    *out = v.get<int64_t>();
  };
  for (const json* obj : {cfg, cfg->contains("raft") ? &(*cfg)["raft"] : nullptr}) {
    if (obj == nullptr) continue;
    count_from(*obj, "snapshot_every", 1000000000, &options.snapshot_every);
    count_from(*obj, "snapshot_chunk_bytes", 1073741824, &options.snapshot_chunk_bytes);
  }
  if (options.read_index && !options.leader_noop) {
    r.fail(std::string("read_mode \"") + (options.lease_reads ? "lease" : "read_index") +
           "\" needs leader_noop: a leader answers a read only once an entry of its own term "
           "is committed (Raft thesis §6.4)");
  }
  if (options.lease_reads && !options.check_quorum) {
    r.fail(
        "read_mode \"lease\" needs check_quorum: a lease is safe only while the servers that "
        "confirmed it ignore RequestVote (Raft thesis §4.2.3, §6.4.1)");
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

// Scenario files are written by hand, so a misspelt key ("tmier") must not
// silently leave its field at the default: each object may hold only the
// keys its place allows, as in a TOML config, with the config's kind of hint.
void check_scenario_keys(const LineReader& r, const json& object,
                         const std::vector<std::string_view>& allowed, const std::string& where) {
  if (!object.is_object()) return;  // the field's own reader says what it should be
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    r.fail("unknown key '" + it.key() + "' in " + where + name_hint(it.key(), allowed));
  }
}

// The keys of a scenario's header (spec/scenario-format.md). Old scenarios
// give num_nodes and leader_noop at the top level; a header with `config`
// must give them there.
void check_scenario_header_keys(const LineReader& r, const json& header) {
  if (header.contains("config")) {
    check_scenario_keys(r, header, {"format", "version", "config", "planted_bugs", "initial_state"},
                        "the header");
    check_scenario_keys(
        r, header["config"],
        {"num_nodes", "num_clients", "leader_noop", "pre_vote", "check_quorum", "read_mode",
         "clock_drift_ppm", "snapshot_every", "snapshot_chunk_bytes", "joins"},
        "'config'");
  } else {
    check_scenario_keys(
        r, header,
        {"format", "version", "num_nodes", "leader_noop", "planted_bugs", "initial_state"},
        "the header");
  }
}

json strip(json ev) {
  ev.erase("seq");
  ev.erase("t");
  return ev;
}

// --- Trace mode -------------------------------------------------------------

// Compares a trace with what the node code does given the trace's inputs.
// Each handler returns false once the trace and the code have diverged
// (result_ says where); malformed input throws through LineReader::fail.
class TraceComparer {
 public:
  TraceComparer(LineReader& r, const json& header, const ReplayOptions& opts)
      : r_(r), opts_(opts), d_(make_driver(r, header, &n_)) {
    narrator_.header(header);
  }

  ReplayResult run(TraceFraming& framing) {
    json ev;
    while (r_.next(ev)) {
      ++result_.events;
      std::string name = framing.read(r_, ev);
      if (opts_.narrate) {
        if (auto text = narrator_.line(ev)) *opts_.narrate << *text << '\n';
      }
      bool same = is_effect_event(name)    ? on_effect(name, ev)
                  : is_runtime_event(name) ? on_runtime(name, ev)
                  : is_input_event(name)   ? on_input(name, ev)
                                           : (r_.fail("unknown event '" + name + "'"), false);
      if (!same) return result_;
    }
    close_step();
    return result_;
  }

 private:
  static Driver make_driver(const LineReader& r, const json& header, int* n) {
    NodeOptions options = options_from_header(r, header, n);
    int num_nodes = *n;
    *n = static_cast<int>(trace::max_node_id(header));
    Driver d(num_nodes, options, *n);
    d.preload(initial_state_from_header(header));  // validated with the header
    return d;
  }

  bool diverge(const std::string& what) {
    result_.identical = false;
    result_.divergence_line = r_.line();
    result_.divergence = what;
    return false;
  }

  // Ends a step: the node must not have produced anything the trace lacks.
  bool close_step() {
    if (expected_.empty()) return true;
    return diverge("the node produced an event the trace does not have (step began at line " +
                   std::to_string(expected_from_line_) + "): actual " + expected_.front().dump());
  }

  int node_of(const json& ev) {
    int id = static_cast<int>(get_int(r_, ev, "node"));
    if (id < 1 || id > n_) r_.fail("node " + std::to_string(id) + " does not exist");
    return id;
  }

  const json& msg_of(const json& ev, const std::string& what) {
    if (!ev.contains("msg") || !ev["msg"].is_object()) r_.fail(what + " without a msg object");
    return ev["msg"];
  }

  // A message the network delivers, drops, duplicates or hands to a client
  // must be one that was sent, unchanged.
  bool check_sent(const json& msg, const std::string& what) {
    int64_t id = get_int(r_, msg, "id");
    auto it = sent_.find(id);
    if (it == sent_.end()) {
      return diverge(what + " of message #" + std::to_string(id) + ", which was never sent");
    }
    if (it->second != msg) {
      return diverge(what + " of message #" + std::to_string(id) +
                     " differs from the one sent: sent " + it->second.dump() + ", " + what + " " +
                     msg.dump());
    }
    return true;
  }

  // Copies of each message the network still holds: one per send, one more
  // per duplicate; every delivery or drop takes one.
  bool take_copy(const json& msg, const std::string& what) {
    int64_t id = msg["id"].get<int64_t>();
    if (--copies_[id] < 0) {
      return diverge(what + " of message #" + std::to_string(id) +
                     " once more than it was sent and duplicated");
    }
    return true;
  }

  void record_send(const json& msg) {
    int64_t id = get_int(r_, msg, "id");
    sent_[id] = msg;
    ++copies_[id];
  }

  // An effect must be the next one the node produced in this step.
  bool on_effect(const std::string& name, const json& ev) {
    if (expected_.empty()) {
      return diverge("the trace has an event the node did not produce: " + ev.dump());
    }
    json actual = std::move(expected_.front());
    expected_.pop_front();
    if (name == "send") {
      // Message ids are assigned by the runtime, not the node.
      actual["msg"]["id"] = get_int(r_, msg_of(ev, "send"), "id");
      record_send(actual["msg"]);
    }
    if (strip(ev) != actual) {
      return diverge("expected (trace) " + strip(ev).dump() + "\n  actual (code)  " +
                     actual.dump());
    }
    return true;
  }

  // The network's and the clients' events: their messages must have been
  // sent, and a client must be told what its reply said.
  bool on_runtime(const std::string& name, const json& ev) {
    // A hand-made message (a scenario's inject) enters the network as a send does.
    if (name == "client_send" || name == "inject") record_send(msg_of(ev, name));
    if (name == "drop" || name == "duplicate" || name == "client_receive") {
      const json& msg = msg_of(ev, name);
      if (!check_sent(msg, name)) return false;
      if (name == "duplicate") {
        ++copies_[msg["id"].get<int64_t>()];
      } else if (!take_copy(msg, name)) {
        return false;
      }
    }
    if (name == "client_invoke" || name == "client_send" || name == "client_receive" ||
        name == "client_complete") {
      return on_client(name, ev);
    }
    if (name == "end") return on_end(ev);
    return true;
  }

  bool on_client(const std::string& name, const json& ev) {
    int64_t client = get_int(r_, ev, "client");
    if (name == "client_receive") {
      last_reply_[client] = ev["msg"];
      return true;
    }
    std::pair<int64_t, int64_t> op{client, get_int(r_, ev, "client_seq")};
    if (name == "client_invoke") invoked_[op] = ev.value("cmd", json());
    if (name == "client_send") {
      // The request carries the command the operation invoked.
      json cmd = ev["msg"].value("cmd", json());
      auto it = invoked_.find(op);
      if (it != invoked_.end() && it->second != cmd) {
        return diverge("client sends " + cmd.dump() + " for an operation that invoked " +
                       it->second.dump());
      }
    }
    if (name != "client_complete") return true;
    // A final result other than unknown is the one the client was just told.
    json res = ev.value("result", json());
    if (res.value("status", "") == "unknown") return true;
    auto it = last_reply_.find(op.first);
    if (it == last_reply_.end() || it->second.value("seq", int64_t{-1}) != op.second ||
        it->second.value("result", json()) != res) {
      return diverge("client " + std::to_string(op.first) + " completes with " + res.dump() +
                     ", but its last reply was " +
                     (it == last_reply_.end() ? std::string("none") : it->second.dump()));
    }
    return true;
  }

  // The end event's final node states must be the code's.
  bool on_end(const json& ev) {
    if (!close_step()) return false;
    if (!ev.contains("nodes") || !ev["nodes"].is_array()) r_.fail("end without nodes");
    for (const json& ns : ev["nodes"]) {
      int id = node_of(ns);
      if (!d_.exists(id)) continue;
      json want = json{{"state", ns.value("state", json())},
                       {"store_digest", ns.value("store_digest", std::string())},
                       {"store_size", ns.value("store_size", int64_t{-1})}};
      json have = json{{"state", d_.state(id)},
                       {"store_digest", d_.node(id).store().digest()},
                       {"store_size", static_cast<int64_t>(d_.node(id).store().data().size())}};
      if (want != have) {
        return diverge("final state of node " + std::to_string(id) + ": expected " + want.dump() +
                       ", actual " + have.dump());
      }
    }
    return true;
  }

  // An input event starts a step: the previous one must be fully accounted
  // for, the node must be in the state the trace says, and what it produces
  // is what the following effect events must show.
  bool on_input(const std::string& name, const json& ev) {
    if (!close_step()) return false;
    d_.set_time(get_int(r_, ev, "t"));
    ++result_.steps;
    expected_from_line_ = r_.line();
    int id = node_of(ev);
    if (!ev.contains("state") || !ev["state"].is_object()) r_.fail("input event without state");
    if (name == "start" || name == "join") {
      if (d_.exists(id)) return diverge(name + " of node " + std::to_string(id) + " a second time");
      std::vector<json> produced = d_.start(id);
      if (ev["state"] != d_.state(id)) {
        return diverge("state of node " + std::to_string(id) + " at start: expected " +
                       ev["state"].dump() + ", actual " + d_.state(id).dump());
      }
      expected_.assign(produced.begin(), produced.end());
      return true;
    }
    if (name == "restart") {
      if (!d_.exists(id) || d_.up(id)) {
        return diverge("restart of node " + std::to_string(id) + ", which is not crashed");
      }
      d_.restart_node(id);
    } else if (name == "leave") {
      // A removed server is shut down for good, running or already crashed.
      if (!d_.exists(id)) return diverge("leave of node " + std::to_string(id) + ", never started");
    } else if (!d_.exists(id) || !d_.up(id)) {
      return diverge(name + " at node " + std::to_string(id) + ", which is not running");
    }
    // The input's recorded state is the node's state when the input arrived
    // (after a crash or restart: the state that resulted).
    if (name == "crash" || name == "leave") d_.crash(id);
    if (ev["state"] != d_.state(id)) {
      return diverge("state of node " + std::to_string(id) + " before the step: expected " +
                     ev["state"].dump() + ", actual " + d_.state(id).dump());
    }
    std::vector<json> produced;
    if (name == "restart") {
      produced = d_.start_existing(id);
    } else if (name == "timeout") {
      produced = d_.timeout(id, timer_of(get_str(r_, ev, "timer")));
    } else if (name == "transfer") {
      produced = d_.transfer(id, static_cast<int>(get_int(r_, ev, "to")));
    } else if (name == "change") {
      ChangeAction action =
          get_str(r_, ev, "action") == "add" ? ChangeAction::Add : ChangeAction::Remove;
      produced = d_.change(id, action, static_cast<int>(get_int(r_, ev, "target")));
    } else if (name == "deliver") {
      if (!deliver(ev, id, &produced)) return false;
    }
    expected_.assign(produced.begin(), produced.end());
    return true;
  }

  Timer timer_of(const std::string& timer) {
    if (timer == "heartbeat") return Timer::Heartbeat;
    if (timer == "start_election") return Timer::StartElection;
    if (timer == "check_quorum") return Timer::CheckQuorum;
    if (timer == "transfer") return Timer::Transfer;
    if (timer != "election") r_.fail("unknown timer '" + timer + "'");
    return Timer::Election;
  }

  // The delivered message: the one an earlier send or client_send carried
  // under the deliver's msg_id (schema v2), to this node.
  bool deliver(const json& ev, int id, std::vector<json>* produced) {
    int64_t msg_id = get_int(r_, ev, "msg_id");
    auto it = sent_.find(msg_id);
    if (it == sent_.end()) {
      return diverge("delivers message #" + std::to_string(msg_id) + ", which was never sent");
    }
    Message m;
    try {
      m = message_from_json(it->second);
    } catch (const CodecError& e) {
      r_.fail("message #" + std::to_string(msg_id) + " as sent: " + e.what());
    }
    if (m.to != id) r_.fail("deliver: msg.to is not the event's node");
    if (!take_copy(it->second, "delivery")) return false;
    *produced = d_.deliver(m);
    return true;
  }

  LineReader& r_;
  const ReplayOptions& opts_;
  int n_ = 0;
  Driver d_;
  ReplayResult result_;
  Narrator narrator_{opts_.narrative};
  std::deque<json> expected_;  // effects the node produced that the trace must show next
  int64_t expected_from_line_ = 0;
  std::map<int64_t, json> sent_;   // message id -> message as sent
  std::map<int64_t, int> copies_;  // message id -> copies the network still holds
  // The command each (client, client_seq) invoked; the last reply each client received.
  std::map<std::pair<int64_t, int64_t>, json> invoked_;
  std::map<int64_t, json> last_reply_;
};

// After a divergence, the rest of the file: it must still be a whole trace
// (one JSON object per line, consecutive seq, ending with its end event).
void read_rest_of_trace(LineReader& r, TraceFraming& framing) {
  json ev;
  while (r.next(ev)) framing.read(r, ev);
}

ReplayResult replay_trace(LineReader& r, const json& header, const ReplayOptions& opts) {
  TraceFraming framing(trace::max_node_id(header));
  ReplayResult result = TraceComparer(r, header, opts).run(framing);
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

// A scenario config's `joins`: the ids of the servers that may join later
// with a `join` event (thesis §4.1), each above num_nodes, ascending.
std::vector<int> scenario_joins(const LineReader& r, const json& header, int num_nodes) {
  const json& c = header.contains("config") ? header["config"] : header;
  std::vector<int> joins;
  if (!c.is_object() || !c.contains("joins")) return joins;
  if (!c["joins"].is_array()) r.fail("'joins' must be an array of node ids");
  for (const json& v : c["joins"]) {
    if (!v.is_number_integer() || v.get<int64_t>() <= num_nodes || v.get<int64_t>() > 1000 ||
        (!joins.empty() && v.get<int>() <= joins.back())) {
      r.fail("'joins' must hold ascending node ids in " + std::to_string(num_nodes + 1) +
             "..1000 (servers beyond num_nodes)");
    }
    joins.push_back(v.get<int>());
  }
  return joins;
}

// Runs a scenario's inputs on fresh nodes and writes the full trace they
// make, as a run would write it (spec/scenario-format.md).
class ScenarioRunner {
 public:
  ScenarioRunner(LineReader& r, const json& header, const ReplayOptions& opts)
      : r_(r),
        opts_(opts),
        options_(options_from_header(r, header, &n_)),
        joins_(scenario_joins(r, header, n_)),
        max_id_(joins_.empty() ? n_ : joins_.back()),
        d_(n_, options_, max_id_) {
    result_.scenario = true;
    trace_header_ = make_trace_header(header);
    d_.preload(initial_state_from_header(trace_header_));
    narrator_.header(trace_header_);
  }

  ReplayResult run() {
    write_header();
    // Every node boots at time 0, as in a run.
    for (int id = 1; id <= n_; ++id) {
      d_.start(id);  // creates the node; its start step has no traced effects
      input("start", id);
    }
    json ev;
    while (r_.next(ev)) {
      std::string name = get_str(r_, ev, "event");
      check_event_keys(name, ev);
      advance_clock(ev);
      if (name == "timeout") {
        timeout(ev);
      } else if (name == "deliver" || name == "drop") {
        deliver_or_drop(sent_message(get_int(r_, ev, "id")), name == "drop");
      } else if (name == "deliver_pending") {
        deliver_pending(ev);
      } else if (name == "client_request") {
        client_request(ev);
      } else if (name == "inject") {
        inject(ev);
      } else if (name == "partition") {
        partition(ev);
      } else if (name == "heal") {
        group_of_.clear();
        write(json{{"event", "heal"}});
        ++result_.steps;
      } else if (name == "crash") {
        int id = node_of(ev);
        if (!d_.up(id)) r_.fail("crash of node " + std::to_string(id) + ", which is already down");
        d_.crash(id);
        input("crash", id);
        ++result_.steps;
      } else if (name == "restart") {
        int id = node_of(ev);
        if (d_.up(id)) r_.fail("restart of node " + std::to_string(id) + ", which is running");
        d_.restart_node(id);
        input("restart", id);
        write_step(d_.start_existing(id));
      } else if (name == "transfer") {
        transfer(ev);
      } else if (name == "join") {
        int id = node_of(ev);
        if (id <= n_ || d_.exists(id)) {
          r_.fail("join of node " + std::to_string(id) +
                  ", which is not a server that has yet to join (see 'joins')");
        }
        d_.start(id);  // creates the node; its start step has no traced effects
        input("join", id);
        ++result_.steps;
      } else if (name == "leave") {
        int id = node_of(ev);
        if (!d_.exists(id))
          r_.fail("leave of node " + std::to_string(id) + ", which never started");
        d_.crash(id);
        input("leave", id);
        ++result_.steps;
      } else if (name == "change") {
        change(ev);
      } else {
        r_.fail("unknown scenario event '" + name + "'");  // check_event_keys names them
      }
    }
    write_end();
    return result_;
  }

 private:
  // Fails on an unknown event, or a key its event does not take.
  void check_event_keys(const std::string& name, const json& ev) {
    static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kKeys = {
        {"timeout", {"event", "t", "node", "timer"}},
        {"deliver", {"event", "t", "id"}},
        {"deliver_pending", {"event", "t", "to", "from"}},
        {"drop", {"event", "t", "id"}},
        {"client_request", {"event", "t", "node", "cmd"}},
        {"inject", {"event", "t", "msg"}},
        {"partition", {"event", "t", "groups"}},
        {"heal", {"event", "t"}},
        {"crash", {"event", "t", "node"}},
        {"restart", {"event", "t", "node"}},
        {"transfer", {"event", "t", "node", "to"}},
        {"join", {"event", "t", "node"}},
        {"leave", {"event", "t", "node"}},
        {"change", {"event", "t", "node", "action", "target"}},
    };
    std::vector<std::string_view> events;
    for (const auto& [event, keys] : kKeys) {
      if (event == name) {
        check_scenario_keys(r_, ev, keys, "a '" + name + "' event");
        return;
      }
      events.push_back(event);
    }
    r_.fail("unknown scenario event '" + name + "'" + name_hint(name, events));
  }

  // The trace's header: the scenario's cluster as a config, its planted bugs
  // and its initial state, checked as every reader of the trace will check it.
  json make_trace_header(const json& header) {
    Config cfg;
    cfg.num_nodes = n_;
    // Clients with sessions (a client_request's cmd.client): ids 1..num_clients.
    const json& c = header.contains("config") ? header["config"] : header;
    if (c.contains("num_clients")) {
      num_clients_ = get_int(r_, c, "num_clients");
      if (num_clients_ > 1000) r_.fail("num_clients must be in 0..1000");
    }
    cfg.num_clients = static_cast<int>(num_clients_);
    cfg.requests_per_client = 0;
    cfg.initial_leader = 0;
    cfg.seed = 0;
    cfg.leader_noop = options_.leader_noop;
    cfg.raft.pre_vote = options_.pre_vote;
    cfg.raft.check_quorum = options_.check_quorum;
    cfg.timing.clock_drift_ppm = options_.clock_drift_ppm;
    cfg.raft.snapshot_every = options_.snapshot_every;
    cfg.raft.snapshot_chunk_bytes = options_.snapshot_chunk_bytes;
    cfg.raft.read_mode = options_.lease_reads  ? ReadMode::Lease
                         : options_.read_index ? ReadMode::ReadIndex
                                               : ReadMode::Log;
    // The servers that may join: readers learn their ids from add_node faults.
    for (int id : joins_) {
      FaultConfig f;
      f.action = FaultAction::AddNode;
      f.node = id;
      cfg.faults.push_back(f);
    }
    json h{{"format", "raftkv-trace"},
           {"version", trace::kTraceVersion},
           {"seed", 0},
           {"config", config_to_json(cfg)},
           {"planted_bugs", planted_bug_list(options_.bugs)}};
    if (header.contains("initial_state")) {
      h["initial_state"] = scenario_initial_state(header["initial_state"]);
      try {
        trace::validate_header(h);
      } catch (const trace::SchemaError& e) {
        r_.fail(e.what());
      }
    }
    return h;
  }

  // A scenario's initial_state as the trace writes it: a node's `vote` and
  // `log` may be left out (no vote, empty log), and so may an entry command's
  // key, value, client and seq ("" and 0).
  json scenario_initial_state(const json& in) {
    if (!in.is_array()) r_.fail("'initial_state' must be an array of node states");
    json out = json::array();
    for (json s : in) {
      if (!s.is_object()) r_.fail("'initial_state' must hold objects");
      check_scenario_keys(r_, s, {"node", "term", "vote", "log"}, "an 'initial_state' node");
      if (!s.contains("vote")) s["vote"] = 0;
      if (!s.contains("log")) s["log"] = json::array();
      if (!s["log"].is_array()) r_.fail("'initial_state' 'log' must be an array of entries");
      for (json& e : s["log"]) {
        check_scenario_keys(r_, e, {"term", "cmd"}, "an 'initial_state' log entry");
        if (!e.is_object() || !e.contains("cmd") || !e["cmd"].is_object()) {
          r_.fail("an 'initial_state' log entry needs 'term' and 'cmd'");
        }
        json& c = e["cmd"];
        check_scenario_keys(r_, c, {"op", "key", "value", "client", "seq"}, "an entry's 'cmd'");
        for (const char* k : {"key", "value"}) {
          if (!c.contains(k)) c[k] = "";
        }
        for (const char* k : {"client", "seq"}) {
          if (!c.contains(k)) c[k] = 0;
        }
      }
      out.push_back(s);
    }
    return out;
  }

  void write_header() {
    if (opts_.trace_out) *opts_.trace_out << trace_header_.dump() << '\n';
  }

  void write_end() {
    json nodes = json::array();
    for (int id = 1; id <= max_id_; ++id) {
      if (!d_.exists(id)) continue;  // never joined
      nodes.push_back(json{{"node", id},
                           {"state", d_.state(id)},
                           {"store_digest", d_.node(id).store().digest()},
                           {"store_size", d_.node(id).store().data().size()}});
    }
    write(json{{"event", "end"}, {"nodes", nodes}});
  }

  // A scenario event's 't' sets the clock (never backwards); without one the
  // clock moves on by a millisecond.
  void advance_clock(const json& ev) {
    if (!ev.contains("t")) {
      t_ += 1;
      d_.set_time(t_);
      return;
    }
    int64_t nt = get_int(r_, ev, "t");
    if (nt < t_) r_.fail("'t' goes backwards");
    t_ = nt;
    d_.set_time(t_);
  }

  int node_of(const json& ev) {
    int id = static_cast<int>(get_int(r_, ev, "node"));
    if (id < 1 || id > max_id_) r_.fail("node " + std::to_string(id) + " does not exist");
    return id;
  }

  // Membership change (thesis §4.1): the runtime asks a node to add or remove
  // a server; a non-leader refuses (reject_change), as in a run.
  void change(const json& ev) {
    int id = node_of(ev);
    std::string action = get_str(r_, ev, "action");
    int64_t target = get_int(r_, ev, "target");
    std::string at = "change at node " + std::to_string(id);
    if (!d_.up(id)) r_.fail(at + ", which is not running");
    if (action != "add" && action != "remove") {
      r_.fail(at + ": 'action' must be \"add\" or \"remove\", got \"" + action + "\"");
    }
    if (target < 1 || target > max_id_) {
      r_.fail(at + ": 'target' must be a node id in 1.." + std::to_string(max_id_) + ", got " +
              std::to_string(target));
    }
    ChangeAction a = action == "add" ? ChangeAction::Add : ChangeAction::Remove;
    input("change", id, json{{"action", action}, {"target", target}});
    write_step(d_.change(id, a, static_cast<int>(target)));
  }

  const Message& sent_message(int64_t id) {
    auto it = sent_.find(id);
    if (it == sent_.end()) r_.fail("no message #" + std::to_string(id) + " has been sent yet");
    if (it->second.type == MsgType::ClientReply) {
      r_.fail("message #" + std::to_string(id) + " is a ClientReply; clients are not emulated");
    }
    return it->second;
  }

  void write(json ev) {
    ev["seq"] = seq_++;
    ev["t"] = t_;
    ++result_.events;
    if (opts_.narrate) {
      if (auto text = narrator_.line(ev)) *opts_.narrate << *text << '\n';
    }
    if (opts_.trace_out) {
      // Schema version 4: a node line writes only the fields of its state
      // that differ from its node's previous line's (none: no `state`); the
      // end event keeps every state whole.
      if (ev.contains("node") && ev.contains("state")) {
        json& last = written_state_[ev["node"].get<int64_t>()];
        if (!keep_changed_state(ev["state"], last)) ev.erase("state");
      }
      *opts_.trace_out << ev.dump() << '\n';
    }
  }

  // Writes a step's effects, giving its messages their ids as the runtime does.
  void write_step(std::vector<json> events) {
    size_t k = 0;
    for (json& e : events) {
      if (e["event"] == "send") {
        Message& m = d_.last_messages()[k++];
        m.id = next_id_++;
        e["msg"]["id"] = m.id;
        sent_[m.id] = m;
        copies_[m.id] = 1;
        if (m.type != MsgType::ClientReply) pending_.insert(m.id);
      }
      write(std::move(e));
    }
    ++result_.steps;
  }

  void input(const char* name, int id, json fields = json::object()) {
    fields["event"] = name;
    fields["node"] = id;
    fields["state"] = d_.state(id);
    write(std::move(fields));
  }

  void timeout(const json& ev) {
    int id = node_of(ev);
    std::string timer = ev.value("timer", std::string("election"));
    if (timer != "election" && timer != "heartbeat" && timer != "start_election" &&
        timer != "check_quorum" && timer != "transfer") {
      r_.fail("unknown timer '" + timer + "'");
    }
    if (!d_.up(id)) r_.fail("timeout at node " + std::to_string(id) + ", which is crashed");
    // The runtime discards a heartbeat timer at a non-leader and an election
    // timer at a leader without tracing them; a scenario may not fire them
    // either (the spec has no action for a timer that does nothing).
    bool leader = d_.node(id).role() == Role::Leader;
    bool leader_timer = timer == "heartbeat" || timer == "check_quorum" || timer == "transfer";
    if (leader_timer && !leader) {
      r_.fail(timer + " timeout at node " + std::to_string(id) +
              ", which is not leader (only a leader's " + timer + " timer fires)");
    }
    if (timer == "check_quorum" && !options_.check_quorum) {
      r_.fail("check_quorum timeout at node " + std::to_string(id) +
              ", but the scenario's config does not turn check_quorum on");
    }
    // The runtime fires a transfer timer only while the transfer is under way.
    if (timer == "transfer" && leader && d_.node(id).transfer_target() == 0) {
      r_.fail("transfer timeout at node " + std::to_string(id) +
              ", which has no leadership transfer under way");
    }
    if (!leader_timer && leader) {
      r_.fail(timer + " timeout at node " + std::to_string(id) +
              ", which is leader (a leader's election timer does not fire)");
    }
    input("timeout", id, json{{"timer", timer}});
    write_step(d_.timeout(id, timer == "heartbeat"        ? Timer::Heartbeat
                              : timer == "start_election" ? Timer::StartElection
                              : timer == "check_quorum"   ? Timer::CheckQuorum
                              : timer == "transfer"       ? Timer::Transfer
                                                          : Timer::Election));
  }

  // Leadership transfer (thesis §3.10), as the fault transfer_leader hands it
  // to the leader: only a running leader takes one, to another node.
  void transfer(const json& ev) {
    int id = node_of(ev);
    int64_t to = get_int(r_, ev, "to");
    std::string at = "transfer at node " + std::to_string(id);
    if (!d_.up(id)) r_.fail(at + ", which is crashed");
    if (d_.node(id).role() != Role::Leader) {
      r_.fail(at + ", which is not leader (only a leader can hand leadership on)");
    }
    if (to < 1 || to > n_) {
      r_.fail(at + ": 'to' must be a node id in 1.." + std::to_string(n_) + ", got " +
              std::to_string(to));
    }
    if (to == id) r_.fail(at + " to itself, which changes nothing");
    input("transfer", id, json{{"to", to}});
    write_step(d_.transfer(id, static_cast<int>(to)));
  }

  void deliver_or_drop(const Message& m, bool drop) {
    pending_.erase(m.id);
    // Delivering (or dropping) a message once more than it was sent is a
    // duplicate: the trace says so first, as the runtime does at send time,
    // so that the extra delivery is accounted for.
    if (copies_[m.id] == 0) {
      write(to_json(RuntimeEvent{rt::Duplicate{&m}}));
      ++copies_[m.id];
    }
    --copies_[m.id];
    // As in the runtime, a partition stops messages between nodes of
    // different groups (a client's request reaches any node).
    bool cut_off = !group_of_.empty() && m.from >= 1 && m.to >= 1 &&
                   group_of_[static_cast<size_t>(m.from)] != group_of_[static_cast<size_t>(m.to)];
    if (drop || cut_off || !d_.up(m.to)) {
      // A scenario's drop is a lost message: the schema's "loss".
      write(to_json(RuntimeEvent{rt::Drop{&m, drop      ? "loss"
                                              : cut_off ? "partition"
                                                        : "node_down"}}));
      return;
    }
    input("deliver", m.to, json{{"msg_id", m.id}});
    Message copy = m;
    write_step(d_.deliver(copy));
  }

  // Every message pending now (not those this event's deliveries send), in
  // id order, optionally only those to or from the listed nodes.
  void deliver_pending(const json& ev) {
    auto listed = [&](const char* key, int id) {
      if (!ev.contains(key)) return true;
      if (!ev[key].is_array()) r_.fail(std::string("'") + key + "' must be a list of node ids");
      for (const json& x : ev[key]) {
        if (x == id) return true;
      }
      return false;
    };
    std::vector<int64_t> batch(pending_.begin(), pending_.end());
    for (int64_t id : batch) {
      const Message& m = sent_[id];
      if (listed("to", m.to) && listed("from", m.from)) deliver_or_drop(m, false);
    }
  }

  void client_request(const json& ev) {
    int id = node_of(ev);
    if (!ev.contains("cmd") || !ev["cmd"].is_object()) r_.fail("client_request needs 'cmd'");
    check_scenario_keys(r_, ev["cmd"], {"op", "key", "value", "client", "seq"}, "'cmd'");
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
    m.id = next_id_++;
    try {
      m.cmd = command_from_json(cmd);
    } catch (const CodecError& e) {
      r_.fail(std::string("cmd: ") + e.what());
    }
    m.client = m.cmd.client;
    if (m.client > num_clients_) {
      r_.fail("cmd: client " + std::to_string(m.client) +
              " does not exist (config num_clients is " + std::to_string(num_clients_) +
              "; client 0 has no session)");
    }
    sent_[m.id] = m;
    copies_[m.id] = 1;
    write(to_json(RuntimeEvent{rt::ClientSend{m.client, m.cmd.seq, id, &m}}));
    deliver_or_drop(m, false);  // a client request arrives at once
  }

  // The network splits into the groups given (every node in exactly one):
  // until a heal, deliveries between groups are dropped ("partition").
  void partition(const json& ev) {
    if (!ev.contains("groups") || !ev["groups"].is_array()) {
      r_.fail("partition needs 'groups', a list of lists of node ids");
    }
    std::vector<int> group_of(static_cast<size_t>(n_) + 1, 0);
    int group = 0;
    for (const json& g : ev["groups"]) {
      if (!g.is_array()) r_.fail("'groups' must be a list of lists of node ids");
      ++group;
      for (const json& x : g) {
        if (!x.is_number_integer()) r_.fail("'groups' must hold node ids");
        int id = x.get<int>();
        if (id < 1 || id > n_) r_.fail("partition: node " + std::to_string(id) + " does not exist");
        if (group_of[static_cast<size_t>(id)] != 0) {
          r_.fail("partition: node " + std::to_string(id) + " is in two groups");
        }
        group_of[static_cast<size_t>(id)] = group;
      }
    }
    for (int id = 1; id <= n_; ++id) {
      if (group_of[static_cast<size_t>(id)] == 0) {
        r_.fail("partition: node " + std::to_string(id) + " is in no group (name every node)");
      }
    }
    group_of_ = std::move(group_of);
    write(json{{"event", "partition"}, {"groups", ev["groups"]}});
    ++result_.steps;
  }

  // A message made by hand, delivered at once to its `to` node as if its
  // `from` node had sent it (spec/scenario-format.md).
  void inject(const json& ev) {
    if (!ev.contains("msg") || !ev["msg"].is_object()) r_.fail("inject needs 'msg'");
    json msg = ev["msg"];
    if (msg.contains("id")) r_.fail("an injected 'msg' takes no 'id': the runner numbers it");
    msg["id"] = next_id_;
    json line{{"event", "inject"}, {"msg", msg}, {"seq", seq_}, {"t", t_}};
    try {
      trace::validate_event(line);
    } catch (const trace::SchemaError& e) {
      r_.fail(e.what());
    }
    Message m = message_from_json(msg);
    if (m.type == MsgType::ClientRequest || m.type == MsgType::ClientReply) {
      r_.fail("inject a ClientRequest with 'client_request'; a ClientReply goes to no node");
    }
    for (int id : {m.from, m.to}) {
      if (id < 1 || id > n_) r_.fail("msg: node " + std::to_string(id) + " does not exist");
    }
    if (m.from == m.to) r_.fail("msg: 'from' and 'to' are the same node");
    ++next_id_;
    sent_[m.id] = m;
    copies_[m.id] = 1;
    write(to_json(RuntimeEvent{rt::Inject{&m}}));
    deliver_or_drop(sent_[m.id], false);
  }

  LineReader& r_;
  const ReplayOptions& opts_;
  int n_ = 0;
  NodeOptions options_;
  std::vector<int> joins_;  // servers that may join later (thesis §4.1)
  int max_id_ = 0;
  Driver d_;
  ReplayResult result_;
  Narrator narrator_{opts_.narrative};
  int64_t seq_ = 1, t_ = 0, next_id_ = 1;
  std::map<int64_t, Message> sent_;
  std::set<int64_t> pending_;  // sent to a node, neither delivered nor dropped yet
  // Copies of each message the network holds, as replay and the checker count
  // them: one per send, one more per duplicate; a delivery or drop takes one.
  std::map<int64_t, int> copies_;
  std::map<int64_t, json> written_state_;  // node id -> the last state its lines carried
  json trace_header_;
  int64_t num_clients_ = 0;
  std::vector<int> group_of_;  // node id -> its group while partitioned (empty: healed)
};

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
    check_scenario_header_keys(r, header);
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
    return scenario ? ScenarioRunner(r, header, opts).run() : replay_trace(r, header, opts);
  } catch (const json::exception& e) {
    // Fields are checked as they are read; this backstop turns one of an
    // unexpected type that slipped through into malformed input at its line
    // instead of aborting the program.
    r.fail(std::string("a field of the wrong type: ") + e.what());
  }
}

}  // namespace raftkv
