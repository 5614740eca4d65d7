// Run configuration: everything a run needs besides the seed's randomness.
//
// Loaded from TOML (config.toml by default). Every key is optional and has
// the default written here; src/config/fields.cpp describes each key once
// (path, type, range, meaning), and README.md's table must match it. A config that fails
// validation is reported as a ConfigError naming the file, line and key.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv {

struct TimingConfig {
  int64_t heartbeat_interval_ms = 50;
  int64_t election_timeout_min_ms = 150;
  int64_t election_timeout_max_ms = 300;  // exclusive upper bound
  int64_t network_latency_min_ms = 1;
  int64_t network_latency_max_ms = 5;  // inclusive upper bound
  // A client gives up on one node after this long and tries the next one.
  int64_t client_timeout_ms = 500;
  // A client gives up on a request after this long; its outcome is unknown.
  int64_t client_deadline_ms = 5000;
  // How far each node's clock may run from true (virtual) time, in parts per
  // million: node i's clock runs at rate 1 + d_i with d_i spread evenly over
  // [-clock_drift_ppm, +clock_drift_ppm] by node id (node 1 slowest, node
  // num_nodes fastest). Every node timer runs on its node's clock, and a
  // lease-reading leader assumes this bound (read_mode = "lease").
  int64_t clock_drift_ppm = 0;
};

struct NetworkConfig {
  double loss = 0.0;       // probability a message is dropped in flight
  double duplicate = 0.0;  // probability a message is delivered twice
};

// What a scheduled fault does. The config file and the trace header spell it
// with to_string(); the loader turns the name into the enum once, so the
// runtime dispatches on a value that cannot be misspelt.
enum class FaultAction {
  Crash,
  Restart,
  Partition,
  Heal,
  Cut,
  Uncut,
  Network,
  TransferLeader,
  AddNode,
  RemoveNode
};

// Whom a crash or restart acts on: the node id in `node`, or a role that the
// run resolves to a node id when the fault fires (config spelling:
// `node = "leader"` / `node = "follower"`, to_string).
enum class FaultTarget { Node, Leader, Follower };

// What the nemesis may do at random; spelt as in the config (to_string).
enum class NemesisKind { Crash, Partition, Cut };

// How a leader answers a get ([raft] read_mode, issue 15): "log" puts it in
// the log like any command; "read_index" answers from the state machine once
// it has confirmed its leadership with a round of ReadConfirm messages and
// applied its commit index of that moment (Raft thesis §6.4); "lease" answers
// at once while the leader holds a lease from its last confirmed round, a
// time within which no other leader can be elected given the clock-drift
// bound (thesis §6.4.1), and falls back to a round when the lease has run out.
enum class ReadMode { Log, ReadIndex, Lease };

// Every name, in enum order: the lists error messages and README quote.
const std::vector<std::string_view>& fault_action_names();
const std::vector<std::string_view>& nemesis_kind_names();
std::string_view to_string(FaultAction action);
std::string_view to_string(NemesisKind kind);
std::optional<FaultAction> fault_action_named(std::string_view name);
std::optional<NemesisKind> nemesis_kind_named(std::string_view name);
const std::vector<std::string_view>& read_mode_names();
std::string_view to_string(ReadMode mode);
std::optional<ReadMode> read_mode_named(std::string_view name);
// "leader", "follower" (FaultTarget::Node has no name: it is a number).
std::string_view to_string(FaultTarget target);

// One scheduled fault. Which fields matter depends on `action`:
//   crash, restart       -> node
//   partition            -> groups (a partition of all node ids)
//   heal                 -> nothing (restores full connectivity)
//   cut, uncut           -> from, to (one-way link from -> to)
//   network              -> any of loss, duplicate, latency_min_ms, latency_max_ms
//   transfer_leader      -> to (the node the leader of the moment hands
//                           leadership to, thesis §3.10; skipped when there is
//                           no leader)
//   add_node             -> node (a new server, id above num_nodes: it boots
//                           empty and the leader adds it as a learner, then
//                           promotes it to voter once it has caught up; the
//                           runtime asks each heartbeat_interval_ms until the
//                           leader has committed it, thesis §4.1)
//   remove_node          -> node (the leader removes it; once that is
//                           committed the runtime shuts the node down for good)
// A crash or restart with a role target (target != Node) leaves node at 0:
// crash "leader" crashes the running leader of the highest term, crash
// "follower" the lowest-id running follower in that leader's term; restart
// "leader" / "follower" restarts the node the latest earlier crash with the
// same target crashed. When nothing matches at that time the fault is skipped.
struct FaultConfig {
  int64_t at_ms = 0;
  // Heal needs no other field, so a fault built in code without an action
  // is harmless rather than undefined.
  FaultAction action = FaultAction::Heal;
  int node = 0;
  std::vector<std::vector<int>> groups;
  int from = 0;
  int to = 0;
  FaultTarget target = FaultTarget::Node;
  // network: the settings given change from at_ms on; the others keep their
  // value (the [network] and [timing] keys of the same names).
  std::optional<double> loss;
  std::optional<double> duplicate;
  std::optional<int64_t> latency_min_ms;  // as timing.network_latency_min_ms
  std::optional<int64_t> latency_max_ms;  // as timing.network_latency_max_ms
  int line = 0;                           // line of the [[faults]] entry in the config file
};

