// The deterministic in-process runtime that drives the protocol core.
//
// One scheduler on a virtual clock (milliseconds) owns every actor: the Raft
// nodes, the clients and the network. Each queued item -- a message delivery,
// a timer, a client action, a fault -- runs to completion before the next, in
// (time, insertion order) order, and every random choice (latency, timeouts,
// loss, the client workload) comes from one seeded Rng. So a config and a seed
// determine the whole run, and its trace, byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/clock.h"
#include "config/config.h"
#include "raft/node.h"
#include "raft/node_set.h"
#include "sim/event_queue.h"
#include "sim/rng.h"
#include "trace/codec.h"
#include "trace/line_encoder.h"

namespace raftkv {

// Receives every trace event (already numbered and time-stamped).
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // A sink that only needs each event's JSON line says so: when every sink
  // does, the runtime writes its frequent events (a node's steps) straight
  // from their typed values to text, without building json objects.
  virtual bool lines_only() const { return false; }
  virtual void write(const json& event) = 0;
  // The event as one JSON line, without its line end (lines_only sinks).
  virtual void write_line(const std::string& line) { write(json::parse(line)); }
  // A lines_only sink that gathers lines in a buffer of its own may lend it
  // (asked once, when the sink is added: the same buffer for the sink's
  // life): when it is the only sink, the runtime appends each line straight
  // to it and then calls line_appended with the line's length, instead of
  // building the line apart and handing it over to be copied (that copy was a
  // tenth of a traced run). nullptr: lines come through write_line.
  virtual LineBuffer* line_buffer() { return nullptr; }
  // Returns takes_deferred() as it is after the line: one call per line, not
  // two (at 51x16 a traced run writes some 50 million lines).
  virtual bool line_appended(size_t /*bytes*/) { return takes_deferred(); }
  // A sink that lends its buffer and expands deferred lines (trace/line_encoder.h,
  // expand_deferred) before it writes the buffer out says so: when it is the
  // only sink, the runtime appends a deferred record in place of a line while
  // this is true. It is asked when the sink is added and after each line, and
  // may change between lines.
  virtual bool takes_deferred() const { return false; }
};

// Sees, as the run makes them and without building trace events, the facts the liveness
// figures are measured from (check/liveness.h, which this layer may not include; app adapts
// it). Each call happens at the cluster's now(), in the order the trace records the same facts.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // A node's state after a step of it, or its crash (up = false).
  virtual void node_state(int node, int64_t term, Role role, bool up) = 0;
  // An AppendEntries of `term` from `leader` is delivered to `node` (before its step).
  virtual void append_entries_delivered(int node, int leader, int64_t term) = 0;
  // A node stood for election for `term` (the trace's become_candidate).
  virtual void election_started(int node, int64_t term) = 0;
  virtual void client_invoked(int client, int64_t seq) = 0;
  virtual void client_completed(int client, int64_t seq, Status status) = 0;
  // The voters of a node's configuration changed in a step (thesis §4.1).
  virtual void voters(int /*node*/, const std::vector<int>& /*voters*/) {}
};

// One client operation as the client saw it.
struct ClientOp {
  int client = 0;
  int64_t seq = 0;
  Command cmd;
  Result result;  // status Unknown if the deadline passed
  int64_t invoked_ms = 0;
  int64_t completed_ms = 0;
};

// What the summary reports of the client operations, kept as they finish so
// that a long run's memory does not grow with its length (the history of
// every operation, ClientOp, is kept only when asked: tests read it).
struct ClientTotals {
  int64_t finished = 0;
  int64_t unknown = 0;  // finished at the deadline, without a reply
  // Operations by command kind (Op) and outcome (Status).
  std::array<std::array<int64_t, 6>, 4> by_kind_status{};
  // Answered operations by latency in virtual ms (index = ms; the last slot
  // gathers everything at or above it).
  std::vector<int64_t> latency_ms;
  int64_t answered() const { return finished - unknown; }
  // The percentile p (a fraction, 0.99 for p99; nearest rank) of the answered latencies; 0 if none.
  int64_t latency_percentile(double p) const;
  int64_t latency_max() const;
};

