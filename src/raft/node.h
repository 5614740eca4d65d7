// A Raft node as a pure state machine (Raft paper, Figure 2).
//
// The node does no I/O, owns no clock and draws no random numbers. The
// runtime feeds it one input at a time -- a delivered message or a fired
// timer -- and the node records what it wants done in an Effects value:
// messages to send, timers to (re)arm and the trace events that describe its
// state changes. This is what makes runs deterministic and traces replayable:
// the same inputs in the same order always give the same effects.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "raft/events.h"
#include "raft/kv.h"
#include "raft/planted_bugs.h"
#include "raft/types.h"

namespace raftkv {

// Protocol choices a user may change to see what they are for.
struct NodeOptions {
  // §8: a new leader appends a no-op of its term at once, so entries of
  // earlier terms commit without waiting for a client. Off shows Figure 8.
  bool leader_noop = true;
  PlantedBugs bugs;
  // Room a new node's log reserves at once, in entries: address space only,
  // pages are touched as the log fills. A runtime that knows roughly how long
  // the logs will grow spares each log its growth copies, which touch about
  // as many fresh pages again as the final log (a page fault each). 0: none.
  int64_t log_reserve = 0;
  // Thesis §9.6 ([raft] pre_vote): a node whose election timer fires first
  // asks its peers whether they would vote for it in term + 1, changing no
  // term or vote anywhere; only a majority of yeses starts the real election.
  bool pre_vote = false;
  // Thesis §6.2 and §4.2.3 ([raft] check_quorum): a leader checks, once per
  // minimum election timeout (its CheckQuorum timer), that it heard from a
  // majority since the last check, and steps down if not; and a node that has
  // a live leader (it is one, or heard from one since its own election timer
  // last fired) ignores a RequestVote of a higher term instead of adopting it,
  // so a server that cannot reach the leader cannot depose it.
  bool check_quorum = false;
  // Thesis §6.4 ([raft] read_mode = "read_index"): a leader answers a get
  // without a log entry: it takes its commit index as the read index (once
  // an entry of its own term is committed), confirms it is still leader with
  // a round of ReadConfirm messages a majority answers, and answers from its
  // state machine once it has applied through the read index.
  bool read_index = false;
  // Thesis §6.4.1 ([raft] read_mode = "lease", which sets read_index too): a
  // leader whose last confirmation round was answered by a majority holds a
  // lease until, on its own clock, the round's start plus the minimum
  // election timeout shrunk by the clock-drift bound; within it no other
  // leader can be elected (every server that answered the round refuses
  // every RequestVote for that long of its own clock), so it answers gets at
  // once.
  bool lease_reads = false;
  int64_t election_timeout_min_ms = 150;  // the shortest election timer, on a node's own clock
  int64_t clock_drift_ppm = 0;            // the bound on any clock's drift from true time
  // Raft paper §7 ([raft] snapshot_every): once a node has applied this many
  // entries beyond its last snapshot it snapshots its state machine and
  // discards its log through the applied index. 0: never (the log grows for
  // ever, as it did before snapshots existed).
  int64_t snapshot_every = 0;
  // [raft] snapshot_chunk_bytes: an InstallSnapshot carries at most this many
  // bytes of the snapshot (a UTF-8 character is never split); 0: the whole
  // snapshot in one message.
  int64_t snapshot_chunk_bytes = 0;
};

// CheckQuorum fires only at a leader with check_quorum on, every minimum
// election timeout (the runtime arms it when the node asks).
// Transfer fires at a leader with a leadership transfer under way, one
// minimum election timeout after the transfer began (thesis §3.10).
enum class Timer { Election, Heartbeat, StartElection, CheckQuorum, Transfer };

// A snapshot of the state machine (Raft paper §7): the store and the dedup
// table after applying entries 1..index (the entry at index had term `term`),
// in the encoding KvStore::encode writes. Immutable once taken: the node, its
// storage and the messages that carry it share one copy.
struct Snapshot {
  int64_t index = 0;
  int64_t term = 0;
  std::string data;
};

// Durable state (Figure 2 "Persistent state on all servers"), as the
// runtime's storage holds it: with snapshots, the latest snapshot and the log
// entries after it.
struct PersistentState {
  int64_t term = 0;
  int vote = 0;
  std::vector<Entry> log;  // entries snapshot->index + 1 .. (all of them without a snapshot)
  std::shared_ptr<const Snapshot> snapshot;  // none: null
};

// One write to stable storage at the end of a step: the new term and vote,
// and the log as the stored log through index `keep` followed by the node's
// entries keep+1..log_len (absolute indices; only what changed since the last write is
// rewritten). The entries themselves are not copied into the write: the
// emulated storage shares the node's log (see NodeSet), which after every
// step holds exactly the written entries.
struct PersistOp {
  int64_t term = 0;
  int vote = 0;
  int64_t keep = 0;
  int64_t log_len = 0;  // the index of the last entry written
  // A snapshot taken or installed in this step, written with the rest; the
  // stored log then holds only the entries after its index.
  std::shared_ptr<const Snapshot> snapshot;
};

// What one step of a node asks of the runtime.
struct Effects {
  bool trace = false;             // report events? (off in benchmarks)
  std::vector<NodeEvent> events;  // effect events, in order
  // Written to stable storage before any message leaves (Figure 2: respond
  // to RPCs only after updating stable storage). A crash keeps what was
  // written, nothing else.
  std::optional<PersistOp> persist;
  std::vector<Message> messages;  // to send, in order, after the events
  bool reset_election_timer = false;
  bool arm_heartbeat_timer = false;
  bool arm_check_quorum_timer = false;  // [raft] check_quorum: next quorum check
  bool arm_transfer_timer = false;      // a leadership transfer began: when to give it up
  // Input, not effect: the node's own clock, in microseconds, when this input
  // reached it (the runtime models each node's clock; only lease reads look).
  int64_t clock_us = 0;
};

// A rule of the protocol that this code broke: a bug in raftkv itself, never
// bad input (a trace or config cannot cause it). See Node::expect.
class ProtocolBug : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class Node {
 public:
  // NodeSet hands a crashed node's durable log to its restarted successor.
  friend class NodeSet;

