// Replay: traces re-run identically on the node code; any edit is found.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "check/checker.h"
#include "replay/replay.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

ReplayResult replay_text(const std::string& text, std::ostream* trace_out = nullptr) {
  std::istringstream in(text);
  ReplayOptions opts;
  opts.trace_out = trace_out;
  return replay(in, "test", opts);
}

// The line number (1-based) of the first event with this name at this node.
size_t find_line(const std::vector<std::string>& lines, const std::string& event, int node = 0) {
  for (size_t i = 1; i < lines.size(); ++i) {
    json e = json::parse(lines[i]);
    if (e["event"] == event && (node == 0 || e.value("node", 0) == node)) return i + 1;
  }
  return 0;
}

Config faulty_config() {
  Config cfg = test_config(5, 3, 40, 9);
  cfg.network.loss = 0.1;
  cfg.network.duplicate = 0.05;
  cfg.nemesis.enabled = true;
  cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
  cfg.nemesis.mean_interval_ms = 150;
  cfg.nemesis.max_down = 2;
  cfg.timing.client_timeout_ms = 200;
  return cfg;
}

}  // namespace

TEST_CASE("Traces of healthy and faulty runs replay identically", "[replay]") {
  for (const Config& cfg : {test_config(5, 3, 10), faulty_config(), test_config(1, 1, 3)}) {
    std::string text = trace_text(cfg);
    ReplayResult r = replay_text(text);
    INFO(r.divergence);
    CHECK(r.identical);
    CHECK(r.events == static_cast<int64_t>(lines_of(text).size()) - 1);
    CHECK(r.steps > 10);
  }
}

TEST_CASE("An edited effect event diverges at that line", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 5)));
  size_t line = find_line(lines, "apply", 2);
  REQUIRE(line > 0);
  json e = json::parse(lines[line - 1]);
  e["result"]["status"] = e["result"]["status"] == "ok" ? "not_found" : "ok";
  lines[line - 1] = e.dump();
  ReplayResult r = replay_text(join(lines));
  CHECK_FALSE(r.identical);
  CHECK(r.divergence_line == static_cast<int64_t>(line));
}

TEST_CASE("An edited vote diverges at that line", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(5, 0, 0)));
  size_t line = find_line(lines, "vote", 3);
  REQUIRE(line > 0);
  json e = json::parse(lines[line - 1]);
  e["granted"] = !e["granted"].get<bool>();
  lines[line - 1] = e.dump();
  ReplayResult r = replay_text(join(lines));
  CHECK_FALSE(r.identical);
  CHECK(r.divergence_line == static_cast<int64_t>(line));
}

// Schema v2: a deliver names its message by msg_id, which replay resolves to the message sent
// under that id.
TEST_CASE("A delivered message id that no send carried is caught", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 3)));
  size_t line = find_line(lines, "deliver", 3);
  REQUIRE(line > 0);
  json e = json::parse(lines[line - 1]);
  e["msg_id"] = 999999;
  lines[line - 1] = e.dump();
  ReplayResult r = replay_text(join(lines));
  CHECK_FALSE(r.identical);
  CHECK(r.divergence_line == static_cast<int64_t>(line));
  CHECK_THAT(r.divergence, Catch::Contains("delivers message #999999, which was never sent"));
}

TEST_CASE("A deliver that names another sent message is caught", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 3)));
  // Node 2's second deliver names the message of its first one, already delivered.
  std::vector<size_t> at_2;
  for (size_t i = 1; i < lines.size() && at_2.size() < 2; ++i) {
    json e = json::parse(lines[i]);
    if (e["event"] == "deliver" && e["node"] == 2) at_2.push_back(i + 1);
  }
  REQUIRE(at_2.size() == 2);
  json first = json::parse(lines[at_2[0] - 1]);
  json second = json::parse(lines[at_2[1] - 1]);
  REQUIRE(first["msg_id"] != second["msg_id"]);
  second["msg_id"] = first["msg_id"];
  lines[at_2[1] - 1] = second.dump();
  ReplayResult r = replay_text(join(lines));
  CHECK_FALSE(r.identical);
  CHECK(r.divergence_line == static_cast<int64_t>(at_2[1]));
}

TEST_CASE("A removed effect event is caught at the next step", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 3)));
  size_t line = find_line(lines, "commit", 1);
  REQUIRE(line > 0);
  lines.erase(lines.begin() + static_cast<long>(line - 1));
  // Renumber so the file is well-formed; only the content is now wrong.
  for (size_t i = 1; i < lines.size(); ++i) {
    json e = json::parse(lines[i]);
    e["seq"] = i;
    lines[i] = e.dump();
  }
  ReplayResult r = replay_text(join(lines));
  CHECK_FALSE(r.identical);
  CHECK(r.divergence_line == static_cast<int64_t>(line));
}

