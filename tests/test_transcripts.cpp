// Datadriven transcripts (tests/testdata/*.txt, format in spec/transcripts.md):
// each block is a command, a `----` line and the output it must give. The
// commands are the scenario language of spec/scenario-format.md written one
// per line; a block's output is the narrative of the events its command
// caused, or the nodes' state, their logs, or the checker's verdict on the
// trace so far. RAFTKV_REWRITE=1 rewrites the expected output in place, so a
// change shows up as a diff to review.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "check/checker.h"
#include "raft/planted_bugs.h"
#include "replay/replay.h"
#include "trace/event_table.h"

namespace raftkv {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Block {
  std::vector<std::string> comments;  // lines before the command, kept on rewrite
  std::string command;
  std::string expected;
  int line = 0;
};

std::vector<Block> parse_transcript(const std::string& path) {
  std::ifstream in(path);
  std::vector<Block> blocks;
  Block cur;
  std::string line;
  int line_no = 0;
  enum { kCommand, kOutput } state = kCommand;
  while (std::getline(in, line)) {
    ++line_no;
    if (state == kCommand) {
      if (line.empty() || line[0] == '#') {
        cur.comments.push_back(line);
      } else if (line == "----") {
        state = kOutput;
      } else {
        if (cur.command.empty()) cur.line = line_no;
        cur.command += (cur.command.empty() ? "" : "\n") + line;
      }
    } else if (line.empty()) {
      blocks.push_back(cur);
      cur = Block{};
      state = kCommand;
    } else {
      cur.expected += line + "\n";
    }
  }
  if (state == kOutput) blocks.push_back(cur);
  return blocks;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

std::vector<int> ids(const std::string& list) {
  std::vector<int> v;
  std::stringstream ss(list);
  for (std::string x; std::getline(ss, x, ',');) v.push_back(std::stoi(x));
  return v;
}

// A transcript being run: the scenario so far, re-run whole for each block
// (scenarios are short and deterministic, so each prefix tells the same story).
class Transcript {
 public:
  explicit Transcript(std::vector<std::string> extra_bugs) : extra_bugs_(std::move(extra_bugs)) {}

  // The output of one block's command(s).
  std::string run(const std::string& commands) {
    std::string out;
    std::istringstream in(commands);
    header_changed_ = false;
    for (std::string line; std::getline(in, line);) out += run_one(line);
    if (header_changed_ && out.empty()) {
      // Every node boots before the first input: tell that, once the block
      // has given the whole header (scenario, then any init lines).
      std::string narrative;
      std::string error = replay_prefix(&narrative, nullptr);
      if (!error.empty()) return "error: " + error + "\n";
      told_ = narrative.size();
      return narrative;
    }
    return out;
  }

  // The whole trace of the transcript's scenario (empty if it was rejected).
  std::string trace() {
    std::string t;
    return replay_prefix(nullptr, &t).empty() ? t : "";
  }

 private:
  std::string run_one(const std::string& line) {
    std::vector<std::string> w = words(line);
    const std::string& cmd = w[0];
    auto arg = [&](const std::string& key, const std::string& dflt) {
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i].rfind(key + "=", 0) == 0) return w[i].substr(key.size() + 1);
      }
      return dflt;
    };
    auto node = [&]() -> int { return w.size() > 1 ? std::stoi(w[1]) : 0; };
    if (cmd == "scenario") {
      header_ = {{"format", "raftkv-scenario"}, {"version", 1}};
      header_["config"] = {{"num_nodes", std::stoi(arg("num_nodes", "3"))},
                           {"leader_noop", arg("leader_noop", "true") == "true"}};
      if (arg("clients", "") != "")
        header_["config"]["num_clients"] = std::stoi(arg("clients", ""));
      if (arg("pre_vote", "false") == "true") header_["config"]["pre_vote"] = true;
      if (arg("check_quorum", "false") == "true") header_["config"]["check_quorum"] = true;
      if (arg("read_mode", "log") != "log") header_["config"]["read_mode"] = arg("read_mode", "");
      if (arg("clock_drift_ppm", "0") != "0")
        header_["config"]["clock_drift_ppm"] = std::stoi(arg("clock_drift_ppm", "0"));
      for (const char* key : {"snapshot_every", "snapshot_chunk_bytes"}) {
        if (arg(key, "0") != "0") header_["config"][key] = std::stoi(arg(key, "0"));
      }
      json bugs = json::array();
      std::string list = arg("bugs", "");
      std::stringstream ss(list);
      for (std::string b; std::getline(ss, b, ',');) {
        bugs.push_back(b);
        own_bugs_.push_back(b);
      }
      for (const std::string& b : extra_bugs_) bugs.push_back(b);
      header_["planted_bugs"] = bugs;
      verbosity_ = std::stoi(arg("verbosity", "2"));
      inputs_.clear();
      header_changed_ = true;
      return "";
    }
    if (cmd == "stabilize") {
      // Deliver every pending message, and what those deliveries send, until
      // the network is empty (timers never fire by themselves).
      std::string out;
      for (int round = 0; round < 1000; ++round) {
        std::string before;
        replay_prefix(nullptr, &before);
        inputs_.push_back(json{{"event", "deliver_pending"}}.dump());
        std::string after, narrative;
        replay_prefix(&narrative, &after);
        // Every delivery writes at least one line; the same count: nothing was pending.
        if (std::count(after.begin(), after.end(), '\n') ==
            std::count(before.begin(), before.end(), '\n')) {
          inputs_.pop_back();
          break;
        }
        out += narrative.substr(std::min(told_, narrative.size()));
        told_ = narrative.size();
      }
      return out.empty() ? "(nothing to tell)\n" : out;
    }
    if (cmd == "init") {
      // init N term=T [vote=V] [log=SPEC]: node N's storage before it boots.
      if (!inputs_.empty()) return "error: init comes before the first input\n";
      json s = {{"node", node()},
                {"term", std::stoi(arg("term", "0"))},
                {"vote", std::stoi(arg("vote", "0"))},
                {"log", entries(arg("log", ""), 1)}};
      header_["initial_state"].push_back(s);
      header_changed_ = true;
      return "";
    }
    json ev;
    if (cmd == "timeout") {
      ev = {{"event", "timeout"}, {"node", node()}, {"timer", arg("timer", "election")}};
    } else if (cmd == "deliver" && arg("id", "") != "") {
      ev = {{"event", "deliver"}, {"id", std::stoi(arg("id", ""))}};
    } else if (cmd == "deliver") {
      ev = {{"event", "deliver_pending"}};
      if (arg("to", "") != "") ev["to"] = ids(arg("to", ""));
      if (arg("from", "") != "") ev["from"] = ids(arg("from", ""));
    } else if (cmd == "drop") {
      ev = {{"event", "drop"}, {"id", std::stoi(arg("id", ""))}};
    } else if (cmd == "put" || cmd == "get" || cmd == "delete") {
      // put NODE KEY VALUE, get NODE KEY, delete NODE KEY
      json c = {{"op", cmd}, {"key", w.size() > 2 ? w[2] : ""}};
      if (cmd == "put")
        c["value"] = w.size() > 3 && w[3].find('=') == std::string::npos ? w[3] : "";
      // A client with a session (client=C seq=S): the leader applies each
      // (client, seq) once, however often it arrives.
      if (arg("client", "") != "") c["client"] = std::stoi(arg("client", ""));
      if (arg("seq", "") != "") c["seq"] = std::stoi(arg("seq", ""));
      ev = {{"event", "client_request"}, {"node", node()}, {"cmd", c}};
    } else if (cmd == "inject") {
      ev = {{"event", "inject"}, {"msg", injected(w)}};
    } else if (cmd == "partition") {
      // partition 1,2 3,4,5: the groups, every node in one.
      json groups = json::array();
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i].find('=') == std::string::npos) groups.push_back(ids(w[i]));
      }
      ev = {{"event", "partition"}, {"groups", groups}};
    } else if (cmd == "heal") {
      ev = {{"event", "heal"}};
    } else if (cmd == "crash" || cmd == "restart") {
      ev = {{"event", cmd}, {"node", node()}};
    } else if (cmd == "transfer") {
      // transfer N to=M: leader N hands leadership to node M (thesis §3.10).
      ev = {{"event", "transfer"}, {"node", node()}, {"to", std::stoi(arg("to", "0"))}};
    } else if (cmd == "state" || cmd == "log" || cmd == "check") {
      return report(cmd);
    } else if (cmd == "print-state" || cmd == "print-log") {
      return report(cmd.substr(6));  // the names for state and log
    } else {
      return "error: unknown command '" + cmd + "'\n";
    }
    if (arg("t", "") != "") ev["t"] = std::stoi(arg("t", ""));
    inputs_.push_back(ev.dump());
    std::string narrative;
    std::string error = replay_prefix(&narrative, nullptr);
    if (!error.empty()) {
      inputs_.pop_back();  // a rejected input is not part of the scenario
      return "error: " + error + "\n";
    }
    std::string fresh = narrative.substr(std::min(told_, narrative.size()));
    told_ = narrative.size();
    return fresh.empty() ? "(nothing to tell)\n" : fresh;
  }

  // A log written as entry specs separated by commas, the first at index
  // `first`: `T` (a put of key eI = tT, I its index, T its term), `T:noop`,
  // or `T:put:KEY=VALUE`, `T:get:KEY`, `T:delete:KEY`.
  static json entries(const std::string& spec, int64_t first) {
    json out = json::array();
    std::stringstream ss(spec);
    int64_t index = first;
    for (std::string e; std::getline(ss, e, ','); ++index) {
      std::vector<std::string> part;
      std::stringstream es(e);
      for (std::string p; std::getline(es, p, ':');) part.push_back(p);
      int64_t term = std::stoi(part.at(0));
      json cmd = {{"op", "put"},
                  {"key", "e" + std::to_string(index)},
                  {"value", "t" + std::to_string(term)},
                  {"client", 0},
                  {"seq", 0}};
      if (part.size() > 1) {
        cmd["op"] = part[1];
        std::string kv = part.size() > 2 ? part[2] : "";
        size_t eq = kv.find('=');
        cmd["key"] = kv.substr(0, eq);
        cmd["value"] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      }
      out.push_back(json{{"term", term}, {"cmd", cmd}});
    }
    return out;
  }

  // inject FROM TO TYPE [field=value...]: a hand-made message. Fields left
  // out are 0, false, "" or no entries; entries=SPEC as for init's log.
  static json injected(const std::vector<std::string>& w) {
    json msg = {{"from", std::stoi(w.at(1))}, {"to", std::stoi(w.at(2))}, {"type", w.at(3)}};
    for (const trace::MessageSpec& spec : trace::message_table()) {
      if (spec.type != w[3]) continue;
      for (const trace::FieldSpec& f : spec.fields) {
        using T = trace::FieldType;
        msg[f.name] = f.type == T::Int       ? json(0)
                      : f.type == T::Bool    ? json(false)
                      : f.type == T::Entries ? json::array()
                                             : json("");
      }
    }
    for (size_t i = 4; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      std::string key = w[i].substr(0, eq), value = w[i].substr(eq + 1);
      if (key == "t") continue;
      if (key == "entries") {
        int64_t prev = msg.value("prev_log_index", int64_t{0});
        msg[key] = entries(value, prev + 1);
      } else if (value == "true" || value == "false") {
        msg[key] = value == "true";
      } else if (!value.empty() && std::isdigit(static_cast<unsigned char>(value[0]))) {
        msg[key] = std::stoi(value);
      } else {
        msg[key] = value;
      }
    }
    return msg;
  }

  // Runs the scenario so far; fills the narrative and/or the trace. Returns
  // the input error, if any.
  std::string replay_prefix(std::string* narrative, std::string* trace) {
    std::string text = header_.dump() + "\n";
    for (const std::string& i : inputs_) text += i + "\n";
    std::istringstream in(text);
    std::ostringstream told, traced;
    ReplayOptions o;
    o.narrative.verbosity = verbosity_;
    if (narrative) o.narrate = &told;
    if (trace) o.trace_out = &traced;
    try {
      replay(in, "transcript", o);
    } catch (const ReplayInputError& e) {
      return e.what();
    }
    if (narrative) {
      // Only the narrative lines: the replay's closing "scenario: ran ..." is not news.
      std::istringstream lines(told.str());
      for (std::string l; std::getline(lines, l);) {
        if (l.rfind("[", 0) == 0) *narrative += l + "\n";
      }
    }
    if (trace) *trace = traced.str();
    return "";
  }

  static std::string entry_text(const json& e) {
    const json& c = e["cmd"];
    std::string op = c["op"];
    std::string text = std::to_string(e["term"].get<int64_t>()) + ":" + op;
    if (op != "noop") text += " " + c["key"].get<std::string>();
    if (op == "put") text += "=" + c["value"].get<std::string>();
    return text;
  }

  std::string report(const std::string& what) {
    std::string trace;
    std::string error = replay_prefix(nullptr, &trace);
    if (!error.empty()) return "error: " + error + "\n";
    std::istringstream in(trace);
    if (what == "check") {
      check::Report r = check::check_trace(in, "transcript");
      // A bug planted from outside (the planted-bug test) must change what
      // happens, not only the report's list of planted bugs.
      r.planted_bugs = own_bugs_;
      return check::format_report(r) + "\n";
    }
    // state / log: each node's last state and its log, followed from the trace.
    std::map<int, json> states;
    std::map<int, std::vector<std::string>> logs;
    // Raft §7: the index and term each node's latest snapshot covers; its log
    // holds only the entries after it.
    std::map<int, std::pair<int64_t, int64_t>> snaps;
    std::string line;
    std::getline(in, line);  // header: the logs nodes boot with
    for (const json& s : json::parse(line).value("initial_state", json::array())) {
      std::vector<std::string>& log = logs[s["node"].get<int>()];
      for (const json& e : s["log"]) log.push_back(entry_text(e));
    }
    while (std::getline(in, line)) {
      json ev = json::parse(line);
      if (!ev.contains("node")) continue;
      int n = ev["node"];
      if (ev.contains("state")) states[n].update(ev["state"]);  // the fields that changed
      std::vector<std::string>& log = logs[n];
      if (ev["event"] == "truncate") log.resize(ev["from_index"].get<size_t>() - 1);
      if (ev["event"] == "snapshot" || ev["event"] == "install_snapshot") {
        auto index = ev["index"].get<int64_t>();
        snaps[n] = {index, ev["term"].get<int64_t>()};
        if (ev["event"] == "install_snapshot") {
          log.resize(static_cast<size_t>(index + ev["kept"].get<int64_t>()));
        }
      }
      if (ev["event"] == "append") {
        size_t first = ev["first_index"].get<size_t>();
        const json& entries = ev["entries"];
        if (log.size() < first - 1 + entries.size()) log.resize(first - 1 + entries.size());
        for (size_t i = 0; i < entries.size(); ++i) log[first - 1 + i] = entry_text(entries[i]);
      }
    }
    std::ostringstream out;
    for (const auto& [n, s] : states) {
      out << "node " << n << ": ";
      if (what == "state") {
        out << s["role"].get<std::string>() << " term " << s["term"] << " vote " << s["vote"]
            << " commit " << s["commit"] << " applied " << s["applied"] << " last "
            << s["last_index"] << "/" << s["last_term"];
      } else {
        size_t from = 0;
        if (auto it = snaps.find(n); it != snaps.end()) {
          out << "snapshot " << it->second.first << "/" << it->second.second << " + ";
          from = static_cast<size_t>(it->second.first);
        }
        out << "[";
        for (size_t i = from; i < logs[n].size(); ++i) out << (i > from ? ", " : "") << logs[n][i];
        out << "]";
      }
      out << "\n";
    }
    return out.str();
  }

  std::vector<std::string> extra_bugs_;
  std::vector<std::string> own_bugs_;  // planted by the transcript itself
  json header_ = {{"format", "raftkv-scenario"}, {"version", 1}, {"config", {{"num_nodes", 3}}}};
  std::vector<std::string> inputs_;
  int verbosity_ = 2;
  size_t told_ = 0;
  bool header_changed_ = false;
};