  Node(int id, int num_nodes, NodeOptions options = {});
  // A node restarting from what it persisted: a follower with no volatile
  // state (commit index, applied index and store start from zero).
  Node(int id, int num_nodes, PersistentState persisted, NodeOptions options = {});
  // A deep copy, for `raftkv explore`, which branches a cluster's state at
  // every input. Only between steps: fx_ is null then (end_step clears it),
  // so the copy points at nothing of the original. Snapshots are immutable
  // and shared, as the node already shares them with its storage.
  Node(const Node& other) = default;
  Node& operator=(const Node&) = delete;

  // Appends every part of this node's state that can influence what it does
  // next (persistent and volatile, Figure 2, and the implementation's own
  // bookkeeping: flow control, commit notifications sent, pending client
  // requests), in a fixed byte layout, for `raftkv explore`'s visited set.
  // Two nodes that append the same bytes behave the same on every input.
  //
  // With `rename` (explore's symmetry reduction), every server id the state
  // holds is written as rename[id] instead (ids past its end unchanged), and
  // sets and per-peer tables are rewritten in the new ids' order: the bytes
  // the same node would give if the servers had been named that way. Sound
  // because nothing the node does depends on the order of server ids.
  void encode_state(std::string& out, const std::vector<int>* rename = nullptr) const;

