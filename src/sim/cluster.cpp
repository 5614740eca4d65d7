#include "sim/cluster.h"

#include "trace/event_table.h"
#include "trace/json_writer.h"
#include "trace/line_encoder.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <sstream>

#include "config/config_json.h"

namespace raftkv {

namespace {

// The log a run will likely build: one entry per client operation, plus
// retried duplicates and each leader's no-op. Capped, so a huge workload cut
// short by the time limit does not reserve what it never uses; a log that
// outgrows the reserve grows as before.
int64_t expected_log_entries(const Config& cfg) {
  int64_t ops = static_cast<int64_t>(cfg.num_clients) * std::max(0, cfg.requests_per_client);
  int64_t entries = std::min<int64_t>(ops + ops / 8 + 64, int64_t{1} << 20);
  // With snapshots (Raft §7) a log holds about snapshot_every entries plus
  // those not yet applied: reserving the whole run would keep the memory the
  // snapshots are there to save.
  if (cfg.raft.snapshot_every > 0) entries = std::min(entries, 2 * cfg.raft.snapshot_every + 256);
  return entries;
}

}  // namespace

struct Cluster::ClientState {
  int id = 0;
  int target = 0;  // node the client believes is the leader
  int64_t seq = 0;
  int remaining = 0;
  bool busy = false;
  Command cmd;
  int64_t invoked_ms = 0;
  uint64_t gen = 0;   // invalidates timeouts and resends of earlier attempts
  TimerSlot timeout;  // the request's timeout (ClientTimeout)
  bool scripted = false;
  std::deque<Command> script;
  const ClientConfig* schedule = nullptr;  // its [[clients]] entry, if listed
};

Cluster::Cluster(const Config& cfg, PlantedBugs bugs)
    : cfg_(cfg),
      max_id_(max_node_id(cfg)),
      node_options_{.leader_noop = cfg.leader_noop,
                    .bugs = bugs,
                    .log_reserve = expected_log_entries(cfg),
                    .pre_vote = cfg.raft.pre_vote,
                    .check_quorum = cfg.raft.check_quorum,
                    .read_index = cfg.raft.read_mode != ReadMode::Log,
                    .lease_reads = cfg.raft.read_mode == ReadMode::Lease,
                    .election_timeout_min_ms = cfg.timing.election_timeout_min_ms,
                    .clock_drift_ppm = cfg.timing.clock_drift_ppm,
                    .snapshot_every = cfg.raft.snapshot_every,
                    .snapshot_chunk_bytes = cfg.raft.snapshot_chunk_bytes},
      clocks_(max_id_, cfg.timing.clock_drift_ppm),
      rng_(cfg.seed),
      nodes_(cfg.num_nodes, node_options_, max_id_),
      network_(cfg.network),
      latency_min_ms_(cfg.timing.network_latency_min_ms),
      latency_max_ms_(cfg.timing.network_latency_max_ms) {
  int n = max_id_;
  joined_.assign(n + 1, 0);
  left_.assign(n + 1, 0);
  for (int id = 1; id <= cfg_.num_nodes; ++id) joined_[id] = 1;
  election_gen_.assign(n + 1, 0);
  election_slot_.assign(n + 1, TimerSlot{});
  heartbeat_gen_.assign(n + 1, 0);
  check_quorum_gen_.assign(n + 1, 0);
  transfer_gen_.assign(n + 1, 0);
  group_of_.assign(n + 1, 0);
  clients_.resize(cfg_.num_clients + 1);
  // Every client operation completes once, so the history's final size is
  // known: reserving it (pages are touched only as it fills) spares the
  // copies and fresh pages of a doubling vector. Capped, so a huge workload
  // cut short by the time limit does not reserve what it never uses.
  int64_t ops = static_cast<int64_t>(cfg_.num_clients) * std::max(0, cfg_.requests_per_client);
  history_.reserve(static_cast<size_t>(std::min<int64_t>(ops, int64_t{1} << 20)));
  stats_.requests_planned = ops;
  for (int c = 1; c <= cfg_.num_clients; ++c) {
    clients_[c] = std::make_unique<ClientState>();
    clients_[c]->id = c;
    clients_[c]->remaining = cfg_.requests_per_client;
  }
  for (const ClientConfig& listed : cfg_.clients) {
    ClientState& c = *clients_.at(static_cast<size_t>(listed.id));
    c.schedule = &listed;
    if (listed.count) {
      c.remaining = *listed.count;
    } else if (!listed.commands.empty()) {
      std::vector<Command> script;
      for (const std::string& text : listed.commands) {
        std::string error;
        std::optional<ClientCommand> parsed = parse_client_command(text, &error);
        if (!parsed) throw ConfigError(error);  // validate_config refuses it first
        Command& cmd = script.emplace_back();
        cmd.op = parsed->op == "put" ? Op::Put : parsed->op == "get" ? Op::Get : Op::Delete;
        cmd.key = parsed->key;
        cmd.value = parsed->value;
      }
      c.scripted = true;
      c.script.assign(script.begin(), script.end());
      c.remaining = static_cast<int>(script.size());
    }
    stats_.requests_planned += c.remaining - cfg_.requests_per_client;
  }
}

Cluster::~Cluster() = default;

void Cluster::add_sink(TraceSink* sink) {
  sinks_.push_back(sink);
  lines_only_ = lines_only_ && sink->lines_only();
  may_defer_ = sinks_.size() == 1 && lines_only_;
  defer_next_ = may_defer_ && sinks_[0]->takes_deferred();
  lent_ = sinks_.size() == 1 && lines_only_ ? sinks_[0]->line_buffer() : nullptr;
}

void Cluster::set_drop_filter(std::function<bool(const Message&)> filter) {
  drop_filter_ = std::move(filter);
}

void Cluster::set_client_script(int client, std::vector<Command> script) {
  ClientState& c = *clients_.at(client);
  c.scripted = true;
  c.script.assign(script.begin(), script.end());
  stats_.requests_planned += static_cast<int64_t>(script.size()) - c.remaining;
  c.remaining = static_cast<int>(script.size());
}

json Cluster::header() const {
  return json{{"format", "raftkv-trace"},
              {"version", trace::kTraceVersion},
              {"seed", cfg_.seed},
              {"config", config_to_json(cfg_)},
              {"planted_bugs", planted_bug_list(node_options_.bugs)}};
}

// ---------------------------------------------------------------------------
// Scheduler

void Cluster::schedule(int64_t at, ItemKind kind, int target, uint64_t gen) {
  Item item;
  item.time = at;
  item.order = next_order_++;
  item.kind = kind;
  item.target = target;
  item.gen = gen;
  push_item(item);
}

void Cluster::arm_slot(TimerSlot& slot, int64_t at, ItemKind kind, int target, uint64_t gen) {
  slot.due = at;
  slot.order = next_order_++;
  slot.gen = gen;
  // The item in the queue pops in time to push this arming, unless it is due
  // after it (a shorter random timeout): then this arming needs its own item,
  // and the later one is stale when it pops.
  if (slot.queued && slot.queued_time <= at) return;
  Item item;
  item.time = at;
  item.order = slot.order;
  item.kind = kind;
  item.target = target;
  item.gen = gen;
  push_item(item);
  slot.queued = true;
  slot.queued_time = at;
  slot.queued_order = slot.order;
}

bool Cluster::slot_fires(TimerSlot& slot, const Item& item, bool live) {
  // An item that no longer stands for the timer: a stale arming.
  if (!slot.queued || item.order != slot.queued_order) return false;
  slot.queued = false;
  if (item.order == slot.order) return true;
  if (!live) return false;  // cancelled since its last arming
  Item next = item;
  next.time = slot.due;
  next.order = slot.order;
  next.gen = slot.gen;
  push_item(next);
  slot.queued = true;
  slot.queued_time = slot.due;
  slot.queued_order = slot.order;
  return false;
}

void Cluster::schedule_delivery(int64_t at, Message&& msg) {
  Item item;
  item.time = at;
  item.order = next_order_++;
  item.kind = ItemKind::Deliver;
  if (free_msgs_.empty()) {
    item.msg = &msg_pool_.emplace_back(std::move(msg));
  } else {
    item.msg = free_msgs_.back();
    free_msgs_.pop_back();
    *item.msg = std::move(msg);
  }
  ++stats_.messages_in_flight;
  push_item(item);
}

void Cluster::schedule_in_batch(int64_t at, Message& msg, int batch) {
  Item item;
  item.time = at;
  item.order = next_order_++;
  item.kind = ItemKind::Deliver;
  item.target = batch;
  item.msg = &msg;
  ++batches_[static_cast<size_t>(batch - 1)].in_flight;
  ++stats_.messages_in_flight;
  push_item(item);
}

void Cluster::release_batch(int batch) {
  batches_[static_cast<size_t>(batch - 1)].msgs.clear();  // keeps its capacity
  free_batches_.push_back(batch);
}

void Cluster::push_item(const Item& item) { queue_.push(item); }

void Cluster::start() {
  started_ = true;
  for (int id = 1; id <= cfg_.num_nodes; ++id) {
    nodes_.up(id);
    emit_input("start", id);
    run_node_step(id, [this, id](Effects& fx) { nodes_.start(id, fx); });
  }
  // As in the seed, the runtime pokes one node to start the first election
  // at once; initial_leader = 0 leaves it to the election timeouts.
  if (cfg_.initial_leader > 0) schedule(0, ItemKind::StartElection, cfg_.initial_leader);
  for (size_t i = 0; i < cfg_.faults.size(); ++i) {
    schedule(cfg_.faults[i].at_ms, ItemKind::Fault, static_cast<int>(i));
    last_fault_ms_ = std::max(last_fault_ms_, cfg_.faults[i].at_ms);
  }
  // Clients with a start or stop time of their own; the others start with
  // the first leader (start_clients).
  for (const ClientConfig& listed : cfg_.clients) {
    if (listed.start_ms) schedule(*listed.start_ms, ItemKind::ClientStart, listed.id);
    if (listed.stop_ms) schedule(*listed.stop_ms, ItemKind::ClientStop, listed.id);
  }
  if (cfg_.nemesis.enabled) schedule_nemesis();
}

int64_t Cluster::settled_ms() const {
  if (stats_.clients_done_ms < 0) return -1;
  return std::max(stats_.clients_done_ms, last_fault_ms_);
}

bool Cluster::done() const {
  if (now_ >= cfg_.time_limit_ms) return true;
  if (stats_.clients_done_ms < 0) return false;
  int64_t end = settled_ms() + cfg_.linger_ms;
  return now_ >= end && (cfg_.linger_ms == 0 || converged());
}

int64_t ClientTotals::latency_percentile(double p) const {
  int64_t n = answered();
  if (n == 0) return 0;
  // Nearest rank: the smallest latency with at least a fraction p of the answers at or below it.
  auto rank = static_cast<int64_t>(p * static_cast<double>(n) + 0.999999);
  rank = std::clamp<int64_t>(rank, 1, n);
  int64_t seen = 0;
  for (size_t ms = 0; ms < latency_ms.size(); ++ms) {
    seen += latency_ms[ms];
    if (seen >= rank) return static_cast<int64_t>(ms);
  }
  return static_cast<int64_t>(latency_ms.size()) - 1;
}

int64_t ClientTotals::latency_max() const {
  for (size_t ms = latency_ms.size(); ms > 0; --ms) {
    if (latency_ms[ms - 1] > 0) return static_cast<int64_t>(ms) - 1;
  }
  return 0;
}

bool Cluster::converged() const {
  std::optional<int> l = leader();
  if (!l) return false;
  const Node& leader = nodes_.node(*l);
  int64_t commit = leader.commit_index();
  // The leader's latest commit must be of its term (§5.4.2: only then does
  // it know every earlier entry is committed). Without the no-op a leader
  // commits nothing of its own until a client sends a command, which may
  // never come: its commit index as it stands is then all there is to agree on.
  int64_t commit_term = leader.term_at(commit);
  if (cfg_.leader_noop && commit_term != leader.term()) return false;
  for (int id = 1; id <= max_id_; ++id) {
    if (!nodes_.is_up(id)) continue;
    const Node& n = nodes_.node(id);
    if (n.term() != leader.term() || n.last_applied() != commit) return false;
  }
  // A membership change still asked for is not over (thesis §4.1).
  return std::all_of(changes_.begin(), changes_.end(),
                     [](const RunStats::MembershipChange& c) { return c.done_ms >= 0; });
}

bool Cluster::applied_prefixes_differ() const {
  // Against the up node that applied most: Log Matching makes every other
  // applied prefix a prefix of its log.
  const Node* most = nullptr;
  for (int id = 1; id <= max_id_; ++id) {
    if (nodes_.is_up(id) && (!most || nodes_.node(id).last_applied() > most->last_applied()))
      most = &nodes_.node(id);
  }
  for (int id = 1; id <= max_id_ && most; ++id) {
    if (!nodes_.is_up(id)) continue;
    const Node& n = nodes_.node(id);
    // Entries compacted into either node's snapshot are no longer there to
    // compare (raftkv check compares snapshots with its model instead).
    int64_t upto = std::min(n.last_applied(), n.last_index());
    int64_t from = std::max(n.snapshot_index(), most->snapshot_index()) + 1;
    for (int64_t i = from; i <= upto; ++i) {
      if (n.entry(i) != most->entry(i)) return true;
    }
  }
  return false;
}

// After the workload and the faults, whether the cluster is converged and
// since when (the summary reports how long that took).
void Cluster::note_convergence() {
  int64_t settled = settled_ms();
  if (settled < 0 || now_ < settled) return;
  if (!converged()) {
    converged_since_ms_ = -1;
  } else if (converged_since_ms_ < 0) {
    converged_since_ms_ = now_;
  }
}

bool Cluster::step() {
  if (queue_.empty()) return false;
  int64_t next = queue_.next_time();
  // Stop before the item that would cross the end of the run.
  if (next > cfg_.time_limit_ms) {
    now_ = cfg_.time_limit_ms;
    // The limit cut the run short only if the planned end lies beyond it:
    // the clients not done, linger_ms not over, or the replicas not converged.
    stopped_at_time_limit_ = stats_.clients_done_ms < 0 ||
                             settled_ms() + cfg_.linger_ms > cfg_.time_limit_ms ||
                             (cfg_.linger_ms > 0 && !converged());
    return false;
  }
  if (stats_.clients_done_ms >= 0) {
    int64_t end = settled_ms() + cfg_.linger_ms;
    if (next > end) {
      // Convergence is a liveness property, so the run measures it rather
      // than assume it: past linger_ms it goes on until the replicas agree
      // under a stable leader (or time_limit_ms). linger_ms = 0 asks for no
      // lingering at all.
      // Replicas that applied different entries (a planted bug) can never
      // agree: waiting for them would only run to time_limit_ms.
      if (cfg_.linger_ms == 0 || converged() ||
          (!lingered_for_convergence_ && applied_prefixes_differ())) {
        now_ = std::max(now_, end);
        return false;
      }
      lingered_for_convergence_ = true;
    }
  }
  pop_and_dispatch(next);
  note_convergence();
  // Lingering for convergence ends the moment it is reached.
  if (lingered_for_convergence_ && converged()) return false;
  return true;
}

void Cluster::pop_and_dispatch(int64_t next) {
  Item item = queue_.pop_at(next);
  now_ = item.time;
  dispatch(item);
}

void Cluster::run() {
  if (!started_) start();
  while (step()) {
  }
}

void Cluster::run_until(int64_t t) {
  if (!started_) start();
  // Ignores the run's end conditions: a test decides how long to watch.
  while (!queue_.empty()) {
    int64_t next = queue_.next_time();
    if (next > t) break;
    pop_and_dispatch(next);
  }
  if (now_ < t) now_ = t;
}

void Cluster::dispatch(Item& item) {
  int id = item.target;
  switch (item.kind) {
    case ItemKind::Deliver:
      // Delivered where it waited; the slot is free for reuse only after the
      // step, since the node reads the message while it runs.
      --stats_.messages_in_flight;
      deliver(*item.msg);
      if (item.target == 0) {
        free_msgs_.push_back(item.msg);
      } else if (--batches_[static_cast<size_t>(item.target - 1)].in_flight == 0) {
        release_batch(item.target);
      }
      break;
    case ItemKind::ElectionTimer:
    case ItemKind::StartElection: {
      bool poke = item.kind == ItemKind::StartElection;
      if (!poke &&
          !slot_fires(election_slot_[id], item, election_slot_[id].gen == election_gen_[id]))
        break;
      // A timer armed before the node crashed, was reset, or became leader is
      // stale and silently discarded; only live timers are inputs.
      if (!nodes_.is_up(id) || nodes_.node(id).role() == Role::Leader) break;
      if (!poke && item.gen != election_gen_[id]) break;
      emit_input("timeout", id, nullptr, poke ? "start_election" : "election");
      Timer timer = poke ? Timer::StartElection : Timer::Election;
      run_node_step(id, [this, id, timer](Effects& fx) { nodes_.timeout(id, timer, fx); });
      break;
    }
    case ItemKind::HeartbeatTimer: {
      if (!nodes_.is_up(id) || item.gen != heartbeat_gen_[id] ||
          nodes_.node(id).role() != Role::Leader)
        break;
      emit_input("timeout", id, nullptr, "heartbeat");
      int64_t sent_before = stats_.messages_sent;
      run_node_step(id, [this, id](Effects& fx) { nodes_.timeout(id, Timer::Heartbeat, fx); });
      // One round: what this firing sent, counted once the clients are done.
      if (stats_.clients_done_ms >= 0) {
        ++stats_.heartbeat_rounds_after_done;
        stats_.heartbeat_round_messages_after_done += stats_.messages_sent - sent_before;
      }
      break;
    }
    case ItemKind::CheckQuorumTimer: {
      // Stale once the node crashed, stepped down or was re-armed.
      if (!nodes_.is_up(id) || item.gen != check_quorum_gen_[id] ||
          nodes_.node(id).role() != Role::Leader)
        break;
      emit_input("timeout", id, nullptr, "check_quorum");
      run_node_step(id, [this, id](Effects& fx) { nodes_.timeout(id, Timer::CheckQuorum, fx); });
      break;
    }
    case ItemKind::TransferTimer: {
      // Stale once the node crashed, was re-armed, or its transfer is over
      // (it lost leadership, which is how a transfer succeeds).
      if (!nodes_.is_up(id) || item.gen != transfer_gen_[id] ||
          nodes_.node(id).role() != Role::Leader || nodes_.node(id).transfer_target() == 0)
        break;
      emit_input("timeout", id, nullptr, "transfer");
      run_node_step(id, [this, id](Effects& fx) { nodes_.timeout(id, Timer::Transfer, fx); });
      break;
    }
    case ItemKind::ClientNext: client_next(id); break;
    case ItemKind::ClientStart: client_start(id, leader().value_or(1)); break;
    case ItemKind::ClientStop: client_stop(id); break;
    case ItemKind::ClientTimeout: {
      ClientState& c = *clients_[id];
      if (!slot_fires(c.timeout, item, c.busy && c.timeout.gen == c.gen)) break;
      client_on_timeout(id, item.gen);
      break;
    }
    case ItemKind::ClientResend: {
      ClientState& c = *clients_[id];
      if (!c.busy || item.gen != c.gen) break;
      // The pause after a hintless not_leader may end at the deadline: give up then.
      if (now_ - c.invoked_ms >= cfg_.timing.client_deadline_ms) {
        client_complete(id, Result{Status::Unknown, ""}, 0);
      } else {
        client_send(id);
      }
      break;
    }
    case ItemKind::Fault: apply_fault(cfg_.faults[static_cast<size_t>(id)]); break;
    case ItemKind::Nemesis: nemesis_act(); break;
    case ItemKind::Change: drive_change(id); break;
  }
}

// ---------------------------------------------------------------------------
// Trace

void Cluster::emit(json event) {
  ++stats_.trace_events;
  event["seq"] = next_seq_++;
  event["t"] = now_;
  if (lines_only_) {
    line_.clear();
    append_json(event, line_);
    for (TraceSink* sink : sinks_) sink->write_line(line_);
    defer_next_ = may_defer_ && sinks_[0]->takes_deferred();
    return;
  }
  for (TraceSink* sink : sinks_) sink->write(event);
}

void Cluster::emit(const RuntimeEvent& event) {
  if (!lines_only_) return emit(to_json(event));
  LineBuffer& out = line_out();
  if (!defer_now() || !defer_runtime_event(out, event, next_seq_, now_)) {
    append_runtime_event(out, event, next_seq_, now_);
  }
  write_line();
}

LineBuffer& Cluster::line_out() {
  direct_ = lent_;
  if (direct_ != nullptr) {
    direct_start_ = direct_->size();
    return *direct_;
  }
  own_line_.clear();
  return own_line_;
}

void Cluster::write_line() {
  ++stats_.trace_events;
  ++next_seq_;
  if (direct_ != nullptr) {
    bool defer = sinks_[0]->line_appended(direct_->size() - direct_start_);
    defer_next_ = may_defer_ && defer;
    direct_ = nullptr;
    return;
  }
  line_.assign(own_line_.data(), own_line_.size());
  for (TraceSink* sink : sinks_) sink->write_line(line_);
  if (may_defer_) defer_next_ = sinks_[0]->takes_deferred();
}

// The json path keeps of `state` what the line encoder writes (the fields
// StateCache::changed names, schema version 4), so both write the same bytes.
json Cluster::omit_same_state(json event, int node, const NodeState& state, bool up) {
  uint8_t mask = written_states_.changed(node, state, up);
  if (mask == 0) {
    event.erase("state");
  } else {
    json& written = event["state"];
    for (int i = 0; i < trace::kStateFieldCount; ++i) {
      if (!(mask & (1 << i))) written.erase(trace::kStateFields[i]);
    }
  }
  return event;
}

void Cluster::emit_effect(int node, const NodeEvent& event) {
  if (!lines_only_) return emit(omit_same_state(to_json(event, node), node, event.state, true));
  LineBuffer& out = line_out();
  if (!defer_now() || !defer_node_event(out, written_states_, event, node, next_seq_, now_)) {
    append_node_event(out, written_states_, event, node, next_seq_, now_);
  }
  write_line();
}

void Cluster::emit_send(int node, const Message& m) {
  if (!lines_only_) {
    const NodeState& state = nodes_.node(node).state();
    return emit(omit_same_state(
        json{{"event", "send"}, {"node", node}, {"state", to_json(state)}, {"msg", to_json(m)}},
        node, state, true));
  }
  LineBuffer& out = line_out();
  const NodeState& state = nodes_.node(node).state();
  if (!defer_now() || !defer_send(out, written_states_, node, state, m, next_seq_, now_)) {
    append_node_input(out, written_states_, "send", node, state, true, &m, nullptr, next_seq_,
                      now_);
  }
  write_line();
}

void Cluster::emit_input(const char* event, int node, const Message* msg, const char* timer, int to,
                         const char* action) {
  if (sinks_.empty()) return;
  if (lines_only_) {
    LineBuffer& out = line_out();
    const NodeState& state = nodes_.node(node).state();
    bool up = nodes_.is_up(node);
    // A deliver is the most frequent line of all; only its id is recorded.
    bool deferred = msg != nullptr && defer_now() && std::strcmp(event, "deliver") == 0 &&
                    defer_deliver(out, written_states_, node, state, up, msg->id, next_seq_, now_);
    if (!deferred) {
      append_node_input(out, written_states_, event, node, state, up, msg, timer, next_seq_, now_,
                        to, action);
    }
    return write_line();
  }
  json fields{{"event", event},
              {"node", node},
              {"state", to_json(nodes_.node(node).state(), nodes_.is_up(node))}};
  // Only deliver has a message among the inputs, and names it by id (schema v2).
  if (msg != nullptr) fields["msg_id"] = msg->id;
  if (timer != nullptr) fields["timer"] = timer;
  if (action != nullptr) {
    fields["action"] = action;  // change: its action and target
    fields["target"] = to;
  } else if (to != 0) {
    fields["to"] = to;  // transfer only
  }
  emit(omit_same_state(std::move(fields), node, nodes_.node(node).state(), nodes_.is_up(node)));
}

// ---------------------------------------------------------------------------
// Driving nodes

// A template rather than a std::function: the input is a small lambda,
// called once per step, and inlining it saves an indirect call and the
// function object's construction on every delivery.
template <typename Input>
void Cluster::run_node_step(int id, Input&& input) {
  Role role_before = nodes_.node(id).role();
  int64_t term_before = nodes_.node(id).term();
  Effects& fx = fx_;
  fx.trace = !sinks_.empty();
  fx.clock_us = clocks_.read_us(id, now_);
  input(fx);  // a NodeSet step: the node's storage is written by now
  const Node& n = nodes_.node(id);
  // A node only raises its own term to stand for election (a one-node
  // cluster goes straight to leader); adopting a higher term makes it follower.
  bool stood = n.term() > term_before && n.role() != Role::Follower;
  if (stood) ++stats_.elections_started;
  if (observer_) {
    if (stood) observer_->election_started(id, n.term());
    observer_->node_state(id, n.term(), n.role(), true);
    if (observed_conf_.empty()) observed_conf_.resize(static_cast<size_t>(max_id_) + 1);
    Membership& seen = observed_conf_[static_cast<size_t>(id)];
    if (seen != n.membership()) {
      seen = n.membership();
      observer_->voters(id, seen.voters);
    }
  }
  if (n.role() == Role::Leader && role_before != Role::Leader) {
    ++stats_.leaders_elected;
    if (stats_.first_leader_ms < 0) stats_.first_leader_ms = now_;
  }
  apply_effects(id, fx);
  // Ready for the next step; clear() keeps the vectors' capacity.
  fx.events.clear();
  fx.persist.reset();
  fx.messages.clear();
  fx.reset_election_timer = false;
  fx.arm_heartbeat_timer = false;
  fx.arm_check_quorum_timer = false;
  fx.arm_transfer_timer = false;
  if (!clients_started_ && n.role() == Role::Leader) start_clients(id);
}

void Cluster::apply_effects(int id, Effects& fx) {
  for (const NodeEvent& event : fx.events) emit_effect(id, event);
  if (fx.reset_election_timer) arm_election_timer(id);
  if (fx.arm_heartbeat_timer) arm_heartbeat_timer(id);
  if (fx.arm_check_quorum_timer) arm_check_quorum_timer(id);
  if (fx.arm_transfer_timer) arm_transfer_timer(id);
  if (fx.messages.empty()) return;
  int batch;
  if (free_batches_.empty()) {
    batches_.emplace_back();
    batch = static_cast<int>(batches_.size());
  } else {
    batch = free_batches_.back();
    free_batches_.pop_back();
  }
  // The outbox becomes the batch; Effects gets the drained batch's vector.
  std::vector<Message>& msgs = batches_[static_cast<size_t>(batch - 1)].msgs;
  std::swap(msgs, fx.messages);
  for (Message& m : msgs) {
    m.id = next_msg_id_++;
    if (!sinks_.empty()) emit_send(id, m);
    transmit(m, batch);
  }
  // Every message dropped (or none scheduled): nothing refers to the batch.
  if (batches_[static_cast<size_t>(batch - 1)].in_flight == 0) release_batch(batch);
}

void Cluster::arm_election_timer(int id) {
  // §5.2: randomized timeouts in [min, max) make split votes rare.
  int64_t timeout =
      rng_.uniform(cfg_.timing.election_timeout_min_ms, cfg_.timing.election_timeout_max_ms - 1);
  arm_slot(election_slot_[id], now_ + clocks_.true_delay_ms(id, timeout), ItemKind::ElectionTimer,
           id, ++election_gen_[id]);
}

// [raft] check_quorum: the leader checks its quorum once per minimum election
// timeout, the shortest time after which a follower that lost it may stand
// for election (thesis §6.2). Not randomized: no draw from the run's RNG.
void Cluster::arm_check_quorum_timer(int id) {
  schedule(now_ + clocks_.true_delay_ms(id, cfg_.timing.election_timeout_min_ms),
           ItemKind::CheckQuorumTimer, id, ++check_quorum_gen_[id]);
}

// Leadership transfer: the leader gives a transfer up if it has not
// completed within an election timeout (thesis §3.10), the minimum one, as
// for check_quorum. Not randomized: no draw from the run's RNG, so runs
// without a transfer keep their bytes.
void Cluster::arm_transfer_timer(int id) {
  schedule(now_ + clocks_.true_delay_ms(id, cfg_.timing.election_timeout_min_ms),
           ItemKind::TransferTimer, id, ++transfer_gen_[id]);
}

void Cluster::arm_heartbeat_timer(int id) {
  schedule(now_ + clocks_.true_delay_ms(id, cfg_.timing.heartbeat_interval_ms),
           ItemKind::HeartbeatTimer, id, ++heartbeat_gen_[id]);
}

// ---------------------------------------------------------------------------
// Network

// The reason a link drops every message, or nullptr when it is open.
const char* Cluster::link_blocked(int from, int to) const {
  if (from == 0 || to == 0) return nullptr;  // clients reach every node
  if (group_of_[from] != group_of_[to]) return "partition";
  for (const auto& [a, b] : cuts_) {
    if (a == from && b == to) return "cut";
  }
  return nullptr;
}

void Cluster::transmit(Message& m, int batch) {
  ++stats_.messages_sent;
  ++stats_.sent_by_type[static_cast<size_t>(m.type)];
  stats_.entries_sent += static_cast<int64_t>(m.entries.size());
  if (m.type == MsgType::AppendEntries && m.entries.empty()) {
    ++stats_.heartbeats_sent;
    if (stats_.clients_done_ms >= 0) ++stats_.heartbeats_after_done;
  }
  // reason: an index of RunStats::drop_reason_name.
  auto drop = [this, &m](int reason) {
    ++stats_.messages_dropped;
    ++stats_.dropped_by_reason[static_cast<size_t>(reason)];
    if (!sinks_.empty()) emit(rt::Drop{&m, RunStats::drop_reason_name(reason)});
  };
  if (drop_filter_ && drop_filter_(m)) return drop(RunStats::kTest);
  if (const char* blocked = link_blocked(m.from, m.to))
    return drop(std::string_view(blocked) == "partition" ? RunStats::kPartition : RunStats::kCut);
  if (rng_.chance(network_.loss)) return drop(RunStats::kLoss);
  bool twice = rng_.chance(network_.duplicate);
  if (twice) {
    ++stats_.messages_duplicated;
    if (!sinks_.empty()) emit(rt::Duplicate{&m});
    int64_t at = now_ + rng_.uniform(latency_min_ms_, latency_max_ms_);
    schedule_delivery(at, Message(m));
  }
  // Independent latencies reorder messages between the same pair of actors.
  int64_t at = now_ + rng_.uniform(latency_min_ms_, latency_max_ms_);
  if (batch == 0) {
    schedule_delivery(at, std::move(m));
  } else {
    schedule_in_batch(at, m, batch);
  }
}

void Cluster::deliver(Message& m) {
  if (m.type == MsgType::ClientReply) {
    ++stats_.messages_delivered;
    if (!sinks_.empty()) emit(rt::ClientReceive{m.client, &m});
    client_on_reply(m);
    return;
  }
  int id = m.to;
  if (!nodes_.is_up(id)) {
    ++stats_.messages_dropped;
    ++stats_.dropped_by_reason[RunStats::kNodeDown];
    if (!sinks_.empty()) emit(rt::Drop{&m, RunStats::drop_reason_name(RunStats::kNodeDown)});
    return;
  }
  ++stats_.messages_delivered;
  emit_input("deliver", id, &m);
  if (observer_ && m.type == MsgType::AppendEntries)
    observer_->append_entries_delivered(id, m.from, m.term);
  run_node_step(id, [this, &m](Effects& fx) { nodes_.deliver(m, fx); });
}

// ---------------------------------------------------------------------------
// Faults

void Cluster::crash(int id) { stop_node(id, "crash"); }

void Cluster::stop_node(int id, const char* event) {
  if (!nodes_.is_up(id)) return;
  // Only what the node wrote to its storage survives (term, vote and log,
  // written at the end of each step that changed them); everything else is
  // lost with the Node object at the restart.
  nodes_.crash(id);
  ++election_gen_[id];
  ++heartbeat_gen_[id];
  ++check_quorum_gen_[id];
  ++transfer_gen_[id];
  emit_input(event, id);
  if (observer_) observer_->node_state(id, nodes_.node(id).term(), Role::Follower, false);
}

void Cluster::restart(int id) {
  if (nodes_.is_up(id) || left_[id]) return;
  nodes_.restart(id);
  emit_input("restart", id);
  run_node_step(id, [this, id](Effects& fx) { nodes_.start(id, fx); });
}

void Cluster::partition(const std::vector<std::vector<int>>& groups) {
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int id : groups[g]) group_of_[id] = static_cast<int>(g) + 1;
  }
  if (!sinks_.empty()) emit(json{{"event", "partition"}, {"groups", groups}});
}

