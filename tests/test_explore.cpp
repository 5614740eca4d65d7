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

#include "app/commands.h"
#include "app/explore.h"
#include "check/checker.h"
#include "replay/replay.h"

using namespace raftkv;

namespace {

// Replays a scenario's text on the code, writes its trace to a temporary
// file and checks it as `raftkv check` would.
check::Report replay_and_check(const std::string& scenario, const std::string& name) {
  std::istringstream in(scenario);
  std::ostringstream trace;
  ReplayOptions ro;
  ro.trace_out = &trace;
  ReplayResult rr = replay(in, name, ro);
  REQUIRE(rr.scenario);
  auto path = std::filesystem::temp_directory_path() /
              ("raftkv-explore-" + std::to_string(getpid()) + "-" + name + ".jsonl");
  {
    std::ofstream f(path);
    f << trace.str();
  }
  check::Report rep = check::check_trace_file(path.string());
  std::filesystem::remove(path);
  return rep;
}

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
      check::Report rep = replay_and_check(r.scenario, c.bug);
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
