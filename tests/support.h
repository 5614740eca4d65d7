// Helpers shared by the Catch2 tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <deque>
#include <variant>

#include "check/checker.h"
#include "config/config.h"
#include "raft/node_set.h"
#include "replay/replay.h"
#include "sim/cluster.h"
#include "trace/reader.h"

namespace raftkv::testing {

// Keeps every trace event in memory: `raw` as the runtime wrote it (a node
// line's unchanged state fields left out, schema version 4), `events` with every node
// line whole (the state put back, as the trace reader does), which the tests
// inspect.
class VectorSink : public TraceSink {
 public:
  void write(const json& event) override {
    raw.push_back(event);
    events.push_back(event);
    if (!states_.fill(events.back())) throw std::logic_error("a node's first line without state");
  }
  std::vector<json> raw;
  std::vector<json> events;

  std::vector<json> named(const std::string& name) const {
    std::vector<json> out;
    for (const json& e : events) {
      if (e["event"] == name) out.push_back(e);
    }
    return out;
  }

 private:
  StateFiller states_;
};

// A trace's lines, the header first, with every node line's state whole, as
// the trace reader gives them to its consumers (the trace writes only the
// fields that changed, schema version 4), for tests to read and edit.
inline std::vector<json> whole_lines(const std::string& text) {
  std::vector<json> lines;
  StateFiller states;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json e = json::parse(line);
    if (!lines.empty() && !states.fill(e))
      throw std::logic_error("a node's first line without state");
    lines.push_back(std::move(e));
  }
  return lines;
}

// Every leader a trace saw, by term.
inline std::map<int64_t, std::set<int>> leaders_by_term(const VectorSink& sink) {
  std::map<int64_t, std::set<int>> out;
  for (const json& e : sink.named("become_leader")) {
    out[e["state"]["term"].get<int64_t>()].insert(e["node"].get<int>());
  }
  return out;
}

// A quiet configuration for tests: `nodes` nodes, `clients` clients.
// No divergence: every two running nodes applied the same entries at every
// index both applied (a lagging node is consistent, only behind).
inline bool replicas_consistent(const Cluster& cluster) {
  for (int a = 1; a <= cluster.num_nodes(); ++a) {
    for (int b = a + 1; b <= cluster.num_nodes(); ++b) {
      if (!cluster.is_up(a) || !cluster.is_up(b)) continue;
      const Node& x = cluster.node(a);
      const Node& y = cluster.node(b);
      int64_t both = std::min(x.last_applied(), y.last_applied());
      // Entries compacted into a snapshot are no longer there to compare.
      for (int64_t i = std::max(x.snapshot_index(), y.snapshot_index()) + 1; i <= both; ++i) {
        if (x.entry(i) != y.entry(i)) return false;
      }
    }
  }
  return true;
}

inline Config test_config(int nodes, int clients, int requests, uint64_t seed = 1) {
  Config cfg;
  cfg.num_nodes = nodes;
  cfg.num_clients = clients;
  cfg.requests_per_client = requests;
  cfg.seed = seed;
  return cfg;
}

// Both followers of a 3-node cluster crash at crash_ms (and crash_ms + 1)
// and restart at restart_ms (+ 1): in between the leader hears from no
// majority, so with [raft] check_quorum it steps down.
inline std::vector<FaultConfig> quorum_loss_faults(int64_t crash_ms, int64_t restart_ms) {
  std::vector<FaultConfig> faults;
  for (FaultAction action : {FaultAction::Crash, FaultAction::Restart}) {
    for (int i = 0; i < 2; ++i) {
      FaultConfig f;
      f.at_ms = (action == FaultAction::Crash ? crash_ms : restart_ms) + i;
      f.action = action;
      f.target = FaultTarget::Follower;
      faults.push_back(f);
    }
  }
  return faults;
}

inline Command put(const std::string& k, const std::string& v) {
  return Command{Op::Put, k, v, 0, 0};
}
inline Command get(const std::string& k) { return Command{Op::Get, k, "", 0, 0}; }
inline Command del(const std::string& k) { return Command{Op::Delete, k, "", 0, 0}; }

// Runs `cluster` (built, and given any observer, by the caller) to its end
// and returns its trace as the JSON-lines text a file would hold.
inline std::string traced_run(Cluster& cluster) {
  // Only the text: a run of the property suite keeps nothing else in memory.
  struct TextSink : TraceSink {
    std::string text;
    void write(const json& e) override {
      text += e.dump();
      text += '\n';
    }
  } sink;
  sink.text = cluster.header().dump() + "\n";
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  return std::move(sink.text);
}