void Cluster::heal() {
  std::fill(group_of_.begin(), group_of_.end(), 0);
  cuts_.clear();
  if (!sinks_.empty()) emit(json{{"event", "heal"}});
}

void Cluster::cut(int from, int to, bool is_cut) {
  auto link = std::make_pair(from, to);
  auto it = std::find(cuts_.begin(), cuts_.end(), link);
  if (is_cut && it == cuts_.end()) cuts_.push_back(link);
  if (!is_cut && it != cuts_.end()) cuts_.erase(it);
  if (!sinks_.empty()) emit(json{{"event", is_cut ? "cut" : "uncut"}, {"from", from}, {"to", to}});
}

std::optional<int> Cluster::resolve_target(const FaultConfig& f) {
  std::vector<int>& crashed = role_crashed_[static_cast<size_t>(f.target)];
  if (f.action == FaultAction::Restart) {
    // The node the latest crash of this role took down, if it is still down.
    int id = crashed.empty() ? 0 : crashed.back();
    if (!crashed.empty()) crashed.pop_back();
    if (id == 0 || nodes_.is_up(id)) return std::nullopt;
    return id;
  }
  std::optional<int> found = leader();
  if (found && f.target == FaultTarget::Follower) {
    // The lowest-id running follower in the leader's term.
    int64_t term = nodes_.node(*found).term();
    found.reset();
    for (int id = 1; id <= max_id_ && !found; ++id) {
      const Node& n = nodes_.node(id);
      if (nodes_.is_up(id) && n.role() == Role::Follower && n.term() == term) found = id;
    }
  }
  crashed.push_back(found.value_or(0));
  return found;
}

