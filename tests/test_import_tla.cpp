// `raftkv import-tla` (issue 17): TLC's counterexamples of RaftKV.tla with a
// planted bug (committed in traces/tlc/, made by TLC with `-dumpTrace json`)
// drive the real node code, with the same bug planted, through every state
// TLC listed, and the trace of the scenario written gets the violation from
// `raftkv check`. The correct code parts from each at the state where the
// bug acts, and the importer names that state. A correct behaviour (a
// witness TLC found) is followed all the way by the correct code.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "app/import_tla.h"
#include "check/checker.h"
#include "replay/replay.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

std::string source(const std::string& path) { return std::string(RAFTKV_SOURCE_DIR) + "/" + path; }

ImportSettings settings_of(const std::string& cfg) {
  ImportSettings st;
  std::ifstream in(source("spec/" + cfg));
  REQUIRE(in);
  read_tlc_config(in, cfg, st);
  return st;
}

ImportResult import_sample(const std::string& sample, const ImportSettings& st) {
  std::ifstream in(source("traces/tlc/" + sample));
  REQUIRE(in);
  return import_tla_trace(in, sample, st);
}

ImportResult import_text(const std::string& text, const ImportSettings& st = {}) {
  std::istringstream in(text);
  return import_tla_trace(in, "t.json", st);
}

