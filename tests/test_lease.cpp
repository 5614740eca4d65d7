// Lease reads ([raft] read_mode = "lease", Raft thesis §6.4.1) and the clocks
// they depend on ([timing] clock_drift_ppm): what a lease saves, and the
// LeaseRead check failing where a lease outlives the guarantee it rests on.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "check/checker.h"
#include "config/clock.h"
#include "config/config.h"
#include "raft/node.h"
#include "replay/replay.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

check::Report check_text(const std::string& trace) {
  std::istringstream in(trace);
  return check::check_trace(in, "run", check::CheckOptions{});
}

std::string violated(const check::Report& r) { return r.violation ? r.violation->check : "none"; }

int64_t count_of(const check::Report& r, const char* name) {
  auto it = r.counts.find(name);
  return it == r.counts.end() ? 0 : it->second;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

Config lease_config() {
  return load_config(std::string(RAFTKV_SOURCE_DIR) + "/traces/configs/lease.toml");
}

std::string run_text(const Config& cfg, PlantedBugs bugs = {}) {
  Cluster cluster(cfg, bugs);
  return traced_run(cluster);
}

}  // namespace

TEST_CASE("Node clocks drift by id within the bound, and timers run on them", "[lease]") {
  NodeClocks three(3, 500000);
  CHECK(three.drift_ppm(1) == -500000);  // node 1 slowest
  CHECK(three.drift_ppm(2) == 0);
  CHECK(three.drift_ppm(3) == 500000);  // the last node fastest
  CHECK(three.read_us(1, 100) == 50000);
  CHECK(three.read_us(3, 100) == 150000);
  // 150 ms on a half-speed clock take 300 ms of true time, on a 1.5x clock 100 ms.
  CHECK(three.true_delay_ms(1, 150) == 300);
  CHECK(three.true_delay_ms(3, 150) == 100);
  CHECK(three.true_delay_ms(3, 151) == 101);  // rounded up: a timer never fires early
  NodeClocks exact(5, 0);
  for (int id = 1; id <= 5; ++id) {
    CHECK(exact.read_us(id, 1234) == 1234000);
    CHECK(exact.true_delay_ms(id, 150) == 150);
  }
  CHECK(NodeClocks(1, 500000).drift_ppm(1) == 0);  // one node: nothing to drift from
}

TEST_CASE("Lease reads answer without a round while the lease lasts", "[lease]") {
  Config cfg = lease_config();
  cfg.faults.clear();  // no partition: every round is answered
  std::string lease = run_text(cfg);
  check::Report r = check_text(lease);
  INFO(check::format_report(r));
  REQUIRE(r.ok());
  int64_t on_lease = count_of(r, "lease_reads");
  size_t reads = occurrences(lease, R"("event":"read")");
  CHECK(reads == 81);  // client 1's 80 gets and client 2's one
  // Most reads are answered on the lease; a round renews it when it has run out (50 ms of the
  // slow leader's clock: 100 ms of true time).
  CHECK(on_lease >= 60);
  CHECK(occurrences(lease, R"("lease":false)") == reads - static_cast<size_t>(on_lease));

  // The same reads with read_index: one confirmation round per batch of reads.
  cfg.raft.read_mode = ReadMode::ReadIndex;
  std::string index = run_text(cfg);
  size_t rounds_lease = occurrences(lease, R"("type":"ReadConfirm")");
  size_t rounds_index = occurrences(index, R"("type":"ReadConfirm")");
  INFO("ReadConfirm sends: lease " << rounds_lease << ", read_index " << rounds_index);
  CHECK(rounds_lease * 4 < rounds_index);
}

TEST_CASE("LeaseRead catches a lease that ignores clock drift", "[lease][oracle]") {
  Config cfg = lease_config();
  check::Report good = check_text(run_text(cfg));
  INFO(check::format_report(good));
  CHECK(good.ok());
  CHECK(count_of(good, "lease_reads") > 0);

  check::Report bad = check_text(run_text(cfg, PlantedBugs{.lease_ignores_drift = true}));
  REQUIRE(violated(bad) == "LeaseRead");
  CHECK(bad.violation->nodes == std::vector<int>{1, 3});
  CHECK_THAT(bad.violation->explanation, Catch::Contains("on its lease as leader of term 1"));

  // Without drift the whole election timeout is a safe lease: the planted bug is harmless.
  cfg.timing.clock_drift_ppm = 0;
  check::Report no_drift = check_text(run_text(cfg, PlantedBugs{.lease_ignores_drift = true}));
  INFO(check::format_report(no_drift));
  CHECK(no_drift.ok());
}

TEST_CASE("A lease field outside read_mode = \"lease\" is malformed", "[lease][oracle]") {
  Config cfg = test_config(3, 1, 6, 1);
  cfg.raft.read_mode = ReadMode::ReadIndex;
  cfg.requests_per_client = 10;
  cfg.keys = 1;
  std::string text = run_text(cfg);
  const std::string read = R"("event":"read","key":"a",)";
  size_t at = text.find(read);
  REQUIRE(at != std::string::npos);
  text.insert(at + read.size(), R"("lease":true,)");
  check::Report r = check_text(text);
  REQUIRE(violated(r) == "WellFormed");
  CHECK_THAT(r.violation->explanation, Catch::Contains("read_mode = \"lease\""));
}