void Cluster::set_network(const FaultConfig& f) {
  if (f.loss) network_.loss = *f.loss;
  if (f.duplicate) network_.duplicate = *f.duplicate;
  if (f.latency_min_ms) latency_min_ms_ = *f.latency_min_ms;
  if (f.latency_max_ms) latency_max_ms_ = *f.latency_max_ms;
  if (sinks_.empty()) return;
  // Probabilities as the header writes them: decimal strings.
  auto text = [](double p) {
    std::ostringstream out;
    out << p;
    return out.str();
  };
  emit(json{{"event", "network"},
            {"loss", text(network_.loss)},
            {"duplicate", text(network_.duplicate)},
            {"network_latency_min_ms", latency_min_ms_},
            {"network_latency_max_ms", latency_max_ms_}});
}

void Cluster::transfer_leader(const FaultConfig& f) {
  std::optional<int> leader_id = leader();
  if (!leader_id) {
    // As a crash of "leader" with no leader: nothing to act on.
    ++stats_.faults_skipped;
    if (!sinks_.empty()) {
      emit(json{{"event", "fault_skipped"},
                {"action", to_string(f.action)},
                {"target", to_string(FaultTarget::Leader)}});
    }
    return;
  }
  ++stats_.faults_scheduled[static_cast<size_t>(f.action)];
  int id = *leader_id;
  int to = f.to;
  emit_input("transfer", id, nullptr, nullptr, to);
  run_node_step(id, [this, id, to](Effects& fx) { nodes_.transfer(id, to, fx); });
}

