#include "app/import_tla.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "check/checker.h"
#include "config/config.h"
#include "raft/node_set.h"
#include "replay/replay.h"
#include "trace/codec.h"

namespace raftkv {
namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------------------
// The code's side: the nodes and every message sent, numbered as `raftkv
// replay` numbers a scenario's messages (every send from 1, client requests
// and replies included), so the scenario can name them.

struct CodeState {
  NodeSet nodes;
  std::vector<Message> sent;  // [id - 1]
};

View code_view(const CodeState& s) { return code_view(s.nodes, s.sent); }

// The variables on which `code` differs from `spec`, worded for a reader.
std::vector<std::string> differences(const View& spec, const View& code) {
  std::vector<std::string> out;
  for (size_t i = 0; i < spec.nodes.size() && i < code.nodes.size(); ++i) {
    const ViewNode& a = spec.nodes[i];
    const ViewNode& b = code.nodes[i];
    std::string who = "node " + std::to_string(i + 1) + " ";
    auto num = [&](const char* what, int64_t x, int64_t y) {
      if (x != y) {
        out.push_back(who + what + ": spec " + std::to_string(x) + ", code " + std::to_string(y));
      }
    };
    if (a.role != b.role) out.push_back(who + "role: spec " + a.role + ", code " + b.role);
    num("term", a.term, b.term);
    num("vote", a.vote, b.vote);
    if (a.log != b.log) out.push_back(who + "log: spec " + a.log + ", code " + b.log);
    num("commit", a.commit, b.commit);
    num("applied", a.applied, b.applied);
    if (a.store != b.store) out.push_back(who + "store: spec " + a.store + ", code " + b.store);
  }
  for (const std::string& m : spec.msgs) {
    if (!code.msgs.count(m)) out.push_back("message only the spec sent: " + m);
  }
  for (const std::string& m : code.msgs) {
    if (!spec.msgs.count(m)) out.push_back("message only the code sent: " + m);
  }
  return out;
}

// One input the runtime could give the code, as a scenario line.
struct Input {
  enum Kind { Deliver, Election, Heartbeat, CheckQuorum, Client, Crash, Restart } kind;
  int node = 0;
  int64_t id = 0;  // Deliver: the message
  Command cmd;     // Client
};

std::string input_line(const Input& in) {
  json j;
  auto timeout = [&](const char* timer) {
    j = json{{"event", "timeout"}, {"node", in.node}, {"timer", timer}};
  };
  switch (in.kind) {
    case Input::Deliver: j = json{{"event", "deliver"}, {"id", in.id}}; break;
    case Input::Election: timeout("election"); break;
    case Input::Heartbeat: timeout("heartbeat"); break;
    case Input::CheckQuorum: timeout("check_quorum"); break;
    case Input::Client:
      j = json{{"event", "client_request"}, {"node", in.node}, {"cmd", to_json(in.cmd)}};
      break;
    case Input::Crash: j = json{{"event", "crash"}, {"node", in.node}}; break;
    case Input::Restart: j = json{{"event", "restart"}, {"node", in.node}}; break;
  }
  // The scenario format's own key order: event first.
  std::string out = "{\"event\":" + j["event"].dump();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "event") out += ",\"" + it.key() + "\":" + it->dump();
  }
  return out + "}";
}

std::string describe(const Input& in, const CodeState& s) {
  std::string node = "node " + std::to_string(in.node);
  switch (in.kind) {
    case Input::Deliver: {
      const Message& m = s.sent[static_cast<size_t>(in.id - 1)];
      return "deliver message " + std::to_string(in.id) + " (" + to_string(m.type) + " of term " +
             std::to_string(m.term) + " from node " + std::to_string(m.from) + " to node " +
             std::to_string(m.to) + ")";
    }
    case Input::Election: return node + "'s election timer fires";
    case Input::Heartbeat: return node + "'s heartbeat timer fires";
    case Input::CheckQuorum: return node + "'s quorum check timer fires";
    case Input::Client:
      return "a client's " + std::string(to_string(in.cmd.op)) + " " + in.cmd.key +
             (in.cmd.client != 0 ? " (client " + std::to_string(in.cmd.client) + " seq " +
                                       std::to_string(in.cmd.seq) + ")"
                                 : "") +
             " reaches " + node;
    case Input::Crash: return node + " crashes";
    case Input::Restart: return node + " restarts";
  }
  return "";
}

