// `raftkv explore` (issue 17): the exploration of every schedule of the node
// code finds nothing in the clean code at the small preset, finds each
// planted bug it can reach at small bounds, and each counterexample, written
// as a scenario, replays on the code to a trace `raftkv check` rejects.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/explore.h"
#include "check/checker.h"
#include "replay/replay.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

ExploreBounds small() {
  ExploreBounds b;
  REQUIRE(explore_preset("small", &b));
  return b;
}

}  // namespace

TEST_CASE("explore: the clean code has no violation within small bounds", "[explore]") {
  // The small preset with one entry per log and no client command (the
  // whole preset takes about 40 s): elections in terms 1 and 2, each
  // leader's no-op, every loss, duplication and reordering of up to two
  // messages in flight.
  ExploreBounds b = small();
  b.max_log = 1;
  b.commands = 0;
  ExploreResult r = explore(b, PlantedBugs{});
  CHECK_FALSE(r.violation);
  CHECK(r.complete);
  // Deterministic: the same bounds always give the same state space.
  CHECK(r.distinct == 121494);
  CHECK(r.max_depth == 25);
}

TEST_CASE("explore: --max-states stops a search early and says it is incomplete", "[explore]") {
  ExploreBounds b = small();
  b.max_states = 5000;
  ExploreResult r = explore(b, PlantedBugs{});
  CHECK_FALSE(r.violation);
  CHECK_FALSE(r.complete);
  CHECK(r.distinct >= 5000);
  CHECK(r.distinct < 5000 + 100);  // at most one state's successors past the limit
  ExploreOptions o;
  o.max_states = 3000;
  std::ostringstream out, err;
  CHECK(explore_command(o, out, err) == 0);
  CHECK(out.str().find("(incomplete)") != std::string::npos);
  ExploreOptions bad;
  bad.max_states = -1;
  std::ostringstream err2;
  CHECK(explore_command(bad, out, err2) == 2);
  CHECK(err2.str().find("--max-states") != std::string::npos);
}

TEST_CASE("explore: each planted bug reachable at small bounds is found and replays", "[explore]") {
  struct Case {
    const char* bug;
    const char* invariant;
  };
  // The invariant each bug breaks first (breadth-first: the shortest path).
  const Case cases[] = {
      {"vote_twice", "ElectionSafety"},
      {"vote_without_log_check", "LeaderCompleteness"},
      {"leader_ignores_higher_term", "TermAdoption"},
      {"apply_before_commit", "StateMachineSafety"},
      {"skip_prev_log_check", "StateMachineSafety"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.bug) {
      PlantedBugs bugs;
      REQUIRE(plant_bug(bugs, c.bug));
      ExploreResult r = explore(small(), bugs);
      REQUIRE(r.violation);
      CHECK(r.invariant == c.invariant);
      // The scenario plants the bug, and the code it drives breaks a check.
      CHECK(r.scenario.find(std::string("\"planted_bugs\":[\"") + c.bug + "\"]") !=
            std::string::npos);
      check::Report rep = replay_scenario_and_check(r.scenario, c.bug);
      REQUIRE(rep.violation.has_value());
      INFO(rep.violation->check << ": " << rep.violation->explanation);
      // The trace checker, an oracle apart from explore's, names the same guarantee.
      CHECK(rep.violation->check == c.invariant);
    }
  }
}

TEST_CASE("explore: a bad flag value is exit 2 naming the flag", "[explore]") {
  std::ostringstream out, err;
  ExploreOptions o;
  o.max_term = 0;
  CHECK(explore_command(o, out, err) == 2);
  CHECK(err.str().find("--max-term") != std::string::npos);
  ExploreOptions p;
  p.planted_bugs = {"vote_twise"};
  std::ostringstream err2;
  CHECK(explore_command(p, out, err2) == 2);
  CHECK(err2.str().find("vote_twice") != std::string::npos);
  ExploreOptions q;
  q.preset = "huge";
  std::ostringstream err3;
  CHECK(explore_command(q, out, err3) == 2);
  CHECK(err3.str().find("--preset") != std::string::npos);
}