TEST_CASE("Replay refuses a lease trace without check_quorum", "[lease][replay]") {
  std::string text = run_text(lease_config());
  const std::string on = R"("check_quorum":true,)";
  size_t at = text.find(on);
  REQUIRE(at != std::string::npos);
  text.erase(at, on.size());
  std::istringstream in(text);
  ReplayOptions options;
  CHECK_THROWS_WITH(replay(in, "edited", options), Catch::Contains("needs check_quorum"));
}

// Thesis §6.4.1, at one node: answering a lease round restarts the election timer and is a
// promise to vote for no one else for a minimum election timeout of the node's own clock, in any
// term; once that has passed, the node votes as usual.
TEST_CASE("Answering a lease round is a promise not to vote, for one election timeout", "[lease]") {
  NodeOptions options;
  options.read_index = true;
  options.lease_reads = true;
  options.check_quorum = true;
  options.election_timeout_min_ms = 150;
  Node node(2, 3, options);
  Effects boot;
  boot.clock_us = 0;
  node.start(boot);

  // A message to node 2.
  auto to_node2 = [](MsgType type, int from, int64_t term) {
    Message m;
    m.type = type;
    m.from = from;
    m.to = 2;
    m.term = term;
    return m;
  };
  Message confirm = to_node2(MsgType::ReadConfirm, 1, 1);
  confirm.round = 1;
  Effects answered;
  answered.clock_us = 10'000;
  node.on_message(confirm, answered);
  CHECK(answered.reset_election_timer);  // a heartbeat from the leader, as for AppendEntries
  REQUIRE(answered.messages.size() == 1);
  CHECK(answered.messages[0].type == MsgType::ReadConfirmResponse);
  CHECK(answered.messages[0].term == 1);

  // A stale answer of term 5 (an election long over) raises the node's term: it no longer has a
  // live leader of its term, but its promise to the lease it confirmed stands.
  Message stale = to_node2(MsgType::RequestVoteResponse, 3, 5);
  stale.reason = "stale_term";
  Effects raised;
  raised.clock_us = 11'000;
  node.on_message(stale, raised);
  REQUIRE(node.term() == 5);

  Message vote = to_node2(MsgType::RequestVote, 3, 6);  // last log 0/0, as node 2's
  auto ask = [&](int64_t clock_us) {
    Effects fx;
    fx.clock_us = clock_us;
    node.on_message(vote, fx);
    REQUIRE(fx.messages.size() == 1);
    return fx.messages[0];
  };
  // 149 ms after the answer: refused, whatever the term, and the term is not adopted.
  Message refused = ask(159'000);
  CHECK_FALSE(refused.granted);
  CHECK(refused.reason == "leader_live");
  CHECK(node.term() == 5);
  // 150 ms after: the promise is over, though no election timeout has fired yet.
  Message granted = ask(160'000);
  CHECK(granted.granted);
  CHECK(node.term() == 6);
}

TEST_CASE("A promise survives a higher term from a stale message", "[lease]") {
  // traces/scenarios/lease-promise.jsonl: nodes 2 and 3 answer node 1's lease round, then a
  // stale RequestVoteResponse of term 5 reaches each; node 3 stands for term 6 and node 2, still
  // promised, refuses it, so node 1's later read on its lease is sound.
  std::string path = std::string(RAFTKV_SOURCE_DIR) + "/traces/scenarios/lease-promise.jsonl";
  std::ostringstream trace;
  ReplayOptions options;
  options.trace_out = &trace;
  std::ifstream in(path);
  ReplayResult result = replay(in, path, options);
  REQUIRE(result.scenario);
  check::Report r = check_text(trace.str());
  INFO(check::format_report(r));
  CHECK(r.ok());
  CHECK(count_of(r, "lease_reads") == 1);
  CHECK(trace.str().find(R"("reason":"leader_live")") != std::string::npos);
}

TEST_CASE("An answer to a round never sent confirms nothing", "[lease]") {
  // A ReadConfirmResponse made by hand for round 99 reaches the new leader before it has sent
  // any round: it neither gives a lease nor confirms a later read.
  std::string scenario =
      R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3,"num_clients":1,)"
      R"("check_quorum":true,"read_mode":"lease"},"planted_bugs":[]})"
      "\n"
      R"({"event":"timeout","node":1,"timer":"start_election"})"
      "\n"
      R"({"event":"deliver_pending"})"
      "\n"
      R"({"event":"deliver_pending"})"
      "\n"
      R"({"event":"deliver_pending"})"
      "\n"
      R"({"event":"inject","msg":{"type":"ReadConfirmResponse","from":2,"to":1,"term":1,"round":99}})"
      "\n"
      R"({"event":"inject","msg":{"type":"ReadConfirmResponse","from":3,"to":1,"term":1,"round":99}})"
      "\n"
      R"({"event":"client_request","node":1,"cmd":{"op":"get","key":"a","client":1,"seq":1}})"
      "\n";
  std::istringstream in(scenario);
  std::ostringstream trace;
  ReplayOptions options;
  options.trace_out = &trace;
  replay(in, "handmade", options);
  // The get is not answered on a lease: it waits for a real round.
  CHECK(trace.str().find(R"("lease":true)") == std::string::npos);
  CHECK(trace.str().find(R"("type":"ReadConfirm")") != std::string::npos);
  check::Report r = check_text(trace.str());
  INFO(check::format_report(r));
  CHECK(r.ok());
}