// Runs one input on `s` (a copy). False if the node code refused it with an
// exception (a rule of its own broken).
bool apply(CodeState& s, const Input& in) {
  Effects fx;
  try {
    switch (in.kind) {
      case Input::Deliver: {
        Message m = s.sent[static_cast<size_t>(in.id - 1)];
        s.nodes.deliver(m, fx);
        break;
      }
      case Input::Election: s.nodes.timeout(in.node, Timer::Election, fx); break;
      case Input::Heartbeat: s.nodes.timeout(in.node, Timer::Heartbeat, fx); break;
      case Input::CheckQuorum: s.nodes.timeout(in.node, Timer::CheckQuorum, fx); break;
      case Input::Client: {
        // As replay runs a client_request: the request takes the next id.
        Message m;
        m.type = MsgType::ClientRequest;
        m.to = in.node;
        m.id = static_cast<int64_t>(s.sent.size()) + 1;
        m.cmd = in.cmd;
        m.client = in.cmd.client;
        s.sent.push_back(m);
        s.nodes.deliver(m, fx);
        break;
      }
      case Input::Crash: s.nodes.crash(in.node); break;
      case Input::Restart:
        // A restarted node boots at once (its start step), as replay does.
        s.nodes.restart(in.node);
        s.nodes.start(in.node, fx);
        break;
    }
  } catch (const std::exception&) {
    return false;
  }
  for (Message& m : fx.messages) {
    m.id = static_cast<int64_t>(s.sent.size()) + 1;
    s.sent.push_back(std::move(m));
  }
  return true;
}

// Every input the runtime could give at `s`, in a fixed order: deliveries
// (by id), then each node's timers, client commands, crash and restart.
std::vector<Input> inputs(const CodeState& s, const std::vector<Command>& commands,
                          const ImportSettings& settings) {
  std::vector<Input> out;
  for (const Message& m : s.sent) {
    if (m.type == MsgType::ClientRequest || m.type == MsgType::ClientReply) continue;
    if (m.to >= 1 && m.to <= s.nodes.size() && s.nodes.is_up(m.to)) {
      out.push_back({Input::Deliver, 0, m.id, {}});
    }
  }
  for (int id = 1; id <= s.nodes.size(); ++id) {
    if (!s.nodes.is_up(id)) {
      out.push_back({Input::Restart, id, 0, {}});
      continue;
    }
    // The runtime fires an election timer only at a follower or candidate,
    // a heartbeat or quorum check only at a leader, and a client's request
    // changes a node only at a leader.
    if (s.nodes.node(id).role() == Role::Leader) {
      out.push_back({Input::Heartbeat, id, 0, {}});
      if (settings.check_quorum) out.push_back({Input::CheckQuorum, id, 0, {}});
      for (const Command& c : commands) out.push_back({Input::Client, id, 0, c});
    } else {
      out.push_back({Input::Election, id, 0, {}});
    }
    out.push_back({Input::Crash, id, 0, {}});
  }
  return out;
}

std::string scenario_header(int servers, int clients, const ImportSettings& st) {
  json config{{"num_nodes", servers}, {"leader_noop", st.leader_noop}};
  if (clients > 0) config["num_clients"] = clients;
  if (st.pre_vote) config["pre_vote"] = true;
  if (st.check_quorum) config["check_quorum"] = true;
  json bugs = json::array();
  for (const std::string& b : planted_bug_list(st.bugs)) bugs.push_back(b);
  return "{\"format\":\"raftkv-scenario\",\"version\":1,\"config\":" + config.dump() +
         ",\"planted_bugs\":" + bugs.dump() + "}\n";
}

}  // namespace