TEST_CASE("A trace of a planted bug replays only with that bug planted", "[replay]") {
  Config cfg = test_config(3, 2, 5);
  Cluster cluster(cfg, PlantedBugs{.apply_before_commit = true});
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  json header = cluster.header();
  CHECK(header["planted_bugs"] == json::array({"apply_before_commit"}));
  std::string body;
  for (const json& e : sink.raw) body += e.dump() + "\n";
  CHECK(replay_text(header.dump() + "\n" + body).identical);
  header["planted_bugs"] = json::array();
  CHECK_FALSE(replay_text(header.dump() + "\n" + body).identical);
}

TEST_CASE("Malformed replay input is rejected with its line number", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 2)));
  auto line_of_error = [](const std::string& text) -> int64_t {
    try {
      replay_text(text);
    } catch (const ReplayInputError& e) {
      return e.line();
    }
    return -1;
  };
  std::vector<std::string> bad = lines;
  bad[4] = "{not json";
  CHECK(line_of_error(join(bad)) == 5);
  bad = lines;
  bad.erase(bad.begin() + 6);  // a gap in seq
  CHECK(line_of_error(join(bad)) == 7);
  std::string cut = join(lines);
  cut.resize(cut.size() - 40);  // truncated in the middle of the last line
  CHECK(line_of_error(cut) == static_cast<int64_t>(lines.size()));
  CHECK(line_of_error("") == 1);
  CHECK(line_of_error("{\"format\":\"something-else\",\"version\":1}\n") == 1);
  bad = lines;
  bad[3] = R"({"event":"teleport","seq":3,"t":0})";
  CHECK(line_of_error(join(bad)) == 4);
}

TEST_CASE("The Figure 8 scenario reproduces the schedule on the real code", "[replay][scenario]") {
  std::string dir = std::string(RAFTKV_SOURCE_DIR) + "/traces/scenarios/";
  for (bool buggy : {false, true}) {
    std::string path = dir + (buggy ? "figure8-commit_old_term.jsonl" : "figure8.jsonl");
    std::ostringstream trace;
    ReplayResult r = replay_text(read_file(path), &trace);
    REQUIRE(r.identical);
    // Which command was applied at index 1, by which node.
    std::map<int, std::string> at_index1;
    for (const std::string& line : lines_of(trace.str())) {
      json e = json::parse(line);
      if (e.value("event", "") == "apply" && e["index"] == 1) {
        at_index1[e["node"]] = e["entry"]["cmd"]["value"];
      }
    }
    INFO("buggy " << buggy);
    for (int id : {2, 3, 4, 5}) CHECK(at_index1[id] == "B");
    if (buggy) {
      CHECK(at_index1[1] == "A");  // committed by counting, then lost
    } else {
      CHECK(at_index1.count(1) == 0);  // A was never committed
    }
    // The scenario's trace is itself a trace: it replays identically.
    CHECK(replay_text(trace.str()).identical);
  }
}

// Issue 12: the scenario format's description of this scenario must name the
// check that actually rejects its trace.
TEST_CASE("scenario-format.md names the check that rejects figure8-commit_old_term",
          "[replay][scenario]") {
  std::string source = RAFTKV_SOURCE_DIR;
  std::ostringstream trace;
  replay_text(read_file(source + "/traces/scenarios/figure8-commit_old_term.jsonl"), &trace);
  std::istringstream in(trace.str());
  check::Report report = check::check_trace(in, "figure8-commit_old_term");
  REQUIRE(report.violation);
  std::string doc = read_file(source + "/spec/scenario-format.md");
  size_t at = doc.find("`figure8-commit_old_term.jsonl` is");
  REQUIRE(at != std::string::npos);
  std::string paragraph = doc.substr(at, doc.find("\n\n", at) - at);
  std::replace(paragraph.begin(), paragraph.end(), '\n', ' ');
  CHECK_THAT(paragraph,
             Catch::Contains("as a " + std::string(report.violation->check) + " violation"));
}

#include "replay/export_tla.h"

TEST_CASE("export-tla writes one line per replay step", "[replay][tla]") {
  std::string text = trace_text(test_config(3, 1, 4));
  std::istringstream in(text);
  std::ostringstream out;
  int64_t steps = export_tla(in, "test", out);
  ReplayResult r = replay_text(text);
  CHECK(steps == r.steps);
  std::vector<std::string> lines = lines_of(out.str());
  REQUIRE(static_cast<int64_t>(lines.size()) == steps);
  std::set<std::string> actions;
  for (const std::string& line : lines) {
    json step = json::parse(line);
    actions.insert(step["action"].get<std::string>());
    CHECK(step["log"].size() == step["post"]["last_index"].get<size_t>());
  }
  CHECK(actions ==
        std::set<std::string>{"Start", "Timeout", "Heartbeat", "Receive", "ClientRequest"});
  std::istringstream bad("{\"format\":\"nope\"}\n");
  CHECK_THROWS_AS(export_tla(bad, "bad", out), ReplayInputError);
}

