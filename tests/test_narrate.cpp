// The narrative a newcomer reads: its verbosity levels and filters, message
// ids a reader can follow, the reasons it gives on both sides of a refusal,
// and README's sample, which must be what the default run prints.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.h"

namespace raftkv {
namespace {

std::string source(const std::string& rel) { return std::string(RAFTKV_SOURCE_DIR) + "/" + rel; }

// The narrative lines ("[  t ms] [actor] ...") of a run of `config`.
std::vector<std::string> narrative_of_run(const std::string& config, NarrateOptions options,
                                          const std::string& trace_path = "") {
  RunOptions o;
  o.config_path = source(config);
  o.narrative = std::move(options);
  o.trace_path = trace_path;
  std::ostringstream out, err;
  run_command(o, out, err);
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("[", 0) == 0) lines.push_back(line);
  }
  return lines;
}

std::string narrative_of_replay(const std::string& input, NarrateOptions options = {}) {
  ReplayCommandOptions o;
  o.input_path = source(input);
  o.narrate = true;
  o.narrative = std::move(options);
  std::ostringstream out, err;
  replay_command(o, out, err);
  return out.str();
}

NarrateOptions level(int v) {
  NarrateOptions o;
  o.verbosity = v;
  return o;
}

// Whether `small` appears in `big` in order (not necessarily adjacent).
bool subsequence(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  size_t j = 0;
  for (const std::string& line : big) {
    if (j < small.size() && small[j] == line) ++j;
  }
  return j == small.size();
}

size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(text) != std::string::npos;
  }));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

}  // namespace

TEST_CASE("Each verbosity level tells what the level below tells, and more", "[narrate]") {
  auto l1 = narrative_of_run("config.toml", level(1));
  auto l2 = narrative_of_run("config.toml", level(2));
  auto l3 = narrative_of_run("config.toml", level(3));
  INFO("lines per level: " << l1.size() << " " << l2.size() << " " << l3.size());
  CHECK(l1.size() < l2.size());
  CHECK(l2.size() < l3.size());
  CHECK(subsequence(l1, l2));
  CHECK(subsequence(l2, l3));
  // The leader's bookkeeping is for level 3 only; applies start at level 2.
  CHECK(count_containing(l2, "match_index=") == 0);
  CHECK(count_containing(l3, "match_index=") > 0);
  CHECK(count_containing(l1, "Applied index") == 0);
  CHECK(count_containing(l2, "Applied index") > 0);
  // Level 1 still has the story: the election, the commits, the clients.
  CHECK(count_containing(l1, "Became LEADER") == 1);
  CHECK(count_containing(l1, "Commit index") > 0);
  CHECK(count_containing(l1, "[client 1] #1 ") > 0);
  // The default is level 2.
  CHECK(narrative_of_run("config.toml", {}) == l2);
}

TEST_CASE("Narrative filters by node and by client keep only the lines about them", "[narrate]") {
  NarrateOptions node3 = level(3);
  node3.nodes = {3};
  auto lines = narrative_of_run("traces/configs/leader-crash.toml", node3);
  REQUIRE(lines.size() > 10);
  size_t others = 0;  // lines told by another node about a message from or to node 3
  for (const std::string& l : lines) {
    INFO(l);
    bool about = lower(l).find("node 3") != std::string::npos;
    CHECK((about || l.find("[net] ") != std::string::npos));
    if (l.find("[node 3]") == std::string::npos && about) ++others;
  }
  CHECK(others > 0);

  NarrateOptions client2 = level(3);
  client2.clients = {2};
  lines = narrative_of_run("config.toml", client2);
  REQUIRE(lines.size() > 10);
  for (const std::string& l : lines) {
    INFO(l);
    CHECK(lower(l).find("client 2") != std::string::npos);
  }
  CHECK(count_containing(lines, "Applied index") > 0);  // applies of its commands
  CHECK(count_containing(lines, "[client 2]") > 0);
}

