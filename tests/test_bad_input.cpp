// One verdict on a malformed trace (issue 11): every command that reads
// traces -- check, replay, replay --narrate, export-tla -- exits 2 naming the
// same file and line, and none of them aborts. The corpus is made from a real
// run's trace: every field of every event kind given a value of the wrong
// type, and the ways files really break (cut, no final line end, a seq
// repeated or missing, huge integers, invalid UTF-8, empty, header only).
// Under the sanitizer build this also shows that no reader overruns or
// aborts on any of them.
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "support.h"
#include "trace/event_table.h"

using namespace raftkv;
using namespace raftkv::testing;
namespace fs = std::filesystem;

namespace {

// `text` with a hand-made message (a scenario's inject, which runs never write)
// put on the network just before the end; it stays in flight.
std::string with_inject(const std::string& text) {
  std::vector<std::string> lines = lines_of(text);
  int64_t last_id = 0;
  for (const std::string& line : lines) {
    json j = json::parse(line);
    if (j.contains("msg")) last_id = std::max(last_id, j["msg"]["id"].get<int64_t>());
  }
  json end = json::parse(lines.back());
  json inject = {{"event", "inject"},
                 {"seq", end["seq"]},
                 {"t", end["t"]},
                 {"msg",
                  {{"id", last_id + 1},
                   {"type", "RequestVote"},
                   {"from", 1},
                   {"to", 2},
                   {"term", 1},
                   {"last_log_index", 0},
                   {"last_log_term", 0}}}};
  end["seq"] = end["seq"].get<int64_t>() + 1;
  lines.back() = inject.dump();
  lines.push_back(end.dump());
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// Scheduled faults for the event kinds only a schedule makes: a network
// change (`network`), and a crash of the leader at 0 ms, before any node has
// won, so it is skipped (`fault_skipped`).
std::vector<FaultConfig> schedule_faults() {
  FaultConfig network;
  network.at_ms = 30;
  network.action = FaultAction::Network;
  network.loss = 0.15;
  network.latency_max_ms = 8;
  FaultConfig no_leader;
  no_leader.action = FaultAction::Crash;
  no_leader.target = FaultTarget::Leader;
  return {network, no_leader};
}

// The membership change events (thesis §4.1): from membership_trace().
bool is_membership_event(std::string_view name) {
  return name == "join" || name == "leave" || name == "change" || name == "membership" ||
         name == "reject_change";
}

// A small run that goes through every event kind of the schema: loss,
// duplication, crashes, partitions, one-way cuts, client timeouts and retries.
std::string base_trace() {
  std::set<std::string> missing;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Config cfg = test_config(3, 2, 4, seed);
    cfg.network.loss = 0.15;
    cfg.network.duplicate = 0.2;
    cfg.nemesis.enabled = true;
    cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
    cfg.nemesis.mean_interval_ms = 60;
    cfg.nemesis.max_down = 1;
    cfg.timing.client_timeout_ms = 60;
    cfg.faults = schedule_faults();
    std::string text = trace_text(cfg);
    std::map<std::string, int> seen;
    for (const std::string& line : lines_of(text)) seen[json::parse(line).value("event", "")]++;
    bool all = true;
    for (const trace::EventSpec& e : trace::event_table()) {
      // inject: scenarios only. The [raft] pre_vote and check_quorum
      // events: from a run with the switches on (switches_trace).
      std::string_view name = e.name;
      // The leadership transfer events: from a run with transfer_leader
      // faults (transfer_trace). The snapshot events: made by hand
      // (snapshot_lines).
      bool ok = seen.count(e.name) > 0 || name == "inject" || name == "prevote" ||
                name == "become_precandidate" || name == "step_down" || name == "read" ||
                name == "transfer" || name == "transfer_abort" || name == "snapshot" ||
                name == "install_snapshot" || is_membership_event(name);
      if (!ok) missing.insert(e.name);
      all &= ok;
    }
    if (all) return with_inject(text);
  }
  std::string names;
  for (const std::string& m : missing) names += " " + m;
  FAIL("no seed in 1..50 gives a trace with every event kind; missing in some:" << names);
  return "";
}

// A run with [raft] pre_vote and check_quorum on (issue 15), elections left
// to the timers and partitions that cut leaders off: the pre-vote events, the
// PreVote / PreVoteResponse messages and a leader's step_down.
std::string switches_trace() {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Config cfg = test_config(3, 2, 4, seed);
    cfg.raft.pre_vote = true;
    cfg.raft.check_quorum = true;
    cfg.raft.read_mode = ReadMode::ReadIndex;
    cfg.initial_leader = 0;
    // Both followers down from 1000 to 1600 ms: the leader steps down.
    cfg.faults = quorum_loss_faults(1000, 1600);
    std::string text = trace_text(cfg);
    if (text.find("\"event\":\"prevote\"") != std::string::npos &&
        text.find("\"event\":\"read\"") != std::string::npos &&
        text.find("\"type\":\"ReadConfirmResponse\"") != std::string::npos &&
        text.find("\"event\":\"become_precandidate\"") != std::string::npos &&
        text.find("\"event\":\"step_down\"") != std::string::npos &&
        text.find("\"type\":\"PreVoteResponse\"") != std::string::npos) {
      return text;
    }
  }
  FAIL(
      "no seed in 1..50 gives a pre_vote + check_quorum trace with the pre-vote events and a "
      "step_down");
  return "";
}

