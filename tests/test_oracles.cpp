// The checker's liveness checks and the runtime's modelled storage, on real runs whose network
// a test filter sabotages (the checker does not see the filter, so to it the cluster looks
// healthy): each check must fail where the guarantee fails, and pass where it holds.
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "check/checker.h"
#include "raft/node_set.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

check::Report check_text(const std::string& trace, check::CheckOptions options = {}) {
  std::istringstream in(trace);
  return check::check_trace(in, "run", options);
}

std::string violated(const check::Report& r) { return r.violation ? r.violation->check : "none"; }

// The trace without its first client_complete (renumbered): that operation never ends.
std::string without_first_completion(const std::string& trace) {
  std::istringstream in(trace);
  std::ostringstream edited;
  std::string line;
  int64_t seq = 0;
  bool removed = false;
  std::getline(in, line);
  edited << line << '\n';
  while (std::getline(in, line)) {
    json e = json::parse(line);
    if (!removed && e["event"] == "client_complete") {
      removed = true;
      continue;
    }
    e["seq"] = ++seq;
    edited << e.dump() << '\n';
  }
  REQUIRE(removed);
  return edited.str();
}

}  // namespace

TEST_CASE("Liveness: a cluster that never elects a leader does not pass", "[oracle][liveness]") {
  Config cfg = test_config(3, 1, 1);
  cfg.time_limit_ms = 8000;
  Cluster cluster(cfg);
  // Every RequestVote is lost: a safe cluster that can do nothing.
  cluster.set_drop_filter([](const Message& m) { return m.type == MsgType::RequestVote; });
  std::string trace = traced_run(cluster);
  check::Report r = check_text(trace);
  INFO(check::format_report(r));
  REQUIRE(violated(r) == "Liveness");
  CHECK_THAT(r.violation->explanation, Catch::Contains("none of them became leader"));
  // The same trace judged by safety only passes: liveness is what catches it.
  check::CheckOptions safety_only;
  safety_only.liveness = false;
  CHECK(check_text(trace, safety_only).ok());
}

TEST_CASE("Liveness: a connected follower that never catches up does not pass",
          "[oracle][liveness]") {
  Config cfg = test_config(3, 2, 10);
  cfg.linger_ms = 4000;  // past the bound of 10 x 300 ms
  Cluster cluster(cfg);
  Cluster* c = &cluster;
  cluster.set_drop_filter([c](const Message& m) {
    return m.to == 3 && c->now() > 20 &&
           (m.type == MsgType::AppendEntries || m.type == MsgType::CommitNotification);
  });
  check::Report r = check_text(traced_run(cluster));
  INFO(check::format_report(r));
  REQUIRE(violated(r) == "Liveness");
  CHECK(r.violation->nodes == std::vector<int>{3});
  CHECK_THAT(r.violation->explanation, Catch::Contains("has applied only through index"));
}

TEST_CASE("Liveness: a healthy run passes, with the bound it used", "[oracle][liveness]") {
  Config cfg = test_config(5, 3, 5);
  cfg.linger_ms = 3100;
  Cluster cluster(cfg);
  check::Report r = check_text(traced_run(cluster));
  INFO(check::format_report(r));
  REQUIRE(r.ok());
  CHECK(r.liveness_skipped.empty());
  CHECK(r.counts["liveness_bound_ms"] == 3000);
  CHECK_THAT(check::format_report(r), Catch::Contains("Liveness ok (bound 3000 ms)"));
  // A trace that ends before the bound passes if it already converged...
  Config shortcfg = test_config(5, 3, 5);
  Cluster short_run(shortcfg);
  check::Report s = check_text(traced_run(short_run));
  REQUIRE(s.ok());
  CHECK(s.liveness_skipped.empty());
  // ...and is not judged, saying so, while still converging (the run stops at the last reply).
  shortcfg.linger_ms = 0;
  Cluster cut_short(shortcfg);
  check::Report u = check_text(traced_run(cut_short));
  REQUIRE(u.ok());
  REQUIRE_FALSE(u.liveness_skipped.empty());
  CHECK_THAT(check::format_report(u),
             Catch::Contains("Liveness not judged (replicas still converging"));
}

