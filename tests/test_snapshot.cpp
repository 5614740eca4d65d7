// Log compaction (Raft paper §7, issue 16), driven at the node core: a node
// snapshots its state machine every snapshot_every applied entries and drops
// its log prefix; a leader sends its snapshot (whole or in chunks) to a
// follower that needs discarded entries; the follower keeps a suffix that
// matches; a restart loads the snapshot. Each test was seen failing on a
// broken variant of the rule it names (see the comments).
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "raft/kv.h"
#include "raft/node.h"
#include "raft/node_set.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

// Nodes 1..n on a FIFO network the test controls: `cut` nodes lose every
// message to and from them; every step's persist goes to storage (NodeSet).
struct Net {
  NodeSet nodes;
  std::deque<Message> queue;
  std::set<int> cut;
  std::vector<Message> seen;  // every message sent, in order
  std::vector<NodeEvent> events;

  Net(int n, NodeOptions o) : nodes(n, o) {
    for (int id = 1; id <= n; ++id) {
      nodes.up(id);
      Effects fx;
      fx.trace = true;
      nodes.start(id, fx);
      take(id, fx);
    }
  }
  void take(int id, Effects& fx) {
    for (NodeEvent& e : fx.events) events.push_back(std::move(e));
    for (Message& m : fx.messages) {
      m.from = id;
      seen.push_back(m);
      queue.push_back(std::move(m));
    }
  }
  template <typename F>
  void step(int id, F input) {
    Effects fx;
    fx.trace = true;
    input(fx);
    take(id, fx);
  }
  void timeout(int id, Timer t) {
    step(id, [&](Effects& fx) { nodes.timeout(id, t, fx); });
  }
  // Delivers queued messages (client replies vanish) until none are left.
  void drain(int limit = 100000) {
    while (!queue.empty() && limit-- > 0) {
      Message m = std::move(queue.front());
      queue.pop_front();
      if (m.type == MsgType::ClientReply) continue;
      if (cut.count(m.to) || cut.count(m.from) || !nodes.is_up(m.to)) continue;
      step(m.to, [&](Effects& fx) { nodes.deliver(m, fx); });
    }
  }
  void request(int leader, const Command& c) {
    Message m;
    m.type = MsgType::ClientRequest;
    m.to = leader;
    m.cmd = c;
    step(leader, [&](Effects& fx) { nodes.deliver(m, fx); });
  }
  const Node& node(int id) const { return nodes.node(id); }
  int count_sent(MsgType t) const {
    int k = 0;
    for (const Message& m : seen) k += m.type == t;
    return k;
  }
  template <typename E>
  std::vector<E> named() const {
    std::vector<E> out;
    for (const NodeEvent& e : events) {
      if (const E* x = std::get_if<E>(&e.body)) out.push_back(*x);
    }
    return out;
  }
};

NodeOptions snap_options(int64_t every, int64_t chunk = 0) {
  NodeOptions o;
  o.snapshot_every = every;
  o.snapshot_chunk_bytes = chunk;
  return o;
}

// Node 1 leads term 1 of a cluster of n; `puts` client puts follow, each
// replicated and committed before the next.
void lead_and_put(Net& net, int puts, int first = 0) {
  if (first == 0) {
    net.timeout(1, Timer::Election);
    net.drain();
  }
  for (int i = 0; i < puts; ++i) {
    Command c = put("k" + std::to_string(first + i), "v" + std::to_string(first + i));
    c.client = 1;
    c.seq = first + i + 1;
    net.request(1, c);
    net.drain();
    net.timeout(1, Timer::Heartbeat);  // tells followers the commit index
    net.drain();
  }
}

}  // namespace

TEST_CASE("The snapshot encoding round-trips the store, the dedup table and the counts",
          "[snapshot][kv]") {
  KvStore kv;
  kv.apply(Command{Op::Put, "a", "1", 1, 1});
  kv.apply(Command{Op::Put, "sp ace", "line\nbreak \xC3\xA9", 2, 1});
  kv.apply(Command{Op::Put, "a", "x", 1, 2});  // key_exists
  kv.apply(Command{Op::Put, "a", "x", 1, 2});  // a retry: answered from the dedup table
  kv.apply(Command{});
  std::string bytes = kv.encode();
  CHECK(bytes ==
        "store 2\n1 a 1 1\n6 sp ace 13 line\nbreak \xC3\xA9\n"
        "sessions 2\n1 2 key_exists 0 \n2 1 ok 0 \ncounts 1 3 1\n");
  KvStore back;
  REQUIRE(KvStore::decode(bytes, &back));
  CHECK(back.data() == kv.data());
  CHECK(back.digest() == kv.digest());
  CHECK(back.counts() == kv.counts());
  CHECK(back.encode() == bytes);
  // The dedup table came along: client 1's seq 2 is a retry, seq 1 is stale.
  CHECK(back.apply(Command{Op::Put, "a", "x", 1, 2}).status == Status::KeyExists);
  CHECK(back.apply(Command{Op::Put, "z", "x", 1, 1}).status == Status::Stale);
  // Anything else is refused, never half-read.
  for (std::string bad :
       {"", "store 1\n", "store 1\n1 a 1 1\nsessions 0\n", "store 0\nsessions 0\ncounts 0 0 0\nx",
        "store 1\n9 a 1 1\nsessions 0\ncounts 0 0 0\n", "store 0\nsessions 1\n1 1 bogus 0 \n"
        "counts 0 0 0\n", "store 2\n1 a 1 1\n1 a 1 2\nsessions 0\ncounts 0 0 0\n"}) {
    KvStore out;
    CAPTURE(bad);
    CHECK_FALSE(KvStore::decode(bad, &out));
  }
}