// Log compaction (Raft §7): a follower that installs a snapshot gets, in the
// exported steps, the snapshot's entries from the log that holds them (its
// sender's), so a step's `log` stays the whole logical log. Hand-made: no run
// writes snapshots until nodes compact.
TEST_CASE("export-tla gives an installed snapshot's entries to its follower", "[replay][tla]") {
  auto state = [](const char* role, int term, int commit, int last) {
    return json{{"term", term},
                {"vote", 0},
                {"role", role},
                {"commit", commit},
                {"applied", commit},
                {"last_index", last},
                {"last_term", last > 0 ? 1 : 0}};
  };
  json noop = {{"term", 1},
               {"cmd", {{"op", "noop"}, {"key", ""}, {"value", ""}, {"client", 0}, {"seq", 0}}}};
  json put = {{"term", 1},
              {"cmd", {{"op", "put"}, {"key", "a"}, {"value", "1"}, {"client", 1}, {"seq", 1}}}};
  json chunk = {{"id", 1},
                {"type", "InstallSnapshot"},
                {"from", 1},
                {"to", 2},
                {"term", 1},
                {"last_included_index", 2},
                {"last_included_term", 1},
                {"offset", 0},
                {"data", "store 1\n1 a 1 1\nsessions 1\n1 1 ok 0 \n"},
                {"done", true}};
  std::vector<json> lines = {
      {{"format", "raftkv-trace"},
       {"version", 3},
       {"seed", 0},
       {"planted_bugs", json::array()},
       {"config", {{"num_nodes", 2}, {"num_clients", 1}}}},
      {{"event", "start"}, {"node", 1}, {"state", state("follower", 0, 0, 0)}},
      {{"event", "append"},
       {"node", 1},
       {"state", state("leader", 1, 2, 2)},
       {"first_index", 1},
       {"entries", {noop, put}}},
      {{"event", "send"}, {"node", 1}, {"msg", chunk}},
      {{"event", "start"}, {"node", 2}, {"state", state("follower", 1, 0, 0)}},
      {{"event", "deliver"}, {"node", 2}, {"msg_id", 1}},
      {{"event", "install_snapshot"},
       {"node", 2},
       {"state", state("follower", 1, 2, 2)},
       {"index", 2},
       {"term", 1},
       {"store_digest", "0123456789abcdef"},
       {"store_size", 1},
       {"kept", 0}},
      {{"event", "end"},
       {"nodes",
        {{{"node", 1},
          {"state", state("leader", 1, 2, 2)},
          {"store_digest", "0123456789abcdef"},
          {"store_size", 1}},
         {{"node", 2},
          {"state", state("follower", 1, 2, 2)},
          {"store_digest", "0123456789abcdef"},
          {"store_size", 1}}}}}};
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) lines[i]["seq"] = i, lines[i]["t"] = i;
    text += lines[i].dump() + "\n";
  }
  std::istringstream in(text);
  std::ostringstream out;
  REQUIRE(export_tla(in, "snap", out) == 3);
  std::vector<std::string> steps = lines_of(out.str());
  json install = json::parse(steps.back());
  CHECK(install["action"] == "Receive");
  CHECK(install["msg"]["type"] == "InstallSnapshot");
  CHECK(install["log"] == json{noop, put});
  CHECK(install["log"].size() == install["post"]["last_index"].get<size_t>());
}

// Edits outside the nodes' own events: what the network and the clients
// recorded must agree with what was sent and replied.
TEST_CASE("Edited network, client and end events diverge at their line", "[replay]") {
  std::vector<std::string> base = lines_of(trace_text(faulty_config()));
  REQUIRE(replay_text(join(base)).identical);
  auto edit = [&](const std::string& event, const std::function<void(json&)>& change) {
    std::vector<std::string> lines = base;
    size_t line = find_line(lines, event);
    REQUIRE(line > 0);
    json e = json::parse(lines[line - 1]);
    change(e);
    lines[line - 1] = e.dump();
    ReplayResult r = replay_text(join(lines));
    INFO(event << " edited at line " << line << ": " << r.divergence);
    CHECK_FALSE(r.identical);
    CHECK(r.divergence_line == static_cast<int64_t>(line));
  };
  edit("drop", [](json& e) { e["msg"]["term"] = e["msg"]["term"].get<int64_t>() + 5; });
  edit("duplicate", [](json& e) { e["msg"]["to"] = 99; });
  edit("client_receive", [](json& e) { e["msg"]["result"]["status"] = "key_exists"; });
  edit("client_complete", [](json& e) { e["result"]["value"] = "edited"; });
  edit("client_send", [](json& e) { e["msg"]["cmd"]["key"] = "edited"; });
  edit("end", [](json& e) { e["nodes"][0]["store_size"] = 1000; });
}