struct Outcome {
  std::vector<Block> blocks;
  std::vector<std::string> actual;
  int first_mismatch = -1;  // block index, -1 if none
  std::string trace;        // the trace the transcript wrote
};

Outcome run_transcript(const std::string& path, std::vector<std::string> extra_bugs = {}) {
  Outcome o;
  o.blocks = parse_transcript(path);
  Transcript t(std::move(extra_bugs));
  for (size_t i = 0; i < o.blocks.size(); ++i) {
    o.actual.push_back(t.run(o.blocks[i].command));
    if (o.first_mismatch < 0 && o.actual.back() != o.blocks[i].expected) {
      o.first_mismatch = static_cast<int>(i);
    }
  }
  o.trace = t.trace();
  return o;
}

void rewrite(const std::string& path, const Outcome& o) {
  std::ofstream out(path);
  for (size_t i = 0; i < o.blocks.size(); ++i) {
    for (const std::string& c : o.blocks[i].comments) out << c << "\n";
    out << o.blocks[i].command << "\n----\n" << o.actual[i] << "\n";
  }
}

std::vector<std::string> transcript_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(std::string(RAFTKV_SOURCE_DIR) + "/tests/testdata")) {
    if (e.path().extension() == ".txt") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("Every transcript in tests/testdata gives its expected output", "[transcripts]") {
  bool rewriting = std::getenv("RAFTKV_REWRITE") != nullptr;
  std::vector<std::string> files = transcript_files();
  REQUIRE(files.size() >= 5);
  for (const std::string& path : files) {
    Outcome o = run_transcript(path);
    if (rewriting) {
      rewrite(path, o);
      continue;
    }
    INFO(path);
    // Transcripts and runs share one contract: the trace a transcript writes
    // is checked and replayed like any other.
    REQUIRE_FALSE(o.trace.empty());
    std::istringstream for_replay(o.trace);
    CHECK(replay(for_replay, path, ReplayOptions{}).identical);
    if (o.first_mismatch >= 0) {
      const Block& b = o.blocks[static_cast<size_t>(o.first_mismatch)];
      FAIL_CHECK(path << ":" << b.line << ": `" << b.command << "` gave\n"
                      << o.actual[static_cast<size_t>(o.first_mismatch)] << "expected\n"
                      << b.expected << "(RAFTKV_REWRITE=1 rewrites the expected output)");
    }
  }
}

TEST_CASE("A planted bug changes a transcript's output, and the failure says where",
          "[transcripts]") {
  // Which transcripts each planted bug breaks. A bug missing here is caught by
  // no transcript yet (spec/transcripts.md lists them); the test fails when
  // the table and the transcripts disagree either way.
  const std::map<std::string, std::set<std::string>> caught_by = {
      {"commit_old_term", {"figure8.txt", "figure8-e.txt"}},
      {"vote_twice", {"split-vote.txt", "candidate-steps-down.txt", "vote-rows.txt"}},
      {"vote_without_log_check", {"vote-up-to-date.txt", "vote-rows.txt", "figure7.txt"}},
      {"leader_ignores_higher_term", {"term-rules.txt"}},
      {"apply_before_commit", {"replication.txt"}},
      {"skip_truncate", {"figure8.txt"}},
      {"skip_prev_log_check", {"figure8.txt", "figure7.txt"}},
      {"no_client_dedup", {"exactly-once.txt"}},
      {"dedup_last_seq_only", {"exactly-once.txt"}},
      {"prevote_raises_term", {"prevote.txt"}},
      {"leader_ignores_quorum", {"check-quorum.txt"}},
      {"read_index_without_confirm", {"read-index.txt"}},
      {"transfer_before_caught_up", {"leader-transfer.txt"}},
      {"lease_ignores_drift", {"lease.txt"}},
  };
  // Every bug there is, so a new one must be caught or listed here.
  const std::vector<std::string>& bugs = planted_bug_names();
  for (const std::string& bug : bugs) {
    std::set<std::string> broken;
    for (const std::string& path : transcript_files()) {
      Outcome o = run_transcript(path, {bug});
      if (o.first_mismatch >= 0) broken.insert(fs::path(path).filename().string());
    }
    std::string got;
    for (const std::string& f : broken) got += f + " ";
    INFO(bug << " breaks: " << got);
    auto it = caught_by.find(bug);
    if (it == caught_by.end()) {
      CHECK(broken.empty());
    } else {
      for (const std::string& f : it->second) CHECK(broken.count(f) == 1);
    }
  }
}

TEST_CASE("README's transcript sample is taken from the transcript it names", "[transcripts]") {
  std::ifstream readme(std::string(RAFTKV_SOURCE_DIR) + "/README.md");
  std::string line;
  const std::string marker = "From `tests/testdata/persistence.txt`:";
  while (std::getline(readme, line) && line.find(marker) == std::string::npos) {
  }
  REQUIRE(line.find(marker) != std::string::npos);
  std::getline(readme, line);  // blank
  std::getline(readme, line);  // ```
  std::vector<std::string> sample;
  while (std::getline(readme, line) && line.rfind("```", 0) != 0) {
    if (!line.empty()) sample.push_back(line);
  }
  REQUIRE(sample.size() >= 5);
  std::ifstream file(std::string(RAFTKV_SOURCE_DIR) + "/tests/testdata/persistence.txt");
  size_t next = 0;
  while (next < sample.size() && std::getline(file, line)) {
    if (line == sample[next]) ++next;
  }
  CHECK(next == sample.size());
}

}  // namespace raftkv
