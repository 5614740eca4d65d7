// The emulated cluster end to end: election, replication, heartbeats, leader
// replacement, log repair and determinism.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "app/summary.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

TEST_CASE("The seed's KV sequence against a running cluster", "[cluster][kv]") {
  Config cfg = test_config(3, 1, 0);
  Cluster cluster(cfg);
  cluster.set_client_script(
      1, {put("x", "hello"), get("x"), put("x", "world"), del("x"), get("x"), del("x")});
  cluster.run();
  const auto& h = cluster.history();
  REQUIRE(h.size() == 6);
  CHECK(h[0].result == Result{Status::Ok, ""});
  CHECK(h[1].result == Result{Status::Ok, "hello"});
  CHECK(h[2].result == Result{Status::KeyExists, ""});
  CHECK(h[3].result == Result{Status::Ok, ""});
  CHECK(h[4].result == Result{Status::NotFound, ""});
  CHECK(h[5].result == Result{Status::NotFound, ""});
  // Gets go through the log like writes: 6 commands + the leader's no-op.
  CHECK(cluster.node(1).commit_index() == 7);
  CHECK(cluster.replicas_agree());
}

TEST_CASE("Exactly one leader is elected and every node agrees on its term", "[cluster]") {
  for (int initial : {1, 0}) {
    for (uint64_t seed : {1, 2, 3, 4, 5}) {
      Config cfg = test_config(5, 0, 0, seed);
      cfg.initial_leader = initial;
      Cluster cluster(cfg);
      VectorSink sink;
      cluster.add_sink(&sink);
      cluster.run_until(3000);
      INFO("initial_leader " << initial << " seed " << seed);
      auto leader = cluster.leader();
      REQUIRE(leader.has_value());
      int leaders = 0;
      for (int id = 1; id <= 5; ++id) {
        if (cluster.node(id).role() == Role::Leader) ++leaders;
        CHECK(cluster.node(id).term() == cluster.node(*leader).term());
      }
      CHECK(leaders == 1);
      for (const auto& [term, nodes] : leaders_by_term(sink)) CHECK(nodes.size() == 1);
      if (initial == 1) CHECK(*leader == 1);  // StartElection went to node 1
    }
  }
}

TEST_CASE("Entries replicate and every follower applies them", "[cluster]") {
  Config cfg = test_config(5, 3, 5);
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  REQUIRE(cluster.history().size() == 15);
  int64_t commit = cluster.node(1).commit_index();
  CHECK(commit == 16);  // 15 commands + 1 no-op
  for (int id = 1; id <= 5; ++id) {
    CHECK(cluster.node(id).last_applied() == commit);
    CHECK(cluster.node(id).log() == cluster.node(1).log());
  }
  CHECK(cluster.replicas_agree());
  // Every follower traced an apply for every index.
  std::map<int, std::set<int64_t>> applied;
  for (const json& e : sink.named("apply")) applied[e["node"]].insert(e["index"].get<int64_t>());
  for (int id = 2; id <= 5; ++id) CHECK(applied[id].size() == static_cast<size_t>(commit));
}

TEST_CASE("Heartbeats keep a healthy leader in place through a long idle period", "[cluster]") {
  Config cfg = test_config(5, 0, 0);
  cfg.time_limit_ms = 20000;
  Cluster cluster(cfg);
  cluster.run_until(20000);
  CHECK(cluster.stats().elections_started == 1);
  CHECK(cluster.stats().leaders_elected == 1);
  CHECK(cluster.node(1).role() == Role::Leader);
  CHECK(cluster.node(1).term() == 1);
  // About one round of 4 heartbeats every 50 ms.
  CHECK(cluster.stats().heartbeats_sent > 20000 / 50 * 4 - 20);
}

TEST_CASE("Without heartbeats a follower times out (the timer really runs)", "[cluster]") {
  // The same idle cluster, but the test drops every heartbeat: followers must
  // stand for election. Guards the test above against passing vacuously.
  Config cfg = test_config(5, 0, 0);
  Cluster cluster(cfg);
  cluster.set_drop_filter([](const Message& m) { return m.type == MsgType::AppendEntries; });
  cluster.run_until(2000);
  CHECK(cluster.stats().elections_started > 1);
}

TEST_CASE("A leader cut off is replaced and steps down when it hears the new term", "[cluster]") {
  Config cfg = test_config(5, 0, 0);
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run_until(500);
  REQUIRE(cluster.leader() == 1);
  bool isolate = true;
  cluster.set_drop_filter(
      [&isolate](const Message& m) { return isolate && (m.from == 1 || m.to == 1); });
  cluster.run_until(2000);
  // The rest elected a new leader in a later term; node 1 still thinks it leads.
  int new_leader = 0;
  for (int id = 2; id <= 5; ++id) {
    if (cluster.node(id).role() == Role::Leader) new_leader = id;
  }
  REQUIRE(new_leader != 0);
  CHECK(cluster.node(new_leader).term() > 1);
  CHECK(cluster.node(1).role() == Role::Leader);
  CHECK(cluster.node(1).term() == 1);
  isolate = false;
  cluster.run_until(2500);
  CHECK(cluster.node(1).role() == Role::Follower);
  CHECK(cluster.node(1).term() == cluster.node(new_leader).term());
  CHECK(cluster.leader() == new_leader);
  for (const auto& [term, nodes] : leaders_by_term(sink)) CHECK(nodes.size() == 1);
  bool stepped_down = false;
  for (const json& e : sink.named("term_update")) {
    if (e["node"] == 1 && e["old_term"] == 1) stepped_down = true;
  }
  CHECK(stepped_down);
}