// A run with transfer_leader faults (Raft thesis §3.10) and [raft]
// check_quorum: transfers that complete (TimeoutNow, RequestVotes marked as a
// transfer's) and one to a crashed node that is given up (transfer_abort).
// A small run with membership changes: two servers added at once (the second
// waits: reject_change), then the first leader removed (it steps down and
// leaves).
std::string membership_trace() {
  Config cfg = test_config(3, 1, 3, 1);
  for (auto [at, action, node] : {std::tuple{5, FaultAction::AddNode, 4},
                                  {5, FaultAction::AddNode, 5},
                                  {60, FaultAction::RemoveNode, 1}}) {
    FaultConfig f;
    f.at_ms = at;
    f.action = action;
    f.node = node;
    cfg.faults.push_back(f);
  }
  return trace_text(cfg);
}

std::string transfer_trace() {
  auto fault = [](int64_t at, FaultAction action, int node, int to) {
    FaultConfig f;
    f.at_ms = at;
    f.action = action;
    f.node = node;
    f.to = to;
    return f;
  };
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Config cfg = test_config(3, 2, 4, seed);
    cfg.raft.check_quorum = true;
    cfg.faults = {
        fault(300, FaultAction::TransferLeader, 0, 2),
        fault(600, FaultAction::TransferLeader, 0, 3), fault(900, FaultAction::Crash, 1, 0),
        fault(950, FaultAction::TransferLeader, 0, 1), fault(1500, FaultAction::Restart, 1, 0)};
    std::string text = trace_text(cfg);
    if (text.find("\"event\":\"transfer\"") != std::string::npos &&
        text.find("\"event\":\"transfer_abort\"") != std::string::npos &&
        text.find("\"type\":\"TimeoutNow\"") != std::string::npos &&
        text.find("\"transfer\":true") != std::string::npos) {
      return text;
    }
  }
  FAIL("no seed in 1..50 gives a transfer_leader trace with a completed and an aborted transfer");
  return "";
}

// Every value inside `j`, by JSON pointer (only the first element of an array).
void leaf_pointers(const json& j, const json::json_pointer& at,
                   std::vector<json::json_pointer>& out) {
  if (!at.empty()) out.push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) leaf_pointers(it.value(), at / it.key(), out);
  } else if (j.is_array() && !j.empty()) {
    leaf_pointers(j[0], at / 0, out);
  }
}