TEST_CASE("Every message the trace records can be followed by its id", "[narrate]") {
  std::string trace = std::string(RAFTKV_BINARY) + ".narrate-chaos.jsonl";
  auto lines = narrative_of_run("traces/configs/chaos.toml", level(3), trace);
  REQUIRE(lines.size() > 100);
  // Every id the narrative names ("msg 12"), and those named on a drop line:
  // gathered in one pass, so the test stays linear in the trace's length.
  std::set<int64_t> named, named_dropped;
  for (const std::string& l : lines) {
    for (size_t at = l.find("msg "); at != std::string::npos; at = l.find("msg ", at + 4)) {
      size_t digits = at + 4, end = digits;
      while (end < l.size() && l[end] >= '0' && l[end] <= '9') ++end;
      if (end == digits) continue;
      int64_t id = std::stoll(l.substr(digits, end - digits));
      named.insert(id);
      if (l.find("dropped", end) != std::string::npos) named_dropped.insert(id);
    }
  }
  std::ifstream in(trace);
  std::string line;
  std::getline(in, line);  // the header
  int sends = 0, drops = 0;
  while (std::getline(in, line)) {
    nlohmann::json ev = nlohmann::json::parse(line);
    std::string event = ev["event"];
    if (event != "send" && event != "client_send" && event != "drop" && event != "deliver")
      continue;
    int64_t id = event == "deliver" ? ev["msg_id"].get<int64_t>() : ev["msg"]["id"].get<int64_t>();
    INFO(line);
    REQUIRE(named.count(id) == 1);
    if (event == "drop") {
      ++drops;
      REQUIRE(named_dropped.count(id) == 1);
    } else if (event != "deliver") {
      ++sends;
    }
  }
  CHECK(sends > 100);
  CHECK(drops > 0);
  std::remove(trace.c_str());
}

TEST_CASE("The narrative says why, from both sides", "[narrate]") {
  SECTION("Figure 8: the leader says which index it may not commit, and why") {
    std::string told = narrative_of_replay("traces/scenarios/figure8.jsonl");
    INFO(told);
    CHECK_THAT(told, Catch::Contains("[node 1] May not commit index 1 yet: a majority holds it, "
                                     "but its term 1 is older than my term 3 (§5.4.2, Figure 8)"));
    CHECK_THAT(told, !Catch::Contains("forbids"));
    // With the rule broken (a planted bug), the same schedule commits it, and
    // the narrative says that this commit breaks the rule.
    std::string broken = narrative_of_replay("traces/scenarios/figure8-commit_old_term.jsonl");
    INFO(broken);
    CHECK_THAT(broken,
               Catch::Contains("[node 1] Commit index 0 -> 1 (its term 1 is older than my "
                               "term 3: §5.4.2 forbids committing it by counting replicas)"));
  }
  SECTION("A refused AppendEntries: the follower's log facts, on both sides") {
    std::string told = narrative_of_replay("traces/partition-heal.jsonl");
    INFO(told);
    CHECK(std::regex_search(told, std::regex("Refusing AppendEntries msg [0-9]+ from node [0-9] "
                                             "\\(log_mismatch\\): no entry at prev index [0-9]+: "
                                             "my log ends at [0-9]+; reply msg [0-9]+")));
    CHECK(std::regex_search(told, std::regex("AppendEntries refused by node [0-9] \\(log_mismatch, "
                                             "msg [0-9]+\\): its log ends at [0-9]+, before prev "
                                             "index [0-9]+")));
  }
  SECTION("A vote denial names the request's term and both last logs") {
    std::string told = narrative_of_replay("traces/scenarios/older-last-term.jsonl");
    INFO(told);
    CHECK(std::regex_search(told, std::regex("Denying vote to node [0-9] for term [0-9]+: its last "
                                             "log [0-9]+/[0-9]+ is behind mine [0-9]+/[0-9]+ "
                                             "\\(log_not_up_to_date")));
    CHECK(std::regex_search(told, std::regex("Vote msg [0-9]+ denied by node [0-9] "
                                             "\\(log_not_up_to_date\\)")));
  }
}