TEST_CASE("Liveness: a client operation open past its deadline does not pass",
          "[oracle][liveness]") {
  Config cfg = test_config(3, 1, 3);
  cfg.timing.client_deadline_ms = 300;
  cfg.linger_ms = 1000;
  Cluster cluster(cfg);
  std::string trace = traced_run(cluster);
  REQUIRE(check_text(trace).ok());
  check::Report r = check_text(without_first_completion(trace));
  REQUIRE(violated(r) == "Liveness");
  CHECK_THAT(r.violation->explanation, Catch::Contains("has not ended"));
}

namespace {

// A no-leader run (every RequestVote lost) with the timing of Raft's assumption met at every
// edge (spec/checks.md, Liveness): 2 x 5 < 11; 5 + (5 - 1) < 11; 22 - 11 > 2 x 5; loss 0.3.
// `edit` then moves one value just past one edge. Without lose_votes, a leader is elected.
std::string edge_run(void (*edit)(Config&), bool lose_votes = true) {
  Config cfg = test_config(3, 1, 2);
  TimingConfig& t = cfg.timing;
  t.heartbeat_interval_ms = 5;
  t.election_timeout_min_ms = 11;
  t.election_timeout_max_ms = 22;
  t.network_latency_min_ms = 1;
  t.network_latency_max_ms = 5;
  t.client_timeout_ms = 50;
  t.client_deadline_ms = 200;
  cfg.network.loss = 0.3;
  cfg.linger_ms = 1000;  // past the bound of 10 x 22 ms
  cfg.time_limit_ms = 2000;
  edit(cfg);
  validate_config(cfg, "test");
  Cluster cluster(cfg);
  if (lose_votes) {
    cluster.set_drop_filter([](const Message& m) { return m.type == MsgType::RequestVote; });
  }
  return traced_run(cluster);
}

}  // namespace

TEST_CASE("Liveness: the leader bound is judged exactly when the timing meets Raft's assumption",
          "[oracle][liveness]") {
  // Met at every edge: judged, and a cluster with no leader fails.
  check::Report met = check_text(edge_run([](Config&) {}));
  INFO(check::format_report(met));
  REQUIRE(violated(met) == "Liveness");
  CHECK_THAT(met.violation->explanation, Catch::Contains("none of them became leader"));
  // One value past one edge: the same failure to elect is not judged, and the reason names the
  // broken part with the config's values. The client deadlines are still judged.
  struct Break {
    void (*edit)(Config&);
    const char* reason;
  };
  const Break breaks[] = {
      {[](Config& c) {
         c.timing.election_timeout_min_ms = 10, c.timing.election_timeout_max_ms = 21;
       },
       "a round trip 2 x network_latency_max_ms = 10 is not below election_timeout_min_ms = 10"},
      {[](Config& c) { c.timing.heartbeat_interval_ms = 7; },
       "heartbeats may arrive 11 ms apart (heartbeat_interval_ms 7 + latency spread 4), not below "
       "election_timeout_min_ms = 11"},
      {[](Config& c) { c.timing.election_timeout_max_ms = 21; },
       "the election window 11..21 ms is 10 ms wide, not wider than a round trip 2 x "
       "network_latency_max_ms = 10"},
      {[](Config& c) { c.network.loss = 0.31; }, "network.loss 0.31 is above 0.3"},
  };
  for (const Break& b : breaks) {
    check::Report r = check_text(edge_run(b.edit));
    INFO(b.reason << "\n" << check::format_report(r));
    REQUIRE(r.ok());
    REQUIRE(r.liveness_skipped.size() == 1);
    CHECK_THAT(r.liveness_skipped[0], Catch::Contains("timing breaks Raft's timing assumption"));
    CHECK_THAT(r.liveness_skipped[0], Catch::Contains(b.reason));
    CHECK_THAT(check::format_report(r), Catch::Contains("Liveness not judged (leader and"));
    // An operation that never ends still fails, whatever the timing.
    check::Report open = check_text(without_first_completion(edge_run(b.edit, false)));
    CHECK(violated(open) == "Liveness");
  }
}

