// The node core driven by hand, one input at a time: how a leader's probe
// backs up on rejections, stale ones included (issue 9). Probing, batching
// and the economy of CommitNotifications are told by the transcript
// tests/testdata/flow-control.txt, which reads better than assertions.
#include <catch2/catch.hpp>
#include <vector>

#include "raft/node.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

// One node of a 3-node cluster, fed messages by the test.
struct Harness {
  Node node{1, 3, NodeOptions{/*leader_noop=*/true, {}}};

  std::vector<Message> step(const Message& m) {
    Effects fx;
    node.on_message(m, fx);
    return fx.messages;
  }
  std::vector<Message> timer(Timer t) {
    Effects fx;
    node.on_timer(t, fx);
    return fx.messages;
  }

  // Node 1 wins term 1 with node 2's vote; returns the probes it sends.
  std::vector<Message> elect() {
    Effects fx;
    node.start(fx);
    timer(Timer::Election);
    Message vote;
    vote.type = MsgType::RequestVoteResponse;
    vote.from = 2;
    vote.to = 1;
    vote.term = 1;
    vote.granted = true;
    return step(vote);
  }

  std::vector<Message> ack(int from, int64_t prev, int64_t match) {
    Message r;
    r.type = MsgType::AppendEntriesResponse;
    r.from = from;
    r.to = 1;
    r.term = node.term();
    r.success = true;
    r.prev_log_index = prev;
    r.match_index = match;
    return step(r);
  }

  std::vector<Message> nack(int from, int64_t prev, int64_t conflict_index) {
    Message r;
    r.type = MsgType::AppendEntriesResponse;
    r.from = from;
    r.to = 1;
    r.term = node.term();
    r.reason = "log_mismatch";
    r.prev_log_index = prev;
    r.conflict_index = conflict_index;
    return step(r);
  }

  std::vector<Message> request(int client, int64_t seq) {
    Message m;
    m.type = MsgType::ClientRequest;
    m.to = 1;
    m.client = client;
    m.cmd = put("k" + std::to_string(seq), "v");
    m.cmd.client = client;
    m.cmd.seq = seq;
    return step(m);
  }
};

std::vector<Message> of_type(const std::vector<Message>& ms, MsgType t, int to = 0) {
  std::vector<Message> out;
  for (const Message& m : ms) {
    if (m.type == t && (to == 0 || m.to == to)) out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE("A rejection the leader has moved past is ignored", "[node][flow]") {
  Harness h;
  h.elect();
  h.ack(2, 0, 1);   // node 2: replicate, match 1
  h.request(1, 1);  // index 2 goes to node 2
  h.ack(2, 1, 2);   // match 2
  // A late rejection of a request with prev 1 (say a reordered heartbeat):
  // node 2 has since acknowledged index 2, so it says nothing new.
  CHECK(h.nack(2, 1, 1).empty());
  // A rejection beyond matchIndex is fresh: back to probing, one probe sent.
  h.request(2, 1);  // index 3 goes to node 2, nextIndex 4
  std::vector<Message> probe = of_type(h.nack(2, 3, 3), MsgType::AppendEntries, 2);
  REQUIRE(probe.size() == 1);
  CHECK(probe[0].prev_log_index == 2);  // hint: node 2's log ends at 2
  // While probing, a rejection of anything but the current probe is stale.
  CHECK(h.nack(2, 3, 3).empty());
  // The probe's own rejection backs up further (never below matchIndex + 1).
  probe = of_type(h.nack(2, 2, 1), MsgType::AppendEntries, 2);
  REQUIRE(probe.size() == 1);
  CHECK(probe[0].prev_log_index == 2);
}

TEST_CASE("Each entry reaches each follower about once under reordering", "[node][flow][cluster]") {
  // Issue 9: entries sent per committed entry within 1.5 x (N - 1) under the
  // default reordering (latency 1-5 ms), where the old resend-on-rejection
  // sent 5.3 (5 nodes) and 297 (51 nodes).
  for (auto [nodes, clients] : {std::pair{5, 3}, std::pair{9, 8}}) {
    Config cfg = test_config(nodes, clients, 200);
    Cluster cluster(cfg);
    cluster.run();
    int64_t committed = 0;
    for (int id = 1; id <= nodes; ++id) {
      committed = std::max(committed, cluster.node(id).commit_index());
    }
    REQUIRE(committed >= clients * 200);
    double per_entry =
        static_cast<double>(cluster.stats().entries_sent) / static_cast<double>(committed);
    INFO(nodes << " nodes: " << per_entry << " entries sent per committed entry");
    CHECK(per_entry <= 1.5 * (nodes - 1));
  }
}
