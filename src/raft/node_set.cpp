#include "raft/node_set.h"

#include <string>

namespace raftkv {

NodeSet::NodeSet(int num_nodes, NodeOptions options, int max_id)
    : options_(options),
      num_nodes_(num_nodes),
      nodes_(static_cast<size_t>(std::max(num_nodes, max_id)) + 1),
      storage_(nodes_.size()),
      up_(nodes_.size(), false) {
  for (int id = 1; id <= size(); ++id) {
    nodes_[static_cast<size_t>(id)] = std::make_shared<Node>(id, num_nodes, options_);
  }
}

NodeSet::NodeSet(const NodeSet& other)
    : options_(other.options_),
      num_nodes_(other.num_nodes_),
      nodes_(other.nodes_),
      storage_(other.storage_),
      up_(other.up_) {}

void NodeSet::preload(int id, PersistentState persisted) {
  auto i = static_cast<size_t>(id);
  int64_t base = persisted.snapshot != nullptr ? persisted.snapshot->index : 0;
  storage_[i] = Durable{persisted.term, persisted.vote,
                        base + static_cast<int64_t>(persisted.log.size()), persisted.snapshot};
  nodes_[i] = std::make_shared<Node>(id, num_nodes_, std::move(persisted), options_);
}

void NodeSet::restart(int id) {
  auto i = static_cast<size_t>(id);
  const Durable& d = storage_[i];
  // The crashed node's log is the stored one; only its entries through
  // log_len were written (all of them, as every step ends with its write),
  // and its snapshot is the stored one (written in the step that took it).
  Node& crashed = own(id);  // its log is moved out below
  if (crashed.snapshot_ != d.snapshot) {
    throw ProtocolBug("node " + std::to_string(id) + " holds a snapshot it did not write");
  }
  std::vector<Entry> log = std::move(crashed.log_);
  int64_t keep = d.log_len - crashed.snap_index_;
  if (keep < 0 || static_cast<int64_t>(log.size()) < keep) {
    throw ProtocolBug("node " + std::to_string(id) + " holds fewer entries than it wrote");
  }
  log.resize(static_cast<size_t>(keep));
  nodes_[i] = std::make_shared<Node>(
      id, num_nodes_, PersistentState{d.term, d.vote, std::move(log), d.snapshot}, options_);
  up_[i] = true;
}

}  // namespace raftkv