// `lines` (a trace) with `extra` put just before its end event, at the end's
// seq and time (the end moves one on).
std::string with_line_before_end(std::vector<std::string> lines, json extra) {
  json end = json::parse(lines.back());
  extra["seq"] = end["seq"];
  extra["t"] = end["t"];
  end["seq"] = end["seq"].get<int64_t>() + 1;
  lines.back() = extra.dump();
  lines.push_back(end.dump());
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// One line of each snapshot event and message (Raft §7, [raft]
// snapshot_every), well formed, by kind; the data holds JSON escapes and a
// multi-byte character.
std::vector<std::pair<std::string, json>> snapshot_lines() {
  json state = {{"term", 2},    {"vote", 1},       {"role", "follower"}, {"commit", 6},
                {"applied", 6}, {"last_index", 6}, {"last_term", 2}};
  json snapshot = {{"event", "snapshot"}, {"node", 2},  {"state", state},
                   {"index", 6},          {"term", 2},  {"store_digest", "cbf29ce484222325"},
                   {"store_size", 0},     {"bytes", 22}};
  json install = snapshot;
  install["event"] = "install_snapshot";
  install.erase("bytes");
  install["kept"] = 0;
  json chunk = {{"event", "send"},
                {"node", 1},
                {"state", state},
                {"msg",
                 {{"id", 100000},
                  {"type", "InstallSnapshot"},
                  {"from", 1},
                  {"to", 2},
                  {"term", 2},
                  {"last_included_index", 6},
                  {"last_included_term", 2},
                  {"offset", 0},
                  {"data", "store 1\n1 \" 2 \\\xc3\xa9\n"},
                  {"done", false}}}};
  json reply = chunk;
  reply["node"] = 2;
  reply["msg"] = {
      {"id", 100001}, {"type", "InstallSnapshotResponse"}, {"from", 2},    {"to", 1},
      {"term", 2},    {"last_included_index", 6},          {"offset", 16}, {"done", false}};
  return {{"snapshot", snapshot},
          {"install_snapshot", install},
          {"send InstallSnapshot", chunk},
          {"send InstallSnapshotResponse", reply}};
}

// A value of another JSON type than `v`.
json wrong_type(const json& v) {
  if (v.is_number()) return "x";
  if (v.is_string()) return 7;
  if (v.is_boolean()) return 1;
  if (v.is_object()) return json::array();
  return json::object();
}

struct BadFile {
  std::string what;
  std::string text;
  int64_t line;              // where every reader must point
  std::string message = {};  // a text every reader's message must hold ("" = any)
};

struct Verdict {
  int code;
  std::string err;
};

}  // namespace

