#include "replay/export_tla.h"

#include <istream>
#include <map>
#include <ostream>
#include <unordered_map>

#include "replay/replay.h"
#include "trace/codec.h"
#include "trace/event_table.h"
#include "trace/reader.h"

namespace raftkv {
namespace {

// Regroups the events of a trace into steps. Every field it reads is checked
// for presence and type, so a malformed trace is reported with its line
// (ReplayInputError) instead of exported in part or aborting.
class Exporter {
 public:
  Exporter(const LineReader& r, int num_nodes, std::ostream& out)
      : r_(r), n_(num_nodes), out_(out) {
    for (int id = 1; id <= n_; ++id) logs_[id] = json::array();
  }

  void event(const std::string& name, const json& ev) {
    if (is_input_event(name)) return input(name, ev);
    if (is_effect_event(name)) return effect(name, ev);
    if (!is_runtime_event(name)) r_.fail("unknown event '" + name + "'");
    if (name == "client_send" || name == "inject") note_sent(get_object(r_, ev, "msg"));
    if (name == "duplicate") ++on_network_[get_int(r_, get_object(r_, ev, "msg"), "id")].copies;
    if (name == "drop" || name == "client_receive") {
      use_copy(get_int(r_, get_object(r_, ev, "msg"), "id"));
    }
    if (name == "end") {
      for (const json& ns : get_array(r_, ev, "nodes")) {
        if (!ns.is_object()) r_.fail("end: 'nodes' must hold objects");
        node_of(ns);
      }
    }
    // Other runtime events (network, clients, faults) are not node actions.
  }

  // The logs nodes boot with (the header's initial_state): each step written
  // carries its node's whole log, these entries first.
  void preload(const json& header) {
    if (!header.contains("initial_state")) return;
    for (const json& s : header["initial_state"]) logs_[node_of(s)] = s["log"];
  }

  // Writes the last step. Returns the number of steps written.
  int64_t finish() {
    flush();
    return steps_;
  }

 private:
  int node_of(const json& j) const {
    int64_t id = get_int(r_, j, "node");
    if (id < 1 || id > n_) {
      r_.fail("node " + std::to_string(id) + " does not exist (the trace has " +
              std::to_string(n_) + " nodes)");
    }
    return static_cast<int>(id);
  }

  // An input event begins a step.
  void input(const std::string& name, const json& ev) {
    flush();
    int id = node_of(ev);
    const json& state = get_object(r_, ev, "state");
    json msg = json::object();
    std::string action;
    if (name == "start") action = "Start";
    if (name == "crash") action = "Crash";
    if (name == "restart") action = "Restart";
    // Leadership transfer (thesis §3.10): the transfer input is RaftKV.tla's
    // Transfer.
    if (name == "transfer") action = "Transfer";
    if (name == "timeout") {
      // RaftKV.tla: the leader's quorum check ([raft] check_quorum) and its
      // transfer timer are their own actions; election and start_election
      // timeouts are Timeout.
      std::string timer = get_str(r_, ev, "timer");
      action = timer == "heartbeat"      ? "Heartbeat"
               : timer == "check_quorum" ? "CheckQuorumTick"
               : timer == "transfer"     ? "TransferTimeout"
                                         : "Timeout";
    }
    if (name == "deliver") {
      msg = delivered_message(ev);
      std::string type = get_str(r_, msg, "type");
      // RaftKV.tla's Receive handles every protocol message, PreVote,
      // ReadConfirm and TimeoutNow included.
      action = type == "ClientRequest" ? "ClientRequest" : "Receive";
    }
    step_ = json{{"step", steps_ + 1},
                 {"seq", get_int(r_, ev, "seq")},
                 {"t", get_int(r_, ev, "t")},
                 {"action", action},
                 {"node", id},
                 {"pre", state},
                 {"post", state},
                 {"msg", msg},
                 {"sent", json::array()},
                 {"applied", json::array()}};
  }

  // An effect event belongs to the open step, whose node produced it.
  void effect(const std::string& name, const json& ev) {
    int id = node_of(ev);
    if (step_.is_null() || step_["node"] != id) {
      r_.fail(name + " at node " + std::to_string(id) + " outside a step of that node");
    }
    step_["post"] = get_object(r_, ev, "state");
    if (name == "send") {
      step_["sent"].push_back(get_object(r_, ev, "msg"));
      note_sent(step_["sent"].back());
    }
    if (name == "apply") {
      step_["applied"].push_back(json{{"index", get_int(r_, ev, "index")},
                                      {"entry", get_object(r_, ev, "entry")},
                                      {"result", get_object(r_, ev, "result")}});
    }
    if (name == "truncate") truncate(logs_[id], get_int(r_, ev, "from_index"));
    if (name == "append") append(logs_[id], get_int(r_, ev, "first_index"), ev);
    // Log compaction (Raft §7): a step's `log` stays the node's whole logical
    // log, compacted entries included (they are committed, so they never
    // change), which is what RaftKV.tla's logs are. A `snapshot` therefore
    // changes nothing here; an `install_snapshot` gives the node the
    // snapshot's entries, taken from a log that holds them, and the `kept`
    // entries of its own after them.
    if (name == "install_snapshot") {
      install(id, get_int(r_, ev, "index"), get_int(r_, ev, "term"), get_int(r_, ev, "kept"));
    }
  }