TEST_CASE("explore: the figure8 preset finds commit_old_term, and nothing in the correct code",
          "[explore]") {
  // Figure 8 of the Raft paper on three servers, the search directed at its
  // shape as TLC's is for MCRaftKVCommitOldTerm.cfg (Explorer::figure8_shape).
  // Undirected, breadth-first search had not reached it after 10 million
  // states; directed, the whole shape is a few hundred thousand.
  ExploreBounds b;
  REQUIRE(explore_preset("figure8", &b));
  REQUIRE(b.figure8_shape);
  ExploreResult clean = explore(b, PlantedBugs{});
  CHECK_FALSE(clean.violation);
  CHECK(clean.complete);
  PlantedBugs bugs;
  REQUIRE(plant_bug(bugs, "commit_old_term"));
  ExploreResult r = explore(b, bugs);
  REQUIRE(r.violation);
  // The term-1 entry s1 committed in term 3 by counting is missing from the
  // leader of term 4: the loss Figure 8 shows.
  CHECK(r.invariant == "LeaderCompleteness");
  check::Report rep = replay_scenario_and_check(r.scenario, "commit_old_term");
  REQUIRE(rep.violation.has_value());
  CHECK(rep.violation->check == "LeaderCompleteness");
}

TEST_CASE("explore: with client sessions, the dedup bugs break exactly-once and are found",
          "[explore]") {
  // The client preset: client 1 sends put a, then delete a, and retries,
  // three requests in all; KVSemantics is checked at every state from a
  // reference of exactly-once in client order, not from the node's table.
  ExploreBounds b;
  REQUIRE(explore_preset("client", &b));
  REQUIRE(b.sessions);
  for (const char* bug : {"no_client_dedup", "dedup_last_seq_only"}) {
    DYNAMIC_SECTION(bug) {
      PlantedBugs bugs;
      REQUIRE(plant_bug(bugs, bug));
      ExploreResult r = explore(b, bugs);
      REQUIRE(r.violation);
      CHECK(r.invariant == "KVSemantics");
      // The scenario names the session: client 1 with its seq numbers.
      CHECK(r.scenario.find("\"num_clients\":1") != std::string::npos);
      CHECK(r.scenario.find("\"client\":1,\"seq\":2") != std::string::npos);
      check::Report rep = replay_scenario_and_check(r.scenario, bug);
      REQUIRE(rep.violation.has_value());
      CHECK(rep.violation->check == "KVSemantics");
    }
  }
  // The correct code: no violation among the first 50,000 states (the
  // whole preset is more than 4 million), more than the 20,867 in which
  // each bug above is found.
  b.max_states = 50'000;
  ExploreResult clean = explore(b, PlantedBugs{});
  CHECK_FALSE(clean.violation);
  CHECK(clean.distinct >= 50'000);
}

namespace {

// The committed views of TLC's states at MCRaftKVConformSample.cfg's bounds
// (traces/README.md), and explore's options to compare with them.
const std::string kSampleCfg = std::string(RAFTKV_SOURCE_DIR) + "/spec/MCRaftKVConformSample.cfg";
const std::string kSampleViews = std::string(RAFTKV_SOURCE_DIR) + "/traces/tlc/conform-views.jsonl";

ExploreOptions compare_options(const std::string& views) {
  ExploreOptions o;
  o.tlc_config = kSampleCfg;
  o.compare_tlc = views;
  return o;
}

std::string write_lines(const std::string& name, const std::vector<std::string>& lines) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("raftkv-conform-" + std::to_string(getpid()) + "-" + name))
                         .string();
  std::ofstream out(path);
  for (const std::string& l : lines) out << l << '\n';
  return path;
}

}  // namespace

