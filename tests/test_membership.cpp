// Membership change (Raft thesis §4.1): single-server changes through the log,
// new servers as learners first, the fix for the 2015 single-server-change
// bug, and a removed leader stepping down. Each test names the protocol rule
// it holds the node to; each was seen failing on the mutant or planted bug
// that breaks that rule (tools/mutants.tsv).
#include <catch2/catch.hpp>
#include <sstream>

#include "check/checker.h"
#include "raft/node.h"
#include "replay/replay.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

// Node 1 leads a cluster of `n` with its no-op committed everywhere.
Net elected(int n, int max_id, NodeOptions o = {}) {
  Net net(n, o, max_id);
  net.timeout(1, Timer::Election);
  net.drain();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  return net;
}

Command client_put(const std::string& k, int seq) {
  Command c = put(k, "v");
  c.client = 1;
  c.seq = seq;
  return c;
}

}  // namespace

TEST_CASE("A new server joins as a learner, catches up and is promoted to voter", "[membership]") {
  Net net = elected(3, 4);
  for (int i = 1; i <= 3; ++i) net.request(1, client_put("k" + std::to_string(i), i));
  net.drain();
  net.join(4);
  // Not in its own (bootstrap) configuration: its timer fires, it stays put.
  net.timeout(4, Timer::Election);
  CHECK(net.node(4).term() == 0);
  net.change(1, ChangeAction::Add, 4);
  CHECK(net.node(1).membership() == Membership{{1, 2, 3}, {4}});
  net.drain();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  // Caught up, then promoted by the leader on its own, one change at a time.
  for (int id = 1; id <= 4; ++id) {
    CAPTURE(id);
    CHECK(net.node(id).membership() == Membership{{1, 2, 3, 4}, {}});
    CHECK(net.node(id).last_applied() == net.node(1).commit_index());
  }
  std::vector<ev::Membership> changes = net.named<ev::Membership>();
  REQUIRE(!changes.empty());
  CHECK(changes.front().learners == std::vector<int>{4});
}

TEST_CASE("A learner neither counts for a majority nor stands for election", "[membership]") {
  Net net = elected(3, 4);
  int64_t commit = net.node(1).commit_index();
  net.join(4);
  net.change(1, ChangeAction::Add, 4);
  // Voters 2 and 3 cut off: only the learner acknowledges, which is not a
  // majority of {1, 2, 3}, so nothing commits, not even the change itself
  // (thesis §4.1; mutant commit-counts-learners).
  net.cut = {2, 3};
  net.request(1, client_put("x", 1));
  for (int beat = 0; beat < 3; ++beat) {
    net.drain();
    net.timeout(1, Timer::Heartbeat);
  }
  net.drain();
  REQUIRE(net.node(1).membership() == Membership{{1, 2, 3}, {4}});
  CHECK(net.node(4).last_index() == net.node(1).last_index());
  CHECK(net.node(1).commit_index() == commit);
  // A learner whose timer fires does not campaign (thesis §4.2.1; mutant
  // learner-stands): no RequestVote, no new term.
  int64_t term = net.node(4).term();
  int votes = net.count_sent(MsgType::RequestVote);
  net.timeout(4, Timer::Election);
  CHECK(net.node(4).term() == term);
  CHECK(net.count_sent(MsgType::RequestVote) == votes);
  // The voters back: the change and the put commit, and the caught-up
  // learner is promoted.
  net.cut = {};
  for (int beat = 0; beat < 3; ++beat) {
    net.timeout(1, Timer::Heartbeat);
    net.drain();
  }
  CHECK(net.node(1).commit_index() == net.node(1).last_index());
  CHECK(net.node(1).membership() == Membership{{1, 2, 3, 4}, {}});
}