TEST_CASE("A node snapshots every snapshot_every applied entries and drops its log prefix",
          "[snapshot][node]") {
  Net net(3, snap_options(4));
  lead_and_put(net, 9);  // the no-op and 9 puts: 10 entries
  for (int id = 1; id <= 3; ++id) {
    const Node& n = net.node(id);
    CAPTURE(id);
    CHECK(n.last_applied() == 10);
    CHECK(n.snapshot_index() == 8);  // at 4 and at 8
    CHECK(n.snapshot_term() == 1);
    CHECK(n.log().size() == 2);      // entries 9 and 10 only
    CHECK(n.last_index() == 10);
    CHECK(n.entry(9).cmd.key == "k7");
  }
  std::vector<ev::Snapshot> taken = net.named<ev::Snapshot>();
  REQUIRE(taken.size() == 6);
  CHECK(taken[0].index == 4);
  CHECK(taken[0].store_size == 3);  // the no-op and k0..k2
}

TEST_CASE("A restart loads the stored snapshot: commit, applied and the store", "[snapshot][node]") {
  Net net(3, snap_options(4));
  lead_and_put(net, 5);  // 6 entries, snapshot at 4
  std::string digest = net.node(3).store().digest();
  net.nodes.crash(3);
  net.nodes.restart(3);
  net.step(3, [&](Effects& fx) { net.nodes.start(3, fx); });
  const Node& n = net.node(3);
  CHECK(n.snapshot_index() == 4);
  CHECK(n.commit_index() == 4);
  CHECK(n.last_applied() == 4);
  CHECK(n.last_index() == 6);
  // The leader's next heartbeat brings the commit index; entries 5 and 6 apply
  // on top of the snapshot's store.
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  CHECK(net.node(3).last_applied() == 6);
  CHECK(net.node(3).store().digest() == digest);
}

TEST_CASE("A leader sends its snapshot to a follower that needs discarded entries",
          "[snapshot][node]") {
  for (int64_t chunk : {0, 7}) {
    CAPTURE(chunk);
    Net net(3, snap_options(4, chunk));
    net.cut = {3};
    lead_and_put(net, 9);  // node 3 saw nothing; the leader's log starts after index 8
    REQUIRE(net.node(1).snapshot_index() == 8);
    REQUIRE(net.node(3).last_index() == 0);
    net.seen.clear();  // the heartbeats' snapshots to node 3 so far were lost
    net.cut.clear();
    net.timeout(1, Timer::Heartbeat);
    net.drain();
    const Node& n = net.node(3);
    CHECK(n.snapshot_index() == 8);
    CHECK(n.commit_index() == 10);
    CHECK(n.last_applied() == 10);
    CHECK(n.store().data() == net.node(1).store().data());
    CHECK(n.store().encode() == net.node(1).store().encode());
    int sent = net.count_sent(MsgType::InstallSnapshot);
    auto size = static_cast<int>(net.node(1).snapshot()->data.size());
    if (chunk == 0) {
      CHECK(sent == 1);
    } else {
      CHECK(sent == (size + 6) / 7);  // one chunk at a time, none resent
      for (const Message& m : net.seen) {
        if (m.type == MsgType::InstallSnapshot) CHECK(m.data.size() <= 7);
      }
    }
    REQUIRE(net.named<ev::InstallSnapshot>().size() == 1);
    CHECK(net.named<ev::InstallSnapshot>()[0].kept == 0);
  }
}

TEST_CASE("A chunk never splits a UTF-8 character", "[snapshot][node]") {
  Net net(3, snap_options(2, 2));
  net.cut = {3};
  net.timeout(1, Timer::Election);
  net.drain();
  Command c = put("\xE2\x82\xAC", "\xF0\x9F\x98\x80");  // a 3-byte and a 4-byte character
  c.client = 1;
  c.seq = 1;
  net.request(1, c);
  net.drain();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  REQUIRE(net.node(1).snapshot_index() == 2);
  net.seen.clear();
  net.cut.clear();
  net.timeout(1, Timer::Heartbeat);
  net.drain();
  std::string joined;
  for (const Message& m : net.seen) {
    if (m.type != MsgType::InstallSnapshot) continue;
    joined += m.data;
    // Every chunk is whole characters: it starts and ends on a boundary.
    REQUIRE(!m.data.empty());
    CHECK((static_cast<unsigned char>(m.data.front()) & 0xC0) != 0x80);
    size_t k = m.data.size();
    size_t lead = k - 1;
    while (lead > 0 && (static_cast<unsigned char>(m.data[lead]) & 0xC0) == 0x80) --lead;
    auto b = static_cast<unsigned char>(m.data[lead]);
    size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    CHECK(lead + len == k);
  }
  CHECK(joined == net.node(1).snapshot()->data);
  CHECK(net.node(3).store().data() == net.node(1).store().data());
}