// One client's schedule ([[clients]]); a client not listed behaves as the
// workload says (requests_per_client random commands, from the first leader).
struct ClientConfig {
  int id = 0;
  // When the client sends its first request; unset: when the first leader
  // is elected, as unlisted clients.
  std::optional<int64_t> start_ms;
  // From then on the client sends no new request (one in flight completes).
  std::optional<int64_t> stop_ms;
  // The node the client sends its first request to; unset: the leader it is
  // handed at its start (node 1 if there is none yet).
  std::optional<int> node;
  // Random requests to send; unset: requests_per_client (unless commands).
  std::optional<int> count;
  // Explicit commands, in order: "put KEY VALUE", "get KEY", "delete KEY".
  std::vector<std::string> commands;
  int line = 0;  // line of the [[clients]] entry in the config file
};

// An explicit client command, parsed from its text.
struct ClientCommand {
  std::string op;  // "put", "get" or "delete"
  std::string key;
  std::string value;  // put only
};

// Parses "put KEY VALUE" / "get KEY" / "delete KEY" (words separated by
// spaces; KEY and VALUE printable ASCII without spaces). On failure returns
// nullopt and says why in *error.
std::optional<ClientCommand> parse_client_command(std::string_view text, std::string* error);

// Random faults ("nemesis"), drawn from the run's seeded RNG.
struct NemesisConfig {
  bool enabled = false;
  std::vector<NemesisKind> kinds = {NemesisKind::Crash, NemesisKind::Partition};
  // A default-sized run's workload is over in well under 100 ms without
  // faults (the nemesis stops with it): a mean of 30 ms makes it act there.
  int64_t mean_interval_ms = 30;
  int max_down = 1;  // most nodes crashed at once
};

// Protocol extensions beyond the paper's Figure 2 (issue 15), each off by
// default so that default runs and traces keep their bytes.
struct RaftConfig {
  // Thesis §9.6: ask for pre-votes before raising the term.
  bool pre_vote = false;
  // A leader that has not heard from a majority within an election timeout
  // steps down; followers with a live leader ignore RequestVote.
  bool check_quorum = false;
  ReadMode read_mode = ReadMode::Log;
  // Raft paper §7: a node snapshots its state machine (store and client dedup
  // table) once it has applied this many entries beyond its last snapshot,
  // and discards its log through the applied index; 0: never.
  int64_t snapshot_every = 0;
  // The most bytes of a snapshot one InstallSnapshot carries (a UTF-8
  // character is never split); 0: the whole snapshot in one message.
  int64_t snapshot_chunk_bytes = 0;
};

struct Config {
  int num_nodes = 5;
  int num_clients = 3;
  uint64_t seed = 1;
  int requests_per_client = 5;
  // Distinct keys the random workload uses: "a", "b", ... (1..26). 1 puts
  // every client command on one hot key.
  int keys = 5;
  // Node sent StartElection at time 0 (as in the seed); 0 leaves the first
  // election to election timeouts.
  int initial_leader = 1;
  // The run stops at this virtual time even if clients are still busy.
  int64_t time_limit_ms = 60000;
  // How long the run goes on (idle, heartbeats only) after the last client
  // request completes, and after the last scheduled fault; then on until the
  // replicas converge (Cluster::converged), up to time_limit_ms. 0: no lingering.
  int64_t linger_ms = 500;
  // §8: a new leader appends a no-op entry of its term. false shows why the
  // Figure 8 commit rule matters.
  bool leader_noop = true;
  RaftConfig raft;
  TimingConfig timing;
  NetworkConfig network;
  std::vector<FaultConfig> faults;
  std::vector<ClientConfig> clients;
  NemesisConfig nemesis;
  std::string source = "<defaults>";  // where it was loaded from
};

// Bad configuration. what() is one line: "file:line:col: message".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The config's "did you mean" rule, shared by every place that takes a name
// from the user (the command line's commands and bug names, scenario files),
// so that a typo gets the same kind of hint everywhere. nearest_name: the
// candidate close enough to `word` to be a plausible typo of it, if any.
// name_hint: " (did you mean 'X'?)" for that candidate, else
// " (expected A, B or C)" listing every candidate.
std::optional<std::string_view> nearest_name(std::string_view word,
                                             std::span<const std::string_view> candidates);
std::string name_hint(std::string_view word, std::span<const std::string_view> candidates);

// Reads and validates a TOML file. Throws ConfigError on a missing or
// unreadable file, a TOML syntax error, an unknown key (naming the nearest
// valid one), a value of the wrong type or out of range, or a bad fault.
Config load_config(const std::string& path);

// Same, from TOML text; `name` is used in messages in place of a file name.
Config parse_config(const std::string& text, const std::string& name);

// Checks cross-field rules (ranges, min <= max, faults); throws ConfigError.
// Called by load_config/parse_config and by tests that build a Config by hand.
void validate_config(const Config& cfg, const std::string& name);

// The highest node id a run of `cfg` may have: num_nodes, or the largest id an
// add_node fault brings (thesis §4.1).
int max_node_id(const Config& cfg);

}  // namespace raftkv