TEST_CASE("A message delivered more often than sent and duplicated diverges", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(faulty_config()));
  size_t line = find_line(lines, "duplicate");
  REQUIRE(line > 0);
  // Drop the duplicate record (renumbering seq): its second delivery is unexplained.
  lines.erase(lines.begin() + static_cast<long>(line) - 1);
  for (size_t i = line - 1; i < lines.size(); ++i) {
    json e = json::parse(lines[i]);
    e["seq"] = e["seq"].get<int64_t>() - 1;
    lines[i] = e.dump();
  }
  ReplayResult r = replay_text(join(lines));
  INFO(r.divergence);
  CHECK_FALSE(r.identical);
  CHECK_THAT(r.divergence, Catch::Contains("once more than it was sent and duplicated"));
}

TEST_CASE("A trace without its end event is malformed", "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 5)));
  lines.pop_back();  // the end event
  CHECK_THROWS_WITH(replay_text(join(lines)), Catch::Contains("without an 'end' event"));
  CHECK_THROWS_WITH(replay_text(lines[0] + "\n"), Catch::Contains("without an 'end' event"));
  // and nothing may follow it
  std::vector<std::string> after = lines_of(trace_text(test_config(3, 1, 5)));
  after.push_back(after.back());
  CHECK_THROWS_WITH(replay_text(join(after)), Catch::Contains("after the end event"));
}

TEST_CASE("A scenario may not fire a timer the runtime would discard", "[replay]") {
  std::string header = R"({"format":"raftkv-scenario","version":1,"num_nodes":3})";
  CHECK_THROWS_WITH(
      replay_text(header + "\n" + R"({"event":"timeout","node":1,"timer":"heartbeat"})" + "\n"),
      Catch::Contains("which is not leader"));
  std::string elected = header + "\n" + R"({"event":"timeout","node":1,"timer":"start_election"})" +
                        "\n" + R"({"event":"deliver_pending"})" + "\n" +
                        R"({"event":"deliver_pending"})" + "\n";
  std::ostringstream trace;
  REQUIRE(replay_text(elected, &trace).steps > 0);
  CHECK_THROWS_WITH(
      replay_text(elected + R"({"event":"timeout","node":1,"timer":"election"})" + "\n"),
      Catch::Contains("which is leader"));
}

TEST_CASE("A scenario's leadership transfer is one the runtime could hand a leader",
          "[replay][transfer]") {
  std::string header = R"({"format":"raftkv-scenario","version":1,"num_nodes":3})";
  // Before any election: node 1 is no leader, so it has nothing to hand on.
  CHECK_THROWS_WITH(replay_text(header + "\n" + R"({"event":"transfer","node":1,"to":2})" + "\n"),
                    Catch::Contains("which is not leader"));
  std::string elected = header + "\n" + R"({"event":"timeout","node":1,"timer":"start_election"})" +
                        "\n" + R"({"event":"deliver_pending"})" + "\n" +
                        R"({"event":"deliver_pending"})" + "\n";
  CHECK_THROWS_WITH(replay_text(elected + R"({"event":"transfer","node":1,"to":1})" + "\n"),
                    Catch::Contains("to itself"));
  CHECK_THROWS_WITH(replay_text(elected + R"({"event":"transfer","node":1,"to":4})" + "\n"),
                    Catch::Contains("'to' must be a node id in 1..3"));
  // No transfer under way: the runtime would discard its timer.
  CHECK_THROWS_WITH(
      replay_text(elected + R"({"event":"timeout","node":1,"timer":"transfer"})" + "\n"),
      Catch::Contains("no leadership transfer under way"));
  // A transfer to a node that never answers is given up at the transfer timeout, and the trace
  // the scenario writes replays identically.
  std::string given_up = elected + R"({"event":"crash","node":2})" + "\n" +
                         R"({"event":"transfer","node":1,"to":2})" + "\n" +
                         R"({"event":"timeout","node":1,"timer":"transfer"})" + "\n";
  std::ostringstream trace;
  REQUIRE(replay_text(given_up, &trace).steps > 0);
  CHECK(trace.str().find("\"event\":\"transfer_abort\"") != std::string::npos);
  ReplayResult again = replay_text(trace.str());
  INFO(again.divergence);
  CHECK(again.identical);
}

// What export_tla throws for this text, or "" if it exports it.
std::string export_error(const std::string& text) {
  std::istringstream in(text);
  std::ostringstream out;
  try {
    export_tla(in, "test", out);
  } catch (const ReplayInputError& e) {
    return e.what();
  }
  return "";
}