void Cluster::join(int id) {
  if (joined_[id]) return;
  joined_[id] = 1;
  nodes_.up(id);
  emit_input("join", id);
  run_node_step(id, [this, id](Effects& fx) { nodes_.start(id, fx); });
}

void Cluster::leave(int id) {
  if (left_[id]) return;
  // As a crash, for good: storage and all are gone with the server. A
  // server already down is gone too (it never restarts).
  left_[id] = 1;
  if (nodes_.is_up(id)) {
    stop_node(id, "leave");
  } else {
    emit_input("leave", id);
  }
}

int Cluster::next_node(int id) const {
  for (int k = 1; k <= max_id_; ++k) {
    int next = (id + k - 1) % max_id_ + 1;
    if (present(next)) return next;
  }
  return id;
}

void Cluster::begin_change(const FaultConfig& f) {
  ++stats_.faults_scheduled[static_cast<size_t>(f.action)];
  ChangeAction action = f.action == FaultAction::AddNode ? ChangeAction::Add : ChangeAction::Remove;
  if (action == ChangeAction::Add) join(f.node);
  changes_.push_back(RunStats::MembershipChange{action, f.node, now_, -1});
  drive_change(static_cast<int>(changes_.size()) - 1);
}

void Cluster::drive_change(int index) {
  RunStats::MembershipChange& c = changes_[static_cast<size_t>(index)];
  if (c.done_ms >= 0) return;
  std::optional<int> leader_id = leader();
  if (leader_id) {
    const Node& l = nodes_.node(*leader_id);
    // Done once the leader's configuration, committed, has the change: the
    // new server a voter (the leader promotes a caught-up learner on its
    // own), or the removed one not a member any more.
    bool member = l.membership().is_member(c.node);
    bool committed = l.membership_index() <= l.commit_index();
    bool wanted = c.action == ChangeAction::Add ? l.membership().is_voter(c.node) : !member;
    if (committed && wanted) {
      c.done_ms = now_;
      if (c.action == ChangeAction::Remove) leave(c.node);
      return;
    }
    // Asked only while the leader's configuration does not have the server
    // as it should (a learner waits to be promoted; an uncommitted change of
    // the leader's own just waits to commit).
    if (member != (c.action == ChangeAction::Add)) {
      int id = *leader_id;
      ChangeAction action = c.action;
      int target = c.node;
      emit_input("change", id, nullptr, nullptr, target, to_string(action));
      run_node_step(
          id, [this, id, action, target](Effects& fx) { nodes_.change(id, action, target, fx); });
    }
  }
  schedule(now_ + cfg_.timing.heartbeat_interval_ms, ItemKind::Change, index);
}