  // Boot: arms the election timer.
  void start(Effects& fx);
  void on_timer(Timer timer, Effects& fx);
  void on_message(const Message& msg, Effects& fx);
  // Leadership transfer (thesis §3.10): the runtime asks this node, if it is
  // the leader, to hand leadership to node `to`. Ignored by a non-leader and
  // when `to` is this node itself or not a node of the cluster.
  void on_transfer(int to, Effects& fx);
  // Membership change (thesis §4.1): the runtime asks this node, if it is the
  // leader, to add server `target` (as a learner, promoted to voter once it
  // has caught up) or to remove it. Refused (a reject_change event) by a
  // non-leader, during a leadership transfer, while an earlier change is not
  // yet committed, before an entry of the leader's own term is committed,
  // and when the request changes nothing or would remove the last voter.
  void on_change(ChangeAction action, int target, Effects& fx);

  // The state every node event carries (the trace's `state`).
  NodeState state() const {
    return NodeState{term_, vote_, role_, commit_, applied_, last_index(), last_term()};
  }
  PersistentState persistent_state() const {
    return PersistentState{term_, vote_, log_, snapshot_};
  }

  int id() const { return id_; }
  int64_t term() const { return term_; }
  int vote() const { return vote_; }
  Role role() const { return role_; }
  int64_t commit_index() const { return commit_; }
  int64_t last_applied() const { return applied_; }
  int64_t last_index() const { return snap_index_ + static_cast<int64_t>(log_.size()); }
  int64_t last_term() const { return term_at(last_index()); }
  // The entries the log still holds: indices snapshot_index() + 1 .. last_index().
  const std::vector<Entry>& log() const { return log_; }
  // The last index and term the latest snapshot covers (0 without one); the
  // log holds no entry at or below that index (Raft paper §7).
  int64_t snapshot_index() const { return snap_index_; }
  int64_t snapshot_term() const { return snap_term_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  // The term of the entry at `index`: the snapshot's term at its index, 0
  // outside what the node holds (index 0, past the end, or discarded into the
  // snapshot: callers that can meet those check snap_index_ first).
  int64_t term_at(int64_t index) const {
    if (index > snap_index_ && index <= last_index()) return entry(index).term;
    return index == snap_index_ ? snap_term_ : 0;
  }
  // The entry at `index`, which the log must hold (snapshot_index() < index <= last_index()).
  const Entry& entry(int64_t index) const {
    return log_[static_cast<size_t>(index - snap_index_ - 1)];
  }
  const KvStore& store() const { return store_; }
  // The configuration in effect at this node (thesis §4.1: the latest one in
  // its log, committed or not) and the index of its entry (0: bootstrap).
  const Membership& membership() const { return conf_; }
  int64_t membership_index() const { return conf_index_; }
  // The target of the leadership transfer under way at this leader (0: none).
  int transfer_target() const { return transfer_to_; }
  // [raft] read_mode = "lease", on this node's clock (us): until when it
  // refuses every vote (it answered a lease round), and until when its lease
  // as leader lasts. `raftkv explore` moves time to the next of these.
  int64_t promise_until_us() const { return promise_until_us_; }
  int64_t lease_until_us() const { return lease_until_us_; }
  // Read by the spec's view of a node (app/spec_view.h), which compares them
  // with RaftKV.tla's votes, verified, next, match, probe and csent.
  const std::set<int>& votes_granted() const { return votes_; }
  int64_t verified_index() const { return verified_; }
  int64_t next_index(int peer) const { return at(next_index_, peer); }
  int64_t match_index(int peer) const { return at(match_index_, peer); }
  bool probing(int peer) const { return at(probing_, peer) != 0; }
  int64_t commit_sent(int peer) const { return at(commit_sent_, peer); }

 private:
  static constexpr int64_t kMaxBatch = 64;  // entries per AppendEntries

  // v[peer], or 0 for a peer the vector has no slot for.
  template <typename T>
  static T at(const std::vector<T>& v, int peer) {
    return peer >= 0 && static_cast<size_t>(peer) < v.size() ? v[static_cast<size_t>(peer)] : T{};
  }

  // Thesis §4.1: elections and commitment count the voters of the
  // configuration in effect at this node.
  int majority() const { return static_cast<int>(conf_.voters.size()) / 2 + 1; }
  bool is_voter(int id) const { return conf_.is_voter(id); }
  // How many of `ids` are voters of the configuration in effect.
  int voters_among(const std::set<int>& ids) const;
  // Makes `conf` (the entry at `index`; 0: the bootstrap one) the
  // configuration in effect, and sizes the per-peer state for its members.
  void set_membership(const Membership& conf, int64_t index);
  // After the log lost its tail (truncation) or its head (a snapshot
  // install): the latest configuration left in the log, else the snapshot's,
  // else the bootstrap configuration.
  void reload_membership();
  // Thesis §4.1: a leader changes the configuration by one server at a time,
  // through its log. May it start one now (else: the refusal's reason)?
  const char* change_blocked() const;
  void append_config(Membership conf);
  // A leader promotes a learner that has caught up (its matchIndex reached
  // the commit index) to voter, when it may change the configuration.
  void maybe_promote_learner();
  // Thesis §4.2.2: a leader whose own removal committed stops leading.
  void maybe_leave();
  void grow_slots(int max_id);

  // Step bracket: every input runs between begin_step and end_step, which
  // applies newly committed entries and persists before any send leaves.
  void begin_step(Effects& fx);
  void end_step();
  // Trace events are built only when someone reads them: call sites test
  // tracing() first so a benchmark run pays nothing for them.
  bool tracing() const { return fx_->trace; }
  template <typename Event>
  void emit(Event event) {
    fx_->events.push_back(NodeEvent{std::move(event), state()});
  }
  void send(Message&& msg);

  // Every change to the durable state goes through these, which mark it for
  // the write that ends the step.
  void set_term_and_vote(int64_t term, int vote);
  void truncate_log(int64_t from_index);
  void append_entries_to_log(const Entry* first, const Entry* last);
  // Only the planted skip_truncate bug writes over an entry in place.
  void overwrite_entry(int64_t index, const Entry& entry);

  void adopt_term(int64_t term);
  // `transfer`: started by a TimeoutNow (thesis §3.10); its RequestVotes say so.
  void start_election(bool transfer = false);
  void become_leader();
  void become_follower(int leader);
  void check_quorum();
  // Thesis §3.10: send TimeoutNow to the transfer target once its log
  // matches this leader's (matchIndex = last index).
  void maybe_send_timeout_now();
  void handle_timeout_now(const Message& m);
  // [raft] check_quorum: would this node refuse to be disrupted by a
  // RequestVote of a higher term (it has a live leader)?
  bool leader_sticky() const {
    return options_.check_quorum && (role_ == Role::Leader || leader_live_ || lease_promised());
  }

  void handle_request_vote(const Message& m);
  void handle_vote_response(const Message& m);
  void handle_append_entries(const Message& m);
  void handle_append_response(const Message& m);
  void handle_commit_notification(const Message& m);
  void handle_install_snapshot(const Message& m);
  void handle_install_snapshot_response(const Message& m);
  // Raft paper §7: snapshot the state machine at the applied index and
  // discard the log through it, once snapshot_every entries were applied
  // since the last snapshot.
  void maybe_take_snapshot();
  // Replaces the state machine and log prefix with a leader's snapshot
  // (false: its bytes are not a snapshot encoding, nothing changed).
  bool install_snapshot(int64_t index, int64_t term, std::string data);
  // The leader's snapshot, from the offset the follower asked for, in place
  // of AppendEntries the leader can no longer send (the entries are gone).
  void send_snapshot(int peer);
  void start_prevote();
  void handle_prevote(const Message& m);
  void handle_prevote_response(const Message& m);
  void handle_client_request(const Message& m);
  void start_read(const Command& cmd);
  void start_read_round();
  void handle_read_confirm(const Message& m);
  void handle_read_confirm_response(const Message& m);
  bool read_round_confirmed(int64_t round) const;
  void serve_reads();
  // [raft] read_mode = "lease": does this leader hold a lease now (its own
  // clock), with no leadership transfer begun in this term?
  bool lease_valid() const {
    return options_.lease_reads && !lease_void_ && fx_->clock_us < lease_until_us_;
  }
  void extend_lease();

  bool candidate_log_up_to_date(const Message& m) const;
  void append_to_log(const Entry* first, const Entry* last);
  void send_append(int peer);
  void broadcast_append();
  void replicate_new_entries();
  bool window_free(int peer) const;
  void flush_commit_notifications();
  void leader_advance_commit();
  void set_commit(int64_t index);
  void apply_committed();
  void set_progress(int peer, int64_t next, int64_t match, bool probing);

  const int id_;
  const int num_nodes_;  // the bootstrap configuration's voters: 1..num_nodes_
  const NodeOptions options_;
  // A copy, not a reference into options_: a copied Node (NodeSet's copy,
  // which `raftkv explore` uses to branch a state) must not point into the
  // node it was copied from.
  const PlantedBugs bugs_ = options_.bugs;
  const bool planted_ = bugs_.any();
  const int64_t lease_us_;  // a lease's length on this node's clock (lease_length_us)

  // LogCabin's habit: state the protocol's own preconditions where breaking
  // one would be a bug in this file, and stop there (throwing ProtocolBug,
  // which nothing catches) instead of writing a trace that is silently wrong.
  // Off when a bug is planted: a planted bug must give a wrong trace for the
  // checker to find, not an abort. The checks are cheap and always on.
  void expect(bool holds, const char* rule) const {
    if (!holds && !planted_) broken(rule);
  }
  [[noreturn]] void broken(const char* rule) const;

  // Persistent state (Figure 2), with the log's compacted prefix (§7).
  int64_t term_ = 0;
  int vote_ = 0;            // 0 = none
  std::vector<Entry> log_;  // log_[0] is index snap_index_ + 1
  int64_t snap_index_ = 0;
  int64_t snap_term_ = 0;
  std::shared_ptr<const Snapshot> snapshot_;
  bool snapshot_unsynced_ = false;  // taken or installed in this step, not yet written
  // A snapshot arriving in chunks (§7: "create new snapshot file if first
  // chunk", "write data into snapshot file at given offset"): volatile, a
  // crash loses it and the leader starts again from offset 0.
  std::optional<Snapshot> incoming_;
  int64_t incoming_leader_term_ = 0;  // the term of the leader that sends it

  // Membership (thesis §4.1). Every server uses the latest configuration in
  // its log, committed or not; an earlier one comes back when a truncation
  // removes the later one.
  Membership conf_;
  int64_t conf_index_ = 0;
  std::vector<int> peers_;  // every member of conf_ except this node, ascending
  int slots_ = 0;           // per-peer vectors' size: the highest member id seen + 1

  // Volatile state on all servers.
  Role role_ = Role::Follower;
  int64_t commit_ = 0;
  int64_t applied_ = 0;
  KvStore store_;
  int leader_id_ = 0;  // leader of term_ if known (for client hints)
  // Highest index known to match the current term's leader's log. A
  // CommitNotification may advance the commit index only this far: entries
  // past it might still be stale entries from an older term.
  int64_t verified_ = 0;

  // Candidate state.
  std::set<int> votes_;
  // Pre-vote state ([raft] pre_vote): a pre-vote round for term_ + 1 is
  // under way, and who granted it (this node included).
  bool precandidate_ = false;
  std::set<int> prevote_grants_;
  // "Heard from a current leader recently" (thesis §9.6: a server refuses a
  // pre-vote while it believes a leader exists, i.e. it heard from one within
  // the minimum election timeout). The core has no clock, so the election
  // timer stands for it: set by a valid AppendEntries from this term's
  // leader (which also restarts the election timer), cleared when this
  // node's own election timer fires -- the moment it would itself suspect
  // the leader --, on a term change, and when a granted vote restarts the
  // timer. While it is set, at most one
  // election timeout (at least the minimum) has passed since the leader was
  // last heard from.
  bool leader_live_ = false;
  // [raft] read_mode = "lease" (thesis §6.4.1): this node answered a leader's
  // confirmation round, so that leader may be serving reads on a lease
  // counted from before the answer; for a minimum election timeout of its
  // own clock (its election timer, restarted by the answer, fires no sooner)
  // it votes for no one else, in any term. Unlike leader_live_ it survives a
  // term change (a stale response can raise the term while the lease still
  // runs), and a restarted node starts with it: it may have answered a round
  // just before it crashed.
  int64_t promise_until_us_ = 0;  // this node's clock
  bool restarted_ = false;        // built from persisted state (a restart)
  bool lease_promised() const { return options_.lease_reads && fx_->clock_us < promise_until_us_; }

  // Leader state (Figure 2, reinitialized after election).
  std::vector<int64_t> next_index_;  // by peer id (index 0 and self unused)
  std::vector<int64_t> match_index_;
  // Flow control (the progress states of etcd-io/raft). A follower is probed
  // until the leader learns where their logs match: one AppendEntries at a
  // time, nextIndex left where it is. Then it is replicated to: nextIndex
  // moves past what was sent (pipelining), and new entries go out only when
  // nothing sent is still unacknowledged, so entries that arrive meanwhile
  // travel together in the next message.
  std::vector<char> probing_;
  // The highest commit index sent to each follower in this term (in an
  // AppendEntries or a CommitNotification), so a commit is told once.
  std::vector<int64_t> commit_sent_;
  // Sending a snapshot (§7) to a follower that needs discarded entries: the
  // index of the snapshot being sent (0: none) and the offset the follower
  // last asked for. One chunk at a time; a heartbeat resends it.
  std::vector<int64_t> snap_sending_;
  std::vector<int64_t> snap_offset_;
  std::vector<int64_t> snap_quiet_beats_;  // heartbeats since the follower last answered a chunk
  // [raft] check_quorum: peers heard from (a response of this term) since
  // the last quorum check, by peer id.
  std::vector<char> recent_active_;
  // Client requests appended in this term, by log index, awaiting commit.
  std::map<int64_t, Command> pending_;
  // [raft] read_mode = "read_index": the gets taken in this term and not yet
  // answered, each with its read index (0 until an entry of this term is
  // committed) and the first confirmation round sent after it was taken.
  struct PendingRead {
    Command cmd;
    int64_t index = 0;
    int64_t round = 0;
  };
  std::vector<PendingRead> reads_;
  int64_t read_round_ = 0;           // the last confirmation round sent in this term
  bool read_round_in_step_ = false;  // read_round_ was sent in the current step
  std::vector<int64_t> read_acked_;  // by peer: the highest round it confirmed
  // [raft] read_mode = "lease": when each round of this term was sent (own
  // clock, by round number), the lease's end on the same clock, and whether
  // a TimeoutNow went out in this term (its target may be elected at any
  // time after, stickiness or not, so no lease of this term is trusted again).
  std::vector<int64_t> round_sent_us_;
  int64_t lease_until_us_ = 0;
  bool lease_void_ = false;
  // Leadership transfer (thesis §3.10): the target while one is under way
  // (0: none), and whether its TimeoutNow has gone out (sent once).
  int transfer_to_ = 0;
  bool timeout_now_sent_ = false;

  std::vector<int64_t> scratch_;  // reused by leader_advance_commit

  // Per-step bookkeeping.
  Effects* fx_ = nullptr;
  // Durable state changed since the last write: term or vote, and the lowest
  // log index that changed (last_index() + 1 when none did).
  bool dirty_ = false;
  int64_t unsynced_from_ = 1;
};

}  // namespace raftkv