std::string import_error(const std::string& text) {
  try {
    import_text(text);
  } catch (const ImportInputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE(
    "import-tla: each TLC counterexample replays on the code with its bug to the same "
    "violation",
    "[import-tla]") {
  struct Case {
    const char* sample;
    const char* cfg;
    const char* bug;
    const char* check;  // what `raftkv check` reports on the replayed trace
    int states;
  };
  // ExactlyOnce in the spec is the checker's KVSemantics (a stale retry
  // takes effect); LapsedLeaderStepsDown is its CheckQuorum.
  const Case cases[] = {
      {"vote_twice.json", "MCRaftKVVoteTwice.cfg", "vote_twice", "ElectionSafety", 7},
      {"dedup_last_seq_only.json", "MCRaftKVStaleRetry.cfg", "dedup_last_seq_only", "KVSemantics",
       9},
      {"leader_ignores_quorum.json", "MCRaftKVLeaderIgnoresQuorum.cfg", "leader_ignores_quorum",
       "CheckQuorum", 6},
      // PreVote on; an action property in the spec (exit 13).
      {"prevote_raises_term.json", "MCRaftKVPreVoteRaisesTerm.cfg", "prevote_raises_term",
       "TermAdoption", 3},
      // Figure 8: servers numbered 1..3 (no model values), 20 steps.
      {"commit_old_term.json", "MCRaftKVCommitOldTerm.cfg", "commit_old_term", "LeaderCompleteness",
       21},
  };
  for (const Case& c : cases) {
    INFO(c.sample);
    ImportSettings st = settings_of(c.cfg);
    REQUIRE(planted_bug_list(st.bugs) == std::vector<std::string>{c.bug});
    ImportResult r = import_sample(c.sample, st);
    CHECK(r.states == c.states);
    REQUIRE(r.complete);
    CHECK(r.steps.size() == static_cast<size_t>(c.states - 1));
    check::Report rep = replay_scenario_and_check(r.scenario, c.bug);
    REQUIRE(rep.violation);
    CHECK(rep.violation->check == c.check);
  }
}

TEST_CASE("import-tla: the correct code parts from each counterexample where the bug acts",
          "[import-tla]") {
  struct Case {
    const char* sample;
    const char* cfg;
    int parted_at;
    const char* why;  // a difference the message names
  };
  const Case cases[] = {
      // Node 2, a candidate of term 1, refuses node 1: it voted for itself.
      {"vote_twice.json", "MCRaftKVVoteTwice.cfg", 4, "node 2 vote: spec 1, code 2"},
      // The stale put of client 1 (seq 1, after its seq 2) takes no effect.
      {"dedup_last_seq_only.json", "MCRaftKVStaleRetry.cfg", 9,
       "node 1 store: spec {\"a\":\"x\"}, code {}"},
      // The leader that heard from no one steps down at its quorum check.
      {"leader_ignores_quorum.json", "MCRaftKVLeaderIgnoresQuorum.cfg", 6,
       "node 1 role: spec leader, code follower"},
      // Node 2 answers the PreVote without adopting its term.
      {"prevote_raises_term.json", "MCRaftKVPreVoteRaisesTerm.cfg", 3,
       "node 2 term: spec 1, code 0"},
      // Node 1, leader of term 3, does not commit its term-1 entry on node
      // 3's acknowledgement (Figure 8).
      {"commit_old_term.json", "MCRaftKVCommitOldTerm.cfg", 19, "node 1 commit: spec 1, code 0"},
  };
  for (const Case& c : cases) {
    INFO(c.sample);
    ImportSettings st = settings_of(c.cfg);
    st.bugs = PlantedBugs{};
    ImportResult r = import_sample(c.sample, st);
    CHECK_FALSE(r.complete);
    CHECK(r.parted_at == c.parted_at);
    CHECK(r.steps.size() == static_cast<size_t>(c.parted_at - 2));
    CHECK_THAT(r.parted_why, Catch::Contains(c.why));
    // The steps before it still replay, and break nothing.
    check::Report rep = replay_scenario_and_check(r.scenario, "prefix");
    CHECK_FALSE(rep.violation);
  }
}

TEST_CASE("import-tla: a correct behaviour TLC found is followed by the correct code",
          "[import-tla]") {
  // MCRaftKVClient.cfg's witness ClientRetryNotApplied: a node applies the
  // no-op, client 1's put and delete and a retry of the put (TLC reports
  // the witness "violated" to show its bounds reach it).
  ImportResult r = import_sample("client-retry-witness.json", settings_of("MCRaftKVClient.cfg"));
  REQUIRE(r.complete);
  CHECK(r.steps.size() == 9);
  CHECK_FALSE(replay_scenario_and_check(r.scenario, "witness").violation);
  // With the wrong no-op setting the code parts at the election.
  ImportSettings st = settings_of("MCRaftKVClient.cfg");
  st.leader_noop = false;
  ImportResult wrong = import_sample("client-retry-witness.json", st);
  CHECK_FALSE(wrong.complete);
  CHECK(wrong.parted_at == 4);
  CHECK_THAT(wrong.parted_why, Catch::Contains("node 1 log"));
}

TEST_CASE("import-tla: a malformed TLC trace is named where it is wrong", "[import-tla]") {
  CHECK_THAT(import_error("not json"), Catch::Contains("t.json: not JSON"));
  CHECK_THAT(import_error("{}"), Catch::Contains("no 'state' list"));
  CHECK_THAT(import_error("{\"state\":[]}"), Catch::Contains("state: expected a non-empty list"));
  CHECK_THAT(import_error("{\"state\":[[2,{}]]}"), Catch::Contains("numbered 1, 2"));
  CHECK_THAT(import_error("{\"state\":[[1,{}]]}"), Catch::Contains("state 1: no 'node'"));
  // A state whose node record lacks a field, and one with a wrong type.
  std::string one =
      R"({"state":[[1,{"msgs":[],"node":{"s1":{"role":"follower","term":0,"vote":"Nil","log":[],"commit":0,"applied":0,"store":[]}}}]]})";
  ImportResult ok = import_text(one);
  CHECK(ok.complete);
  std::string no_term = one;
  no_term.replace(no_term.find("\"term\":0,"), 9, "");
  CHECK_THAT(import_error(no_term), Catch::Contains("state 1.node.s1: no 'term'"));
  std::string bad_vote = one;
  bad_vote.replace(bad_vote.find("\"Nil\""), 5, "\"s7\"");
  CHECK_THAT(import_error(bad_vote), Catch::Contains("'s7' is not a server"));
  std::string bad_term = one;
  bad_term.replace(bad_term.find("\"term\":0"), 8, "\"term\":\"0\"");
  CHECK_THAT(import_error(bad_term), Catch::Contains("node.s1.term: expected an integer"));
  // Servers numbered (Server = {1, 2}): `node` is a sequence, servers are numbers.
  std::string numbered =
      R"({"state":[[1,{"msgs":[],"node":[{"role":"follower","term":0,"vote":"Nil","log":[],"commit":0,"applied":0,"store":[]},{"role":"follower","term":0,"vote":5,"log":[],"commit":0,"applied":0,"store":[]}]}]]})";
  CHECK_THAT(import_error(numbered), Catch::Contains("state 1.node.2.vote: 5 is not a server"));
}

TEST_CASE("import-tla: a TLC config with a feature the import does not drive is refused",
          "[import-tla]") {
  ImportSettings st;
  std::istringstream cfg("CONSTANTS\n    LeaderNoop = FALSE\n    Snapshots = TRUE\n");
  try {
    read_tlc_config(cfg, "x.cfg", st);
    FAIL("no error");
  } catch (const ImportInputError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("x.cfg:3: Snapshots = TRUE"));
  }
  std::istringstream ok("CONSTANTS\n  LeaderNoop = FALSE \\* comment\n  PlantedVoteTwice = TRUE\n");
  ImportSettings st2;
  read_tlc_config(ok, "y.cfg", st2);
  CHECK_FALSE(st2.leader_noop);
  CHECK(st2.bugs.vote_twice);
}

TEST_CASE("import-tla: the command line's exit codes and files", "[import-tla]") {
  std::string dir = std::filesystem::temp_directory_path().string() + "/raftkv-import-cli-" +
                    std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::string bin = RAFTKV_BINARY;
  ShellResult ok =
      run_shell(bin + " import-tla traces/tlc/vote_twice.json --cfg " +
                "spec/MCRaftKVVoteTwice.cfg -o " + dir + "/s.jsonl --trace " + dir + "/t.jsonl");
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("raftkv check: VIOLATION ElectionSafety"));
  CHECK(std::filesystem::exists(dir + "/s.jsonl"));
  ShellResult parted =
      run_shell(bin + " import-tla traces/tlc/vote_twice.json --cfg " +
                "spec/MCRaftKVVoteTwice.cfg --correct-code -q -o " + dir + "/p.jsonl");
  CHECK(parted.code == 1);
  CHECK_THAT(parted.out, Catch::Contains("PARTED at TLC state 4"));
  ShellResult missing = run_shell(bin + " import-tla " + dir + "/nothing.json");
  CHECK(missing.code == 2);
  ShellResult bad = run_shell(bin + " import-tla traces/tlc/vote_twice.json --leader-noop maybe");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.out, Catch::Contains("--leader-noop must be true or false"));
  ShellResult bug =
      run_shell(bin + " import-tla traces/tlc/vote_twice.json --plant-bug vote_twise");
  CHECK(bug.code == 2);
  CHECK_THAT(bug.out, Catch::Contains("vote_twice"));
  std::filesystem::remove_all(dir);
}