void Cluster::apply_fault(const FaultConfig& f) {
  if (f.action == FaultAction::TransferLeader) return transfer_leader(f);
  if (f.action == FaultAction::AddNode || f.action == FaultAction::RemoveNode) {
    return begin_change(f);
  }
  int node = f.node;
  if (f.target != FaultTarget::Node) {
    std::optional<int> resolved = resolve_target(f);
    if (!resolved) {
      ++stats_.faults_skipped;
      if (!sinks_.empty()) {
        emit(json{{"event", "fault_skipped"},
                  {"action", to_string(f.action)},
                  {"target", to_string(f.target)}});
      }
      return;
    }
    node = *resolved;
  }
  ++stats_.faults_scheduled[static_cast<size_t>(f.action)];
  switch (f.action) {
    case FaultAction::Crash: crash(node); break;
    case FaultAction::Restart: restart(node); break;
    case FaultAction::Network: set_network(f); break;
    case FaultAction::Partition: partition(f.groups); break;
    case FaultAction::Heal: heal(); break;
    case FaultAction::Cut: cut(f.from, f.to, true); break;
    case FaultAction::Uncut: cut(f.from, f.to, false); break;
    case FaultAction::TransferLeader:
    case FaultAction::AddNode:
    case FaultAction::RemoveNode: break;  // transfer_leader(), begin_change() above
  }
}