TEST_CASE("A crash keeps exactly what the node wrote to its storage", "[oracle][durability]") {
  Config cfg = test_config(3, 2, 5);
  Cluster cluster(cfg);
  cluster.run_until(200);
  int follower = cluster.leader() == 1 ? 2 : 1;
  std::vector<Entry> before = cluster.node(follower).log();
  int64_t term = cluster.node(follower).term();
  cluster.crash(follower);
  cluster.restart(follower);
  CHECK(cluster.node(follower).log() == before);
  CHECK(cluster.node(follower).term() == term);
  CHECK(cluster.node(follower).commit_index() == 0);
}

TEST_CASE("A storage write keeps the unchanged prefix and replaces the rest",
          "[oracle][durability]") {
  // Node 2 of 3 takes three entries from leader 1 in term 1, then a term-2
  // leader replaces the last two with one: after a crash and a restart it
  // holds what its last write left, the first entry and the new one.
  NodeSet nodes(3, NodeOptions{});
  nodes.up(2);
  Effects fx;
  nodes.start(2, fx);
  auto append = [&](int64_t term, int64_t prev, int64_t prev_term, std::vector<Entry> entries) {
    Message m;
    m.type = MsgType::AppendEntries;
    m.from = 1;
    m.to = 2;
    m.term = term;
    m.prev_log_index = prev;
    m.prev_log_term = prev_term;
    m.entries = std::move(entries);
    fx = Effects{};
    nodes.deliver(m, fx);
    REQUIRE(fx.persist);
  };
  append(1, 0, 0, {Entry{1, {}}, Entry{1, {}}, Entry{1, {}}});
  append(2, 1, 1, {Entry{2, {}}});
  CHECK(fx.persist->keep == 1);
  CHECK(fx.persist->log_len == 2);
  nodes.crash(2);
  nodes.restart(2);
  const Node& n = nodes.node(2);
  CHECK(n.term() == 2);
  CHECK(n.vote() == 0);
  REQUIRE(n.log().size() == 2);
  CHECK(n.log()[0].term == 1);
  CHECK(n.log()[1].term == 2);
  CHECK(n.commit_index() == 0);
}

namespace raftkv {
namespace {

// A 3-node run with [raft] check_quorum on in which node 1 leads and its
// messages to node 3 are cut (one way) from 100 to 900 ms: node 3 times out
// and stands for election, and the leader and node 2 disregard its
// RequestVote (reason leader_live), keeping their lower term.
std::string sticky_refusal_run() {
  Config cfg = test_config(3, 2, 10, 1);
  cfg.raft.check_quorum = true;
  FaultConfig cut;
  cut.at_ms = 100;
  cut.action = FaultAction::Cut;
  cut.from = 1;
  cut.to = 3;
  FaultConfig uncut = cut;
  uncut.at_ms = 900;
  uncut.action = FaultAction::Uncut;
  cfg.faults = {cut, uncut};
  Cluster cluster(cfg);
  return traced_run(cluster);
}

std::vector<json> lines_as_json(const std::string& text) {
  std::vector<json> out;
  for (const std::string& line : lines_of(text)) out.push_back(json::parse(line));
  return out;
}

std::string join_lines(const std::vector<json>& lines) {
  std::string out;
  for (const json& j : lines) out += j.dump() + "\n";
  return out;
}

}  // namespace
}  // namespace raftkv