void read_tlc_config(std::istream& in, const std::string& name, ImportSettings& st) {
  // The constants that change what the code does, by their RaftKV.tla names.
  struct Switch {
    const char* constant;
    bool* flag;
  };
  const Switch switches[] = {
      {"LeaderNoop", &st.leader_noop},
      {"PreVote", &st.pre_vote},
      {"CheckQuorum", &st.check_quorum},
      {"DedupLastSeqOnly", &st.bugs.dedup_last_seq_only},
      {"PlantedPreVoteRaisesTerm", &st.bugs.prevote_raises_term},
      {"PlantedLeaderIgnoresQuorum", &st.bugs.leader_ignores_quorum},
      {"PlantedVoteTwice", &st.bugs.vote_twice},
      {"PlantedCommitOldTerm", &st.bugs.commit_old_term},
  };
  // Switches of features the importer does not drive (their inputs and
  // messages have no candidate here): TRUE is refused.
  const char* unsupported[] = {"ReadIndex", "LeaseRead", "LeaderTransfer", "Snapshots",
                               "MembershipChanges"};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (auto c = line.find("\\*"); c != std::string::npos) line.erase(c);
    if (line.rfind("SYMMETRY", 0) == 0) st.symmetry = true;
    // `Server = {s1, s2, s3}`: the servers, counted.
    if (auto eq = line.find('='); eq != std::string::npos) {
      std::istringstream lhs(line.substr(0, eq));
      std::string key;
      size_t open = line.find('{', eq), close = line.find('}', eq);
      if ((lhs >> key) && key == "Server" && open != std::string::npos &&
          close != std::string::npos && close > open) {
        std::string inside = line.substr(open + 1, close - open - 1);
        st.servers = inside.find_first_not_of(" \t") == std::string::npos
                         ? 0
                         : static_cast<int>(std::count(inside.begin(), inside.end(), ',')) + 1;
        continue;
      }
    }
    std::istringstream words(line);
    std::string key, eq, value, rest;
    if (!(words >> key >> eq >> value) || eq != "=" || (words >> rest)) continue;
    if (!value.empty() && value.size() <= 9 &&
        std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
      st.numbers[key] = std::stoll(value);
      continue;
    }
    if (value != "TRUE" && value != "FALSE") continue;
    bool on = value == "TRUE";
    for (const Switch& s : switches) {
      if (key == s.constant) *s.flag = on;
    }
    for (const char* u : unsupported) {
      if (key == u && on) {
        throw ImportInputError(name + ":" + std::to_string(number) + ": " + key +
                               " = TRUE: import-tla and explore drive the code through elections, "
                               "replication, client commands, crashes and restarts only");
      }
    }
  }
}