TEST_CASE("replay --narrate of a trace tells what run told while making it", "[narrate]") {
  // Node lines of a trace leave out an unchanged state (schema v3) and the
  // unchanged fields of a changed one (v4): the
  // replay's narrator must see them whole, as the live one does, or it
  // tells "term 0" where the node is in term 2.
  for (const char* config : {"traces/configs/partition-heal.toml", "traces/configs/chaos.toml"}) {
    INFO(config);
    std::string trace = std::string(RAFTKV_BINARY) + ".narrate-same.jsonl";
    auto live = narrative_of_run(config, level(3), trace);
    ReplayCommandOptions o;
    o.input_path = trace;
    o.narrate = true;
    o.narrative = level(3);
    std::ostringstream out, err;
    CHECK(replay_command(o, out, err) == 0);
    std::vector<std::string> replayed;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("[", 0) == 0) replayed.push_back(line);
    }
    REQUIRE(live.size() > 100);
    CHECK(replayed == live);
    std::remove(trace.c_str());
  }
}

TEST_CASE("README's sample narrative is what the default run prints", "[narrate]") {
  std::ifstream readme(source("README.md"));
  std::string line;
  while (std::getline(readme, line) && line != "## What you see") {
  }
  while (std::getline(readme, line) && line.rfind("```", 0) != 0) {
  }
  std::vector<std::string> sample;
  while (std::getline(readme, line) && line.rfind("```", 0) != 0) sample.push_back(line);
  REQUIRE(sample.size() >= 5);
  auto run = narrative_of_run("config.toml", {});
  for (const std::string& s : sample) {
    INFO(s);
    CHECK(std::find(run.begin(), run.end(), s) != run.end());
  }
  CHECK(subsequence(sample, run));
}

}  // namespace raftkv