std::string replay_error(const std::string& text) {
  try {
    replay_text(text);
  } catch (const ReplayInputError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("A trace cut at any line is malformed for replay and export, never a divergence",
          "[replay][tla]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 3)));
  for (size_t keep = 1; keep < lines.size(); ++keep) {
    std::vector<std::string> cut(lines.begin(), lines.begin() + static_cast<long>(keep));
    INFO("the first " << keep << " lines of " << lines.size());
    // Inside a step the cut trace lacks the step's last effects; that is the
    // cut, not the code.
    // Reported just past the last line, as every reader of traces does.
    std::string where = "test:" + std::to_string(keep + 1) +
                        ": the trace stops without an 'end' event (truncated?)";
    CHECK(replay_error(join(cut)) == where);
    CHECK(export_error(join(cut)) == where);
  }
  // An edit before the cut does not make the cut a divergence either.
  std::vector<std::string> edited = lines;
  size_t line = find_line(edited, "apply", 2);
  REQUIRE(line > 0);
  json e = json::parse(edited[line - 1]);
  e["result"]["status"] = "key_exists";
  edited[line - 1] = e.dump();
  REQUIRE_FALSE(replay_text(join(edited)).identical);
  edited.pop_back();
  CHECK_THAT(replay_error(join(edited)), Catch::Contains("without an 'end' event"));
  // A whole trace whose last line lost its line end was cut too.
  std::string whole = join(lines);
  whole.pop_back();
  std::string no_eol = "test:" + std::to_string(lines.size()) + ": last line has no line end";
  CHECK_THAT(replay_error(whole), Catch::StartsWith(no_eol));
  CHECK_THAT(export_error(whole), Catch::StartsWith(no_eol));
}

TEST_CASE("export-tla rejects malformed fields with their line instead of aborting",
          "[replay][tla]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 3)));
  REQUIRE(export_error(join(lines)).empty());
  // Edits line `line` (1-based) with `change`; export must fail naming that line.
  auto rejected_at = [&](size_t line, const std::function<void(json&)>& change,
                         const std::string& message) {
    std::vector<std::string> bad = lines;
    json e = json::parse(bad[line - 1]);
    change(e);
    bad[line - 1] = e.dump();
    std::string error = export_error(join(bad));
    INFO("line " << line << ": " << bad[line - 1]);
    CHECK_THAT(error, Catch::StartsWith("test:" + std::to_string(line) + ": "));
    CHECK_THAT(error, Catch::Contains(message));
  };
  size_t deliver = find_line(lines, "deliver");
  size_t append = find_line(lines, "append");
  size_t send = find_line(lines, "send");
  REQUIRE((deliver && append && send));
  rejected_at(
      2, [](json& e) { e["node"] = 9; }, "node 9 does not exist");
  rejected_at(
      2, [](json& e) { e["node"] = "x"; }, "'node'");
  rejected_at(
      send, [](json& e) { e["node"] = 9; }, "node 9 does not exist");
  rejected_at(
      send, [](json& e) { e["node"] = e["node"].get<int>() % 3 + 1; }, "outside a step");
  rejected_at(
      deliver, [](json& e) { e["msg_id"] = "x"; }, "'msg_id'");
  rejected_at(
      append, [](json& e) { e["entries"] = "x"; }, "'entries'");
  rejected_at(
      append, [](json& e) { e["first_index"] = 40; }, "gap");
  rejected_at(
      lines.size(), [](json& e) { e["nodes"][1]["node"] = 9; }, "node 9");
  rejected_at(
      1, [](json& e) { e["config"]["num_nodes"] = "3"; }, "'config.num_nodes'");
  rejected_at(
      4, [](json& e) { e["event"] = "teleport"; }, "unknown event");
  rejected_at(
      4, [](json& e) { e["seq"] = 7; }, "expected seq 3");
  std::vector<std::string> after = lines;
  after.push_back(lines.back());
  CHECK_THAT(export_error(join(after)), Catch::Contains("after the end event"));
}

// Scenarios written for the test below: each exercises one input the
// scenario runner must trace the way the schema says.
const char* const kScenarioHeader3 =
    R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3}})";

std::string scenario(const std::vector<std::string>& inputs) {
  std::string text = std::string(kScenarioHeader3) + "\n";
  for (const std::string& line : inputs) text += line + "\n";
  return text;
}

// Node 1 is elected, then the scenario goes on with `more`.
std::string elected_then(std::vector<std::string> more) {
  std::vector<std::string> inputs = {R"({"event":"timeout","node":1})",
                                     R"({"event":"deliver_pending"})",
                                     R"({"event":"deliver_pending"})"};
  inputs.insert(inputs.end(), more.begin(), more.end());
  return scenario(inputs);
}