TEST_CASE("Every reader of traces gives one verdict on a malformed file", "[bad-input][cli]") {
  const std::string text = base_trace();
  const std::vector<std::string> lines = lines_of(text);
  const int64_t n = static_cast<int64_t>(lines.size());
  std::vector<BadFile> corpus;

  // Every field of the header and of the first line of each event kind, given
  // a value of the wrong type.
  std::map<std::string, bool> done;
  for (int64_t i = 0; i < n; ++i) {
    json j = json::parse(lines[static_cast<size_t>(i)]);
    std::string kind = i == 0 ? "header" : j["event"].get<std::string>();
    if (done[kind]) continue;
    done[kind] = true;
    std::vector<json::json_pointer> pointers;
    leaf_pointers(j, json::json_pointer(), pointers);
    for (const json::json_pointer& p : pointers) {
      json bad = j;
      bad[p] = wrong_type(j[p]);
      std::vector<std::string> edited = lines;
      edited[static_cast<size_t>(i)] = bad.dump();
      corpus.push_back({kind + p.to_string() + " of the wrong type", join(edited), i + 1});
    }
  }
  // The [raft] pre_vote and check_quorum events and messages, from a run with
  // the switches on: every field of the first line of each, given a value of
  // the wrong type.
  {
    const std::vector<std::string> pv = lines_of(switches_trace());
    std::set<std::string> pv_done;
    for (size_t i = 1; i < pv.size(); ++i) {
      json j = json::parse(pv[i]);
      std::string kind = j["event"].get<std::string>();
      if (kind == "send") kind += " " + j["msg"]["type"].get<std::string>();
      if (kind != "prevote" && kind != "become_precandidate" && kind != "send PreVote" &&
          kind != "send PreVoteResponse" && kind != "step_down" && kind != "read" &&
          kind != "send ReadConfirm" && kind != "send ReadConfirmResponse") {
        continue;
      }
      if (!pv_done.insert(kind).second) continue;
      if (kind == "prevote" || kind == "become_precandidate" || kind == "step_down" ||
          kind == "read") {
        done[kind] = true;
      }
      std::vector<json::json_pointer> pointers;
      leaf_pointers(j, json::json_pointer(), pointers);
      for (const json::json_pointer& p : pointers) {
        json bad = j;
        bad[p] = wrong_type(j[p]);
        std::vector<std::string> edited = pv;
        edited[i] = bad.dump();
        corpus.push_back({"[raft] switches run: " + kind + p.to_string() + " of the wrong type",
                          join(edited), static_cast<int64_t>(i) + 1});
      }
    }
    CHECK(pv_done.size() == 8);
  }
  // The leadership transfer events and messages, from a run with transfer_leader faults: every
  // field of the first line of each (a RequestVote with `transfer` included), given a value of
  // the wrong type.
  {
    const std::vector<std::string> tt = lines_of(transfer_trace());
    std::set<std::string> tt_done;
    for (size_t i = 1; i < tt.size(); ++i) {
      json j = json::parse(tt[i]);
      std::string kind = j["event"].get<std::string>();
      if (kind == "send") kind += " " + j["msg"]["type"].get<std::string>();
      if (kind == "send RequestVote" && j["msg"].contains("transfer")) kind += " transfer";
      if (kind != "transfer" && kind != "transfer_abort" && kind != "send TimeoutNow" &&
          kind != "send RequestVote transfer") {
        continue;
      }
      if (!tt_done.insert(kind).second) continue;
      if (kind == "transfer" || kind == "transfer_abort") done[kind] = true;
      std::vector<json::json_pointer> pointers;
      leaf_pointers(j, json::json_pointer(), pointers);
      for (const json::json_pointer& p : pointers) {
        json bad = j;
        bad[p] = wrong_type(j[p]);
        std::vector<std::string> edited = tt;
        edited[i] = bad.dump();
        corpus.push_back({"transfer_leader run: " + kind + p.to_string() + " of the wrong type",
                          join(edited), static_cast<int64_t>(i) + 1});
      }
    }
    CHECK(tt_done.size() == 4);
  }
  // The membership change events, from a run with add_node and remove_node
  // faults: every field of the first line of each (and of the first append
  // of a configuration entry), given a value of the wrong type.
  {
    const std::vector<std::string> mt = lines_of(membership_trace());
    std::set<std::string> mt_done;
    for (size_t i = 1; i < mt.size(); ++i) {
      json j = json::parse(mt[i]);
      std::string kind = j["event"].get<std::string>();
      if (kind == "append" && j["entries"][0]["cmd"]["op"] == "config") kind += " config";
      if (!is_membership_event(kind) && kind != "append config") continue;
      if (!mt_done.insert(kind).second) continue;
      if (kind != "append config") done[kind] = true;
      std::vector<json::json_pointer> pointers;
      leaf_pointers(j, json::json_pointer(), pointers);
      for (const json::json_pointer& p : pointers) {
        json bad = j;
        bad[p] = wrong_type(j[p]);
        std::vector<std::string> edited = mt;
        edited[i] = bad.dump();
        corpus.push_back({"membership run: " + kind + p.to_string() + " of the wrong type",
                          join(edited), static_cast<int64_t>(i) + 1});
      }
    }
    CHECK(mt_done.size() == 6);
  }
  // The snapshot events and messages (Raft §7), which no run writes until
  // nodes compact: a line of each, made by hand, put before the end, every
  // field of it given a value of the wrong type (InstallSnapshot's `done` as
  // an int among them).
  for (const auto& [kind, line] : snapshot_lines()) {
    if (kind == "snapshot" || kind == "install_snapshot") done[kind] = true;
    json valid = line;
    valid["seq"] = 1, valid["t"] = 0;
    CHECK_NOTHROW(trace::validate_event(valid));  // so each edit below is what breaks it
    std::vector<json::json_pointer> pointers;
    leaf_pointers(line, json::json_pointer(), pointers);
    for (const json::json_pointer& p : pointers) {
      if (p.to_string() == "/seq" || p.to_string() == "/t") continue;  // set by the insertion
      json bad = line;
      bad[p] = wrong_type(line[p]);
      corpus.push_back({"made by hand: " + kind + p.to_string() + " of the wrong type",
                        with_line_before_end(lines, bad), n});
    }
  }
  {
    json bad_done = snapshot_lines()[2].second;
    bad_done["msg"]["done"] = 1;
    corpus.push_back({"an InstallSnapshot whose done is an int",
                      with_line_before_end(lines, bad_done), n, "done"});
  }
  // The header and every event kind.
  REQUIRE(done.size() == trace::event_table().size() + 1);

  auto edit_line = [&](int64_t line, const std::function<void(std::string&)>& change) {
    std::vector<std::string> edited = lines;
    change(edited[static_cast<size_t>(line - 1)]);
    return join(edited);
  };
  corpus.push_back({"empty file", "", 1});
  corpus.push_back({"header only", lines[0] + "\n", 2});
  corpus.push_back({"cut mid-line", text.substr(0, text.size() / 2),
                    1 + std::count(text.begin(), text.begin() + text.size() / 2, '\n')});
  corpus.push_back({"no final line end", text.substr(0, text.size() - 1), n});
  corpus.push_back({"unknown event",
                    edit_line(5,
                              [](std::string& l) {
                                json j = json::parse(l);
                                j["event"] = "teleport";
                                l = j.dump();
                              }),
                    5});
  {
    std::vector<std::string> repeated = lines;
    repeated.insert(repeated.begin() + 6, lines[5]);  // line 6 twice
    corpus.push_back({"repeated seq", join(repeated), 7});
    std::vector<std::string> missing = lines;
    missing.erase(missing.begin() + 6);  // line 7 gone
    corpus.push_back({"missing seq", join(missing), 7});
  }
  corpus.push_back({"integer 2^31",
                    edit_line(9,
                              [](std::string& l) {
                                json j = json::parse(l);
                                j["t"] = int64_t{1} << 31;
                                l = j.dump();
                              }),
                    9});
  corpus.push_back({"integer 2^64",
                    edit_line(9,
                              [](std::string& l) {
                                size_t at = l.find("\"seq\":") + 6;
                                l.replace(at, l.find(',', at) - at, "18446744073709551616");
                              }),
                    9});
  corpus.push_back(
      {"invalid UTF-8",
       edit_line(11, [](std::string& l) { l.replace(l.find("\"event\":\"") + 9, 0, "\xff\xfe"); }),
       11});
  // Lines the checker's own parser and the nlohmann reader might read apart
  // (trace/fast_reader.h): both must give the nlohmann reader's verdict.
  corpus.push_back(
      {"a lone surrogate",
       edit_line(12, [](std::string& l) { l.replace(l.find("\"event\":\"") + 9, 0, "\\ud800"); }),
       12});
  corpus.push_back({"a fraction",
                    edit_line(13,
                              [](std::string& l) {
                                size_t at = l.find("\"t\":") + 4;
                                l.replace(at, l.find_first_of(",}", at) - at, "1.5");
                              }),
                    13});
  corpus.push_back(
      {"a repeated key of another type",
       edit_line(14, [](std::string& l) { l.replace(l.size() - 1, 0, ",\"seq\":\"x\""); }), 14});
  corpus.push_back({"time going back",
                    edit_line(n - 1,
                              [](std::string& l) {
                                json j = json::parse(l);
                                j["t"] = 0;
                                l = j.dump();
                              }),
                    n - 1});
  corpus.push_back({"a line after the end", text + lines.back() + "\n", n + 1});
  corpus.push_back({"blank line", edit_line(4, [](std::string& l) { l.clear(); }), 4});
  corpus.push_back({"not an object", edit_line(4, [](std::string& l) { l = "[1,2]"; }), 4});
  corpus.push_back({"a null",
                    edit_line(4,
                              [](std::string& l) {
                                json j = json::parse(l);
                                j["state"]["vote"] = nullptr;
                                l = j.dump();
                              }),
                    4});
  corpus.push_back({"an unknown field",
                    edit_line(4,
                              [](std::string& l) {
                                json j = json::parse(l);
                                j["colour"] = "red";
                                l = j.dump();
                              }),
                    4});
  // Schema version 4 reads no version-1 or -2 trace: every command says so on line 1, in one
  // message that tells how to get a version-4 trace.
  for (int version : {1, 2}) {
    corpus.push_back({"a version-" + std::to_string(version) + " trace",
                      edit_line(1,
                                [version](std::string& l) {
                                  json j = json::parse(l);
                                  j["version"] = version;
                                  l = j.dump();
                                }),
                      1,
                      "version is " + std::to_string(version) +
                          "; this raftkv reads version 3 and 4 traces (regenerate"});
  }
  // Version 3 leaves out a node line's state when it repeats the node's previous one; a node's
  // first line has no previous one, so without a state its state is unknown.
  {
    int64_t first = 0;  // the first node line of the trace, which is its node's first
    for (int64_t i = 1; i < n && first == 0; ++i) {
      if (json::parse(lines[static_cast<size_t>(i)]).contains("node")) first = i + 1;
    }
    REQUIRE(first > 0);
    corpus.push_back({"a node line without state and no earlier state for that node",
                      edit_line(first,
                                [](std::string& l) {
                                  json j = json::parse(l);
                                  REQUIRE(j.contains("state"));
                                  j.erase("state");
                                  l = j.dump();
                                }),
                      first, "missing field 'state' (node "});
    // Version 4 writes only the fields of a state that changed: a node's first state, with no
    // earlier one to take the others from, must have them all.
    corpus.push_back({"a node's first state without one of its fields",
                      edit_line(first,
                                [](std::string& l) {
                                  json j = json::parse(l);
                                  REQUIRE(j["state"].size() == 7);
                                  j["state"].erase("last_term");
                                  l = j.dump();
                                }),
                      first, "missing field 'state.last_term' (node "});
  }

  std::string dir = std::string(RAFTKV_BINARY) + ".bad-input";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = dir + "/bad.jsonl", out_path = dir + "/out.tla.jsonl";
  int64_t judged = 0;
  for (const BadFile& bad : corpus) {
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << bad.text;
    }
    std::map<std::string, Verdict> verdicts;
    auto judge = [&](const std::string& name, const std::function<int(std::ostream&)>& command) {
      std::ostringstream out, err;
      int code = command(err);
      verdicts[name] = {code, err.str()};
    };
    judge("check", [&](std::ostream& err) {
      std::ostringstream out;
      CheckCommandOptions o;
      o.traces = {path};
      return check_command(o, out, err);
    });
    judge("replay", [&](std::ostream& err) {
      std::ostringstream out;
      ReplayCommandOptions o;
      o.input_path = path;
      return replay_command(o, out, err);
    });
    judge("replay --narrate", [&](std::ostream& err) {
      std::ostringstream out;
      ReplayCommandOptions o;
      o.input_path = path;
      o.narrate = true;
      return replay_command(o, out, err);
    });
    judge("export-tla", [&](std::ostream& err) {
      std::ostringstream out;
      fs::remove(out_path);
      int code = export_tla_command(path, out_path, out, err);
      CHECK_FALSE(fs::exists(out_path));  // nothing exported in part
      return code;
    });
    const std::string where = path + ":" + std::to_string(bad.line) + ": ";
    for (const auto& [command, v] : verdicts) {
      INFO(bad.what << " -- " << command << ": " << v.err);
      CHECK(v.code == 2);
      CHECK_THAT(v.err, Catch::Contains(where));
      if (!bad.message.empty()) CHECK_THAT(v.err, Catch::Contains(bad.message));
      // One message: the text after "FILE:LINE: " is the same for every command.
      CHECK(v.err.substr(v.err.find(where)) ==
            verdicts["check"].err.substr(verdicts["check"].err.find(where)));
      ++judged;
    }
  }
  WARN(corpus.size() << " malformed traces, " << judged
                     << " verdicts, all exit 2 at the same line");
  fs::remove_all(dir);
}

