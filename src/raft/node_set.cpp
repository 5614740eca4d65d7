#include "raft/node_set.h"

namespace raftkv {

NodeSet::NodeSet(int num_nodes, NodeOptions options)
    : options_(options),
      nodes_(static_cast<size_t>(num_nodes) + 1),
      storage_(static_cast<size_t>(num_nodes) + 1),
      up_(static_cast<size_t>(num_nodes) + 1, false) {
  for (int id = 1; id <= num_nodes; ++id) {
    nodes_[static_cast<size_t>(id)] = std::make_unique<Node>(id, num_nodes, options_);
  }
}

void NodeSet::restart(int id) {
  auto i = static_cast<size_t>(id);
  nodes_[i] = std::make_unique<Node>(id, size(), storage_[i], options_);
  up_[i] = true;
}

}  // namespace raftkv