// Runs a whole cluster of `cfg` and returns its trace text.
inline std::string trace_text(const Config& cfg) {
  Cluster cluster(cfg);
  return traced_run(cluster);
}

// The lines of a JSON-lines text, without their line ends.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Lines joined back into a text, each ended by a line end.
inline std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

// The whole file, byte for byte ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What a shell command printed (stdout and stderr together) and its exit
// code (-1 when it did not exit normally or could not be started).
struct ShellResult {
  int code = -1;
  std::string out;
};

// Runs `command` with /bin/sh in `dir`, by default the source folder (where
// config.toml, examples/ and traces/ are).
inline ShellResult run_shell(const std::string& command,
                             const std::string& dir = RAFTKV_SOURCE_DIR) {
  std::string cmd = "cd '" + dir + "' && " + command + " 2>&1";
  ShellResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A cluster of nodes driven by hand, without the runtime: messages wait in
// one queue, delivered in order by drain(); nodes in `cut` neither send nor
// receive. Every message and event is kept for the tests to inspect.
struct Net {
  NodeSet nodes;
  std::deque<Message> queue;
  std::set<int> cut;
  std::vector<Message> seen;  // every message sent, in order
  std::vector<NodeEvent> events;

  // Nodes 1..n boot at once; ids n + 1..max_id exist, down, until join().
  Net(int n, NodeOptions o, int max_id = 0) : nodes(n, o, max_id) {
    for (int id = 1; id <= n; ++id) {
      nodes.up(id);
      Effects fx;
      fx.trace = true;
      nodes.start(id, fx);
      take(id, fx);
    }
  }
  void take(int id, Effects& fx) {
    for (NodeEvent& e : fx.events) events.push_back(std::move(e));
    for (Message& m : fx.messages) {
      m.from = id;
      seen.push_back(m);
      queue.push_back(std::move(m));
    }
  }
  template <typename F>
  void step(int id, F input) {
    Effects fx;
    fx.trace = true;
    input(fx);
    take(id, fx);
  }
  // A server added later boots empty (fault add_node).
  void join(int id) {
    nodes.up(id);
    step(id, [&](Effects& fx) { nodes.start(id, fx); });
  }
  void change(int id, ChangeAction action, int target) {
    step(id, [&](Effects& fx) { nodes.change(id, action, target, fx); });
  }
  void timeout(int id, Timer t) {
    step(id, [&](Effects& fx) { nodes.timeout(id, t, fx); });
  }
  // Delivers queued messages (client replies vanish) until none are left.
  void drain(int limit = 100000) {
    while (!queue.empty() && limit-- > 0) {
      Message m = std::move(queue.front());
      queue.pop_front();
      if (m.type == MsgType::ClientReply) continue;
      if (cut.count(m.to) || cut.count(m.from) || !nodes.is_up(m.to)) continue;
      step(m.to, [&](Effects& fx) { nodes.deliver(m, fx); });
    }
  }
  void request(int leader, const Command& c) {
    Message m;
    m.type = MsgType::ClientRequest;
    m.to = leader;
    m.cmd = c;
    step(leader, [&](Effects& fx) { nodes.deliver(m, fx); });
  }
  const Node& node(int id) const { return nodes.node(id); }
  int count_sent(MsgType t) const {
    int k = 0;
    for (const Message& m : seen) k += m.type == t;
    return k;
  }
  template <typename E>
  std::vector<E> named() const {
    std::vector<E> out;
    for (const NodeEvent& e : events) {
      if (const E* x = std::get_if<E>(&e.body)) out.push_back(*x);
    }
    return out;
  }
};

// Replays a scenario's text on the code, writes its trace to a temporary
// file and checks it as `raftkv check` would (explore's and import-tla's
// counterexamples). Throws if the text is not a scenario.
inline check::Report replay_scenario_and_check(const std::string& scenario,
                                               const std::string& name) {
  std::istringstream in(scenario);
  std::ostringstream trace;
  ReplayOptions ro;
  ro.trace_out = &trace;
  ReplayResult rr = replay(in, name, ro);
  if (!rr.scenario) throw std::runtime_error(name + " is not a scenario");
  auto path = std::filesystem::temp_directory_path() /
              ("raftkv-scenario-" + std::to_string(getpid()) + "-" + name + ".jsonl");
  {
    std::ofstream f(path);
    f << trace.str();
  }
  check::Report rep = check::check_trace_file(path.string());
  std::filesystem::remove(path);
  return rep;
}

}  // namespace raftkv::testing