TEST_CASE("The event table and spec/trace-schema.md name the same events and fields",
          "[bad-input][schema]") {
  // Reads the schema document's event and message tables: rows of the form
  // | `name` | fields | meaning |, fields as `backticked` names.
  std::ifstream in(std::string(RAFTKV_SOURCE_DIR) + "/spec/trace-schema.md");
  REQUIRE(in);
  std::map<std::string, std::set<std::string>> doc_events, doc_messages;
  std::string line, section;
  auto names_in = [](const std::string& cell) {
    std::set<std::string> names;
    for (size_t a = cell.find('`'); a != std::string::npos; a = cell.find('`', a)) {
      size_t b = cell.find('`', a + 1);
      if (b == std::string::npos) break;
      std::string name = cell.substr(a + 1, b - a - 1);
      // Field and event names only (not `""` or `{node, state, ...}`).
      if (!name.empty() &&
          name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
              std::string::npos) {
        names.insert(name);
      }
      a = b + 1;
    }
    return names;
  };
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0 || line.rfind("## ", 0) == 0) section = line;
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(cell);
    if (cells.size() < 2) continue;
    bool events = section.find("events") != std::string::npos;
    // The per-type message table (type names are capitalized; the common
    // fields' table above it is not).
    bool messages = section == "### Messages" &&
                    std::isupper(static_cast<unsigned char>(cells[0][cells[0].find('`') + 1]));
    for (const std::string& name : names_in(cells[0])) {
      std::set<std::string> fields = names_in(cells[1]);
      fields.erase("node");
      fields.erase("state");
      if (events) doc_events[name] = fields;
      if (messages) doc_messages[name] = fields;
    }
  }
  std::map<std::string, std::set<std::string>> code_events, code_messages;
  for (const trace::EventSpec& e : trace::event_table()) {
    for (const trace::FieldSpec& f : e.fields) code_events[e.name].insert(f.name);
    code_events[e.name];
  }
  for (const trace::MessageSpec& m : trace::message_table()) {
    for (const trace::FieldSpec& f : m.fields) code_messages[m.type].insert(f.name);
  }
  CHECK(doc_events == code_events);
  CHECK(doc_messages == code_messages);
  CHECK(doc_events.size() == 46);
  CHECK(code_events.size() == 46);
  CHECK(doc_messages.size() == 14);
  CHECK(code_messages.size() == 14);
}

#include "raft/planted_bugs.h"

TEST_CASE("The trace's planted-bug vocabulary is the code's", "[bad-input][schema]") {
  // The reader validates header names without depending on the protocol
  // code; this keeps its list equal to the one `--plant-bug` uses.
  CHECK(trace::planted_bug_vocabulary() == planted_bug_names());
}
