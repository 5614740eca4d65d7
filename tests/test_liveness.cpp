// Liveness figures (check/liveness.h, spec/checks.md "Liveness figures"): the meter's
// definition on hand-fed observations, the same figures from a run in memory and from its
// trace, and `raftkv check --liveness` failing on a trace that misses a stated bound.
#include <catch2/catch.hpp>
#include <sstream>

#include "app/commands.h"
#include "app/summary.h"
#include "check/checker.h"
#include "check/liveness.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;
using check::LivenessFigures;
using check::LivenessMeter;
using check::MeterRole;

namespace {

// Five nodes at term 1, node 1 leader, nothing accepted yet.
LivenessMeter five_with_leader() {
  LivenessMeter m(5);
  m.advance(0);
  for (int id = 1; id <= 5; ++id)
    m.node_state(id, 1, id == 1 ? MeterRole::Leader : MeterRole::Follower);
  return m;
}

// A run of `cfg` with the run's own figures and the figures `raftkv check` gives its trace.
struct Both {
  LivenessFigures run;
  check::Report report;
  std::string trace;
};

Both run_both(const Config& cfg) {
  Cluster cluster(cfg);
  LivenessObserver observer(cluster);
  cluster.set_observer(&observer);
  std::string trace = traced_run(cluster);
  Both b;
  b.run = observer.figures();
  b.trace = std::move(trace);
  std::istringstream in(b.trace);
  b.report = check::check_trace(in, "liveness");
  return b;
}

std::string temp_trace(const std::string& name, const std::string& text) {
  std::string path = std::string(RAFTKV_BINARY) + "." + name + ".jsonl";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("A leader is available only while a majority of nodes accepted it in its term",
          "[liveness]") {
  LivenessMeter m = five_with_leader();
  // Leader alone: 1 of 5 is no majority.
  m.advance(10);
  m.append_entries_delivered(2, 1, 1);
  m.advance(20);
  // 2 of 5: still none.
  m.append_entries_delivered(3, 1, 1);
  m.advance(30);  // from here 3 of 5 follow node 1
  // A stale AppendEntries (term 0) changes nothing; one from another leader of a lower term
  // does not replace the leader node 3 follows.
  m.append_entries_delivered(3, 4, 0);
  m.advance(40);
  // Node 3 moves to term 2 (e.g. a RequestVote): it no longer follows node 1 of term 1.
  m.node_state(3, 2, MeterRole::Follower);
  m.advance(55);
  // Node 2 crashes; nodes 4 and 5 accept: the leader, 4 and 5 are a majority again.
  m.node_state(2, 1, MeterRole::Down);
  m.append_entries_delivered(4, 1, 1);
  m.append_entries_delivered(5, 1, 1);
  m.advance(70);  // leader, 4 and 5: 3 of 5 again
  LivenessFigures f = m.finish(100);
  CHECK(f.duration_ms == 100);
  CHECK(f.available_ms == (40 - 20) + (100 - 55));
  CHECK(f.longest_unavailable_ms == 20);
  CHECK(f.longest_unavailable_start_ms == 0);
  CHECK(f.longest_unavailable_end_ms == 20);
  CHECK_FALSE(f.unavailable_at_end);
}

TEST_CASE(
    "Only where virtual time moves on counts: a change undone in the same millisecond is no "
    "gap",
    "[liveness]") {
  LivenessMeter m = five_with_leader();
  for (int id = 2; id <= 3; ++id) m.append_entries_delivered(id, 1, 1);
  m.advance(10);
  // At 10 ms node 2 crashes and restarts in the same millisecond, then accepts again.
  m.node_state(2, 1, MeterRole::Down);
  m.node_state(2, 1, MeterRole::Follower);
  m.append_entries_delivered(2, 1, 1);
  m.advance(20);
  // A crash that stays: unavailable from 20 ms to the end.
  m.node_state(3, 1, MeterRole::Down);
  LivenessFigures f = m.finish(50);
  CHECK(f.available_ms == 20);
  CHECK(f.longest_unavailable_ms == 30);
  CHECK(f.longest_unavailable_start_ms == 20);
  CHECK(f.unavailable_at_end);
  CHECK(check::format_liveness(f).find("30 ms (20..50 ms, to the end of the run)") !=
        std::string::npos);
}

TEST_CASE("Elections, terms and client outcomes are counted from their events", "[liveness]") {
  LivenessMeter m(3);
  m.advance(0);
  m.election_started(1, 1);
  m.election_started(2, 1);  // a split vote: two candidacies, one term
  m.client_invoked(1, 1);
  m.client_invoked(2, 1);
  m.client_invoked(3, 1);
  m.advance(10);
  m.election_started(3, 2);
  m.client_completed(1, 1, false, true);
  m.advance(30);
  m.client_completed(2, 1, false, false);
  m.client_invoked(1, 2);
  m.advance(60);
  m.client_completed(1, 2, true, false);
  LivenessFigures f = m.finish(60000);
  CHECK(f.elections == 3);
  CHECK(f.terms == 2);
  CHECK(f.per_minute(f.elections) == Approx(3.0));
  CHECK(f.client_ops == 4);
  CHECK(f.client_ok == 1);
  CHECK(f.client_error == 1);
  CHECK(f.client_unknown == 1);
  CHECK(f.client_open == 1);
  CHECK(f.client_success() == Approx(0.5));
  CHECK(f.latency_p50_ms == 10);
  CHECK(f.latency_max_ms == 30);
}

TEST_CASE("raftkv run's figures equal those raftkv check measures on the run's trace",
          "[liveness]") {
  std::vector<Config> configs;
  configs.push_back(Config{});
  Config crash = load_config(std::string(RAFTKV_SOURCE_DIR) + "/traces/configs/leader-crash.toml");
  configs.push_back(crash);
  Config chaos = load_config(std::string(RAFTKV_SOURCE_DIR) + "/traces/configs/chaos.toml");
  configs.push_back(chaos);
  for (bool pre_vote : {false, true}) {
    Config pp = load_config(std::string(RAFTKV_SOURCE_DIR) + "/examples/partial-partition.toml");
    pp.raft.pre_vote = pre_vote;
    pp.time_limit_ms = 3000;  // enough for the cut to depose the leader without pre-votes
    configs.push_back(pp);
  }
  Config lossy;
  lossy.network.loss = 0.2;
  lossy.network.duplicate = 0.1;
  lossy.nemesis.enabled = true;
  configs.push_back(lossy);
  for (const Config& cfg : configs) {
    Both b = run_both(cfg);
    INFO("config from " << cfg.source << ", pre_vote " << cfg.raft.pre_vote);
    REQUIRE(b.report.ok());
    REQUIRE(b.report.liveness_figures);
    CHECK(check::format_liveness(b.run) == check::format_liveness(*b.report.liveness_figures));
    CHECK(b.run == *b.report.liveness_figures);
  }
}

TEST_CASE("check --liveness exits 3 naming the bound a trace misses, and 0 when it meets them",
          "[liveness][cli]") {
  // The leader crashes at 40 ms: no leader a majority follows until the next election.
  Config cfg = load_config(std::string(RAFTKV_SOURCE_DIR) + "/traces/configs/leader-crash.toml");
  Both b = run_both(cfg);
  REQUIRE(b.report.ok());
  const LivenessFigures& f = *b.report.liveness_figures;
  REQUIRE(f.longest_unavailable_ms > 100);
  std::string path = temp_trace("leader-crash", b.trace);
  std::string bin = std::string("'") + RAFTKV_BINARY + "' check --liveness ";
  std::string gap = std::to_string(f.longest_unavailable_ms);

  ShellResult missed = run_shell(bin + "--max-unavailable-ms 100 '" + path + "'");
  CHECK(missed.code == 3);
  CHECK(missed.out.find("--max-unavailable-ms 100 missed: the longest stretch without a leader "
                        "that a majority follows was " +
                        gap + " ms") != std::string::npos);

  ShellResult met = run_shell(bin + "--max-unavailable-ms " + gap + " '" + path + "'");
  CHECK(met.code == 0);
  CHECK(met.out.find("MISSED") == std::string::npos);

  ShellResult avail = run_shell(bin + "--min-availability 1 '" + path + "'");
  CHECK(avail.code == 3);
  CHECK(avail.out.find("--min-availability 1 missed: availability was 0.") != std::string::npos);
  CHECK(run_shell(bin + "--min-availability 0.5 '" + path + "'").code == 0);

  // A violation outranks a missed bound: a trace with a planted bug exits 1.
  ShellResult bug = run_shell(bin + "--max-unavailable-ms 0 traces/bug-vote_twice.jsonl");
  CHECK(bug.code == 1);
  std::remove(path.c_str());
}

TEST_CASE("check's liveness flags reject bad values with one message and exit 2",
          "[liveness][cli]") {
  std::string bin = std::string("'") + RAFTKV_BINARY + "' check ";
  struct Case {
    std::string flags;
    std::string says;
  };
  const Case cases[] = {
      {"--liveness --max-unavailable-ms -5", "--max-unavailable-ms takes a whole number"},
      {"--liveness --max-unavailable-ms 1.5", "--max-unavailable-ms takes a whole number"},
      {"--liveness --max-unavailable-ms 99999999999", "--max-unavailable-ms takes a whole number"},
      {"--liveness --min-availability 1.01", "--min-availability takes a fraction from 0 to 1"},
      {"--liveness --min-availability abc", "--min-availability takes a fraction from 0 to 1"},
      {"--liveness --min-availability nan", "--min-availability takes a fraction from 0 to 1"},
      {"--max-unavailable-ms 10", "give --liveness as well"},
      {"--liveness", "--liveness needs a bound to judge"},
  };
  for (const Case& c : cases) {
    ShellResult r = run_shell(bin + c.flags + " traces/default.jsonl");
    INFO(c.flags << ": " << r.out);
    CHECK(r.code == 2);
    CHECK(r.out.find(c.says) != std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  }
}

TEST_CASE("A run lingers past linger_ms until the replicas agree under a stable leader",
          "[liveness][convergence]") {
  // The leader crashes 10 ms before the linger ends: at its end no leader exists yet.
  Config cfg;
  cfg.requests_per_client = 0;
  cfg.linger_ms = 10;
  FaultConfig crash;
  crash.at_ms = 200;
  crash.action = FaultAction::Crash;
  crash.node = 1;
  cfg.faults.push_back(crash);
  Cluster cluster(cfg);
  cluster.run();
  CHECK(cluster.settled_ms() == 200);
  CHECK(cluster.lingered_for_convergence());
  REQUIRE(cluster.converged());
  CHECK(cluster.now() > 210);
  // It ends the moment it converged, well before the time limit.
  CHECK(cluster.converged_since_ms() == cluster.now());
  CHECK_FALSE(cluster.stopped_at_time_limit());
  REQUIRE(cluster.leader());
  CHECK(*cluster.leader() != 1);
  std::ostringstream out;
  print_summary(cluster, out);
  CHECK(out.str().find("Convergence: the replicas agree under leader " +
                       std::to_string(*cluster.leader())) != std::string::npos);
  CHECK(out.str().find("lingered past linger_ms = 10 until then") != std::string::npos);

  // linger_ms = 0 asks for no lingering: the run stops where the workload and faults end.
  cfg.linger_ms = 0;
  Cluster quick(cfg);
  quick.run();
  CHECK(quick.now() == 200);
  CHECK_FALSE(quick.converged());
  CHECK_FALSE(quick.lingered_for_convergence());
  std::ostringstream q;
  print_summary(quick, q);
  CHECK(q.str().find("Convergence: not reached by the end of the run (200 ms, 0 ms after the "
                     "workload and the faults were over; linger_ms = 0 does not wait for it)") !=
        std::string::npos);
}

TEST_CASE("A run that cannot converge lingers only up to time_limit_ms and says so",
          "[liveness][convergence]") {
  // Node 5 is cut off for good: it keeps standing for election in ever higher terms, so the
  // replicas never agree under one leader.
  Config cfg;
  cfg.time_limit_ms = 3000;
  FaultConfig part;
  part.at_ms = 100;
  part.action = FaultAction::Partition;
  part.groups = {{1, 2, 3, 4}, {5}};
  cfg.faults.push_back(part);
  Cluster cluster(cfg);
  cluster.run();
  CHECK(cluster.now() == 3000);
  CHECK_FALSE(cluster.converged());
  CHECK(cluster.stopped_at_time_limit());
  std::ostringstream out;
  print_summary(cluster, out);
  CHECK(out.str().find("Convergence: not reached by the end of the run (3000 ms") !=
        std::string::npos);
  CHECK(out.str().find("time_limit_ms = 3000)") != std::string::npos);
  CHECK(out.str().find("time limit reached") != std::string::npos);
}
