// What a node reports about itself: one typed value per effect event of
// spec/trace-schema.md ("Effect events"), each with the node's state after it.
// The core builds only these plain values, and only when the runtime asks
// for a trace; turning them into trace lines is the trace layer's job
// (trace/codec.h), so the protocol core depends on nothing above it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "raft/types.h"

namespace raftkv {

// A node's state as every node event carries it (the trace's `state`).
struct NodeState {
  int64_t term = 0;
  int vote = 0;
  Role role = Role::Follower;
  int64_t commit = 0;
  int64_t applied = 0;
  int64_t last_index = 0;
  int64_t last_term = 0;

  friend bool operator==(const NodeState&, const NodeState&) = default;
};

namespace ev {

// §5.1: saw a higher term, adopted it (vote cleared, follower).
struct TermUpdate {
  int64_t old_term = 0;

  friend bool operator==(const TermUpdate&, const TermUpdate&) = default;
};
// §5.2: an election started (term + 1, vote for self). With `pre` (trace
// event become_precandidate, [raft] pre_vote): a pre-vote round started,
// term and vote unchanged (thesis §9.6).
struct BecomeCandidate {
  bool pre = false;

  friend bool operator==(const BecomeCandidate&, const BecomeCandidate&) = default;
};
// §5.2: a majority voted for this node in its term.
struct BecomeLeader {
  std::vector<int> votes;

  friend bool operator==(const BecomeLeader&, const BecomeLeader&) = default;
};
// §5.2: a candidate heard from a leader of its term.
struct BecomeFollower {
  int leader = 0;

  friend bool operator==(const BecomeFollower&, const BecomeFollower&) = default;
};
// [raft] check_quorum (thesis §6.2): a leader that heard from fewer than a
// majority (`heard_from`, itself included) since its last quorum check steps
// down to follower in its term.
// With `removed` (thesis §4.2.2): the leader's own removal from the cluster
// committed, so it stops leading (heard_from is then empty).
struct StepDown {
  std::vector<int> heard_from;
  bool removed = false;

  friend bool operator==(const StepDown&, const StepDown&) = default;
};
// Leadership transfer (thesis §3.10): the transfer to `to` did not complete
// within an election timeout, so the leader gave it up and takes client
// commands again.
struct TransferAbort {
  int to = 0;

  friend bool operator==(const TransferAbort&, const TransferAbort&) = default;
};
// The decision on a RequestVote (reason "" when granted). With `pre` (trace
// event prevote): the decision on a PreVote, which changes no term or vote.
struct Vote {
  int candidate = 0;
  bool granted = false;
  std::string reason;
  bool pre = false;

  friend bool operator==(const Vote&, const Vote&) = default;
};
// §5.3: conflicting entries from `from_index` on were deleted.
struct Truncate {
  int64_t from_index = 0;
  int64_t removed = 0;

  friend bool operator==(const Truncate&, const Truncate&) = default;
};
// Entries written to the log from `first_index` on.
struct Append {
  int64_t first_index = 0;
  std::vector<Entry> entries;

  friend bool operator==(const Append&, const Append&) = default;
};
// The leader's view of a follower changed (nextIndex, matchIndex, flow-control mode).
struct Progress {
  int peer = 0;
  int64_t next_index = 0;
  int64_t match_index = 0;
  bool probing = true;

  friend bool operator==(const Progress&, const Progress&) = default;
};
// commitIndex advanced (to the state's commit).
struct Commit {
  int64_t old_commit = 0;

  friend bool operator==(const Commit&, const Commit&) = default;
};
// The entry at `index` was applied with this result.
struct Apply {
  int64_t index = 0;
  Entry entry;
  Result result;

  friend bool operator==(const Apply&, const Apply&) = default;
};
// Durable state written: term, vote and the log up to log_len entries.
struct Persist {
  int64_t term = 0;
  int vote = 0;
  int64_t log_len = 0;

  friend bool operator==(const Persist&, const Persist&) = default;
};
// [raft] read_mode = "read_index" (thesis §6.4): the leader answered a
// client's get from its state machine, without a log entry, after confirming
// its leadership and applying through `read_index`, its commit index when it
// took the read. With read_mode = "lease", `lease` says the answer rested on
// the leader's lease (thesis §6.4.1) rather than on a round confirmed after
// the read arrived.
struct Read {
  int client = 0;
  int64_t client_seq = 0;
  std::string key;
  int64_t read_index = 0;
  Result result;
  std::optional<bool> lease;  // present only with read_mode = "lease"

  friend bool operator==(const Read&, const Read&) = default;
};
// Raft paper §7 ([raft] snapshot_every): the node wrote a snapshot of its
// state machine through its applied index `index` (whose entry has term
// `term`) to stable storage and discarded its log through `index`. The
// store's digest and size (as in the trace's end event) and the encoding's
// length in bytes describe it.
struct Snapshot {
  int64_t index = 0;
  int64_t term = 0;
  std::string store_digest;
  int64_t store_size = 0;
  int64_t bytes = 0;

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};
// Raft paper §7: the follower replaced its state machine with a leader's
// snapshot through `index` (term `term`), and its log with the snapshot
// followed by the `kept` entries it held after `index` (kept only when its
// own entry at `index` had term `term`; otherwise the whole log went).
struct InstallSnapshot {
  int64_t index = 0;
  int64_t term = 0;
  std::string store_digest;
  int64_t store_size = 0;
  int64_t kept = 0;

  friend bool operator==(const InstallSnapshot&, const InstallSnapshot&) = default;
};
// Membership change (thesis §4.1): the configuration in effect at this node
// changed, to the one in its log's entry `index` (0: the bootstrap
// configuration, voters 1..num_nodes): a configuration entry was appended, or
// a truncation or an installed snapshot brought back an earlier one.
struct Membership {
  int64_t index = 0;
  std::vector<int> voters;
  std::vector<int> learners;

  friend bool operator==(const Membership&, const Membership&) = default;
};
// The node refused the runtime's request to change the cluster (reason:
// not_leader, transfer, change_pending, term_not_committed, already_member,
// not_member, last_voter).
struct RejectChange {
  ChangeAction action = ChangeAction::Add;
  int target = 0;
  std::string reason;

  friend bool operator==(const RejectChange&, const RejectChange&) = default;
};
// A non-leader refused a client request.
struct RejectClient {
  int client = 0;
  int64_t client_seq = 0;
  int leader_hint = 0;

  friend bool operator==(const RejectClient&, const RejectClient&) = default;
};

}  // namespace ev

using NodeEventBody =
    std::variant<ev::TermUpdate, ev::BecomeCandidate, ev::BecomeLeader, ev::BecomeFollower,
                 ev::StepDown, ev::TransferAbort, ev::Vote, ev::Truncate, ev::Append, ev::Progress,
                 ev::Commit, ev::Apply, ev::Persist, ev::Read, ev::RejectClient, ev::Snapshot,
                 ev::InstallSnapshot, ev::Membership, ev::RejectChange>;

// One effect event of a step, with the node's post-state.
struct NodeEvent {
  NodeEventBody body;
  NodeState state;

  // For tests (a decoded trace line equals what the node reported).
  friend bool operator==(const NodeEvent&, const NodeEvent&) = default;
};

}  // namespace raftkv