  void install(int id, int64_t index, int64_t term, int64_t kept) {
    auto holds = [&](const json& log) {
      return index >= 1 && static_cast<int64_t>(log.size()) >= index &&
             log[static_cast<size_t>(index - 1)].value("term", int64_t{0}) == term;
    };
    // The sender of the InstallSnapshot this step delivered, else any node
    // whose log has the snapshot's last entry (Log Matching: then all before it).
    const json* source = nullptr;
    const json& msg = step_["msg"];
    if (msg.is_object() && msg.value("type", "") == "InstallSnapshot") {
      auto it = logs_.find(msg.value("from", 0));
      if (it != logs_.end() && holds(it->second)) source = &it->second;
    }
    for (const auto& [node, log] : logs_) {
      if (source == nullptr && holds(log)) source = &log;
    }
    if (index == 0) {
      logs_[id] = json::array();
      return;
    }
    if (source == nullptr) {
      r_.fail("install_snapshot through index " + std::to_string(index) + " (term " +
              std::to_string(term) + "): no node's log holds that entry, so the snapshot's " +
              "entries are unknown");
    }
    json& mine = logs_[id];
    json log = json::array();
    for (int64_t k = 0; k < index; ++k) log.push_back((*source)[static_cast<size_t>(k)]);
    for (int64_t k = index; k < index + kept && k < static_cast<int64_t>(mine.size()); ++k) {
      log.push_back(mine[static_cast<size_t>(k)]);
    }
    mine = std::move(log);
  }

  // A deliver names its message by id (schema v2); the step written out
  // carries the message itself, as sent. Messages are kept only while the
  // network holds a copy: one per send and per duplicate, less each deliver,
  // drop and client_receive.
  struct OnNetwork {
    json msg;
    int copies = 0;
  };
  void note_sent(const json& msg) {
    OnNetwork& m = on_network_[get_int(r_, msg, "id")];
    m.msg = msg;
    ++m.copies;
  }
  void use_copy(int64_t id) {
    auto it = on_network_.find(id);
    if (it != on_network_.end() && --it->second.copies <= 0) on_network_.erase(it);
  }
  json delivered_message(const json& ev) {
    int64_t id = get_int(r_, ev, "msg_id");
    auto it = on_network_.find(id);
    if (it == on_network_.end() || it->second.msg.is_null()) {
      r_.fail("deliver names message #" + std::to_string(id) +
              ", which no earlier send or client_send carried (or whose copies are used up)");
    }
    json msg = it->second.msg;
    use_copy(id);
    return msg;
  }

  static void truncate(json& log, int64_t from) {
    while (!log.empty() && static_cast<int64_t>(log.size()) >= from) log.erase(log.end() - 1);
  }

  // Entries overwrite in place from first_index, then extend the log (the
  // skip_truncate planted bug overwrites without truncating first).
  void append(json& log, int64_t first, const json& ev) const {
    if (first < 1 || first > static_cast<int64_t>(log.size()) + 1) {
      r_.fail("append at index " + std::to_string(first) + " leaves a gap in a log of " +
              std::to_string(log.size()) + " entries");
    }
    int64_t k = first;
    for (const json& e : get_array(r_, ev, "entries")) {
      if (!e.is_object()) r_.fail("append: 'entries' must hold objects");
      if (k <= static_cast<int64_t>(log.size())) {
        log[static_cast<size_t>(k - 1)] = e;
      } else {
        log.push_back(e);
      }
      ++k;
    }
  }

  void flush() {
    if (step_.is_null()) return;
    step_["log"] = logs_[step_["node"].get<int>()];
    out_ << step_.dump() << '\n';
    ++steps_;
    step_ = json();
  }

  const LineReader& r_;
  int n_;
  std::ostream& out_;
  std::map<int, json> logs_;                           // node -> array of entries
  std::unordered_map<int64_t, OnNetwork> on_network_;  // msg id -> message and copies left
  json step_;                                          // the open step, or null
  int64_t steps_ = 0;
};

}  // namespace

int64_t export_tla(std::istream& in, const std::string& name, std::ostream& out) {
  LineReader r(in, name);
  json header;
  read_trace_header(r, header);
  int64_t n = trace::max_node_id(header);
  Exporter exporter(r, static_cast<int>(n), out);
  exporter.preload(header);  // validated with the header
  TraceFraming framing(n);
  json ev;
  while (r.next(ev)) {
    std::string event = framing.read(r, ev);
    get_int(r, ev, "t");
    try {
      exporter.event(event, ev);
    } catch (const json::exception& e) {
      // Every field read is checked first; this is the backstop that keeps a
      // field of an unexpected type from aborting the program.
      r.fail(std::string("a field of the wrong type: ") + e.what());
    }
  }
  // A trace without its end event was cut short: its last step may lack
  // effects, so exporting it would hand TLC a behaviour that never happened.
  framing.finish(r);
  return exporter.finish();
}

}  // namespace raftkv