ImportResult import_tla_trace(std::istream& in, const std::string& name,
                              const ImportSettings& settings) {
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ImportInputError(name + ": not JSON (" + std::string(e.what()) +
                           "); import-tla reads TLC's `-dumpTrace json FILE` output");
  }
  SpecReader r(name);
  if (!doc.is_object() || !doc.contains("state")) {
    r.fail("top level", "no 'state' list: import-tla reads TLC's `-dumpTrace json FILE` output");
  }
  const json& states = doc["state"];
  if (!states.is_array() || states.empty()) r.fail("state", "expected a non-empty list");
  std::vector<const json*> vars;
  for (size_t k = 0; k < states.size(); ++k) {
    std::string where = "state[" + std::to_string(k) + "]";
    const json& s = states[k];
    if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_object()) {
      r.fail(where, "expected [number, {variables}]");
    }
    if (s[0].get<int64_t>() != static_cast<int64_t>(k) + 1) {
      r.fail(where,
             "states must be numbered 1, 2, ... in order (a lasso's back edge is not "
             "imported)");
    }
    vars.push_back(&s[1]);
  }
  r.learn_servers(r.field(*vars[0], "node", "state 1"), "state 1.node");
  const int n = r.servers();

  std::vector<View> spec;
  for (size_t k = 0; k < vars.size(); ++k) {
    spec.push_back(r.view(*vars[k], "state " + std::to_string(k + 1)));
  }
  // The client commands the trace's logs hold: the candidates for a
  // client's request at a leader.
  std::vector<Command> commands;
  std::set<std::string> seen;
  int clients = 0;
  for (const View& v : spec) {
    for (const ViewNode& node : v.nodes) {
      for (const json& e : json::parse(node.log)) {
        if (e["cmd"]["op"] == "noop" || !seen.insert(e["cmd"].dump()).second) continue;
        commands.push_back(command_from_json(e["cmd"]));
        clients = std::max(clients, commands.back().client);
      }
    }
  }

  NodeOptions options;
  options.leader_noop = settings.leader_noop;
  options.pre_vote = settings.pre_vote;
  options.check_quorum = settings.check_quorum;
  options.bugs = settings.bugs;
  std::optional<CodeState> code;
  code.emplace(CodeState{NodeSet(n, options), {}});
  for (int id = 1; id <= n; ++id) {
    // Replay boots every node before the scenario's first line.
    code->nodes.up(id);
    Effects fx;
    code->nodes.start(id, fx);
    for (Message& m : fx.messages) {
      m.id = static_cast<int64_t>(code->sent.size()) + 1;
      code->sent.push_back(std::move(m));
    }
  }

  ImportResult result;
  result.states = static_cast<int>(spec.size());
  result.scenario = scenario_header(n, clients, settings);
  std::vector<std::string> first = differences(spec[0], code_view(*code));
  if (!first.empty()) {
    result.parted_at = 1;
    result.parted_why = "the initial states differ: " + first.front();
    return result;
  }
  int64_t t = 0;  // the scenario's clock, as replay keeps it
  for (size_t k = 1; k < spec.size(); ++k) {
    std::optional<CodeState> best;
    std::optional<Input> best_input;
    std::vector<std::string> closest;
    std::string closest_input;
    // A quorum check that failed is in the spec's history only: take the
    // step for that leader's check.
    int lapsed_leader = 0;
    for (const auto& rec : spec[k].lapsed) {
      if (!spec[k - 1].lapsed.count(rec)) lapsed_leader = static_cast<int>(rec.second);
    }
    for (const Input& in : inputs(*code, commands, settings)) {
      if (lapsed_leader != 0 && !(in.kind == Input::CheckQuorum && in.node == lapsed_leader)) {
        continue;
      }
      CodeState next{NodeSet(code->nodes), code->sent};
      if (!apply(next, in)) continue;
      std::vector<std::string> diff = differences(spec[k], code_view(next));
      if (diff.empty()) {
        best_input = in;
        best.emplace(std::move(next));
        break;
      }
      if (closest_input.empty() || diff.size() < closest.size()) {
        closest = std::move(diff);
        closest_input = describe(in, *code);
      }
    }
    if (!best) {
      result.parted_at = static_cast<int>(k) + 1;
      std::string why = "no input to the code reaches TLC's state " + std::to_string(k + 1);
      if (!closest_input.empty()) {
        why += "; the closest, " + closest_input + ", differs in " +
               std::to_string(closest.size()) + " place" + (closest.size() == 1 ? "" : "s") + ": " +
               closest.front();
        for (size_t d = 1; d < closest.size() && d < 4; ++d) why += "; " + closest[d];
      }
      result.parted_why = why;
      return result;
    }
    ImportStep step{static_cast<int>(k) + 1, input_line(*best_input), describe(*best_input, *code)};
    if (best_input->kind == Input::CheckQuorum) {
      // RaftKV abstracts the check's timer to "at any time while leading";
      // the runtime checks once per minimum election timeout E, and the
      // trace checker judges a leader by whom it heard from in the last 2E
      // (spec/checks.md, CheckQuorum). The check is placed 2E + 1 ms after
      // the previous line, as a run would see it; every other line is 1 ms
      // after the one before (the scenario format's default).
      t += 2 * TimingConfig{}.election_timeout_min_ms + 1;
      step.input.insert(step.input.size() - 1, ",\"t\":" + std::to_string(t));
    } else {
      t += 1;
    }
    result.scenario += step.input + "\n";
    result.steps.push_back(std::move(step));
    code.emplace(std::move(*best));
  }
  result.complete = true;
  return result;
}

namespace {

std::string default_out(const std::string& input) {
  std::string stem = input;
  auto slash = stem.find_last_of('/');
  auto dot = stem.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) stem.erase(dot);
  return stem + ".scenario.jsonl";
}

}  // namespace

