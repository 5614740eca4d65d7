// Liveness figures (spec/checks.md, "Liveness figures"): how available a run was, how much
// election churn it had and what its clients got, measured from what the trace records. They are
// reports, not checks: a run can be correct Raft and unavailable (a partition, heavy loss).
//
// One meter computes them for every caller, so `raftkv run`'s summary (fed from the run in
// memory, app/summary.cpp) and `raftkv check` (fed from the trace, checker.cpp) cannot disagree:
// both feed the same observations in the same order of time, and the meter reads each node's
// state only where virtual time moves on, so what happens inside one millisecond (several events
// of a step, several steps) counts only by where it ends.
//
// Inputs are plain numbers so that the runtime, which may not include this layer, can be
// adapted to it in a few lines.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace raftkv::check {

enum class MeterRole { Follower, Candidate, Leader, Down };

struct LivenessFigures {
  int64_t duration_ms = 0;   // virtual time from 0 to the end of the run
  int64_t available_ms = 0;  // of it, time with a leader that a majority follows
  // The longest stretch without one: [start, end). Length 0 when there was none.
  int64_t longest_unavailable_ms = 0;
  int64_t longest_unavailable_start_ms = 0;
  int64_t longest_unavailable_end_ms = 0;
  bool unavailable_at_end = false;  // the run ended inside an unavailable stretch
  int64_t elections = 0;            // candidacies (become_candidate)
  int64_t terms = 0;                // distinct terms some node stood for election in
  // Client operations (client_invoke): answered with a result (ok, or an error result such as
  // key_exists / not_found), gave up at the deadline (unknown), or still open at the end.
  int64_t client_ops = 0;
  int64_t client_ok = 0;
  int64_t client_error = 0;
  int64_t client_unknown = 0;
  int64_t client_open = 0;
  // Latency (completion - invocation) of the answered operations, nearest-rank percentiles.
  int64_t latency_p50_ms = 0;
  int64_t latency_p99_ms = 0;
  int64_t latency_max_ms = 0;

  double availability() const;             // available_ms / duration_ms (1 if 0 long)
  double per_minute(int64_t count) const;  // count per 60,000 ms of duration
  int64_t client_answered() const { return client_ok + client_error; }
  double client_success() const;  // answered / client_ops (1 with no ops)
  bool operator==(const LivenessFigures&) const = default;
};

// The figures as the lines `raftkv run`'s summary and `raftkv check` print, one per line, no
// trailing newline: "Availability: ...", "Elections: ...", "Clients: ...".
std::string format_liveness(const LivenessFigures& f);

class LivenessMeter {
 public:
  // Node ids run to max_id (0: num_nodes); the servers added by membership changes are above
  // num_nodes.
  explicit LivenessMeter(int num_nodes, int max_id = 0);

  // Virtual time is now t (never less than before). Call before the observations made at t.
  void advance(int64_t t);
  // A node's state after an event (or a step): its term and role, Down while crashed.
  void node_state(int node, int64_t term, MeterRole role);
  // The voters of the configuration in effect at `node` (thesis §4.1; until told, the bootstrap
  // voters 1..num_nodes): as leader, it is followed by a majority of these.
  void set_voters(int node, const std::vector<int64_t>& voters);
  // An AppendEntries from `leader` of `term` was delivered to `node`. The node then follows
  // that leader for as long as it stays in that term (its term is read where time moves on: a
  // stale AppendEntries, of a lower term, leaves it in its own term and counts for nothing).
  void append_entries_delivered(int node, int leader, int64_t term);
  // A node stood for election for `term` (become_candidate).
  void election_started(int node, int64_t term);
  void client_invoked(int client, int64_t request);
  // status: "unknown" (gave up at the deadline), "ok", or another result (an error).
  void client_completed(int client, int64_t request, bool unknown, bool ok);
  // The run ended at end_t.
  LivenessFigures finish(int64_t end_t);

 private:
  struct NodeView {
    int64_t term = 0;
    MeterRole role = MeterRole::Follower;
    int leader = 0;  // the leader of leader_term whose AppendEntries it accepted
    int64_t leader_term = -1;
    std::vector<int64_t> voters;  // its configuration's voters (empty: 1..num_nodes)
  };
  NodeView& view(int node);
  bool available() const;
  void close_interval(int64_t until);

  int num_nodes_;
  std::vector<NodeView> nodes_;  // index = node id
  int64_t now_ = 0;
  bool dirty_ = true;  // a state changed since available_ was computed
  bool available_ = false;
  int64_t unavailable_since_ = 0;  // start of the current unavailable stretch (when !available_)
  LivenessFigures f_;
  std::set<int64_t> candidacy_terms_;
  std::map<std::pair<int, int64_t>, int64_t> open_;  // (client, request) -> invoked at
  // Answered operations by latency (ms -> count): exact percentiles in memory that grows with
  // the spread of latencies, not with the run's length.
  std::map<int64_t, int64_t> latencies_;
  int64_t answered_ = 0;
};

// The bounds of `raftkv check --liveness`: each one given is judged on the figures.
struct LivenessBounds {
  std::optional<int64_t> max_unavailable_ms;  // longest stretch without a followed leader
  std::optional<double> min_availability;     // fraction of the run, in [0, 1]
};
// Each bound missed, as one line naming the bound and the measured value; empty when all hold.
std::vector<std::string> missed_bounds(const LivenessFigures& f, const LivenessBounds& b);

}  // namespace raftkv::check