struct RunStats {
  static constexpr int kMsgTypes = static_cast<int>(MsgType::InstallSnapshotResponse) + 1;
  int64_t messages_sent = 0;                      // node and client messages put on the network
  std::array<int64_t, kMsgTypes> sent_by_type{};  // indexed by MsgType
  int64_t entries_sent = 0;  // log entries carried by AppendEntries (each copy counted)
  int64_t messages_delivered = 0;
  int64_t messages_dropped = 0;
  int64_t heartbeats_sent = 0;  // AppendEntries with no entries
  int64_t elections_started = 0;
  int64_t leaders_elected = 0;
  int64_t trace_events = 0;
  int64_t first_leader_ms = -1;
  int64_t clients_done_ms = -1;       // when the last client request completed
  int64_t heartbeats_after_done = 0;  // heartbeats sent while idle (after clients_done_ms)

  // The network's books balance at every moment: messages_sent +
  // messages_duplicated = messages_delivered + messages_dropped +
  // messages_in_flight (a duplicate is one more copy to deliver or drop).
  int64_t messages_duplicated = 0;
  int64_t messages_in_flight = 0;  // scheduled for delivery and not yet delivered or dropped
  // Why a message was dropped; drop_reason_name gives the trace's spelling.
  enum DropReason { kLoss, kPartition, kCut, kNodeDown, kTest, kDropReasons };
  static constexpr const char* drop_reason_name(int reason) {
    constexpr const char* names[kDropReasons] = {"loss", "partition", "cut", "node_down", "test"};
    return names[reason];
  }
  std::array<int64_t, kDropReasons> dropped_by_reason{};
  // Idle heartbeats in rounds (one firing of a leader's heartbeat timer) and
  // the messages those rounds sent: a rate of messages alone grows with the
  // cluster and hides the period.
  int64_t heartbeat_rounds_after_done = 0;
  int64_t heartbeat_round_messages_after_done = 0;
  // Faults applied, by FaultAction: from the [[faults]] schedule and from the
  // nemesis (its final repair included).
  static constexpr int kFaultKinds = static_cast<int>(FaultAction::RemoveNode) + 1;
  std::array<int64_t, kFaultKinds> faults_scheduled{};
  std::array<int64_t, kFaultKinds> faults_nemesis{};
  // Scheduled faults with a role target (node = "leader" / "follower") that
  // found no node to act on when they fired (not in faults_scheduled).
  int64_t faults_skipped = 0;
  // Client requests the workload asks for (requests_per_client x num_clients,
  // or the [[clients]] schedules and test scripts; a client's stop plans no
  // more than it sent by then) and those a client actually sent.
  int64_t requests_planned = 0;
  int64_t requests_issued = 0;
  // Membership changes (faults add_node / remove_node, thesis §4.1), in the
  // order they began: when the fault fired and when the leader's committed
  // configuration first had the change (an added server a voter, a removed
  // one gone); done_ms -1: never.
  struct MembershipChange {
    ChangeAction action = ChangeAction::Add;
    int node = 0;
    int64_t begun_ms = 0;
    int64_t done_ms = -1;
  };
  std::vector<MembershipChange> membership_changes;
};

