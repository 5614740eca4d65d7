#include "raft/node.h"
#include "raft/state_encoding.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

namespace raftkv {

namespace {

// Makes room for `extra` more entries in a log. A log only grows, to as many
// entries as the run commits, and the standard doubling touches about twice
// the final size in fresh pages and copies every entry once more; growing
// fourfold touches a third more than the final size instead. The unused
// capacity costs address space only: the pages are never written.
// A log reserved for a long run spans tens of megabytes, written once from
// front to back: in 4 KiB pages that is a page fault every 40 entries, each a
// trip into the kernel. Transparent huge pages (2 MiB) make it one fault per
// 20,000 entries. Only a hint: where the kernel declines, nothing changes.
void advise_huge_pages(const std::vector<Entry>& log) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  auto start = reinterpret_cast<uintptr_t>(log.data());
  uintptr_t begin = (start + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (start + log.capacity() * sizeof(Entry)) & ~(kHuge - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)log;
#endif
}

void reserve_log(std::vector<Entry>& log, size_t extra) {
  size_t need = log.size() + extra;
  if (need > log.capacity()) {
    log.reserve(std::max(need, 4 * log.capacity()));
    advise_huge_pages(log);
  }
}

// A message from `from`, built in place at the end of the step's outbox, as
// Node::send would queue it. Message is a large struct (strings, entries):
// building it elsewhere and moving it in cost a move and a destruction per
// send. Nothing else may be sent while the reference is in use (the outbox
// may grow and move it).
Message& outgoing(Effects& fx, int from, MsgType type, int to) {
  Message& m = fx.messages.emplace_back();
  m.type = type;
  m.from = from;
  m.to = to;
  return m;
}

// Thesis §6.4.1: how long, on the leader's own clock, a lease lasts from the
// start of the round that confirmed it. Every server that answered the round
// did so after the start, restarted its election timer, and votes for no one
// else for election_timeout_min_ms of its own clock (lease_promised()).
// Clocks run at rates within 1 +- rho of true time, so the shortest
// such wait is E / (1 + rho) in true time, and a lease of E (1 - rho) / (1 +
// rho) on a clock that may run slow by rho ends no later. One microsecond
// less covers the rounding of the runtime's microsecond clock readings.
// The planted lease_ignores_drift bug takes the whole E, trusting that every
// clock keeps true time.
int64_t lease_length_us(const NodeOptions& o) {
  int64_t e_us = o.election_timeout_min_ms * 1000;
  if (o.bugs.lease_ignores_drift) return e_us;
  int64_t rho = o.clock_drift_ppm;
  return e_us * (1'000'000 - rho) / (1'000'000 + rho) - 1;
}

}  // namespace

namespace {

// The bootstrap configuration (thesis §4.1): voters 1..num_nodes, the
// servers the cluster started with; a server added later starts with it too
// and learns the rest from the log.
Membership bootstrap_membership(int num_nodes) {
  Membership conf;
  for (int id = 1; id <= num_nodes; ++id) conf.voters.push_back(id);
  return conf;
}

}  // namespace

Node::Node(int id, int num_nodes, NodeOptions options)
    : id_(id), num_nodes_(num_nodes), options_(options), lease_us_(lease_length_us(options_)) {
  set_membership(bootstrap_membership(num_nodes_), 0);
  if (options_.log_reserve > 0) {
    log_.reserve(static_cast<size_t>(options_.log_reserve));
    advise_huge_pages(log_);
  }
}

Node::Node(int id, int num_nodes, PersistentState persisted, NodeOptions options)
    : id_(id), num_nodes_(num_nodes), options_(options), lease_us_(lease_length_us(options_)) {
  restarted_ = true;
  term_ = persisted.term;
  vote_ = persisted.vote;
  log_ = std::move(persisted.log);
  // §7: a restart loads the latest snapshot: the state machine is back at its
  // index, which was committed (only committed entries are snapshotted).
  if (persisted.snapshot != nullptr) {
    snapshot_ = std::move(persisted.snapshot);
    snap_index_ = snapshot_->index;
    snap_term_ = snapshot_->term;
    if (!KvStore::decode(snapshot_->data, &store_)) {
      throw ProtocolBug("node " + std::to_string(id_) + ": its stored snapshot does not decode");
    }
    commit_ = applied_ = snap_index_;
  }
  set_membership(bootstrap_membership(num_nodes_), 0);
  reload_membership();  // the stored log's or snapshot's latest configuration
  unsynced_from_ = last_index() + 1;
}

// ---------------------------------------------------------------------------
// Membership (thesis §4.1)

int Node::voters_among(const std::set<int>& ids) const {
  int n = 0;
  for (int id : ids) n += is_voter(id) ? 1 : 0;
  return n;
}

void Node::grow_slots(int max_id) {
  if (max_id + 1 <= slots_) return;
  auto size = static_cast<size_t>(max_id + 1);
  // A leader meets a new member (or a message from an unknown id): its
  // progress starts as a new leader's would (Figure 2), probed first.
  next_index_.resize(size, last_index() + 1);
  match_index_.resize(size, 0);
  snap_sending_.resize(size, 0);
  snap_offset_.resize(size, 0);
  snap_quiet_beats_.resize(size, 0);
  probing_.resize(size, 1);
  commit_sent_.resize(size, 0);
  recent_active_.resize(size, 0);
  read_acked_.resize(size, 0);
  slots_ = max_id + 1;
}

void Node::set_membership(const Membership& conf, int64_t index) {
  bool changed = index != conf_index_ || conf != conf_;
  conf_ = conf;
  conf_index_ = index;
  peers_.clear();
  std::merge(conf_.voters.begin(), conf_.voters.end(), conf_.learners.begin(), conf_.learners.end(),
             std::back_inserter(peers_));
  peers_.erase(std::remove(peers_.begin(), peers_.end(), id_), peers_.end());
  grow_slots(std::max(id_, peers_.empty() ? 0 : peers_.back()));
  if (changed && fx_ != nullptr && tracing()) {
    emit(ev::Membership{conf_index_, conf_.voters, conf_.learners});
  }
}

void Node::reload_membership() {
  for (int64_t k = last_index(); k > snap_index_; --k) {
    const Entry& e = entry(k);
    if (e.cmd.op == Op::Config) {
      set_membership(e.cmd.conf.get(), k);
      return;
    }
  }
  // None in the log: the snapshot's (the last one applied through its
  // index, which the state machine keeps), or the bootstrap configuration.
  if (store_.config_index() > 0) {
    set_membership(store_.config(), store_.config_index());
  } else {
    set_membership(bootstrap_membership(num_nodes_), 0);
  }
}

const char* Node::change_blocked() const {
  if (role_ != Role::Leader) return "not_leader";
  if (transfer_to_ != 0) return "transfer";  // §3.10: the leader is handing over
  // Thesis §4.1: at most one change at a time; the next waits until the
  // previous one is committed.
  if (conf_index_ > commit_) return "change_pending";
  // The fix for the single-server-change bug (Ongaro, raft-dev, 2015): a new
  // leader may hold an uncommitted configuration of an older term that other
  // servers do not have; changing from its own configuration before it has
  // committed an entry of its term could give two disjoint majorities. Once
  // an entry of its term is committed, no such older entry can commit.
  if (term_at(commit_) != term_ && !bugs_.change_before_term_commit) return "term_not_committed";
  return nullptr;
}

void Node::append_config(Membership conf) {
  Entry entry{term_, Command{}};
  entry.cmd.op = Op::Config;
  entry.cmd.conf = std::move(conf);
  append_to_log(&entry, &entry + 1);  // in effect at once (set in append_to_log)
  replicate_new_entries();
  leader_advance_commit();
}

void Node::on_change(ChangeAction action, int target, Effects& fx) {
  begin_step(fx);
  const char* reason = change_blocked();
  Membership next = conf_;
  if (reason == nullptr && target < 1) reason = "invalid_target";
  if (reason == nullptr && action == ChangeAction::Add) {
    if (conf_.is_member(target)) {
      reason = "already_member";
    } else {
      // A new server joins as a learner: it catches up before it counts for
      // a majority (thesis §4.2.1), so the change does not stall commits.
      next.learners.insert(std::upper_bound(next.learners.begin(), next.learners.end(), target),
                           target);
    }
  } else if (reason == nullptr) {
    if (!conf_.is_member(target)) {
      reason = "not_member";
    } else if (conf_.is_voter(target) && conf_.voters.size() == 1) {
      reason = "last_voter";
    } else {
      std::erase(next.voters, target);
      std::erase(next.learners, target);
    }
  }
  if (reason != nullptr) {
    if (tracing()) emit(ev::RejectChange{action, target, reason});
  } else {
    append_config(std::move(next));
    // A new learner's log is unknown: probe it now rather than at the next
    // heartbeat.
    if (action == ChangeAction::Add) send_append(target);
  }
  end_step();
}

void Node::maybe_promote_learner() {
  if (change_blocked() != nullptr) return;
  for (int learner : conf_.learners) {
    // Caught up: it holds every committed entry. From here on, counting it
    // for a majority does not stall commits behind its catch-up.
    if (match_index_[learner] < commit_) continue;
    Membership next = conf_;
    std::erase(next.learners, learner);
    next.voters.insert(std::upper_bound(next.voters.begin(), next.voters.end(), learner), learner);
    append_config(std::move(next));
    return;
  }
}

void Node::maybe_leave() {
  // Thesis §4.2.2: a leader that is not part of the new configuration leads
  // (without counting itself) until that configuration is committed, then
  // steps down; not a voter, it never stands for election again.
  if (role_ != Role::Leader || is_voter(id_) || conf_index_ > commit_) return;
  role_ = Role::Follower;
  leader_id_ = 0;
  leader_live_ = false;
  transfer_to_ = 0;
  timeout_now_sent_ = false;
  pending_.clear();
  reads_.clear();
  if (tracing()) emit(ev::StepDown{{}, true});
  fx_->reset_election_timer = true;
}

// ---------------------------------------------------------------------------
// Step bracket

void Node::begin_step(Effects& fx) {
  fx_ = &fx;
  read_round_in_step_ = false;
}

void Node::end_step() {
  apply_committed();
  if (options_.snapshot_every > 0) maybe_take_snapshot();
  if (!reads_.empty()) serve_reads();
  if (role_ == Role::Leader) {
    if (!conf_.learners.empty()) maybe_promote_learner();
    flush_commit_notifications();
    maybe_leave();
  }
  // Figure 2: "respond to RPCs only after updating stable storage". All sends
  // of this step are still queued in fx_->messages, so the write comes before
  // any of them leaves the node. A new snapshot is written with it; on its
  // own (the log's contents unchanged, only its prefix dropped) it is no
  // `persist` event: the `snapshot` event says it is stored.
  if (dirty_ || snapshot_unsynced_) {
    PersistOp op;
    op.term = term_;
    op.vote = vote_;
    op.keep = std::min(unsynced_from_ - 1, last_index());
    op.log_len = last_index();
    if (snapshot_unsynced_) op.snapshot = snapshot_;
    fx_->persist = std::move(op);
    if (dirty_ && tracing()) emit(ev::Persist{term_, vote_, last_index()});
    dirty_ = false;
    snapshot_unsynced_ = false;
    unsynced_from_ = last_index() + 1;
  }
  fx_ = nullptr;
}

void Node::broken(const char* rule) const {
  throw ProtocolBug("node " + std::to_string(id_) + " (term " + std::to_string(term_) + ", role " +
                    to_string(role_) + ") broke a protocol rule: " + rule);
}

// ---------------------------------------------------------------------------
// Durable state: every change is marked for the step's write to storage.

void Node::set_term_and_vote(int64_t term, int vote) {
  if (term == term_ && vote == vote_) return;
  expect(term >= term_, "currentTerm never decreases (Figure 2)");
  expect(term > term_ || vote_ == 0, "one vote per term: votedFor is set once (Figure 2, §5.2)");
  term_ = term;
  vote_ = vote;
  dirty_ = true;
}

void Node::truncate_log(int64_t from_index) {
  expect(role_ != Role::Leader,
         "a leader never deletes entries from its log (Leader Append-Only, §5.3)");
  expect(from_index > commit_, "a committed entry is never deleted (Leader Completeness, §5.4)");
  expect(from_index > snap_index_ && from_index <= last_index(),
         "truncation starts inside the log");
  log_.resize(static_cast<size_t>(from_index - 1 - snap_index_));
  unsynced_from_ = std::min(unsynced_from_, from_index);
  dirty_ = true;
}

void Node::overwrite_entry(int64_t index, const Entry& entry) {
  log_[static_cast<size_t>(index - snap_index_ - 1)] = entry;
  unsynced_from_ = std::min(unsynced_from_, index);
  dirty_ = true;
}

void Node::append_entries_to_log(const Entry* first, const Entry* last) {
  reserve_log(log_, static_cast<size_t>(last - first));
  unsynced_from_ = std::min(unsynced_from_, last_index() + 1);
  log_.insert(log_.end(), first, last);
  dirty_ = true;
}

void Node::send(Message&& msg) {
  msg.from = id_;
  fx_->messages.push_back(std::move(msg));
}

// ---------------------------------------------------------------------------
// Inputs

void Node::start(Effects& fx) {
  begin_step(fx);
  // A restarted server may have answered a lease round just before it
  // crashed, and the promise that came with it outlives the crash: it votes
  // for no one for a minimum election timeout (thesis §6.4.1).
  if (options_.lease_reads && restarted_) {
    promise_until_us_ = fx.clock_us + options_.election_timeout_min_ms * 1000;
  }
  fx.reset_election_timer = true;
  end_step();
}

void Node::on_timer(Timer timer, Effects& fx) {
  begin_step(fx);
  switch (timer) {
    case Timer::Election:
    case Timer::StartElection:
      // §5.2: a follower (or candidate) that hears from no leader within its
      // election timeout starts an election. A leader has no election timer.
      // With pre_vote (thesis §9.6) it first asks for pre-votes. A learner,
      // or a server removed from the configuration, never stands (thesis
      // §4.2.1, §4.2.3): it only waits (its timer runs on, in case it is
      // promoted).
      if (role_ != Role::Leader) {
        leader_live_ = false;
        promise_until_us_ = 0;  // a full election timeout since the last round answered
        if (!is_voter(id_)) {
          fx.reset_election_timer = true;
        } else if (options_.pre_vote) {
          start_prevote();
        } else {
          start_election();
        }
      }
      break;
    case Timer::Heartbeat:
      // §5.2: the leader sends AppendEntries (empty when idle) to keep its
      // authority; the same messages retry any entries not yet acknowledged.
      if (role_ == Role::Leader) {
        for (int peer : peers_) {
          if (snap_sending_[peer] != 0) ++snap_quiet_beats_[peer];
        }
        broadcast_append();
        fx.arm_heartbeat_timer = true;
        // Reads still unconfirmed (their ReadConfirms or the answers were
        // lost, or they were taken on a lease that has since run out): a new
        // round, sent after they were taken, confirms them too.
        bool need_round = false;
        for (const PendingRead& r : reads_) {
          need_round |= r.round == 0 ? !lease_valid() : !read_round_confirmed(r.round);
        }
        if (need_round) {
          start_read_round();
          for (PendingRead& r : reads_) {
            if (r.round == 0) r.round = read_round_;
          }
        }
      }
      break;
    case Timer::CheckQuorum:
      if (role_ == Role::Leader && options_.check_quorum) check_quorum();
      break;
    case Timer::Transfer:
      // Thesis §3.10: a transfer that has not completed within an election
      // timeout is given up, and the leader takes client commands again (the
      // target may be down or cut off; the cluster must not stay frozen).
      if (role_ == Role::Leader && transfer_to_ != 0) {
        int to = transfer_to_;
        transfer_to_ = 0;
        timeout_now_sent_ = false;
        if (tracing()) emit(ev::TransferAbort{to});
      }
      break;
  }
  end_step();
}

void Node::on_transfer(int to, Effects& fx) {
  begin_step(fx);
  // Thesis §3.10, leadership transfer. Only a leader can hand leadership on;
  // a transfer to itself changes nothing, and an id outside the cluster names
  // no one (the config and scenarios reject both before they get here). A
  // new request while one is under way retargets it and restarts its timer.
  if (role_ == Role::Leader && to != id_ && is_voter(to)) {
    transfer_to_ = to;
    timeout_now_sent_ = false;
    fx.arm_transfer_timer = true;
    // Step 1: bring the target's log up to date by normal replication; if
    // nothing is in flight to it, send what it lacks now rather than at the
    // next heartbeat.
    if (window_free(to) && next_index_[to] <= last_index()) send_append(to);
    maybe_send_timeout_now();
  }
  end_step();
}

void Node::maybe_send_timeout_now() {
  // Thesis §3.10 step 2: once the target's log matches the leader's (and,
  // with client commands refused meanwhile, stays matched), TimeoutNow makes
  // it start an election that it will win, its log being as up to date as
  // any. Sent once per transfer: if it is lost the transfer times out.
  if (transfer_to_ == 0 || timeout_now_sent_) return;
  if (match_index_[transfer_to_] != last_index() && !bugs_.transfer_before_caught_up) return;
  timeout_now_sent_ = true;
  // The target may now be elected at any moment, sticky voters or not: no
  // lease of this term can be trusted from here on (thesis §6.4.1).
  lease_void_ = true;
  Message& m = outgoing(*fx_, id_, MsgType::TimeoutNow, transfer_to_);
  m.term = term_;
}

void Node::handle_timeout_now(const Message& m) {
  // Thesis §3.10: the target of a transfer starts an election at once, as if
  // its election timer had fired, but without a pre-vote round (§9.6's
  // pre-vote guards against disruptive servers; this election is wanted by
  // the leader). Only a TimeoutNow of this node's term counts: one from an
  // older term is from a leader that has since been replaced. Only the
  // leader of the term sends one (Election Safety), so it need not be
  // checked against leader_id_.
  if (m.term != term_ || role_ == Role::Leader || !is_voter(id_)) return;
  leader_live_ = false;
  start_election(/*transfer=*/true);
}

void Node::on_message(const Message& m, Effects& fx) {
  begin_step(fx);
  if (m.from >= slots_) grow_slots(m.from);  // a server this node has not met (a new one)
  if (m.type == MsgType::ClientRequest) {
    handle_client_request(m);
  } else {
    // §5.1: a server that sees a higher term adopts it and reverts to
    // follower before doing anything else with the message.
    // A pre-vote's term is one nobody holds yet: it is never adopted (thesis
    // §9.6), except by the planted prevote_raises_term bug.
    // With check_quorum, a node that has a live leader does not let a
    // RequestVote raise its term (thesis §4.2.3): handle_request_vote refuses
    // it -- unless the RequestVote comes from a leadership transfer (§3.10),
    // which the live leader itself asked for.
    bool ignore_term = (bugs_.leader_ignores_higher_term && role_ == Role::Leader) ||
                       m.type == MsgType::PreVoteResponse ||
                       (m.type == MsgType::PreVote && !bugs_.prevote_raises_term) ||
                       (m.type == MsgType::RequestVote && !m.transfer && leader_sticky());
    if (m.term > term_ && !ignore_term) adopt_term(m.term);
    switch (m.type) {
      case MsgType::RequestVote: handle_request_vote(m); break;
      case MsgType::RequestVoteResponse: handle_vote_response(m); break;
      case MsgType::AppendEntries: handle_append_entries(m); break;
      case MsgType::AppendEntriesResponse: handle_append_response(m); break;
      case MsgType::CommitNotification: handle_commit_notification(m); break;
      case MsgType::PreVote: handle_prevote(m); break;
      case MsgType::PreVoteResponse: handle_prevote_response(m); break;
      case MsgType::ReadConfirm: handle_read_confirm(m); break;
      case MsgType::ReadConfirmResponse: handle_read_confirm_response(m); break;
      case MsgType::TimeoutNow: handle_timeout_now(m); break;
      case MsgType::InstallSnapshot: handle_install_snapshot(m); break;
      case MsgType::InstallSnapshotResponse: handle_install_snapshot_response(m); break;
      case MsgType::ClientRequest:
      case MsgType::ClientReply: break;  // clients' messages never reach here
    }
  }
  end_step();
}

// ---------------------------------------------------------------------------
// Roles and terms

void Node::adopt_term(int64_t term) {
  int64_t old_term = term_;
  bool was_leader = role_ == Role::Leader;
  set_term_and_vote(term, 0);
  role_ = Role::Follower;
  leader_id_ = 0;
  verified_ = 0;
  votes_.clear();
  precandidate_ = false;
  prevote_grants_.clear();
  leader_live_ = false;
  transfer_to_ = 0;  // a deposed leader's transfer is over (done, if to the target)
  timeout_now_sent_ = false;
  // Requests appended in the old term may still commit under a new leader;
  // this node can no longer promise a reply, so the clients will time out
  // and retry (dedup makes the retry safe). Reads it took can no longer be
  // confirmed: their clients retry too.
  pending_.clear();
  reads_.clear();
  if (tracing()) emit(ev::TermUpdate{old_term});
  // A deposed leader had no election timer running.
  if (was_leader) fx_->reset_election_timer = true;
}

void Node::start_election(bool transfer) {
  // §5.2: increment currentTerm, vote for self, reset the election timer and
  // send RequestVote to every other server.
  set_term_and_vote(term_ + 1, id_);
  role_ = Role::Candidate;
  leader_id_ = 0;
  verified_ = 0;
  votes_ = {id_};
  precandidate_ = false;
  prevote_grants_.clear();
  if (tracing()) emit(ev::BecomeCandidate{});
  fx_->reset_election_timer = true;
  if (voters_among(votes_) >= majority()) {
    become_leader();  // a one-node cluster elects itself
    return;
  }
  // Thesis §4.1: only the voters of this node's configuration are asked.
  for (int peer : conf_.voters) {
    if (peer == id_) continue;
    Message& m = outgoing(*fx_, id_, MsgType::RequestVote, peer);
    m.term = term_;
    m.last_log_index = last_index();
    m.last_log_term = last_term();
    m.transfer = transfer;
  }
}

void Node::start_prevote() {
  // Thesis §9.6: ask every peer whether it would vote for this node in
  // term + 1. Term, vote and role stay as they are.
  precandidate_ = true;
  prevote_grants_ = {id_};
  if (tracing()) emit(ev::BecomeCandidate{true});
  fx_->reset_election_timer = true;  // a round without a majority is retried
  if (voters_among(prevote_grants_) >= majority()) {
    start_election();  // a one-node cluster
    return;
  }
  for (int peer : conf_.voters) {
    if (peer == id_) continue;
    Message& m = outgoing(*fx_, id_, MsgType::PreVote, peer);
    m.term = term_ + 1;
    m.last_log_index = last_index();
    m.last_log_term = last_term();
  }
}

void Node::become_leader() {
  expect(role_ == Role::Candidate && voters_among(votes_) >= majority(),
         "only a candidate with votes from a majority becomes leader (§5.2)");
  role_ = Role::Leader;
  leader_id_ = id_;
  if (tracing()) emit(ev::BecomeLeader{std::vector<int>(votes_.begin(), votes_.end())});
  // Figure 2: nextIndex starts just past the leader's log, matchIndex at 0.
  // Where each follower's log matches is unknown, so each is probed first.
  auto slots = static_cast<size_t>(slots_);
  next_index_.assign(slots, last_index() + 1);
  match_index_.assign(slots, 0);
  snap_sending_.assign(slots, 0);
  snap_offset_.assign(slots, 0);
  snap_quiet_beats_.assign(slots, 0);
  probing_.assign(slots, 1);
  commit_sent_.assign(slots, 0);
  recent_active_.assign(slots, 0);
  pending_.clear();
  reads_.clear();
  read_round_ = 0;
  read_acked_.assign(slots, 0);
  round_sent_us_.assign(1, 0);
  lease_until_us_ = 0;
  lease_void_ = false;
  transfer_to_ = 0;
  timeout_now_sent_ = false;
  fx_->arm_heartbeat_timer = true;
  if (options_.check_quorum) fx_->arm_check_quorum_timer = true;
  // §8: a no-op entry of the new term lets the leader commit everything
  // before it (entries of older terms only commit indirectly, Figure 8).
  if (options_.leader_noop) {
    Entry noop{term_, Command{}};
    append_to_log(&noop, &noop + 1);
  }
  broadcast_append();
  leader_advance_commit();
}

void Node::check_quorum() {
  // Thesis §6.2: a leader that has not heard from a majority (itself
  // included) within an election timeout steps down, so that clients stop
  // waiting on a leader that can commit nothing and find the real one.
  // Voters of its configuration only (thesis §4.1).
  std::vector<int> heard{id_};
  int voters_heard = is_voter(id_) ? 1 : 0;
  for (int peer : conf_.voters) {
    if (peer != id_ && recent_active_[peer]) {
      heard.push_back(peer);
      ++voters_heard;
    }
  }
  std::sort(heard.begin(), heard.end());
  if (voters_heard >= majority() || bugs_.leader_ignores_quorum) {
    std::fill(recent_active_.begin(), recent_active_.end(), 0);
    fx_->arm_check_quorum_timer = true;
    return;
  }
  role_ = Role::Follower;
  leader_id_ = 0;
  leader_live_ = false;
  transfer_to_ = 0;
  timeout_now_sent_ = false;
  // Requests appended in this term may still commit under a later leader;
  // this node can no longer promise a reply (the clients retry, as after
  // adopt_term).
  pending_.clear();
  reads_.clear();
  if (tracing()) emit(ev::StepDown{std::move(heard)});
  fx_->reset_election_timer = true;  // a follower again: it may stand for election
}

void Node::become_follower(int leader) {
  role_ = Role::Follower;
  leader_id_ = leader;
  votes_.clear();
  precandidate_ = false;
  prevote_grants_.clear();
  if (tracing()) emit(ev::BecomeFollower{leader});
}

// ---------------------------------------------------------------------------
// RequestVote (§5.2, §5.4.1)

bool Node::candidate_log_up_to_date(const Message& m) const {
  // §5.4.1: compare the terms of the last entries, then the log lengths.
  if (m.last_log_term != last_term()) return m.last_log_term > last_term();
  return m.last_log_index >= last_index();
}

void Node::handle_request_vote(const Message& m) {
  std::string reason;
  if (m.term < term_) {
    reason = "stale_term";
  } else if (!m.transfer && (lease_promised() || (m.term > term_ && leader_sticky()))) {
    // Thesis §4.2.3: a server that heard from a current leader within the
    // election timeout does not grant, nor adopt the term of, a RequestVote:
    // a server that merely cannot hear the leader must not depose it. A
    // leadership transfer's RequestVote (§3.10) is exempt: the leader asked
    // for that election (etcd marks such campaigns the same way).
    // A node that answered a lease round refuses every vote, whatever its
    // term, for a minimum election timeout of its own clock (thesis §6.4.1;
    // lease_promised()).
    reason = "leader_live";
  } else if (m.term > term_) {
    reason = "stale_term";  // only with leader_ignores_higher_term planted
  } else if (vote_ != 0 && vote_ != m.from && !bugs_.vote_twice) {
    reason = "already_voted";  // one vote per term (Figure 2)
  } else if (!candidate_log_up_to_date(m) && !bugs_.vote_without_log_check) {
    reason = "log_not_up_to_date";
  }
  bool granted = reason.empty();
  if (granted) {
    set_term_and_vote(term_, m.from);
    // Figure 2: granting a vote resets the election timer. The timer then no
    // longer measures time since the leader was heard from, so the node stops
    // counting on a live leader (leader_live_ promises contact within one
    // election timeout).
    fx_->reset_election_timer = true;
    leader_live_ = false;
  }
  if (tracing()) emit(ev::Vote{m.from, granted, reason});
  Message r;
  r.type = MsgType::RequestVoteResponse;
  r.to = m.from;
  r.term = term_;
  r.granted = granted;
  r.reason = reason;
  send(std::move(r));
}

void Node::handle_prevote(const Message& m) {
  // Thesis §9.6: grant iff the asked-for term is above this node's, no
  // current leader was heard from within an election timeout (a leader is
  // one itself), and the candidate's log is at least as up to date (§5.4.1).
  // Nothing here changes this node's term or vote.
  std::string reason;
  if (m.term <= term_) {
    reason = "stale_term";
  } else if (role_ == Role::Leader || leader_live_) {
    reason = "leader_live";
  } else if (!candidate_log_up_to_date(m)) {
    reason = "log_not_up_to_date";
  }
  bool granted = reason.empty();
  if (tracing()) emit(ev::Vote{m.from, granted, reason, true});
  Message& r = outgoing(*fx_, id_, MsgType::PreVoteResponse, m.from);
  // The answer names the term asked about, not this node's term: a pre-vote
  // never tells anyone to adopt a term.
  r.term = m.term;
  r.granted = granted;
  r.reason = std::move(reason);
}

void Node::handle_prevote_response(const Message& m) {
  // Only answers to this node's current round count.
  if (!precandidate_ || role_ == Role::Leader || m.term != term_ + 1 || !m.granted) return;
  prevote_grants_.insert(m.from);
  if (voters_among(prevote_grants_) >= majority()) start_election();
}

void Node::handle_vote_response(const Message& m) {
  // Only votes for this node's current candidacy count.
  if (role_ != Role::Candidate || m.term != term_ || !m.granted) return;
  votes_.insert(m.from);
  if (voters_among(votes_) >= majority()) become_leader();
}

// ---------------------------------------------------------------------------
// AppendEntries (§5.3)

void Node::handle_append_entries(const Message& m) {
  // The response, built in place when it is sent (from copies of m's
  // fields: a caller's m may live in the outbox that the response grows).
  auto reply = [this, leader = m.from, prev = m.prev_log_index]() -> Message& {
    Message& r = outgoing(*fx_, id_, MsgType::AppendEntriesResponse, leader);
    // Names the request answered, so the leader can tell a stale reply.
    r.prev_log_index = prev;
    r.term = term_;
    return r;
  };
  if (m.term != term_ || role_ == Role::Leader) {
    // Stale leader (or, with a planted bug, a leader that kept an old term).
    reply().reason = "stale_term";
    return;
  }
  // §5.2: a candidate that hears from a current-term leader steps down.
  if (role_ == Role::Candidate) become_follower(m.from);
  leader_id_ = m.from;
  leader_live_ = true;
  precandidate_ = false;
  fx_->reset_election_timer = true;  // a valid heartbeat from the leader

  // Consistency check: the log must hold prev_log_index with prev_log_term.
  // Entries this node compacted into its snapshot (§7) are committed, so this
  // term's leader holds the same ones (Leader Completeness): they count as
  // held, and the check moves to the snapshot's last entry.
  size_t skip = 0;
  bool prev_ok = m.prev_log_index <= last_index() && term_at(m.prev_log_index) == m.prev_log_term;
  if (m.prev_log_index < snap_index_) {
    prev_ok = true;
    skip = static_cast<size_t>(
        std::min<int64_t>(static_cast<int64_t>(m.entries.size()), snap_index_ - m.prev_log_index));
  }
  if (!prev_ok && !bugs_.skip_prev_log_check) {
    // Hint that lets the leader skip a whole conflicting term per round trip.
    int64_t conflict_term = 0;
    int64_t conflict_index = last_index() + 1;
    if (m.prev_log_index <= last_index()) {
      conflict_term = term_at(m.prev_log_index);
      conflict_index = m.prev_log_index;
      while (conflict_index > snap_index_ + 1 && term_at(conflict_index - 1) == conflict_term) {
        --conflict_index;
      }
    }
    Message& r = reply();
    r.reason = "log_mismatch";
    r.conflict_term = conflict_term;
    r.conflict_index = conflict_index;
    return;
  }

  // Merge: skip entries already held; at the first conflict (same index,
  // different term) delete that entry and all that follow, then append.
  int64_t index = m.prev_log_index;
  size_t i = skip;
  for (; i < m.entries.size(); ++i) {
    index = m.prev_log_index + 1 + static_cast<int64_t>(i);
    if (index > last_index()) break;
    if (term_at(index) == m.entries[i].term) continue;
    if (bugs_.skip_truncate) {
      // Planted bug: overwrite in place and keep the stale suffix.
      overwrite_entry(index, m.entries[i]);
      if (tracing()) emit(ev::Append{index, {m.entries[i]}});
      if (conf_index_ >= index || m.entries[i].cmd.op == Op::Config) reload_membership();
      continue;
    }
    int64_t removed = last_index() - index + 1;
    truncate_log(index);
    if (tracing()) emit(ev::Truncate{index, removed});
    // Thesis §4.1: a configuration entry removed with the tail no longer
    // holds; the latest one left does.
    if (conf_index_ >= index) reload_membership();
    break;
  }
  if (i < m.entries.size()) {
    append_to_log(m.entries.data() + i, m.entries.data() + m.entries.size());
  }

  int64_t last_new = m.prev_log_index + static_cast<int64_t>(m.entries.size());
  verified_ = std::max(verified_, last_new);
  // Figure 2: commitIndex = min(leaderCommit, index of last new entry).
  int64_t new_commit = std::min(m.leader_commit, last_new);
  if (new_commit > commit_) set_commit(new_commit);

  Message& r = reply();
  r.success = true;
  r.match_index = last_new;
}

void Node::handle_append_response(const Message& m) {
  if (role_ != Role::Leader || m.term != term_) return;  // stale reply
  int peer = m.from;
  if (!conf_.is_member(peer)) return;  // removed from the configuration: no longer replicated to
  recent_active_[peer] = 1;            // check_quorum: this follower is reachable
  bool probing = probing_[peer];
  if (m.success) {
    // The follower's log matches the leader's through m.match_index.
    int64_t match = std::max(match_index_[peer], m.match_index);
    // A probe is over once a reply shows a match at nextIndex - 1 or later.
    if (probing && m.match_index + 1 >= next_index_[peer]) probing = false;
    int64_t next = std::max(next_index_[peer], match + 1);
    set_progress(peer, next, match, probing);
    leader_advance_commit();
    // Everything sent is acknowledged: send what was appended meanwhile.
    if (window_free(peer) && next_index_[peer] <= last_index()) send_append(peer);
    if (peer == transfer_to_) maybe_send_timeout_now();  // §3.10: caught up yet?
    return;
  }
  // Log mismatch at m.prev_log_index. A rejection is stale, and ignored,
  // when it answers a request the leader has moved past: one at or below
  // what the follower has since acknowledged, or, while probing, any but the
  // current probe (prev = nextIndex - 1). Acting on a stale one would resend
  // entries that are already there or on their way.
  int64_t rejected = m.prev_log_index;
  if (probing ? rejected != next_index_[peer] - 1 : rejected <= match_index_[peer]) return;
  // Back up nextIndex using the follower's hint: if the leader holds entries
  // of the conflicting term it resumes after its last one; otherwise it
  // skips the follower's whole term (§5.3). Never below what is known to
  // match, never above the index just rejected.
  int64_t next = m.conflict_index;
  if (m.conflict_term > 0) {
    for (int64_t k = last_index(); k > snap_index_; --k) {
      if (term_at(k) == m.conflict_term) {
        next = k + 1;
        break;
      }
      if (term_at(k) < m.conflict_term) break;
    }
  }
  next = std::max(match_index_[peer] + 1, std::min(next, rejected));
  set_progress(peer, next, match_index_[peer], /*probing=*/true);
  send_append(peer);  // the next probe
}

void Node::handle_commit_notification(const Message& m) {
  // The seed's fire-and-forget commit message. Only this term's leader may
  // move the commit index, and only over entries verified to match its log.
  if (m.term != term_ || role_ == Role::Leader) return;
  int64_t new_commit = std::min(m.leader_commit, verified_);
  if (new_commit > commit_) set_commit(new_commit);
}

// ---------------------------------------------------------------------------
// Client requests

void Node::handle_client_request(const Message& m) {
  // Thesis §3.10: while a leadership transfer is under way the leader takes
  // no new commands (they would keep the target's log behind), and refuses
  // them as a non-leader would, with leader hint 0: it is about to stop
  // leading and does not know who will lead next, so the client pauses and
  // tries elsewhere.
  if (role_ != Role::Leader || transfer_to_ != 0) {
    int hint = role_ == Role::Leader ? 0 : leader_id_;
    if (tracing()) emit(ev::RejectClient{m.cmd.client, m.cmd.seq, hint});
    Message r;
    r.type = MsgType::ClientReply;
    r.client = m.cmd.client;
    r.seq = m.cmd.seq;
    r.result = Result{Status::NotLeader, ""};
    r.leader_hint = hint;
    send(std::move(r));
    return;
  }
  if (options_.read_index && m.cmd.op == Op::Get) {
    start_read(m.cmd);
    return;
  }
  Entry entry{term_, m.cmd};
  append_to_log(&entry, &entry + 1);
  pending_[last_index()] = m.cmd;
  replicate_new_entries();
  leader_advance_commit();  // a one-node cluster commits at once
}

// ---------------------------------------------------------------------------
// Log, replication and commit

// Copies straight from where the entries are (a message or the request),
// so each entry is copied once, into the log.
void Node::append_to_log(const Entry* first, const Entry* last) {
  if (first == last) return;
  int64_t first_index = last_index() + 1;
  append_entries_to_log(first, last);
  // The event is built after the append, so its state shows the new log.
  if (tracing()) emit(ev::Append{first_index, std::vector<Entry>(first, last)});
  // Thesis §4.1: a configuration entry takes effect as soon as it is in the
  // log, committed or not; the last one appended wins.
  for (const Entry* e = last; e != first;) {
    --e;
    if (e->cmd.op == Op::Config) {
      set_membership(e->cmd.conf.get(), first_index + (e - first));
      break;
    }
  }
}

void Node::send_append(int peer) {
  int64_t next = next_index_[peer];
  expect(next > match_index_[peer] && next <= last_index() + 1,
         "matchIndex < nextIndex <= lastIndex + 1 for every follower (§5.3)");
  // §7: the entry before nextIndex, needed for the consistency check, or an
  // entry to send, is gone into the snapshot: send the snapshot instead.
  if (next <= snap_index_) {
    send_snapshot(peer);
    return;
  }
  snap_sending_[peer] = 0;
  Message& m = outgoing(*fx_, id_, MsgType::AppendEntries, peer);
  m.term = term_;
  m.prev_log_index = next - 1;
  m.prev_log_term = term_at(next - 1);
  int64_t last = std::min(last_index(), next + kMaxBatch - 1);
  if (last >= next) m.entries.reserve(static_cast<size_t>(last - next + 1));
  for (int64_t k = next; k <= last; ++k) m.entries.push_back(entry(k));
  m.leader_commit = commit_;
  commit_sent_[peer] = std::max(commit_sent_[peer], commit_);
  // Pipelining: once the logs are known to match, assume the entries will
  // arrive and send only newer ones next time. If they are lost or
  // reordered, the follower's rejection of a later message (or of the next
  // heartbeat) sends the leader back to probing (§5.3). A probe leaves
  // nextIndex where it is until the follower answers.
  if (!m.entries.empty() && !probing_[peer]) {
    set_progress(peer, last + 1, match_index_[peer], /*probing=*/false);
  }
}

void Node::broadcast_append() {
  for (int peer : peers_) send_append(peer);
}

bool Node::window_free(int peer) const {
  // Replicating, with everything sent acknowledged.
  return !probing_[peer] && next_index_[peer] - 1 == match_index_[peer];
}

void Node::replicate_new_entries() {
  // A follower being probed gets the new entries with its next probe; one
  // with an AppendEntries in flight gets them when that is acknowledged.
  for (int peer : peers_) {
    if (window_free(peer) && next_index_[peer] <= last_index()) send_append(peer);
  }
}

void Node::flush_commit_notifications() {
  // The seed's CommitNotification tells a follower of a new commit index at
  // once, but only one that nothing else will tell soon: a follower with an
  // AppendEntries in flight (or being probed) learns it from the next
  // AppendEntries, which carries leaderCommit. So one notification per
  // follower covers every commit advance while it was busy.
  for (int peer : peers_) {
    if (!window_free(peer) || commit_sent_[peer] >= commit_) continue;
    Message& m = outgoing(*fx_, id_, MsgType::CommitNotification, peer);
    m.term = term_;
    m.leader_commit = commit_;
    commit_sent_[peer] = commit_;
  }
}

void Node::set_progress(int peer, int64_t next, int64_t match, bool probing) {
  if (next_index_[peer] == next && match_index_[peer] == match && probing_[peer] == probing) {
    return;
  }
  next_index_[peer] = next;
  match_index_[peer] = match;
  probing_[peer] = probing;
  if (tracing()) emit(ev::Progress{peer, next, match, probing});
}

void Node::leader_advance_commit() {
  // Figure 2 / §5.4.2: commit the highest N replicated on a majority whose
  // entry is from the current term. Older-term entries are never committed
  // by counting replicas (Figure 8); they commit with the first current-term
  // entry above them.
  // The highest index held by a majority is the majority()-th largest of
  // the match indexes of the voters of the leader's configuration (thesis
  // §4.1), counting the leader's own last index if it is one (§4.2.2: a
  // leader removing itself does not count itself).
  std::vector<int64_t>& matches = scratch_;
  matches.clear();
  for (int peer : conf_.voters) {
    matches.push_back(peer == id_ ? last_index() : match_index_[peer]);
  }
  auto kth = matches.begin() + (majority() - 1);
  if (matches.size() <= 8) {
    // Runs on every AppendEntries response: for a handful of values an
    // insertion sort is several times cheaper than nth_element's setup.
    for (size_t i = 1; i < matches.size(); ++i) {
      int64_t v = matches[i];
      size_t j = i;
      for (; j > 0 && matches[j - 1] < v; --j) matches[j] = matches[j - 1];
      matches[j] = v;
    }
  } else {
    std::nth_element(matches.begin(), kth, matches.end(), std::greater<int64_t>());
  }
  int64_t n = *kth;
  if (n <= commit_) return;
  if (term_at(n) == term_) {
    set_commit(n);
    return;
  }
  if (!bugs_.commit_old_term) return;
  // Planted bug: count replicas of an older-term entry and commit it.
  set_commit(n);
}

void Node::set_commit(int64_t index) {
  // Correct code never commits past its log; a planted bug (skipping the
  // prev-log check) can ask to, and must give a wrong trace, not a crash.
  index = std::min(index, last_index());
  if (index <= commit_) return;
  expect(role_ != Role::Leader || term_at(index) == term_,
         "a leader commits by counting replicas only entries of its own term (§5.4.2)");
  int64_t old_commit = commit_;
  commit_ = index;
  if (tracing()) emit(ev::Commit{old_commit});
  apply_committed();
  // A leader tells its followers at the end of the step
  // (flush_commit_notifications).
}

void Node::apply_committed() {
  // Figure 2: apply log[lastApplied+1 .. commitIndex] in order.
  int64_t limit = bugs_.apply_before_commit ? last_index() : std::min(commit_, last_index());
  while (applied_ < limit) {
    ++applied_;
    expect(applied_ <= commit_,
           "only committed entries are applied (State Machine Safety, §5.4.3)");
    const Entry& e = entry(applied_);
    if (e.cmd.op == Op::Config)
      store_.set_config(applied_, e.cmd.conf.get());  // a snapshot carries it
    Result result = store_.apply(e.cmd, bugs_.no_client_dedup       ? DedupMode::Off
                                        : bugs_.dedup_last_seq_only ? DedupMode::LastSeqOnly
                                                                    : DedupMode::Full);
    if (tracing()) emit(ev::Apply{applied_, e, result});
    auto it = pending_.find(applied_);
    if (it == pending_.end()) continue;
    // The leader answers the client only now: the entry is committed and was
    // appended in the leader's current term (pending_ is cleared on a term
    // change).
    if (role_ == Role::Leader && it->second == e.cmd) {
      Message& r = outgoing(*fx_, id_, MsgType::ClientReply, 0);
      r.client = e.cmd.client;
      r.seq = e.cmd.seq;
      r.result = std::move(result);
      r.leader_hint = id_;
    }
    pending_.erase(it);
  }
}

// ---------------------------------------------------------------------------
// Reads without log entries (thesis §6.4, [raft] read_mode = "read_index")

void Node::start_read(const Command& cmd) {
  PendingRead read{cmd, 0, 0};
  // §6.4 step 1: the commit index is the read index only once an entry of
  // this term is committed; until then a new leader may not yet know which
  // entries are committed (its no-op settles that).
  if (term_at(commit_) == term_) read.index = commit_;
  // §6.4.1: within a lease no other leader can exist, so no round is needed
  // (round 0: none; serve_reads answers it while the lease lasts, and the
  // heartbeat gives it a round if the lease runs out first).
  if (lease_valid()) {
    reads_.push_back(std::move(read));
    return;
  }
  // §6.4 step 2: only a round sent after the read was taken proves that no
  // other leader had been elected when the read arrived. One round serves
  // every read taken in the same step.
  if (!read_round_in_step_) start_read_round();
  read.round = read_round_;
  reads_.push_back(std::move(read));
}

void Node::start_read_round() {
  ++read_round_;
  read_round_in_step_ = true;
  if (options_.lease_reads) round_sent_us_.push_back(fx_->clock_us);
  for (int peer : conf_.voters) {
    if (peer == id_) continue;
    Message& m = outgoing(*fx_, id_, MsgType::ReadConfirm, peer);
    m.term = term_;
    m.round = read_round_;
  }
}

void Node::handle_read_confirm(const Message& m) {
  // The answer carries this node's term: equal to the asker's, it confirms
  // that this node knows no newer leader; higher, it deposes the asker (its
  // term_update on receipt), which then answers none of its reads.
  Message& r = outgoing(*fx_, id_, MsgType::ReadConfirmResponse, m.from);
  r.term = term_;
  r.round = m.round;
  // Thesis §6.4.1: with leases, answering the round (in the asker's term) is
  // a promise to elect no other leader for a minimum election timeout of this
  // node's clock, and the election timer restarts so that this node does not
  // stand itself meanwhile: the asker counts its lease from before this moment.
  if (options_.lease_reads && m.term == term_ && role_ != Role::Leader) {
    promise_until_us_ = fx_->clock_us + options_.election_timeout_min_ms * 1000;
    leader_live_ = true;
    fx_->reset_election_timer = true;
  }
}

void Node::handle_read_confirm_response(const Message& m) {
  if (role_ != Role::Leader || m.term != term_) return;  // stale answer
  if (m.round > read_round_) return;  // answers no round this leader sent (made by hand)
  if (!is_voter(m.from)) return;      // only voters confirm leadership (thesis §4.1)
  read_acked_[m.from] = std::max(read_acked_[m.from], m.round);
  recent_active_[m.from] = 1;  // check_quorum: this follower is reachable
  if (options_.lease_reads) extend_lease();
}

void Node::extend_lease() {
  // The newest round a majority answered (the leader answers its own rounds
  // as it sends them): the majority-th highest round answered.
  std::vector<int64_t>& rounds = scratch_;
  rounds.clear();
  for (int peer : conf_.voters) rounds.push_back(peer == id_ ? read_round_ : read_acked_[peer]);
  std::nth_element(rounds.begin(), rounds.begin() + (majority() - 1), rounds.end(),
                   std::greater<>());
  int64_t round = rounds[static_cast<size_t>(majority() - 1)];
  if (round < 1) return;
  lease_until_us_ =
      std::max(lease_until_us_, round_sent_us_[static_cast<size_t>(round)] + lease_us_);
}

bool Node::read_round_confirmed(int64_t round) const {
  int acks = is_voter(id_) ? 1 : 0;  // the leader itself
  for (int peer : conf_.voters) {
    if (peer != id_ && read_acked_[peer] >= round) ++acks;
  }
  return acks >= majority();
}

void Node::serve_reads() {
  if (role_ != Role::Leader) return;
  auto unanswered = reads_.begin();
  for (PendingRead& read : reads_) {
    if (read.index == 0 && term_at(commit_) == term_) read.index = commit_;
    // §6.4 steps 3 and 4: leadership confirmed by a majority, and the state
    // machine caught up with the read index. The planted bug skips the
    // confirmation, so a deposed leader that does not know it answers from
    // its stale state machine.
    // A read with no round (taken on a lease) or whose round is not yet
    // confirmed may still be answered on a lease valid now (§6.4.1).
    bool by_round = read.round != 0 && read_round_confirmed(read.round);
    bool by_lease = !by_round && lease_valid();
    bool confirmed = bugs_.read_index_without_confirm || by_round || by_lease;
    if (read.index == 0 || !confirmed || applied_ < read.index) {
      if (&*unanswered != &read) *unanswered = std::move(read);
      ++unanswered;
      continue;
    }
    auto it = store_.data().find(read.cmd.key);
    Result result =
        it == store_.data().end() ? Result{Status::NotFound, ""} : Result{Status::Ok, it->second};
    if (tracing()) {
      emit(ev::Read{read.cmd.client, read.cmd.seq, read.cmd.key, read.index, result,
                    options_.lease_reads ? std::optional<bool>(by_lease) : std::nullopt});
    }
    Message& r = outgoing(*fx_, id_, MsgType::ClientReply, 0);
    r.client = read.cmd.client;
    r.seq = read.cmd.seq;
    r.result = std::move(result);
    r.leader_hint = id_;
  }
  reads_.erase(unanswered, reads_.end());
}

// ---------------------------------------------------------------------------
// Log compaction (Raft paper §7, [raft] snapshot_every)

void Node::maybe_take_snapshot() {
  if (applied_ - snap_index_ < options_.snapshot_every) return;
  // A leader sending its snapshot to a follower that keeps taking chunks waits
  // until that transfer is over: a new snapshot would discard the entries the
  // follower needs right after the one it is receiving, so it would have to
  // start again with the new one, and under steady load (a snapshot taken
  // faster than a chunked transfer completes) it would never catch up. A
  // transfer with no answer for two heartbeats (the follower is down or cut
  // off, or answers without taking anything) holds nothing back, so the
  // leader's log stays bounded.
  if (role_ == Role::Leader) {
    for (int peer : peers_) {
      if (snap_sending_[peer] != 0 && snap_quiet_beats_[peer] <= 2) return;
    }
  }
  // §7: "each server takes snapshots independently, covering just the
  // committed entries in its log": the state machine as it is, after
  // applying entries through applied_ <= commit_.
  int64_t index = applied_;
  if (bugs_.snapshot_uncommitted && last_index() > applied_) {
    // Planted bug: the snapshot runs ahead of the commit index, folding the
    // uncommitted rest of the log into the state machine, which a new leader
    // may yet replace.
    for (int64_t k = applied_ + 1; k <= last_index(); ++k) {
      if (entry(k).cmd.op == Op::Config) store_.set_config(k, entry(k).cmd.conf.get());
      (void)store_.apply(entry(k).cmd);
    }
    index = applied_ = last_index();
  }
  expect(index <= commit_, "a snapshot covers only committed, applied entries (§7)");
  auto snap = std::make_shared<Snapshot>();
  snap->index = index;
  snap->term = term_at(index);
  snap->data = store_.encode();
  log_.erase(log_.begin(), log_.begin() + (index - snap_index_));
  snap_index_ = index;
  snap_term_ = snap->term;
  snapshot_ = std::move(snap);
  snapshot_unsynced_ = true;
  if (tracing()) {
    emit(ev::Snapshot{index, snap_term_, store_.digest(),
                      static_cast<int64_t>(store_.data().size()),
                      static_cast<int64_t>(snapshot_->data.size())});
  }
}

void Node::send_snapshot(int peer) {
  // A new snapshot (or the first) is sent from its start.
  if (snap_sending_[peer] != snap_index_) {
    snap_sending_[peer] = snap_index_;
    snap_offset_[peer] = 0;
    snap_quiet_beats_[peer] = 0;
  }
  // Nothing else goes to this follower until the snapshot is in.
  if (!probing_[peer]) set_progress(peer, next_index_[peer], match_index_[peer], true);
  const std::string& data = snapshot_->data;
  auto size = static_cast<int64_t>(data.size());
  int64_t offset = std::min(snap_offset_[peer], size);
  int64_t end = size;
  if (options_.snapshot_chunk_bytes > 0 && size - offset > options_.snapshot_chunk_bytes) {
    // A chunk never ends inside a UTF-8 character (continuation bytes are
    // 10xxxxxx): the trace carries `data` as a JSON string. A character
    // longer than the chunk size goes whole.
    end = offset + options_.snapshot_chunk_bytes;
    auto continuation = [&](int64_t k) {
      return k < size && (static_cast<unsigned char>(data[static_cast<size_t>(k)]) & 0xC0) == 0x80;
    };
    while (end > offset && continuation(end)) --end;
    if (end == offset) {
      end = offset + 1;
      while (continuation(end)) ++end;
    }
  }
  Message& m = outgoing(*fx_, id_, MsgType::InstallSnapshot, peer);
  m.term = term_;
  m.snap_index = snap_index_;
  m.snap_term = snap_term_;
  m.offset = offset;
  m.data.assign(data, static_cast<size_t>(offset), static_cast<size_t>(end - offset));
  m.done = end == size;
}

void Node::handle_install_snapshot(const Message& m) {
  auto reply = [this, leader = m.from, index = m.snap_index](int64_t offset, bool done) {
    Message& r = outgoing(*fx_, id_, MsgType::InstallSnapshotResponse, leader);
    r.term = term_;
    r.snap_index = index;
    r.offset = offset;
    r.done = done;
  };
  // Figure 13: "reply immediately if term < currentTerm" (a higher term was
  // adopted on receipt); the answer's term deposes the stale sender.
  if (role_ == Role::Leader || m.term != term_) {
    reply(0, false);
    return;
  }
  // From this term's leader, as a valid AppendEntries is (§5.2).
  if (role_ != Role::Follower) become_follower(m.from);
  leader_id_ = m.from;
  leader_live_ = true;
  precandidate_ = false;
  fx_->reset_election_timer = true;
  // A snapshot the commit index already covers brings nothing: this node
  // holds those entries, committed, in its log or its own snapshot (§7:
  // never replace state that is further along).
  if (m.snap_index <= commit_) {
    if (incoming_ && incoming_->index <= commit_) incoming_.reset();
    reply(0, true);
    return;
  }
  bool same = incoming_ && incoming_->index == m.snap_index && incoming_->term == m.snap_term;
  if (!same) {
    // Figure 13: "create new snapshot file if first chunk"; a later chunk of
    // a snapshot this node never began (it restarted, or chunks were lost)
    // asks the leader to start again. A first chunk of an older snapshot
    // (a late duplicate) does not replace a newer one being received.
    // A leader's snapshots only grow within its term, so a first chunk of an
    // older one from the same leader is a late duplicate: it does not replace
    // the newer snapshot being received. One from a newer leader always does.
    bool late = incoming_ && incoming_leader_term_ == m.term && incoming_->index > m.snap_index;
    if (m.offset != 0 || late) {
      reply(0, false);
      return;
    }
    incoming_ = Snapshot{m.snap_index, m.snap_term, ""};
    incoming_leader_term_ = m.term;
  }
  auto held = static_cast<int64_t>(incoming_->data.size());
  if (m.offset == held) {
    incoming_->data += m.data;
    held += static_cast<int64_t>(m.data.size());
    // Figure 13: "reply and wait for more data chunks if done is false".
    if (m.done) {
      Snapshot snap = std::move(*incoming_);
      incoming_.reset();
      bool installed = install_snapshot(snap.index, snap.term, std::move(snap.data));
      reply(0, installed);
      return;
    }
  }
  // A chunk already held (a duplicate) or past what is held (an earlier one
  // was lost): the answer says where to go on from.
  reply(held, false);
}

bool Node::install_snapshot(int64_t index, int64_t term, std::string data) {
  KvStore store;
  if (!KvStore::decode(data, &store)) return false;
  expect(index > commit_, "a snapshot is installed only past the commit index (§7)");
  // Figure 13: "if existing log entry has same index and term as snapshot's
  // last included entry, retain log entries following it"; the entries
  // after it may be acknowledged to the leader and counted for a commit, so
  // dropping them could lose a committed write. Otherwise "discard the
  // entire log": nothing in it is known to match. The planted bug discards
  // the matching suffix too.
  int64_t kept = 0;
  if (index <= last_index() && term_at(index) == term && !bugs_.install_discards_log) {
    kept = last_index() - index;
    log_.erase(log_.begin(), log_.begin() + (index - snap_index_));
  } else {
    log_.clear();
  }
  snap_index_ = index;
  snap_term_ = term;
  snapshot_ = std::make_shared<Snapshot>(Snapshot{index, term, std::move(data)});
  snapshot_unsynced_ = true;
  // "Reset state machine using snapshot contents": the state through index,
  // which the leader committed.
  store_ = std::move(store);
  commit_ = applied_ = index;
  verified_ = std::max(verified_, index);  // the leader's log through index
  dirty_ = true;                           // the stored log changes: its prefix or all of it
  unsynced_from_ = std::min(unsynced_from_, last_index() + 1);
  if (tracing()) {
    emit(ev::InstallSnapshot{index, term, store_.digest(),
                             static_cast<int64_t>(store_.data().size()), kept});
  }
  // The snapshot's configuration, or a later one in the kept suffix (§7,
  // Figure 13's "last config").
  reload_membership();
  return true;
}

void Node::handle_install_snapshot_response(const Message& m) {
  if (m.term != term_ || role_ != Role::Leader) return;  // stale, or not for this leader
  int peer = m.from;
  if (!conf_.is_member(peer)) return;  // removed from the configuration
  recent_active_[peer] = 1;            // check_quorum: this follower is reachable
  if (m.done) {
    // The follower holds the state through m.snap_index (installed, or its
    // commit index was there already).
    int64_t match = std::max(match_index_[peer], m.snap_index);
    if (match > last_index()) return;  // not a snapshot of this leader's log (made by hand)
    if (match < snap_sending_[peer]) {
      // A late answer about an older snapshot: the transfer under way goes on.
      set_progress(peer, std::max(next_index_[peer], match + 1), match, probing_[peer]);
      return;
    }
    // The transfer is over: replicate from there.
    snap_sending_[peer] = 0;
    set_progress(peer, std::max(next_index_[peer], match + 1), match, /*probing=*/false);
    leader_advance_commit();
    if (window_free(peer) && next_index_[peer] <= last_index()) send_append(peer);
    if (peer == transfer_to_) maybe_send_timeout_now();
    return;
  }
  // Not yet: only answers about the snapshot being sent count.
  if (snap_sending_[peer] != m.snap_index || m.snap_index != snap_index_) return;
  if (m.offset > snap_offset_[peer]) {
    snap_quiet_beats_[peer] = 0;    // the transfer is moving: it holds compaction back
    snap_offset_[peer] = m.offset;  // the previous chunk arrived: the next one
    send_snapshot(peer);
  } else if (m.offset < snap_offset_[peer]) {
    // The follower lost what it had (it restarted), or this is a late answer
    // overtaken by a later one: go on from the offset it names, with the next
    // heartbeat (a late answer costs one resent chunk, which the follower,
    // holding more, answers with where it really is).
    snap_offset_[peer] = m.offset;
  }
}

// ---------------------------------------------------------------------------
// State encoding for `raftkv explore`'s visited set.

using namespace state_encoding;

void Node::encode_state(std::string& out, const std::vector<int>* rename) const {
  // Server ids through `rename` (the identity without one).
  auto id = [rename](int x) -> int64_t {
    return rename != nullptr && x > 0 && static_cast<size_t>(x) < rename->size()
               ? (*rename)[static_cast<size_t>(x)]
               : x;
  };
  // A set of server ids, renamed and in ascending order again.
  auto ids = [&](const auto& set) {
    std::vector<int64_t> v;
    v.reserve(set.size());
    for (int x : set) v.push_back(id(x));
    if (rename != nullptr) std::sort(v.begin(), v.end());
    put_ints(out, v);
  };
  // A table indexed by peer id, each value moved to its peer's new index.
  auto by_peer = [&](const auto& table) {
    if (rename == nullptr) return put_ints(out, table);
    std::vector<int64_t> v(table.size());
    for (size_t i = 0; i < table.size(); ++i) {
      v[static_cast<size_t>(id(static_cast<int>(i)))] = static_cast<int64_t>(table[i]);
    }
    put_ints(out, v);
  };
  // A command; a configuration entry's members are server ids.
  auto command = [&](const Command& c) {
    put_int(out, static_cast<int64_t>(c.op));
    put_str(out, c.key);
    put_str(out, c.value);
    put_int(out, c.client);
    put_int(out, c.seq);
    ids(c.conf.get().voters);
    ids(c.conf.get().learners);
  };
  // Persistent state (Figure 2): term, vote, log; the compacted prefix (§7).
  put_int(out, term_);
  put_int(out, id(vote_));
  put_int(out, static_cast<int64_t>(log_.size()));
  for (const Entry& e : log_) {
    put_int(out, e.term);
    command(e.cmd);
  }
  put_int(out, snap_index_);
  put_int(out, snap_term_);
  put_str(out, snapshot_ ? snapshot_->data : std::string());
  put_int(out, incoming_ ? incoming_->index : -1);
  if (incoming_) {
    put_int(out, incoming_->term);
    put_str(out, incoming_->data);
    put_int(out, incoming_leader_term_);
  }
  // The configuration in effect (thesis §4.1).
  put_int(out, conf_index_);
  ids(conf_.voters);
  ids(conf_.learners);
  put_int(out, slots_);
  // Volatile state on all servers, and the state machine it applied to.
  put_int(out, static_cast<int64_t>(role_));
  put_int(out, commit_);
  put_int(out, applied_);
  put_str(out, store_.encode());
  put_int(out, id(leader_id_));
  put_int(out, verified_);
  put_int(out, precandidate_ ? 1 : 0);
  ids(prevote_grants_);
  put_int(out, leader_live_ ? 1 : 0);
  put_int(out, promise_until_us_);
  put_int(out, restarted_ ? 1 : 0);
  put_int(out, dirty_ ? 1 : 0);
  put_int(out, unsynced_from_);
  // Candidate state: start_election resets the votes, and only a candidate
  // counts them, so they matter only while this node is a candidate.
  if (role_ == Role::Candidate) ids(votes_);
  // Leader state: become_leader reinitializes all of it (Figure 2, "Volatile
  // state on leaders, reinitialized after election"), so only a leader's
  // counts.
  if (role_ == Role::Leader) {
    by_peer(next_index_);
    by_peer(match_index_);
    by_peer(probing_);
    by_peer(commit_sent_);
    by_peer(snap_sending_);
    by_peer(snap_offset_);
    // Only "more than two" matters of a quiet count (maybe_take_snapshot),
    // so counts past three encode alike: states that differ in them behave
    // the same, and heartbeats would otherwise make new states forever.
    std::vector<int64_t> quiet = snap_quiet_beats_;
    for (int64_t& q : quiet) q = std::min<int64_t>(q, 3);
    by_peer(quiet);
    by_peer(recent_active_);
    put_int(out, static_cast<int64_t>(pending_.size()));
    for (const auto& [index, cmd] : pending_) {
      put_int(out, index);
      command(cmd);
    }
    put_int(out, static_cast<int64_t>(reads_.size()));
    for (const PendingRead& r : reads_) {
      command(r.cmd);
      put_int(out, r.index);
      put_int(out, r.round);
    }
    put_int(out, read_round_);
    by_peer(read_acked_);
    put_int(out, static_cast<int64_t>(round_sent_us_.size()));  // by round, not by peer
    for (int64_t t : round_sent_us_) put_int(out, t);
    put_int(out, lease_until_us_);
    put_int(out, lease_void_ ? 1 : 0);
    put_int(out, id(transfer_to_));
    put_int(out, timeout_now_sent_ ? 1 : 0);
  }
}

}  // namespace raftkv