TEST_CASE("TermAdoption lets a node with a live leader disregard RequestVote, and no other",
          "[oracle][check_quorum]") {
  std::string text = sticky_refusal_run();
  REQUIRE(check_text(text).ok());
  std::vector<json> lines = lines_as_json(text);
  // The first follower (not the leader) that disregards a RequestVote of a
  // higher term.
  int leader = 0;
  size_t refusal = 0;
  for (size_t i = 1; i < lines.size() && refusal == 0; ++i) {
    const json& e = lines[i];
    if (e["event"] == "become_leader" && leader == 0) leader = e["node"].get<int>();
    if (e["event"] == "vote" && e["reason"] == "leader_live" && e["node"] != leader &&
        lines[i - 1]["event"] == "deliver")
      refusal = i;
  }
  REQUIRE(refusal > 0);
  const size_t deliver = refusal - 1;
  const int node = lines[deliver]["node"].get<int>();

  SECTION("without the switch the same refusal breaks the rule") {
    lines[0]["config"].erase("raft");
    check::Report r = check_text(join_lines(lines));
    CHECK(violated(r) == "TermAdoption");
  }
  SECTION("an election timeout just before it takes the evidence of a live leader away") {
    // The node's own election timer fires (an input with no effects) just
    // before the RequestVote arrives: it no longer counts on its leader, so
    // it must adopt the higher term.
    json timeout = {{"event", "timeout"},
                    {"node", node},
                    {"timer", "election"},
                    {"t", lines[deliver]["t"]},
                    {"seq", 0}};
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(deliver), timeout);
    for (size_t i = 1; i < lines.size(); ++i) lines[i]["seq"] = static_cast<int64_t>(i);
    check::Report r = check_text(join_lines(lines));
    CHECK(violated(r) == "TermAdoption");
  }
}

TEST_CASE("CheckQuorum: a leader with no majority behind it must step down",
          "[oracle][check_quorum]") {
  // Both followers of 3 are down from 300 to 900 ms (traces/configs/check-quorum.toml).
  Config cfg = load_config(std::string(RAFTKV_SOURCE_DIR) + "/traces/configs/check-quorum.toml");
  {
    Cluster cluster(cfg);
    std::string text = traced_run(cluster);
    CHECK(check_text(text).ok());
    CHECK(text.find("\"event\":\"step_down\"") != std::string::npos);
  }
  {
    Cluster cluster(cfg, PlantedBugs{.leader_ignores_quorum = true});
    check::Report r = check_text(traced_run(cluster));
    CHECK(violated(r) == "CheckQuorum");
  }
}

namespace raftkv {
namespace {

// A 5-node run with [raft] check_quorum on and 3 clients busy throughout, in
// which the fault transfer_leader asks the leader (node 1) at 100 ms to hand
// leadership to node 3 (Raft thesis §3.10).
std::string transfer_run(PlantedBugs bugs = {}) {
  Config cfg = test_config(5, 3, 40, 1);
  cfg.raft.check_quorum = true;
  FaultConfig transfer;
  transfer.at_ms = 100;
  transfer.action = FaultAction::TransferLeader;
  transfer.to = 3;
  cfg.faults = {transfer};
  Cluster cluster(cfg, bugs);
  return traced_run(cluster);
}

// The trace's lines, every node line with its state written out whole (a line
// writes only the fields that changed), so lines can be edited one by one.
std::vector<json> lines_with_states(const std::string& text) { return testing::whole_lines(text); }

void renumber(std::vector<json>& lines) {
  for (size_t i = 1; i < lines.size(); ++i) lines[i]["seq"] = static_cast<int64_t>(i);
}

size_t first_line(const std::vector<json>& lines, const std::function<bool(const json&)>& is) {
  for (size_t i = 1; i < lines.size(); ++i) {
    if (is(lines[i])) return i;
  }
  return 0;
}

}  // namespace
}  // namespace raftkv

