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
#pragma once

#include <memory>
#include <vector>

#include "raft/node.h"

namespace raftkv {

class NodeSet {
 public:
  // Nodes 1..num_nodes, each created with empty storage and down until up().
  NodeSet(int num_nodes, NodeOptions options);

  int size() const { return static_cast<int>(nodes_.size()) - 1; }
  bool exists(int id) const { return id >= 1 && id <= size(); }
  bool is_up(int id) const { return up_[static_cast<size_t>(id)]; }
  const Node& node(int id) const { return *nodes_[static_cast<size_t>(id)]; }

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
  void deliver(const Message& m, Effects& fx) {
    step(m.to, fx, [&m](Node& n, Effects& e) { n.on_message(m, e); });
  }

 private:
  template <typename Input>
  void step(int id, Effects& fx, Input input) {
    input(*nodes_[static_cast<size_t>(id)], fx);
    if (fx.persist) fx.persist->apply_to(storage_[static_cast<size_t>(id)]);
  }

  NodeOptions options_;
  std::vector<std::unique_ptr<Node>> nodes_;  // index = node id (0 unused)
  std::vector<PersistentState> storage_;      // each node's stable storage
  std::vector<bool> up_;
};

}  // namespace raftkv