namespace raftkv {

TEST_CASE("A leader's restraint line counts only what it learnt in its current term", "[narrate]") {
  // Node 1 leads term 1 and learns that node 2 holds index 2; it loses the
  // lead and wins again in term 3. What node 2 held in term 1 says nothing now
  // (node 2 may have been overwritten since): until node 2 answers in term 3,
  // only node 1 holds index 2, no majority, and §5.4.2's restraint is no news.
  Narrator n(level(3));
  auto state = [](const char* role, int term, int last) {
    return nlohmann::json{{"role", role}, {"term", term},       {"vote", 1},     {"commit", 0},
                          {"applied", 0}, {"last_index", last}, {"last_term", 1}};
  };
  int seq = 0;
  auto feed = [&](nlohmann::json ev) {
    ev["seq"] = ++seq;
    ev["t"] = seq;
    return n.line(ev).value_or("");
  };
  for (int id = 1; id <= 3; ++id) {
    feed({{"event", "start"}, {"node", id}, {"state", state("follower", 0, 0)}});
  }
  nlohmann::json entry = {
      {"term", 1},
      {"cmd", {{"op", "noop"}, {"key", ""}, {"value", ""}, {"client", 0}, {"seq", 0}}}};
  feed({{"event", "append"},
        {"node", 1},
        {"state", state("leader", 1, 2)},
        {"first_index", 1},
        {"entries", {entry, entry}}});
  feed({{"event", "progress"},
        {"node", 1},
        {"state", state("leader", 1, 2)},
        {"peer", 2},
        {"next_index", 3},
        {"match_index", 2},
        {"mode", "replicate"}});
  feed({{"event", "become_leader"},
        {"node", 1},
        {"state", state("leader", 3, 2)},
        {"votes", {1, 3}}});
  std::string told = feed({{"event", "progress"},
                           {"node", 1},
                           {"state", state("leader", 3, 2)},
                           {"peer", 3},
                           {"next_index", 3},
                           {"match_index", 0},
                           {"mode", "probe"}});
  CHECK(told.find("May not commit") == std::string::npos);
  // Once node 2 answers in term 3 that it holds index 2, the restraint is told.
  told = feed({{"event", "progress"},
               {"node", 1},
               {"state", state("leader", 3, 2)},
               {"peer", 2},
               {"next_index", 3},
               {"match_index", 2},
               {"mode", "replicate"}});
  CHECK(told.find("May not commit index 2 yet") != std::string::npos);
}

TEST_CASE("The narrative tells snapshots, installs and their messages", "[narrate]") {
  // Raft §7, from hand-made lines (no run writes them until nodes compact).
  Narrator n(level(3));
  auto state = [](const char* role, int commit, int last) {
    return nlohmann::json{{"role", role},     {"term", 2},         {"vote", 1},
                          {"commit", commit}, {"applied", commit}, {"last_index", last},
                          {"last_term", 2}};
  };
  int seq = 0;
  auto feed = [&](nlohmann::json ev) {
    ev["seq"] = ++seq;
    ev["t"] = seq;
    return n.line(ev).value_or("");
  };
  for (int id = 1; id <= 2; ++id) {
    feed({{"event", "start"}, {"node", id}, {"state", state("follower", 0, 0)}});
  }
  CHECK_THAT(feed({{"event", "snapshot"},
                   {"node", 1},
                   {"state", state("leader", 40, 42)},
                   {"index", 40},
                   {"term", 2},
                   {"store_digest", "cbf29ce484222325"},
                   {"store_size", 5},
                   {"bytes", 312}}),
             Catch::EndsWith("[node 1] Snapshot through index 40 (term 2): 5 keys, 312 bytes; "
                             "log entries 1..40 discarded"));
  nlohmann::json chunk = {{"id", 7},
                          {"type", "InstallSnapshot"},
                          {"from", 1},
                          {"to", 2},
                          {"term", 2},
                          {"last_included_index", 40},
                          {"last_included_term", 2},
                          {"offset", 0},
                          {"data", "store 5\n"},
                          {"done", true}};
  CHECK_THAT(feed({{"event", "send"}, {"node", 1}, {"msg", chunk}}),
             Catch::EndsWith("InstallSnapshot msg 7 -> node 2: snapshot through 40/2, bytes 0..7 "
                             "of it (last chunk)"));
  CHECK_THAT(feed({{"event", "deliver"}, {"node", 2}, {"msg_id", 7}}),
             Catch::Contains("Received InstallSnapshot msg 7 from node 1 (term 2)"));
  CHECK_THAT(feed({{"event", "install_snapshot"},
                   {"node", 2},
                   {"state", state("follower", 40, 40)},
                   {"index", 40},
                   {"term", 2},
                   {"store_digest", "cbf29ce484222325"},
                   {"store_size", 5},
                   {"kept", 0}}),
             Catch::Contains("Installed node 1's snapshot through index 40 (term 2): 5 keys; my "
                             "log now ends there; commit 40, applied 40"));
  nlohmann::json reply = {
      {"id", 8},   {"type", "InstallSnapshotResponse"}, {"from", 2},   {"to", 1},
      {"term", 2}, {"last_included_index", 40},         {"offset", 0}, {"done", true}};
  CHECK_THAT(feed({{"event", "send"}, {"node", 2}, {"msg", reply}}),
             Catch::Contains("InstallSnapshotResponse msg 8 -> node 1: I hold the state through "
                             "index 40"));
  CHECK_THAT(feed({{"event", "deliver"}, {"node", 1}, {"msg_id", 8}}),
             Catch::Contains("Node 2 holds the state through index 40 (msg 8, term 2)"));
  reply["id"] = 9, reply["offset"] = 16, reply["done"] = false;
  CHECK_THAT(
      feed({{"event", "send"}, {"node", 2}, {"msg", reply}}),
      Catch::Contains("I hold 16 bytes of the snapshot through index 40; send from byte 16"));
  // A restart from a snapshot says where it comes back from.
  CHECK_THAT(feed({{"event", "restart"}, {"node", 2}, {"state", state("follower", 40, 40)}}),
             Catch::Contains("snapshot through index 40 (commit and applied 40)"));
}

}  // namespace raftkv
