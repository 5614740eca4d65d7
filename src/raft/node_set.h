// The nodes of one cluster as both the runtime (sim/cluster.cpp) and replay
// (replay/replay.cpp) drive them, so that `run` and `replay` cannot drift
// apart on what a step, a crash or a restart means.
//
// A step hands one input to a running node and returns its effects, with the
// step's write to stable storage already done: Figure 2 has a server respond
// only after updating stable storage, so nothing of the step (its messages,
// its trace events) is seen before the write. A crash loses the Node object
// and everything in memory; a restart builds a new node from what its storage
// holds, and nothing else.
//
// The stored log is not a second copy of each node's log. After every step
// the node's log holds exactly what the step wrote (each step ends with its
// write, and a down node takes no step), so storage records the term, the
// vote and how many of the node's entries are durable, and a restart builds
// the new node from the crashed node's log cut to that length. Two copies of
// every log cost twice the memory (and its page faults) and one more copy of
// every entry per node, for no difference anyone can observe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "raft/node.h"

namespace raftkv {

class NodeSet {
 public:
  // Nodes 1..num_nodes, each created with empty storage and down until up().
  // With max_id > num_nodes, also the servers a membership change may add
  // (num_nodes + 1..max_id), empty and down until they join; every node
  // starts from the bootstrap configuration, voters 1..num_nodes.
  NodeSet(int num_nodes, NodeOptions options, int max_id = 0);
  // A copy that behaves as a deep one (`raftkv explore` branches a cluster's
  // state at each input): the nodes are shared until one side steps or
  // restarts one, which then gets a copy of its own first. A branch mostly
  // steps one node, and copying all of them was a fifth of explore's time.
  // Only between steps.
  NodeSet(const NodeSet& other);
  NodeSet& operator=(const NodeSet&) = delete;
  NodeSet(NodeSet&&) noexcept = default;

  int size() const { return static_cast<int>(nodes_.size()) - 1; }
  bool exists(int id) const { return id >= 1 && id <= size(); }
  bool is_up(int id) const { return up_[static_cast<size_t>(id)]; }
  const Node& node(int id) const { return *nodes_[static_cast<size_t>(id)]; }
  // Node `id` as it is now, kept alive and unchanged for as long as the
  // caller holds it: a later step or restart of it works on a copy (own()).
  std::shared_ptr<const Node> share(int id) const { return nodes_[static_cast<size_t>(id)]; }

  // Before its first boot, the node's storage holds `persisted` (a scenario's
  // initial state): it boots from it as a restart would.
  void preload(int id, PersistentState persisted);
  // Boot: the node is running (its start step is a separate input).
  void up(int id) { up_[static_cast<size_t>(id)] = true; }
  // The node stops; only its storage survives.
  void crash(int id) { up_[static_cast<size_t>(id)] = false; }
  // A crashed node comes back as a new follower built from its storage.
  void restart(int id);

  // One input to a running node; `fx` holds its effects, persisted.
  void start(int id, Effects& fx) {
    step(id, fx, [](Node& n, Effects& e) { n.start(e); });
  }
  void timeout(int id, Timer timer, Effects& fx) {
    step(id, fx, [timer](Node& n, Effects& e) { n.on_timer(timer, e); });
  }
  void transfer(int id, int to, Effects& fx) {
    step(id, fx, [to](Node& n, Effects& e) { n.on_transfer(to, e); });
  }
  void change(int id, ChangeAction action, int target, Effects& fx) {
    step(id, fx, [action, target](Node& n, Effects& e) { n.on_change(action, target, e); });
  }
  void deliver(const Message& m, Effects& fx) {
    step(m.to, fx, [&m](Node& n, Effects& e) { n.on_message(m, e); });
  }

 private:
  template <typename Input>
  void step(int id, Effects& fx, Input input) {
    input(own(id), fx);
    if (fx.persist) {
      Durable& d = storage_[static_cast<size_t>(id)];
      d.term = fx.persist->term;
      d.vote = fx.persist->vote;
      d.log_len = fx.persist->log_len;
      if (fx.persist->snapshot != nullptr) d.snapshot = fx.persist->snapshot;
    }
  }

  // Node `id`, no longer shared with a copy of this set (a copy is made if it was).
  Node& own(int id) {
    std::shared_ptr<Node>& p = nodes_[static_cast<size_t>(id)];
    if (p.use_count() > 1) p = std::make_shared<Node>(*p);
    return *p;
  }

  // A node's stable storage: its term and vote, its latest snapshot, and its
  // log as the node's entries after the snapshot through index log_len.
  struct Durable {
    int64_t term = 0;
    int vote = 0;
    int64_t log_len = 0;
    std::shared_ptr<const Snapshot> snapshot;
  };

  NodeOptions options_;
  int num_nodes_;                             // the bootstrap configuration's voters
  std::vector<std::shared_ptr<Node>> nodes_;  // index = node id (0 unused); see own()
  std::vector<Durable> storage_;              // each node's stable storage
  std::vector<bool> up_;
};

}  // namespace raftkv