TEST_CASE("Every trace a scenario writes passes check and replays identically",
          "[replay][scenario]") {
  std::vector<std::pair<std::string, std::string>> scenarios = {
      // Message 1 (RequestVote 1 -> 2) delivered twice; message 2 dropped,
      // then delivered anyway (a duplicate of a lost message).
      {"duplicate", scenario({R"({"event":"timeout","node":1})", R"({"event":"deliver","id":1})",
                              R"({"event":"deliver","id":1})", R"({"event":"drop","id":2})",
                              R"({"event":"deliver","id":2})", R"({"event":"deliver_pending"})",
                              R"({"event":"deliver","id":3})"})},
      // Both votes lost: node 1 stays candidate, then wins a second election.
      {"drop", scenario({R"({"event":"timeout","node":1})", R"({"event":"drop","id":1})",
                         R"({"event":"drop","id":2})", R"({"event":"drop","id":2})",
                         R"({"event":"timeout","node":1})", R"({"event":"deliver_pending"})",
                         R"({"event":"deliver_pending"})"})},
      // A committed put, a follower crash while the leader replicates a
      // second put (its AppendEntries is dropped: node_down), the restart, a
      // heartbeat that repairs it, and a request at a follower.
      {"crash-restart",
       elected_then(
           {R"({"event":"client_request","node":1,"cmd":{"op":"put","key":"k","value":"1"}})",
            R"({"event":"deliver_pending"})", R"({"event":"deliver_pending"})",
            R"({"event":"deliver_pending"})", R"({"event":"crash","node":2})",
            R"({"event":"client_request","node":1,"cmd":{"op":"put","key":"j","value":"2","client":0,"seq":0}})",
            R"({"event":"deliver_pending"})", R"({"event":"deliver_pending"})",
            R"({"event":"restart","node":2})",
            R"({"event":"timeout","node":1,"timer":"heartbeat"})", R"({"event":"deliver_pending"})",
            R"({"event":"deliver_pending"})", R"({"event":"deliver_pending"})",
            R"({"event":"deliver_pending"})",
            R"({"event":"client_request","node":3,"cmd":{"op":"get","key":"k"}})"})},
  };
  std::string dir = std::string(RAFTKV_SOURCE_DIR) + "/traces/scenarios";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".jsonl") {
      scenarios.emplace_back(entry.path().filename().string(), read_file(entry.path().string()));
    }
  }
  REQUIRE(scenarios.size() >= 5);
  for (const auto& [name, text] : scenarios) {
    INFO("scenario " << name);
    std::ostringstream written;
    ReplayResult ran = replay_text(text, &written);
    REQUIRE(ran.scenario);
    std::string trace = written.str();
    INFO(trace);
    // A scenario with a planted bug may break a protocol check, but its
    // trace must still be a well-formed trace.
    bool planted =
        json::parse(text.substr(0, text.find('\n'))).value("planted_bugs", json::array()).size() >
        0;
    std::istringstream in(trace);
    check::Report report;
    REQUIRE_NOTHROW(report = check::check_trace(in, name));
    INFO(check::format_report(report));
    if (planted) {
      CHECK((report.ok() || report.violation->check != check::kWellFormed));
    } else {
      CHECK(report.ok());
    }
    ReplayResult again = replay_text(trace);
    INFO(again.divergence);
    CHECK(again.identical);
    CHECK_FALSE(again.scenario);
  }
}

TEST_CASE("A scenario traces each extra delivery as a duplicate and a drop as a loss",
          "[replay][scenario]") {
  std::ostringstream written;
  replay_text(scenario({R"({"event":"timeout","node":1})", R"({"event":"deliver","id":1})",
                        R"({"event":"deliver","id":1})", R"({"event":"deliver","id":1})",
                        R"({"event":"drop","id":2})"}),
              &written);
  std::vector<std::string> events;
  for (const std::string& line : lines_of(written.str())) {
    json e = json::parse(line);
    std::string name = e.value("event", "");
    if (name == "deliver" || name == "duplicate" || name == "drop") {
      int id = name == "deliver" ? e["msg_id"].get<int>() : e["msg"]["id"].get<int>();
      events.push_back(name + " " + std::to_string(id) +
                       (name == "drop" ? " " + e["reason"].get<std::string>() : ""));
    }
  }
  CHECK(events == std::vector<std::string>{"deliver 1", "duplicate 1", "deliver 1", "duplicate 1",
                                           "deliver 1", "drop 2 loss"});
}

TEST_CASE("Replay rejects a field of the wrong type with its line instead of aborting",
          "[replay]") {
  std::vector<std::string> lines = lines_of(trace_text(test_config(3, 1, 3)));
  auto rejected_at = [&](const std::string& event, const std::function<void(json&)>& change) {
    std::vector<std::string> bad = lines;
    size_t line = find_line(bad, event);
    REQUIRE(line > 0);
    json e = json::parse(bad[line - 1]);
    change(e);
    bad[line - 1] = e.dump();
    INFO(bad[line - 1]);
    CHECK_THAT(replay_error(join(bad)), Catch::StartsWith("test:" + std::to_string(line) + ": "));
  };
  rejected_at("client_complete", [](json& e) { e["result"] = 5; });
  rejected_at("end", [](json& e) { e["nodes"][0]["store_size"] = "x"; });
  rejected_at("client_receive", [](json& e) { e["msg"]["id"] = "x"; });
  std::vector<std::string> bad = lines;
  bad[0] = R"({"format":5,"version":1})";
  CHECK_THAT(replay_error(join(bad)), Catch::StartsWith("test:1: "));
}

