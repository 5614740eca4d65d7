#include "raft/node_set.h"

#include <string>

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

void NodeSet::preload(int id, PersistentState persisted) {
  auto i = static_cast<size_t>(id);
  storage_[i] = Durable{persisted.term, persisted.vote, static_cast<int64_t>(persisted.log.size())};
  nodes_[i] = std::make_unique<Node>(id, size(), std::move(persisted), options_);
}

void NodeSet::restart(int id) {
  auto i = static_cast<size_t>(id);
  const Durable& d = storage_[i];
  // The crashed node's log is the stored one; only its first log_len entries
  // were written (all of it, as every step ends with its write).
  std::vector<Entry> log = std::move(nodes_[i]->log_);
  if (static_cast<int64_t>(log.size()) < d.log_len) {
    throw ProtocolBug("node " + std::to_string(id) + " holds fewer entries than it wrote");
  }
  log.resize(static_cast<size_t>(d.log_len));
  nodes_[i] =
      std::make_unique<Node>(id, size(), PersistentState{d.term, d.vote, std::move(log)}, options_);
  up_[i] = true;
}

}  // namespace raftkv