void Cluster::start_election(int id) { schedule(now_, ItemKind::StartElection, id); }

void Cluster::inject_request(int id, Command cmd) {
  cmd.client = 0;
  cmd.seq = 0;
  Message m;
  m.id = next_msg_id_++;
  m.type = MsgType::ClientRequest;
  m.to = id;
  m.cmd = cmd;
  if (!sinks_.empty()) emit(rt::ClientSend{0, 0, id, &m});
  transmit(m);
}

// ---------------------------------------------------------------------------
// Nemesis: random faults from the run's RNG

void Cluster::schedule_nemesis() {
  // Exponential inter-arrival times with the configured mean.
  double u = rng_.unit();
  auto gap =
      static_cast<int64_t>(-static_cast<double>(cfg_.nemesis.mean_interval_ms) * std::log(1.0 - u));
  schedule(now_ + std::max<int64_t>(1, gap), ItemKind::Nemesis, 0);
}

void Cluster::nemesis_act() {
  if (stats_.clients_done_ms >= 0) {
    // The workload is over: undo every fault so the replicas can converge.
    nemesis_repair_all();
    return;
  }
  const auto& kinds = cfg_.nemesis.kinds;
  if (kinds.empty()) return;
  const NemesisKind kind =
      kinds[static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(kinds.size()) - 1))];
  int n = max_id_;
  if (kind == NemesisKind::Crash) {
    std::vector<int> down, running;
    for (int id = 1; id <= n; ++id) {
      if (present(id)) (nodes_.is_up(id) ? running : down).push_back(id);
    }
    bool can_crash = static_cast<int>(down.size()) < cfg_.nemesis.max_down && !running.empty();
    // Restart a crashed node half the time, or whenever no more may crash.
    if (!down.empty() && (!can_crash || rng_.chance(0.5))) {
      count_nemesis(FaultAction::Restart);
      restart(down[static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(down.size()) - 1))]);
    } else if (can_crash) {
      count_nemesis(FaultAction::Crash);
      crash(
          running[static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(running.size()) - 1))]);
    }
  } else if (kind == NemesisKind::Partition) {
    bool partitioned = std::any_of(group_of_.begin(), group_of_.end(), [](int g) { return g; });
    if (partitioned) {
      count_nemesis(FaultAction::Heal);
      heal();
    } else if (n > 1) {
      // A random minority (at least one node) is cut off from the rest.
      std::vector<int> ids;
      for (int id = 1; id <= n; ++id) ids.push_back(id);
      for (int i = n - 1; i > 0; --i) std::swap(ids[i], ids[rng_.uniform(0, i)]);
      int minority = static_cast<int>(rng_.uniform(1, (n - 1) / 2 > 0 ? (n - 1) / 2 : 1));
      std::vector<std::vector<int>> groups(2);
      for (int i = 0; i < n; ++i) groups[i < minority ? 0 : 1].push_back(ids[i]);
      for (auto& g : groups) std::sort(g.begin(), g.end());
      count_nemesis(FaultAction::Partition);
      partition(groups);
    }
  } else if (kind == NemesisKind::Cut && n > 1) {
    if (!cuts_.empty() && rng_.chance(0.5)) {
      auto [from, to] =
          cuts_[static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(cuts_.size()) - 1))];
      count_nemesis(FaultAction::Uncut);
      cut(from, to, false);
    } else {
      int from = static_cast<int>(rng_.uniform(1, n));
      int to = static_cast<int>(rng_.uniform(1, n - 1));
      if (to >= from) ++to;
      count_nemesis(FaultAction::Cut);
      cut(from, to, true);
    }
  }
  schedule_nemesis();
}