TEST_CASE("LeaderTransfer: the leader hands over without appending commands meanwhile",
          "[oracle][transfer]") {
  const std::string text = transfer_run();
  REQUIRE(check_text(text).ok());
  std::vector<json> lines = lines_with_states(text);
  const size_t transfer = first_line(lines, [](const json& e) { return e["event"] == "transfer"; });
  REQUIRE(transfer > 0);
  const int leader = lines[transfer]["node"].get<int>();
  // The transfer completed: TimeoutNow went out, node 3's RequestVotes say they are a transfer's,
  // and node 3 became leader.
  CHECK(first_line(lines, [](const json& e) {
          return e["event"] == "send" && e["msg"]["type"] == "TimeoutNow";
        }) > transfer);
  CHECK(text.find("\"transfer\":true") != std::string::npos);
  CHECK(first_line(lines, [](const json& e) {
          return e["event"] == "become_leader" && e["node"] == 3;
        }) > transfer);

  SECTION("a leader that appends a client command while its transfer is under way") {
    // The transfer request arrives earlier, just before the leader appends a client command.
    size_t append = first_line(lines, [&](const json& e) {
      return e["event"] == "append" && e["node"] == leader &&
             e["entries"][0]["cmd"]["op"] != "noop";
    });
    REQUIRE(append > 0);
    REQUIRE(append < transfer);
    size_t input = append;
    while (lines[input]["event"] != "deliver") --input;
    json early = lines[transfer];
    early["t"] = lines[input]["t"];
    early["state"] = lines[input]["state"];
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(input), early);
    renumber(lines);
    check::Report r = check_text(join_lines(lines));
    REQUIRE(violated(r) == "LeaderTransfer");
    CHECK_THAT(r.violation->explanation, Catch::Contains("appends a client command"));
  }
  SECTION("a RequestVote marked as a transfer's without a TimeoutNow") {
    // Node 1's first election at 0 ms: nobody asked it to stand.
    size_t vote = first_line(lines, [](const json& e) {
      return e["event"] == "send" && e["msg"]["type"] == "RequestVote";
    });
    REQUIRE(vote > 0);
    REQUIRE(vote < transfer);
    lines[vote]["msg"]["transfer"] = true;
    check::Report r = check_text(join_lines(lines));
    REQUIRE(violated(r) == "LeaderTransfer");
    CHECK_THAT(r.violation->explanation, Catch::Contains("did not deliver it a TimeoutNow"));
  }
  SECTION("a RequestVote with transfer written as false") {
    // The field is written only when true (spec/trace-schema.md): false is malformed.
    size_t vote = first_line(lines, [](const json& e) {
      return e["event"] == "send" && e["msg"]["type"] == "RequestVote";
    });
    REQUIRE(vote > 0);
    lines[vote]["msg"]["transfer"] = false;
    std::string why;
    try {
      check::Report r = check_text(join_lines(lines));
      why = r.ok() ? "accepted" : r.violation->check + ": " + r.violation->explanation;
    } catch (const check::TraceFormatError& e) {
      why = e.what();
    }
    CHECK_THAT(why, Catch::Contains("written only when true"));
  }
  SECTION("a transfer's RequestVote refused for a live leader (no exemption from TermAdoption)") {
    // A follower other than the target that has a live leader and, as it must, adopts the
    // transfer election's term and votes: made to refuse with leader_live and keep its term, as
    // it would for any other RequestVote.
    size_t vote = first_line(lines, [&](const json& e) {
      return e["event"] == "vote" && e["node"] != leader && e["node"] != 3 &&
             e["granted"] == true &&
             e["state"]["term"] == lines[transfer]["state"]["term"].get<int64_t>() + 1;
    });
    REQUIRE(vote > 0);
    const int node = lines[vote]["node"].get<int>();
    size_t deliver = vote;
    while (lines[deliver]["event"] != "deliver") --deliver;
    REQUIRE(lines[deliver + 1]["event"] == "term_update");
    const json before = lines[deliver]["state"];
    std::vector<json> edited(lines.begin(),
                             lines.begin() + static_cast<std::ptrdiff_t>(deliver) + 1);
    json refusal = lines[vote];
    refusal["granted"] = false;
    refusal["reason"] = "leader_live";
    refusal["state"] = before;
    edited.push_back(refusal);
    // The rest of the step: no persist, and a refusal in the old term. (The node's later lines
    // are left as they were; the first violation is the one in this step.)
    bool in_step = true;
    for (size_t i = vote + 1; i < lines.size(); ++i) {
      json e = lines[i];
      if (in_step && e.contains("node") && e["node"] == node && e["event"] == "persist") continue;
      if (in_step && e["event"] == "send" && e["node"] == node &&
          e["msg"]["type"] == "RequestVoteResponse") {
        e["msg"]["term"] = before["term"];
        e["msg"]["granted"] = false;
        e["msg"]["reason"] = "leader_live";
        e["state"] = before;
        in_step = false;
      }
      edited.push_back(e);
    }
    renumber(edited);
    check::Report r = check_text(join_lines(edited));
    REQUIRE(violated(r) == "TermAdoption");
    CHECK(r.violation->nodes == std::vector<int>{node});
  }
}

