// The end-of-run summary: per-node state, the run's outcome, and the figures
// a Raft tester reads first (operations by outcome, message cost, elections,
// latency, faults).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "check/liveness.h"
#include "sim/cluster.h"

namespace raftkv {

// Client commands in the committed log: the non-noop entries up to the
// highest commit index of any node. A request committed twice (a retry, or
// a copy the network duplicated) counts twice; see commit_counts().
int64_t committed_client_ops(const Cluster& cluster);

// What the committed log holds, so that entries and client operations can
// be told apart: entries = commands + noops, commands = operations + copies.
struct CommitCounts {
  int64_t entries = 0;     // the highest commit index of any node
  int64_t commands = 0;    // non-noop entries among them
  int64_t noops = 0;       // each leader's no-op (§8), and configuration entries (thesis §4.1)
  int64_t operations = 0;  // distinct (client, seq) among the commands
  int64_t copies = 0;      // commands - operations: retries and duplicates committed again
};
CommitCounts commit_counts(const Cluster& cluster);

// How the run ended, judged by what a user relies on: the running nodes'
// applied prefixes agree. Several findings can hold at once.
struct Outcome {
  // A safety problem: two running nodes applied different entries at the
  // same index, or hold different stores after applying the same number.
  bool diverged = false;
  std::string divergence;  // the first difference found
  // Applied prefixes agree but some running node has applied fewer entries
  // than another: a correct cluster that has not caught up yet.
  bool still_converging = false;
  std::vector<int> behind;  // those nodes
  int64_t max_applied = 0;  // the most any running node applied
  int running = 0;          // nodes up at the end
  bool no_running_node = false;
  bool no_leader_ever = false;
  bool time_limit_reached = false;
  int64_t requests_planned = 0;     // requests_per_client x num_clients, or the schedules
  int64_t requests_not_issued = 0;  // never sent by their client
  int64_t requests_unanswered = 0;  // issued, still waiting for a reply at the end

  // Exit status 1 is for a safety problem only.
  bool safety_problem() const { return diverged; }
  // Nothing was left undone: every request answered, every running replica
  // caught up, and there was a replica to look at.
  bool complete() const {
    return !diverged && !still_converging && !no_running_node && !no_leader_ever &&
           !time_limit_reached && requests_not_issued == 0 && requests_unanswered == 0;
  }
};
Outcome classify(const Cluster& cluster);

// The liveness figures of a run, measured as it goes by the meter `raftkv check` feeds from the
// trace (check/liveness.h), so the summary prints what check prints on the run's trace. Set it
// as the cluster's observer before start(); figures() after the run.
class LivenessObserver : public RunObserver {
 public:
  explicit LivenessObserver(const Cluster& cluster)
      : cluster_(cluster), meter_(cluster.config().num_nodes, cluster.num_nodes()) {}
  void node_state(int node, int64_t term, Role role, bool up) override;
  void append_entries_delivered(int node, int leader, int64_t term) override;
  void election_started(int node, int64_t term) override;
  void client_invoked(int client, int64_t seq) override;
  void client_completed(int client, int64_t seq, Status status) override;
  void voters(int node, const std::vector<int>& voters) override;
  // The run has ended at the cluster's now().
  check::LivenessFigures figures();

 private:
  const Cluster& cluster_;
  check::LivenessMeter meter_;
};

// `liveness`: the run's figures (LivenessObserver), printed after the elections; nullptr: none.
void print_summary(const Cluster& cluster, std::ostream& out,
                   const check::LivenessFigures* liveness = nullptr);

}  // namespace raftkv