TEST_CASE("A lagging follower's log is repaired", "[cluster]") {
  Config cfg = test_config(5, 3, 20);
  Cluster cluster(cfg);
  // Node 5 hears nothing for the first 300 ms of client traffic.
  Cluster* c = &cluster;
  cluster.set_drop_filter([c](const Message& m) { return m.to == 5 && c->now() < 300; });
  cluster.run();
  CHECK(cluster.history().size() == 60);
  CHECK(cluster.node(5).log() == cluster.node(1).log());
  CHECK(cluster.node(5).last_applied() == cluster.node(1).commit_index());
  CHECK(cluster.replicas_agree());
}

TEST_CASE("Conflicting uncommitted entries of a deposed leader are replaced", "[cluster]") {
  Config cfg = test_config(5, 1, 3);
  cfg.timing.client_timeout_ms = 2000;
  cfg.timing.client_deadline_ms = 20000;
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  // Node 1 wins the first election (StartElection), then is isolated from the
  // other nodes: it appends the client's command but cannot commit it.
  Cluster* c = &cluster;
  cluster.set_drop_filter([c](const Message& m) {
    bool node_to_node = m.from != 0 && m.to != 0;
    return node_to_node && (m.from == 1 || m.to == 1) && c->now() >= 10 && c->now() < 1500;
  });
  cluster.run();
  bool truncated = false;
  for (const json& e : sink.named("truncate")) {
    if (e["node"] == 1) truncated = true;
  }
  CHECK(truncated);
  CHECK(cluster.node(1).log() == cluster.node(cluster.leader().value()).log());
  CHECK(cluster.replicas_agree());
  // The client's request still completed exactly once (ok, via a retry).
  REQUIRE(cluster.history().size() == 3);
  CHECK(cluster.history()[0].result.status != Status::Unknown);
}

TEST_CASE("Same config and seed give a byte-identical trace", "[cluster][determinism]") {
  Config cfg = test_config(5, 3, 10, 42);
  std::string a = trace_text(cfg);
  std::string b = trace_text(cfg);
  CHECK(a == b);
  CHECK(a.size() > 10000);
  cfg.seed = 43;
  CHECK(trace_text(cfg) != a);
}

TEST_CASE("A one-node cluster elects itself and commits alone", "[cluster]") {
  Config cfg = test_config(1, 2, 5);
  Cluster cluster(cfg);
  cluster.run();
  CHECK(cluster.history().size() == 10);
  CHECK(cluster.node(1).role() == Role::Leader);
  CHECK(cluster.node(1).commit_index() == 11);
}

TEST_CASE("The workload draws from the configured number of keys", "[cluster][config]") {
  for (int keys : {1, 2, 5, 26}) {
    Config cfg = test_config(3, 4, 30, 7);
    cfg.keys = keys;
    Cluster cluster(cfg);
    cluster.run();
    std::set<std::string> used;
    for (const ClientOp& op : cluster.history()) used.insert(op.cmd.key);
    INFO("keys = " << keys);
    REQUIRE(cluster.history().size() == 120);
    // Keys "a" onwards, and 120 commands use every one of a small set.
    std::set<std::string> allowed;
    for (int k = 0; k < keys; ++k) allowed.insert(std::string(1, static_cast<char>('a' + k)));
    for (const std::string& key : used) CHECK(allowed.count(key) == 1);
    if (keys <= 5) CHECK(used == allowed);
    if (keys == 26) CHECK(used.size() > 5);
    // The trace header carries `keys` only when it is not the default 5, so default runs keep
    // their bytes (spec/trace-schema.md).
    json config = cluster.header()["config"];
    if (keys == 5) {
      CHECK_FALSE(config.contains("keys"));
    } else {
      CHECK(config["keys"] == keys);
    }
    CHECK(cluster.replicas_agree());
  }
}

// Issue 12: the summary's Outcome judges what a user relies on, the running
// nodes' applied prefixes, and keeps "behind" apart from "diverged".
TEST_CASE("classify: behind is still converging, all down is no running node",
          "[cluster][verdict]") {
  {
    Config cfg = test_config(5, 3, 5);
    cfg.linger_ms = 0;  // stop the moment the last client is answered
    Cluster cluster(cfg);
    cluster.run();
    Outcome o = classify(cluster);
    CHECK_FALSE(cluster.replicas_agree());  // the strict test: not everyone caught up
    CHECK_FALSE(o.diverged);
    CHECK_FALSE(o.safety_problem());
    CHECK(o.still_converging);
    CHECK_FALSE(o.behind.empty());
    CHECK(o.requests_not_issued == 0);
    CHECK_FALSE(o.complete());
  }
  {
    Config cfg = test_config(3, 1, 2);
    Cluster cluster(cfg);
    cluster.run_until(100);
    for (int id = 1; id <= 3; ++id) cluster.crash(id);
    Outcome o = classify(cluster);
    CHECK(o.no_running_node);
    CHECK_FALSE(o.still_converging);
    CHECK_FALSE(o.diverged);
  }
  {
    Config cfg = test_config(5, 3, 5);
    cfg.network.loss = 0.95;
    cfg.time_limit_ms = 3000;
    Cluster cluster(cfg);
    cluster.run();
    Outcome o = classify(cluster);
    CHECK(o.no_leader_ever);
    CHECK(o.time_limit_reached);
    CHECK(o.requests_planned == 15);
    CHECK(o.requests_not_issued == 15);
    CHECK_FALSE(o.safety_problem());
  }
  {
    Cluster cluster(test_config(5, 3, 5));
    cluster.run();
    Outcome o = classify(cluster);
    CHECK(o.complete());
    // The network's books balance: every copy is delivered, dropped or in flight.
    const RunStats& st = cluster.stats();
    CHECK(st.messages_sent + st.messages_duplicated ==
          st.messages_delivered + st.messages_dropped + st.messages_in_flight);
  }
}