void Cluster::nemesis_repair_all() {
  if (nemesis_repaired_) return;
  nemesis_repaired_ = true;
  for (int id = 1; id <= max_id_; ++id) {
    if (present(id) && !nodes_.is_up(id)) {
      count_nemesis(FaultAction::Restart);
      restart(id);
    }
  }
  bool faulty =
      !cuts_.empty() || std::any_of(group_of_.begin(), group_of_.end(), [](int g) { return g; });
  if (faulty) {
    count_nemesis(FaultAction::Heal);
    heal();
  }
}

// ---------------------------------------------------------------------------
// Clients

void Cluster::start_clients(int leader) {
  // As in the seed, each client is handed the leader directly.
  clients_started_ = true;
  for (int c = 1; c <= cfg_.num_clients; ++c) {
    // A client with a start time of its own starts then (ClientStart).
    const ClientConfig* listed = clients_[c]->schedule;
    if (listed != nullptr && listed->start_ms) continue;
    client_start(c, leader);
  }
  if (cfg_.num_clients == 0) stats_.clients_done_ms = now_;
}

void Cluster::client_start(int id, int leader) {
  ClientState& c = *clients_[id];
  c.target = c.schedule != nullptr && c.schedule->node ? *c.schedule->node : leader;
  schedule(now_, ItemKind::ClientNext, id);
}

void Cluster::client_stop(int id) {
  // No new request from now on; one in flight completes as usual.
  ClientState& c = *clients_[id];
  // The schedule planned no more than the client sent by then.
  stats_.requests_planned -= c.remaining;
  c.remaining = 0;
  c.script.clear();
  if (!c.busy) client_next(id);
}

Command Cluster::random_command(int client) {
  // The seed's workload: get/put/delete on the first `keys` of a..z (a..e by
  // default, as in the seed), values val_0..val_99.
  Command cmd;
  int64_t kind = rng_.uniform(0, 2);
  cmd.op = kind == 0 ? Op::Get : kind == 1 ? Op::Put : Op::Delete;
  cmd.key = std::string(1, static_cast<char>('a' + rng_.uniform(0, cfg_.keys - 1)));
  if (cmd.op == Op::Put) cmd.value = "val_" + std::to_string(rng_.uniform(0, 99));
  cmd.client = client;
  return cmd;
}

