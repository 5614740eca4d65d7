// The end-of-run summary: per-node state, agreement, and the figures a Raft
// tester reads first (operations by outcome, message cost, elections,
// latency).
#pragma once

#include <iosfwd>

#include "sim/cluster.h"

namespace raftkv {

// Client operations whose log entry committed: the non-noop entries up to
// the highest commit index of any node.
int64_t committed_client_ops(const Cluster& cluster);

void print_summary(const Cluster& cluster, std::ostream& out);

}  // namespace raftkv