bool load_tlc_config(const std::string& path, const char* command, ImportSettings& settings,
                     std::ostream& err) {
  std::ifstream in(path);
  if (!in) {
    err << "raftkv " << command << ": cannot open the TLC config '" << path << "'\n";
    return false;
  }
  try {
    read_tlc_config(in, path, settings);
  } catch (const ImportInputError& e) {
    err << "raftkv " << command << ": " << e.what() << '\n';
    return false;
  }
  return true;
}

int import_tla_command(const ImportTlaOptions& opts, std::ostream& out, std::ostream& err) {
  ImportSettings st;
  if (!opts.tlc_config.empty() && !load_tlc_config(opts.tlc_config, "import-tla", st, err)) {
    return 2;
  }
  if (!opts.leader_noop.empty()) {
    if (opts.leader_noop != "true" && opts.leader_noop != "false") {
      err << "raftkv import-tla: --leader-noop must be true or false, got '" << opts.leader_noop
          << "'\n";
      return 2;
    }
    st.leader_noop = opts.leader_noop == "true";
  }
  // --plant-bug adds to the config's planted bugs.
  std::optional<PlantedBugs> extra = parse_planted_bugs(opts.planted_bugs, "import-tla", err);
  if (!extra) return 2;
  for (const std::string& b : planted_bug_list(*extra)) plant_bug(st.bugs, b);
  if (opts.correct_code) st.bugs = PlantedBugs{};
  const std::string out_path = opts.out_path.empty() ? default_out(opts.input) : opts.out_path;
  if (same_file(out_path, opts.input)) {
    err << "raftkv import-tla: --out names the input file '" << opts.input << "'\n";
    return 2;
  }
  if (!opts.trace_path.empty() &&
      (same_file(opts.trace_path, out_path) || same_file(opts.trace_path, opts.input))) {
    err << "raftkv import-tla: --trace names the same file as the input or --out\n";
    return 2;
  }
  std::ifstream in(opts.input);
  if (!in) {
    err << "raftkv import-tla: cannot open '" << opts.input << "'\n";
    return 2;
  }
  ImportResult r;
  try {
    r = import_tla_trace(in, opts.input, st);
  } catch (const ImportInputError& e) {
    err << "raftkv import-tla: " << e.what() << '\n';
    return 2;
  }
  if (!opts.quiet) {
    out << "import-tla: " << r.states << " TLC states, " << (r.states > 0 ? r.states - 1 : 0)
        << " steps; the code runs with leader_noop " << (st.leader_noop ? "true" : "false");
    if (st.pre_vote) out << ", pre_vote";
    if (st.check_quorum) out << ", check_quorum";
    for (const std::string& b : planted_bug_list(st.bugs)) out << ", planted " << b;
    out << '\n';
    for (const ImportStep& s : r.steps) {
      out << "  state " << s.state << ": " << s.description << '\n';
    }
  }
  if (!write_file_atomically(out_path, r.scenario, "import-tla", err)) return 2;
  if (!r.complete) {
    out << "PARTED at TLC state " << r.parted_at << ": " << r.parted_why << '\n';
    out << "scenario of the " << r.steps.size() << " steps before it: " << out_path << '\n';
    return 1;
  }
  out << "scenario: " << out_path << " (" << r.steps.size()
      << " inputs; every TLC state reached)\n";
  if (!opts.trace_path.empty()) {
    std::istringstream scenario(r.scenario);
    std::ostringstream trace;
    ReplayOptions ro;
    ro.trace_out = &trace;
    try {
      replay(scenario, out_path, ro);
    } catch (const std::exception& e) {
      err << "raftkv import-tla: replaying the scenario failed: " << e.what() << '\n';
      return 2;
    }
    if (!write_file_atomically(opts.trace_path, trace.str(), "import-tla", err)) return 2;
    std::string verdict;
    try {
      check::Report rep = check::check_trace_file(opts.trace_path);
      verdict = rep.violation
                    ? "VIOLATION " + rep.violation->check + ": " + rep.violation->explanation
                    : "no violation";
    } catch (const std::exception& e) {
      verdict = std::string("unreadable: ") + e.what();
    }
    out << "trace: " << opts.trace_path << " (raftkv check: " << verdict << ")\n";
  }
  return 0;
}

}  // namespace raftkv