void Cluster::client_next(int id) {
  ClientState& c = *clients_[id];
  if (c.busy) return;
  if (c.remaining <= 0) {
    bool all_done = true;
    for (int k = 1; k <= cfg_.num_clients; ++k) {
      if (clients_[k]->busy || clients_[k]->remaining > 0) all_done = false;
    }
    if (all_done && stats_.clients_done_ms < 0) {
      stats_.clients_done_ms = now_;
      // Random faults stop with the workload and are undone, so the run ends
      // with every node up and connected and the replicas can converge.
      if (cfg_.nemesis.enabled) nemesis_repair_all();
    }
    return;
  }
  --c.remaining;
  ++stats_.requests_issued;
  if (c.scripted) {
    c.cmd = c.script.front();
    c.script.pop_front();
    c.cmd.client = id;
  } else {
    c.cmd = random_command(id);
  }
  c.cmd.seq = ++c.seq;
  c.busy = true;
  c.invoked_ms = now_;
  if (!sinks_.empty()) emit(rt::ClientInvoke{id, c.seq, &c.cmd, c.target});
  if (observer_) observer_->client_invoked(id, c.seq);
  client_send(id);
}

void Cluster::client_send(int id) {
  ClientState& c = *clients_[id];
  ++c.gen;
  Message m;
  m.id = next_msg_id_++;
  m.type = MsgType::ClientRequest;
  m.to = c.target;
  m.client = id;
  m.cmd = c.cmd;
  if (!sinks_.empty()) emit(rt::ClientSend{id, c.seq, c.target, &m});
  int64_t left = c.invoked_ms + cfg_.timing.client_deadline_ms - now_;
  arm_slot(c.timeout, now_ + std::max<int64_t>(1, std::min(cfg_.timing.client_timeout_ms, left)),
           ItemKind::ClientTimeout, id, c.gen);
  transmit(m);
}

void Cluster::client_on_reply(const Message& reply) {
  if (reply.client == 0) return;  // an injected request: nobody waits for it
  ClientState& c = *clients_[reply.client];
  if (!c.busy || reply.seq != c.seq) return;  // a late reply to an earlier request
  if (reply.result.status != Status::NotLeader) {
    client_complete(c.id, reply.result, reply.from);
    return;
  }
  if (now_ - c.invoked_ms >= cfg_.timing.client_deadline_ms) {
    // Past the deadline: no more retries, the caller gets its answer now.
    client_complete(c.id, Result{Status::Unknown, ""}, 0);
    return;
  }
  // Not the leader: follow the hint, or try the next node after a pause
  // (no leader may be known yet while an election is under way).
  int next = reply.leader_hint != 0 && reply.leader_hint != reply.from ? reply.leader_hint
                                                                       : next_node(reply.from);
  bool hinted = reply.leader_hint != 0 && reply.leader_hint != reply.from;
  c.target = next;
  if (!sinks_.empty()) emit(rt::ClientRetry{c.id, c.seq, "not_leader", next});
  if (hinted) {
    client_send(c.id);
  } else {
    // Pause for about a heartbeat (an election may be under way), but never past the
    // deadline: a client always answers its caller by then.
    ++c.gen;
    int64_t deadline = c.invoked_ms + cfg_.timing.client_deadline_ms;
    schedule(std::min(now_ + cfg_.timing.heartbeat_interval_ms, deadline), ItemKind::ClientResend,
             c.id, c.gen);
  }
}

void Cluster::client_on_timeout(int id, uint64_t gen) {
  ClientState& c = *clients_[id];
  if (!c.busy || gen != c.gen) return;
  if (now_ - c.invoked_ms >= cfg_.timing.client_deadline_ms) {
    // The request may or may not have taken effect; say so and move on.
    client_complete(id, Result{Status::Unknown, ""}, 0);
    return;
  }
  c.target = next_node(c.target);
  if (!sinks_.empty()) emit(rt::ClientRetry{id, c.seq, "timeout", c.target});
  client_send(id);
}

void Cluster::client_complete(int id, Result result, int from) {
  ClientState& c = *clients_[id];
  c.busy = false;
  ++c.gen;
  ++totals_.finished;
  totals_.by_kind_status[static_cast<size_t>(c.cmd.op)][static_cast<size_t>(result.status)]++;
  if (result.status == Status::Unknown) {
    ++totals_.unknown;
  } else {
    // Latencies are bounded by the client deadline; the histogram's size is too.
    constexpr int64_t kMaxSlot = int64_t{1} << 20;
    auto slot = static_cast<size_t>(std::min(now_ - c.invoked_ms, kMaxSlot));
    if (totals_.latency_ms.size() <= slot) totals_.latency_ms.resize(slot + 1);
    ++totals_.latency_ms[slot];
  }
  if (keep_history_) history_.push_back(ClientOp{id, c.seq, c.cmd, result, c.invoked_ms, now_});
  if (!sinks_.empty()) emit(rt::ClientComplete{id, c.seq, &result, from});
  if (observer_) observer_->client_completed(id, c.seq, result.status);
  schedule(now_, ItemKind::ClientNext, id);
}

// ---------------------------------------------------------------------------
// End of run

std::optional<int> Cluster::leader() const {
  std::optional<int> best;
  for (int id = 1; id <= max_id_; ++id) {
    if (!nodes_.is_up(id) || nodes_.node(id).role() != Role::Leader) continue;
    if (!best || nodes_.node(id).term() > nodes_.node(*best).term()) best = id;
  }
  return best;
}

bool Cluster::replicas_agree() const {
  const Node* first = nullptr;
  for (int id = 1; id <= max_id_; ++id) {
    if (!nodes_.is_up(id)) continue;
    const Node& n = nodes_.node(id);
    if (!first) {
      first = &n;
      continue;
    }
    if (n.last_applied() != first->last_applied() || n.store().data() != first->store().data()) {
      return false;
    }
  }
  return true;
}

void Cluster::finish() {
  if (sinks_.empty()) return;
  json nodes = json::array();
  for (int id = 1; id <= max_id_; ++id) {
    if (!joined_[id]) continue;  // an add_node that never fired
    json state = to_json(nodes_.node(id).state(), nodes_.is_up(id));
    nodes.push_back(json{{"node", id},
                         {"state", state},
                         {"store_digest", nodes_.node(id).store().digest()},
                         {"store_size", nodes_.node(id).store().data().size()}});
  }
  emit(json{{"event", "end"}, {"nodes", nodes}});
}

}  // namespace raftkv