TEST_CASE("The far-behind scenario sends a full batch whose leaderCommit is past its end",
          "[replay][scenario]") {
  // A follower 70 entries behind gets them in batches of 64; the first batch
  // carries the leader's commit index (71), beyond the batch's last entry (66).
  // Figure 2: the follower commits only what it holds from this leader.
  std::string path = std::string(RAFTKV_SOURCE_DIR) + "/traces/scenarios/far-behind.jsonl";
  std::ostringstream trace;
  ReplayResult r = replay_text(read_file(path), &trace);
  REQUIRE(r.identical);
  bool full_batch = false;
  int64_t commit3 = 0;
  std::map<int64_t, json> sent;  // a deliver names its message by id (schema v2)
  for (const json& e : testing::whole_lines(trace.str())) {
    if (e.value("event", "") == "send") sent[e["msg"]["id"].get<int64_t>()] = e["msg"];
    if (e.value("event", "") == "deliver" && e["node"] == 3) {
      const json& m = sent.at(e["msg_id"].get<int64_t>());
      if (m["type"] == "AppendEntries" && m["entries"].size() == 64) {
        full_batch = m["leader_commit"].get<int64_t>() > m["prev_log_index"].get<int64_t>() + 64;
      }
    }
    if (e.value("event", "") != "end" && e.value("node", 0) == 3) {
      commit3 = e["state"]["commit"];
      CHECK(commit3 <= e["state"]["last_index"].get<int64_t>());
    }
  }
  CHECK(full_batch);
  CHECK(commit3 == 71);  // caught up by the end
  std::istringstream tin(trace.str());
  CHECK(check::check_trace(tin, "far-behind").ok());
}

namespace raftkv {
namespace {

// The Figure 7 scenario's trace, with `edit` applied to its header.
std::string figure7_trace(const std::function<void(json&)>& edit = nullptr) {
  std::ostringstream written;
  replay_text(read_file(std::string(RAFTKV_SOURCE_DIR) + "/traces/scenarios/figure7.jsonl"),
              &written);
  std::string trace = written.str();
  if (!edit) return trace;
  size_t eol = trace.find('\n');
  json header = json::parse(trace.substr(0, eol));
  edit(header);
  return header.dump() + trace.substr(eol);
}

}  // namespace
}  // namespace raftkv

TEST_CASE("A scenario's initial_state boots the nodes from it, and every reader starts there",
          "[replay][scenario]") {
  std::string trace = figure7_trace();
  std::vector<std::string> lines = lines_of(trace);
  // The starts show the preloaded logs: node 5 is Figure 7 (d), 12 entries ending in term 7.
  json start5 = json::parse(lines[static_cast<size_t>(find_line(lines, "start", 5) - 1)]);
  CHECK(start5["state"]["last_index"] == 12);
  CHECK(start5["state"]["last_term"] == 7);
  CHECK(start5["state"]["term"] == 7);
  std::istringstream in(trace);
  check::Report report = check::check_trace(in, "figure7");
  INFO(check::format_report(report));
  CHECK(report.ok());
  CHECK(replay_text(trace).identical);
  std::istringstream tin(trace);
  std::ostringstream steps;
  CHECK(export_tla(tin, "figure7", steps) > 0);
  // The first exported step of node 7 carries its preloaded log (f): 11 entries.
  for (const std::string& line : lines_of(steps.str())) {
    json step = json::parse(line);
    if (step["node"] == 7) {
      CHECK(step["log"].size() == 11);
      break;
    }
  }
}

TEST_CASE("A header whose initial_state differs from what the nodes did is caught",
          "[replay][scenario][checker]") {
  // Node 2 (Figure 7 (a)) said to hold another command at index 1 in term 1 than node 1:
  // Log Matching is broken before the first event, and replay sees another log.
  std::string edited =
      figure7_trace([](json& h) { h["initial_state"][1]["log"][0]["cmd"]["value"] = "forged"; });
  std::istringstream in(edited);
  check::Report report = check::check_trace(in, "edited");
  REQUIRE_FALSE(report.ok());
  CHECK(report.violation->check == check::kLogMatching);
  // Node 3 (Figure 7 (b)) said to hold one more entry: its start state no longer matches.
  std::string longer = figure7_trace([](json& h) {
    json& log = h["initial_state"][2]["log"];
    log.push_back(log.back());
  });
  CHECK_FALSE(replay_text(longer).identical);
  std::istringstream lin(longer);
  CHECK_FALSE(check::check_trace(lin, "longer").ok());
}