TEST_CASE("An installed snapshot keeps the follower's matching suffix (§7)", "[snapshot][node]") {
  // A delayed InstallSnapshot reaches a follower that has meanwhile caught up
  // past it: the entries after the snapshot match, and were acknowledged, so
  // they stay. The planted install_discards_log bug drops them.
  for (bool bug : {false, true}) {
    CAPTURE(bug);
    NodeOptions o = snap_options(4);
    o.bugs.install_discards_log = bug;
    Node f(3, 3, o);
    Effects fx;
    f.start(fx);
    // Entries 1..6 of term 1 from leader 1, commit 2.
    Message ae;
    ae.type = MsgType::AppendEntries;
    ae.from = 1;
    ae.to = 3;
    ae.term = 1;
    for (int i = 0; i < 6; ++i) ae.entries.push_back(Entry{1, put("k" + std::to_string(i), "v")});
    ae.leader_commit = 2;
    Effects fx2;
    f.on_message(ae, fx2);
    REQUIRE(f.last_index() == 6);
    REQUIRE(f.commit_index() == 2);
    // The leader's snapshot through 4 (term 1): the store after k0..k3.
    KvStore s;
    for (int i = 0; i < 4; ++i) s.apply(put("k" + std::to_string(i), "v"));
    Message is;
    is.type = MsgType::InstallSnapshot;
    is.from = 1;
    is.to = 3;
    is.term = 1;
    is.snap_index = 4;
    is.snap_term = 1;
    is.data = s.encode();
    is.done = true;
    Effects fx3;
    fx3.trace = true;
    f.on_message(is, fx3);
    CHECK(f.snapshot_index() == 4);
    CHECK(f.commit_index() == 4);
    CHECK(f.last_applied() == 4);
    CHECK(f.last_index() == (bug ? 4 : 6));
    REQUIRE(fx3.messages.size() == 1);
    CHECK(fx3.messages[0].type == MsgType::InstallSnapshotResponse);
    CHECK(fx3.messages[0].done);
    REQUIRE(fx3.persist.has_value());
    CHECK(fx3.persist->snapshot != nullptr);
    CHECK(fx3.persist->log_len == f.last_index());
  }
}

TEST_CASE("A snapshot at or below the commit index changes nothing", "[snapshot][node]") {
  Node f(2, 3, snap_options(100));
  Effects fx;
  f.start(fx);
  Message ae;
  ae.type = MsgType::AppendEntries;
  ae.from = 1;
  ae.to = 2;
  ae.term = 1;
  for (int i = 0; i < 3; ++i) ae.entries.push_back(Entry{1, put("k" + std::to_string(i), "v")});
  ae.leader_commit = 3;
  Effects fx2;
  f.on_message(ae, fx2);
  REQUIRE(f.last_applied() == 3);
  KvStore empty;
  Message is;
  is.type = MsgType::InstallSnapshot;
  is.from = 1;
  is.to = 2;
  is.term = 1;
  is.snap_index = 2;
  is.snap_term = 1;
  is.data = empty.encode();  // a state that would lose k0..k2
  is.done = true;
  Effects fx3;
  f.on_message(is, fx3);
  CHECK(f.store().data().size() == 3);
  CHECK(f.snapshot_index() == 0);
  REQUIRE(fx3.messages.size() == 1);
  CHECK(fx3.messages[0].done);
  CHECK_FALSE(fx3.persist.has_value());
  // Bytes that are not a snapshot (a hand-made message) change nothing either.
  is.snap_index = 9;
  is.snap_term = 1;
  is.data = "not a snapshot";
  Effects fx4;
  f.on_message(is, fx4);
  CHECK(f.snapshot_index() == 0);
  CHECK(f.last_applied() == 3);
  REQUIRE(fx4.messages.size() == 1);
  CHECK_FALSE(fx4.messages[0].done);
}

TEST_CASE("The planted snapshot_uncommitted bug snapshots past the commit index",
          "[snapshot][node]") {
  NodeOptions o = snap_options(1);
  o.bugs.snapshot_uncommitted = true;
  Node f(2, 3, o);
  Effects fx;
  f.start(fx);
  Message ae;
  ae.type = MsgType::AppendEntries;
  ae.from = 1;
  ae.to = 2;
  ae.term = 1;
  for (int i = 0; i < 3; ++i) ae.entries.push_back(Entry{1, put("k" + std::to_string(i), "v")});
  ae.leader_commit = 1;
  Effects fx2;
  fx2.trace = true;
  f.on_message(ae, fx2);
  CHECK(f.commit_index() == 1);
  CHECK(f.snapshot_index() == 3);  // correct code: 1
}