class Cluster {
 public:
  explicit Cluster(const Config& cfg, PlantedBugs bugs = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Trace consumers; add before start(). With none, no event is built.
  void add_sink(TraceSink* sink);
  // The one observer of the liveness figures' facts, or nullptr; set before start().
  void set_observer(RunObserver* observer) { observer_ = observer; }
  // Tests: drop every message for which the filter returns true.
  void set_drop_filter(std::function<bool(const Message&)> filter);
  // Tests: give client `client` a fixed list of commands instead of random ones.
  void set_client_script(int client, std::vector<Command> script);

  // The trace header (line 1).
  json header() const;

  // Boots every node, schedules StartElection and the configured faults.
  void start();
  // Runs one scheduled item; false when the run is over.
  bool step();
  // Runs until the run is over (clients done + linger, or the time limit).
  void run();
  // Runs items up to and including virtual time t, ignoring the end
  // conditions (tests).
  void run_until(int64_t t);
  // Emits the final `end` event (call once, after the run).
  void finish();

  // Faults, applied now (tests) or from the [[faults]] schedule.
  void crash(int node);
  void restart(int node);
  void partition(const std::vector<std::vector<int>>& groups);
  void heal();
  void cut(int from, int to, bool is_cut);
  // Tests and scenarios: deliver StartElection to `node` now (as the runtime
  // does to initial_leader at time 0).
  void start_election(int node);
  // Tests and scenarios: a ClientRequest from no client (client id 0, no
  // dedup, reply ignored) sent to `node` now.
  void inject_request(int node, Command cmd);

  int64_t now() const { return now_; }
  bool done() const;
  const Config& config() const { return cfg_; }
  // Every node id the run may have: 1..num_nodes and those add_node brings
  // (a node that has not joined yet, or has left, is down).
  int num_nodes() const { return max_id_; }
  const Node& node(int id) const { return nodes_.node(id); }
  bool is_up(int id) const { return nodes_.is_up(id); }
  // The up leader with the highest term, if any.
  std::optional<int> leader() const;
  const RunStats& stats() const { return stats_; }
  // Every finished client operation, in finishing order (empty after
  // keep_history(false), which a long run uses to keep its memory bounded).
  const std::vector<ClientOp>& history() const { return history_; }
  void keep_history(bool keep) { keep_history_ = keep; }
  const ClientTotals& client_totals() const { return totals_; }
  // Do all up nodes hold the same applied prefix and store? (Strict: a node
  // merely behind makes it false; app/summary.h's classify() tells the two apart.)
  bool replicas_agree() const;
  // The run ended at time_limit_ms before its planned end (the clients done,
  // then linger_ms, then until the replicas converged).
  bool stopped_at_time_limit() const { return stopped_at_time_limit_; }
  // Converged: the replicas agree under a stable leader. The up leader of the
  // highest term has committed an entry of its own term (with leader_noop off
  // it may have none to commit), and every up node is in that term and has
  // applied exactly the leader's commit index (so all hold the same prefix,
  // the leader's latest commit included).
  bool converged() const;
  // When the workload and the faults were over: the later of the last client
  // request's completion and the last scheduled fault; -1 while clients are busy.
  int64_t settled_ms() const;
  // Since when the cluster has been converged without a break, counted from
  // settled_ms() on; -1 if it is not converged now.
  int64_t converged_since_ms() const { return converged_since_ms_; }
  // The run lingered past linger_ms because the replicas had not converged.
  bool lingered_for_convergence() const { return lingered_for_convergence_; }

 private:
  enum class ItemKind {
    Deliver,
    ElectionTimer,
    HeartbeatTimer,
    CheckQuorumTimer,
    TransferTimer,
    StartElection,
    ClientNext,
    ClientStart,  // a [[clients]] entry's start_ms
    ClientStop,   // a [[clients]] entry's stop_ms
    ClientTimeout,
    ClientResend,
    Fault,
    Nemesis,
    Change,  // ask the leader again for a membership change not yet committed
  };
  // Queue entries stay small (they are copied in and out of the queue); a
  // message in flight waits in msg_pool_ and the item points at it.
  struct Item {
    int64_t time = 0;
    uint64_t order = 0;
    ItemKind kind = ItemKind::Deliver;
    int target = 0;  // node id, client id or fault index; Deliver: the message's batch, or 0
    uint64_t gen = 0;
    Message* msg = nullptr;  // Deliver only
  };
  struct ClientState;
  // A timer that is re-armed far more often than it fires: a follower's
  // election timer (reset by each AppendEntries) and a client's request
  // timeout (cancelled by each reply). Pushing an item per arming would fill
  // the queue with stale items, popped only to be discarded. Instead an
  // arming records its due time and takes its place in the order (`order`,
  // drawn from next_order_ then, as a push would), and at most one queue
  // item per timer stands for it: the earliest one pushed and not yet popped
  // (`queued_order`). That item, due no later than the live arming, pushes
  // the live arming with its recorded order when it pops, so the arming pops
  // exactly where its own item would have: the run is unchanged, minus the
  // stale pops.
  struct TimerSlot {
    int64_t due = 0;  // the live arming
    uint64_t order = 0;
    uint64_t gen = 0;
    bool queued = false;  // an item stands for the timer in the queue
    int64_t queued_time = 0;
    uint64_t queued_order = 0;
  };

  // Timers, client actions and faults carry no message; only deliveries do.
  void schedule(int64_t at, ItemKind kind, int target, uint64_t gen = 0);
  // Arms a deferred timer (see TimerSlot) due at `at`.
  void arm_slot(TimerSlot& slot, int64_t at, ItemKind kind, int target, uint64_t gen);
  // The item of `slot` popped: true if it is the live arming, due now;
  // otherwise it pushes the live arming if `live` (not cancelled since).
  bool slot_fires(TimerSlot& slot, const Item& item, bool live);
  void schedule_delivery(int64_t at, Message&& msg);
  // A message of outbox batch `batch`, delivered where it is.
  void schedule_in_batch(int64_t at, Message& msg, int batch);
  void release_batch(int batch);
  void push_item(const Item& item);
  void pop_and_dispatch(int64_t next);  // next: queue_.next_time()
  void dispatch(Item& item);
  void emit(json event);
  void emit(const RuntimeEvent& event);  // the frequent runtime events, typed
  // An input event of `node` (deliver with msg, timeout with timer, transfer
  // with `to`).
  void emit_input(const char* event, int node, const Message* msg = nullptr,
                  const char* timer = nullptr, int to = 0, const char* action = nullptr);
  void emit_effect(int node, const NodeEvent& event);
  void emit_send(int node, const Message& m);
  // A line of the line encoder is written to line_out() and then handed to
  // every sink by write_line(): straight into the only sink's buffer when it
  // lends one (TraceSink::line_buffer), else into own_line_.
  LineBuffer& line_out();
  void write_line();
  json omit_same_state(json event, int node, const NodeState& state, bool up);
  template <typename Input>
  void run_node_step(int node, Input&& input);
  void apply_effects(int node, Effects& fx);
  void arm_election_timer(int node);
  void arm_heartbeat_timer(int node);
  void arm_check_quorum_timer(int node);
  void arm_transfer_timer(int node);
  // Fault transfer_leader (thesis §3.10): hands the current leader a request
  // to transfer leadership to `to`, or traces fault_skipped without one.
  void transfer_leader(const FaultConfig& f);
  // Faults add_node and remove_node (thesis §4.1): a new server joins (boots
  // empty), and the runtime asks the leader of the moment for the change,
  // again every heartbeat interval, until the leader has committed it; a
  // removed server is then shut down for good.
  void begin_change(const FaultConfig& f);
  void drive_change(int index);
  void join(int id);
  // A crash (event "crash") or a removed server's shutdown ("leave").
  void stop_node(int id, const char* event);
  void leave(int id);
  // Does `id` take part in the run now: joined (a bootstrap node, or added
  // by add_node) and not shut down after its removal?
  bool present(int id) const { return joined_[static_cast<size_t>(id)] && !left_[id]; }
  // The next present node after `id`, cyclically (a client trying elsewhere).
  int next_node(int id) const;
  // batch: the outbox batch holding msg, or 0 to move msg into msg_pool_.
  void transmit(Message& msg, int batch = 0);
  const char* link_blocked(int from, int to) const;
  void deliver(Message& msg);
  void apply_fault(const FaultConfig& f);
  // The node a role target names now, if any (FaultConfig's comment).
  std::optional<int> resolve_target(const FaultConfig& f);
  void set_network(const FaultConfig& f);
  void count_nemesis(FaultAction action) { ++stats_.faults_nemesis[static_cast<size_t>(action)]; }
  void schedule_nemesis();
  void nemesis_act();
  void nemesis_repair_all();

  void start_clients(int leader);
  void client_start(int client, int leader);
  void client_stop(int client);
  void client_next(int client);
  void client_send(int client);
  void client_on_reply(const Message& reply);
  void client_on_timeout(int client, uint64_t gen);
  void client_complete(int client, Result result, int from);
  Command random_command(int client);

  const Config cfg_;
  const int max_id_;  // the highest node id of the run (add_node may raise it above num_nodes)
  const NodeOptions node_options_;
  const NodeClocks clocks_;  // each node's own clock ([timing] clock_drift_ppm)
  Rng rng_;
  int64_t now_ = 0;
  uint64_t next_order_ = 0;
  EventQueue<Item> queue_;  // ordered by (time, order)
  // Messages in flight. A deque never moves its elements, so a message is
  // delivered in place (no copy out of the pool) even while the step it
  // drives sends new ones; delivered slots are reused through free_msgs_.
  std::deque<Message> msg_pool_;
  std::vector<Message*> free_msgs_;
  // A step's sends stay in the outbox vector the node built them in: after
  // the step that vector becomes a batch (batches_[b - 1] for batch b) and
  // the step's Effects takes a drained batch's vector (capacity kept) for the
  // next step. Each message is delivered from its batch, never moved; a
  // batch is drained once its last message is delivered. A node's outbox
  // used to be moved message by message into msg_pool_: a 312-byte move
  // (four strings, a vector) per send. msg_pool_ keeps the messages clients
  // send and the network's duplicates.
  struct Batch {
    std::vector<Message> msgs;
    int64_t in_flight = 0;  // messages of msgs still to be delivered
  };
  std::vector<Batch> batches_;
  std::vector<int> free_batches_;  // drained batches, the last drained on top
  // One Effects reused by every step: its vectors keep their capacity, so a
  // step allocates nothing for its events and sends.
  Effects fx_;
  int64_t next_msg_id_ = 1;
  int64_t next_seq_ = 1;

  NodeSet nodes_;  // the nodes, up or down, and each one's stable storage (what a restart reads)
  // The network's settings: the config's, until a network fault changes them.
  NetworkConfig network_;
  int64_t latency_min_ms_ = 0;
  int64_t latency_max_ms_ = 0;
  std::vector<uint64_t> election_gen_;
  std::vector<TimerSlot> election_slot_;  // index = node id
  std::vector<uint64_t> heartbeat_gen_;
  std::vector<uint64_t> check_quorum_gen_;
  std::vector<uint64_t> transfer_gen_;

  // Per role target (FaultTarget index): the nodes its crashes took down and
  // its restarts have not brought back, latest last; 0 for a skipped crash.
  std::array<std::vector<int>, 3> role_crashed_;
  std::vector<int> group_of_;              // partition group per node (0 = all one)
  std::vector<char> joined_;               // by node id: booted (bootstrap, or add_node)
  std::vector<char> left_;                 // by node id: shut down after its removal
  std::vector<Membership> observed_conf_;  // by node id: the configuration the observer has
  // Every add_node / remove_node begun, in order (index as in
  // stats_.membership_changes): finished once done_ms is set.
  std::vector<RunStats::MembershipChange>& changes_ = stats_.membership_changes;
  std::vector<std::pair<int, int>> cuts_;  // one-way cut links

  std::vector<std::unique_ptr<ClientState>> clients_;  // index = client id (0 unused)
  bool clients_started_ = false;
  std::vector<ClientOp> history_;
  bool keep_history_ = true;
  ClientTotals totals_;

  std::vector<TraceSink*> sinks_;
  RunObserver* observer_ = nullptr;
  bool lines_only_ = true;   // every sink takes lines (trace/line_encoder.h)
  bool may_defer_ = false;   // a single sink, taking lines: it may take deferred ones
  bool defer_next_ = false;  // may_defer_ and the sink takes deferred lines now
  bool defer_now() const { return defer_next_; }
  std::string line_;              // a json event's line, or a copy of own_line_ for the sinks
  LineBuffer own_line_;           // the line being written (no sink lends a buffer)
  LineBuffer* lent_ = nullptr;    // the only sink's buffer, if it lends one
  LineBuffer* direct_ = nullptr;  // lent_ while a line is being appended to it
  size_t direct_start_ = 0;       // where the line being written starts in it
  StateCache written_states_;     // each node's last written `state` (omitted when unchanged)
  std::function<bool(const Message&)> drop_filter_;
  RunStats stats_;
  int64_t last_fault_ms_ = 0;
  bool nemesis_repaired_ = false;
  bool started_ = false;
  bool stopped_at_time_limit_ = false;
  int64_t converged_since_ms_ = -1;
  bool lingered_for_convergence_ = false;
  void note_convergence();
  // Two up nodes applied different entries at one index (only a planted bug does that).
  bool applied_prefixes_differ() const;
};

}  // namespace raftkv