TEST_CASE("A bad initial_state or inject is exit-2 input naming the field", "[replay][scenario]") {
  std::string head = R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3},)";
  auto with_state = [&](const std::string& state) {
    return replay_error(head + R"("initial_state":)" + state + "}\n");
  };
  CHECK_THAT(
      with_state(
          R"([{"node":1,"term":3,"log":[{"term":2,"cmd":{"op":"noop"}},{"term":1,"cmd":{"op":"noop"}}]}])"),
      Catch::Contains("initial_state[0].log[1].term' is 1, below the term 2"));
  CHECK_THAT(with_state(R"([{"node":1,"term":1,"log":[{"term":2,"cmd":{"op":"noop"}}]}])"),
             Catch::Contains("above the node's term 1"));
  CHECK_THAT(with_state(R"([{"node":4,"term":1}])"), Catch::Contains("expected 1..3"));
  CHECK_THAT(with_state(R"([{"node":1,"term":1},{"node":1,"term":2}])"),
             Catch::Contains("names node 1 a second time"));
  CHECK_THAT(with_state(R"([{"node":1,"term":1,"vote":7}])"),
             Catch::Contains("'initial_state[0].vote' is 7"));
  CHECK_THAT(
      with_state(R"([{"node":1,"term":1,"votes":1}])"),
      Catch::Contains("unknown key 'votes' in an 'initial_state' node (did you mean 'vote'?)"));
  std::string plain = head.substr(0, head.size() - 1) + "}\n";
  auto inject = [&](const std::string& msg) {
    return replay_error(plain + R"({"event":"inject","msg":)" + msg + "}\n");
  };
  CHECK_THAT(inject(R"({"type":"RequestVote","from":2,"to":1,"term":1,"last_log_index":0})"),
             Catch::Contains("last_log_term"));
  CHECK_THAT(
      inject(
          R"({"type":"RequestVote","from":2,"to":9,"term":1,"last_log_index":0,"last_log_term":0})"),
      Catch::Contains("node 9 does not exist"));
  CHECK_THAT(
      inject(
          R"({"id":4,"type":"RequestVote","from":2,"to":1,"term":1,"last_log_index":0,"last_log_term":0})"),
      Catch::Contains("takes no 'id'"));
  CHECK_THAT(
      replay_error(
          plain +
          R"({"event":"client_request","node":1,"cmd":{"op":"get","key":"a","client":2,"seq":1}})" +
          "\n"),
      Catch::Contains("client 2 does not exist"));
  // A good inject runs: the node answers the hand-made RequestVote.
  CHECK(
      inject(
          R"({"type":"RequestVote","from":2,"to":1,"term":1,"last_log_index":0,"last_log_term":0})")
          .empty());
}

TEST_CASE("A scenario's partition drops messages between groups until a heal",
          "[replay][scenario]") {
  std::string head = R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3}})";
  auto line = [](const std::string& l) { return l + "\n"; };
  std::string text = head + "\n" + line(R"({"event":"partition","groups":[[1],[2,3]]})") +
                     line(R"({"event":"timeout","node":1})") +
                     line(R"({"event":"deliver_pending"})") + line(R"({"event":"heal"})") +
                     line(R"({"event":"timeout","node":2})") +
                     line(R"({"event":"deliver_pending"})");
  std::ostringstream trace;
  REQUIRE(replay_text(text, &trace).scenario);
  int partition_drops = 0, delivered_votes = 0;
  for (const std::string& l : lines_of(trace.str())) {
    json e = json::parse(l);
    if (e.value("event", "") == "drop" && e["reason"] == "partition") ++partition_drops;
    if (e.value("event", "") == "vote" && e["granted"] == true) ++delivered_votes;
  }
  CHECK(partition_drops == 2);  // node 1's two RequestVotes, while partitioned
  // After the heal node 2's RequestVotes for term 1 get through: node 3 grants;
  // node 1, a candidate of term 1 itself, has voted for itself.
  CHECK(delivered_votes == 1);
  std::istringstream in(trace.str());
  CHECK(check::check_trace(in, "partition").ok());
  CHECK(replay_text(trace.str()).identical);
  // Bad groups are input errors naming the node.
  auto with_groups = [&](const std::string& groups) {
    return replay_error(head + "\n" + line(R"({"event":"partition","groups":)" + groups + "}"));
  };
  CHECK_THAT(with_groups("[[1,2],[2,3]]"), Catch::Contains("node 2 is in two groups"));
  CHECK_THAT(with_groups("[[1],[2]]"), Catch::Contains("node 3 is in no group"));
  CHECK_THAT(with_groups("[[1,2,3,4]]"), Catch::Contains("node 4 does not exist"));
}