TEST_CASE("One configuration change at a time (thesis §4.1)", "[membership]") {
  Net net = elected(3, 5);
  net.join(4);
  net.join(5);
  net.change(1, ChangeAction::Add, 4);
  // The first change is not committed yet: the second waits (mutant
  // change-pending-unchecked).
  net.change(1, ChangeAction::Add, 5);
  std::vector<ev::RejectChange> refused = net.named<ev::RejectChange>();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].reason == "change_pending");
  CHECK(net.node(1).membership() == Membership{{1, 2, 3}, {4}});
  net.drain();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  net.change(1, ChangeAction::Add, 5);
  net.drain();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  CHECK(net.node(1).membership() == Membership{{1, 2, 3, 4, 5}, {}});
  // Requests that change nothing, or would leave no voter, are refused too.
  net.change(1, ChangeAction::Add, 5);
  net.change(2, ChangeAction::Remove, 5);
  refused = net.named<ev::RejectChange>();
  REQUIRE(refused.size() == 3);
  CHECK(refused[1].reason == "already_member");
  CHECK(refused[2].reason == "not_leader");
}

TEST_CASE("A new leader changes the configuration only once an entry of its term is committed",
          "[membership]") {
  // The fix for the single-server-change bug (Ongaro, 2015): node 2, just
  // elected, has its no-op uncommitted, so it refuses; with the planted bug
  // change_before_term_commit it appends the change at once.
  for (bool planted : {false, true}) {
    CAPTURE(planted);
    NodeOptions o;
    o.bugs.change_before_term_commit = planted;
    Net net(3, o);
    net.timeout(2, Timer::Election);
    net.drain();  // node 2 leads; its no-op is in flight, then committed
    // Elected again, from scratch: cut node 3, so the no-op cannot commit at once.
    net.cut = {3};
    net.timeout(1, Timer::Election);
    // Deliver only the votes, not the no-op's acknowledgements.
    while (!net.queue.empty() && net.node(1).role() != Role::Leader) {
      Message m = net.queue.front();
      net.queue.pop_front();
      if (net.cut.count(m.to) || net.cut.count(m.from)) continue;
      net.step(m.to, [&](Effects& fx) { net.nodes.deliver(m, fx); });
    }
    REQUIRE(net.node(1).role() == Role::Leader);
    REQUIRE(net.node(1).term_at(net.node(1).commit_index()) != net.node(1).term());
    net.change(1, ChangeAction::Remove, 3);
    std::vector<ev::RejectChange> refused = net.named<ev::RejectChange>();
    if (planted) {
      CHECK(refused.empty());
      CHECK(net.node(1).membership() == Membership{{1, 2}, {}});
    } else {
      REQUIRE(refused.size() == 1);
      CHECK(refused[0].reason == "term_not_committed");
      CHECK(net.node(1).membership() == Membership{{1, 2, 3}, {}});
    }
  }
}

TEST_CASE("A removed leader leads until its removal commits, then steps down", "[membership]") {
  Net net = elected(5, 5);
  net.change(1, ChangeAction::Remove, 1);
  // In effect at once: the leader no longer counts itself (thesis §4.2.2).
  CHECK(net.node(1).membership() == Membership{{2, 3, 4, 5}, {}});
  CHECK(net.node(1).role() == Role::Leader);
  net.drain();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  // Committed: it steps down (mutant removed-leader-stays) and, not a voter,
  // never stands again.
  CHECK(net.node(1).role() == Role::Follower);
  std::vector<ev::StepDown> downs = net.named<ev::StepDown>();
  REQUIRE(downs.size() == 1);
  CHECK(downs[0].removed);
  net.timeout(1, Timer::Election);
  CHECK(net.node(1).role() == Role::Follower);
  // The others elect a leader among themselves.
  net.timeout(2, Timer::Election);
  net.drain();
  CHECK(net.node(2).role() == Role::Leader);
}