TEST_CASE("explore --compare-tlc: the code reaches exactly the states TLC reached",
          "[explore][conformance]") {
  // TLC wrote 487 distinct states; each is a distinct view, and the code,
  // explored on the spec's network at the same bounds, reaches those 487
  // views and no other.
  std::ostringstream out, err;
  CHECK(explore_command(compare_options(kSampleViews), out, err) == 0);
  INFO(out.str() << err.str());
  CHECK(out.str().find("TLC 487 distinct views (487 states written); the code 487 distinct "
                       "views") != std::string::npos);
  CHECK(out.str().find("SAME views") != std::string::npos);
}

TEST_CASE("explore --compare-tlc: a state missing on either side is a difference",
          "[explore][conformance]") {
  std::vector<std::string> lines = lines_of(read_file(kSampleViews));
  REQUIRE(lines.size() == 487);
  SECTION("a state TLC did not write: only the code reached it") {
    lines.erase(lines.begin() + 200);
    std::string path = write_lines("missing.jsonl", lines);
    std::ostringstream out, err;
    CHECK(explore_command(compare_options(path), out, err) == 1);
    INFO(out.str());
    CHECK(out.str().find("DIFFERENT: 0 views only TLC reached, 1 only the code reached") !=
          std::string::npos);
    CHECK(out.str().find("  only the code reached: ") != std::string::npos);
    std::filesystem::remove(path);
  }
  SECTION("a state the code cannot reach: only TLC reached it") {
    // A follower's commit index raised in one state: no schedule of the
    // code gives that view.
    // (Not a crashed node's: RaftKV resets it, so the view leaves it out.)
    size_t k = 100;
    while (nlohmann::json::parse(lines[k])["node"][0]["role"] == "down") ++k;
    nlohmann::json j = nlohmann::json::parse(lines[k]);
    j["node"][0]["commit"] = 7;
    lines[k] = j.dump();
    std::string path = write_lines("changed.jsonl", lines);
    std::ostringstream out, err;
    CHECK(explore_command(compare_options(path), out, err) == 1);
    INFO(out.str());
    CHECK(out.str().find("views only TLC reached, ") != std::string::npos);
    CHECK(out.str().find("DIFFERENT: 0 views only TLC") == std::string::npos);
    std::filesystem::remove(path);
  }
  SECTION("code that differs from the spec: no leader no-op") {
    // The TLC config says LeaderNoop = TRUE; the code run without it
    // reaches other states, and the comparison says so.
    ExploreOptions o = compare_options(kSampleViews);
    o.leader_noop = "false";
    std::ostringstream out, err;
    CHECK(explore_command(o, out, err) == 1);
    CHECK(out.str().find("DIFFERENT") != std::string::npos);
  }
}

TEST_CASE("explore --compare-tlc and --cfg: bad input is exit 2 naming what is wrong",
          "[explore][conformance]") {
  std::ostringstream out, err;
  ExploreOptions o = compare_options(kSampleViews);
  o.max_msgs = 5;  // TLC's bound was 6: a state of TLC's lies outside
  CHECK(explore_command(o, out, err) == 2);
  CHECK(err.str().find("outside explore's bounds") != std::string::npos);

  std::string path = write_lines("bad.jsonl", {"{\"node\": 3"});
  std::ostringstream out2, err2;
  CHECK(explore_command(compare_options(path), out2, err2) == 2);
  CHECK(err2.str().find("line 1: not a JSON object") != std::string::npos);
  std::filesystem::remove(path);

  std::ostringstream out3, err3;
  ExploreOptions c = compare_options(kSampleViews);
  c.tlc_config = std::string(RAFTKV_SOURCE_DIR) + "/spec/MCRaftKVPreVote.cfg";
  CHECK(explore_command(c, out3, err3) == 2);
  CHECK(err3.str().find("PreVote and CheckQuorum are not explored") != std::string::npos);

  std::ostringstream out4, err4;
  ExploreOptions n = compare_options(kSampleViews);
  n.network = "runtime";
  CHECK(explore_command(n, out4, err4) == 2);
  CHECK(err4.str().find("--network spec") != std::string::npos);
}