TEST_CASE("LeaderTransfer catches TimeoutNow sent before the target's log matches",
          "[oracle][transfer]") {
  check::Report r = check_text(transfer_run(PlantedBugs{.transfer_before_caught_up = true}));
  REQUIRE(violated(r) == "LeaderTransfer");
  CHECK_THAT(r.violation->explanation, Catch::Contains("whose log matches the leader's only"));
}

TEST_CASE("A transfer_leader fault with no leader to act on is skipped, and the trace is sound",
          "[oracle][transfer]") {
  // At 0 ms no node has been elected yet.
  Config cfg = test_config(3, 2, 5, 1);
  FaultConfig transfer;
  transfer.action = FaultAction::TransferLeader;
  transfer.to = 2;
  cfg.faults = {transfer};
  Cluster cluster(cfg);
  std::string text = traced_run(cluster);
  CHECK(text.find(R"("action":"transfer_leader","event":"fault_skipped","seq")") !=
        std::string::npos);
  check::Report r = check_text(text);
  INFO(check::format_report(r));
  CHECK(r.ok());
  // Only a leader can be the target of a skipped transfer.
  std::string follower = text;
  size_t at = follower.find(R"("event":"fault_skipped","seq")");
  REQUIRE(at != std::string::npos);
  size_t target = follower.find(R"("target":"leader")", at);
  REQUIRE(target != std::string::npos);
  follower.replace(target, 17, R"("target":"follower")");
  std::string why;
  try {
    check::Report bad = check_text(follower);
    why = bad.ok() ? "accepted" : bad.violation->explanation;
  } catch (const check::TraceFormatError& e) {
    why = e.what();
  }
  CHECK_THAT(why, Catch::Contains("target"));
}

TEST_CASE("A flapping node raises no term with pre-votes, and deposes the leader without them",
          "[oracle][pre_vote]") {
  // examples/flapping-node.toml: node 5 cut off for 700 ms and back for 300 ms, five times.
  Config cfg = load_config(std::string(RAFTKV_SOURCE_DIR) + "/examples/flapping-node.toml");
  auto run = [&](bool pre_vote, PlantedBugs bugs = {}) {
    Config c = cfg;
    c.raft.pre_vote = pre_vote;
    Cluster cluster(c, bugs);
    cluster.run();
    int64_t term = 0;
    for (int id = 1; id <= c.num_nodes; ++id) term = std::max(term, cluster.node(id).term());
    return std::pair{cluster.stats().leaders_elected, term};
  };
  auto [leaders_without, term_without] = run(false);
  CHECK(leaders_without > 1);  // node 5's higher terms depose the leader when it rejoins
  CHECK(term_without > 5);
  auto [leaders_with, term_with] = run(true);
  CHECK(leaders_with == 1);  // one election at the start, none after
  CHECK(term_with == 1);
}