TEST_CASE("A truncated configuration entry stops holding (thesis §4.1)", "[membership]") {
  // Node 1 appends a configuration entry that reaches only node 2; a leader
  // of a higher term whose log lacks it then overwrites it at node 2, which
  // goes back to the bootstrap configuration (mutant truncate-keeps-config).
  Net net = elected(3, 4);
  net.join(4);
  net.change(1, ChangeAction::Add, 4);
  // Only the AppendEntries to node 2 arrives; nothing comes back, so the
  // entry is not committed anywhere.
  std::deque<Message> sent;
  sent.swap(net.queue);
  for (const Message& m : sent) {
    if (m.to == 2) net.step(2, [&](Effects& fx) { net.nodes.deliver(m, fx); });
  }
  net.queue.clear();
  REQUIRE(net.node(2).commit_index() < 2);
  REQUIRE(net.node(2).membership() == Membership{{1, 2, 3}, {4}});
  REQUIRE(net.node(2).membership_index() == 2);
  Message ae;
  ae.type = MsgType::AppendEntries;
  ae.from = 3;
  ae.to = 2;
  ae.term = net.node(2).term() + 1;
  ae.prev_log_index = 1;
  ae.prev_log_term = 1;
  ae.entries = {Entry{ae.term, Command{}}};
  ae.leader_commit = 1;
  net.step(2, [&](Effects& fx) { net.nodes.deliver(ae, fx); });
  CHECK(net.node(2).entry(2).term == ae.term);
  CHECK(net.node(2).membership() == Membership{{1, 2, 3}, {}});
  CHECK(net.node(2).membership_index() == 0);
  std::vector<ev::Membership> changes = net.named<ev::Membership>();
  REQUIRE(!changes.empty());
  CHECK(changes.back().index == 0);
}

TEST_CASE("A learner that needs compacted entries gets the configuration with the snapshot",
          "[membership][snapshot]") {
  NodeOptions o;
  o.snapshot_every = 4;
  Net net = elected(3, 4, o);
  for (int i = 1; i <= 9; ++i) {
    net.request(1, client_put("k" + std::to_string(i), i));
    net.drain();
  }
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  REQUIRE(net.node(1).snapshot_index() > 0);
  net.join(4);
  net.change(1, ChangeAction::Add, 4);
  for (int beat = 0; beat < 4; ++beat) {
    net.drain();
    net.timeout(1, Timer::Heartbeat);
  }
  net.drain();
  CHECK(net.count_sent(MsgType::InstallSnapshot) > 0);
  CHECK(net.node(4).membership() == net.node(1).membership());
  CHECK(net.node(4).membership() == Membership{{1, 2, 3, 4}, {}});
  CHECK(net.node(4).store().data() == net.node(1).store().data());
}

TEST_CASE("The change_before_term_commit scenario: two leaders with the bug, one without",
          "[membership][replay]") {
  // traces/scenarios/change-before-term-commit.jsonl (4 voters and node 5):
  // with the bug, node 3 ({2, 3}) and node 1 ({1, 4, 5}) both lead term 3,
  // which the checker reports as ElectionSafety; with the fix node 2 refuses
  // the change and only node 1 is elected.
  std::ifstream in(std::string(RAFTKV_SOURCE_DIR) +
                   "/traces/scenarios/change-before-term-commit.jsonl");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  for (bool planted : {true, false}) {
    CAPTURE(planted);
    std::string scenario = text.str();
    if (!planted) {
      std::string bug = "\"planted_bugs\":[\"change_before_term_commit\"]";
      scenario.replace(scenario.find(bug), bug.size(), "\"planted_bugs\":[]");
    }
    std::istringstream sin(scenario);
    std::ostringstream trace;
    ReplayOptions opts;
    opts.trace_out = &trace;
    replay(sin, "scenario.jsonl", opts);
    std::istringstream tin(trace.str());
    check::Report report = check::check_trace(tin, "scenario-trace.jsonl");
    int leaders_in_3 = 0;
    for (const json& e : testing::whole_lines(trace.str())) {
      if (e.value("event", "") == "become_leader" && e["state"]["term"] == 3) ++leaders_in_3;
    }
    if (planted) {
      CHECK(leaders_in_3 == 2);
      REQUIRE_FALSE(report.ok());
      CHECK(report.violation->check == "ElectionSafety");
    } else {
      CHECK(leaders_in_3 == 1);
      CHECK(report.ok());
    }
  }
}
