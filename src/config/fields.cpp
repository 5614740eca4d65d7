#include "config/fields.h"

#include <algorithm>
#include <cstdio>

namespace raftkv {
namespace {

constexpr int64_t kMaxNodes = 1000;
constexpr int64_t kMaxClients = 1000;
// The workload's keys are single letters, "a".."z".
constexpr int64_t kMaxKeys = 26;

// Builds the table once. Meanings are README's wording: the README test
// compares them character for character.
std::vector<ConfigField> make_fields() {
  using C = Config;
  using T = TimingConfig;
  using N = NetworkConfig;
  using M = NemesisConfig;
  using R = RaftConfig;
  return {
      {.path = "num_nodes",
       .ref = member<&C::num_nodes>(),
       .min = 1,
       .max = kMaxNodes,
       .meaning = "Raft nodes, ids 1..N"},
      {.path = "num_clients",
       .ref = member<&C::num_clients>(),
       .min = 0,
       .max = kMaxClients,
       .meaning = "clients, ids 1..C"},
      {.path = "seed",
       .ref = member<&C::seed>(),
       .min = 0,
       .meaning = "seed of the run's only RNG (`--seed` overrides)"},
      {.path = "requests_per_client",
       .ref = member<&C::requests_per_client>(),
       .min = 0,
       .meaning = "requests each client sends, one at a time"},
      {.path = "keys",
       .ref = member<&C::keys>(),
       .min = 1,
       .max = kMaxKeys,
       .range_note = "the workload's keys are 'a'..'z'",
       .meaning = "distinct keys the workload uses, `\"a\"` onwards (so at most `\"z\"`); 1 puts "
                  "every command on one hot key",
       .header_omits_default = true},
      {.path = "initial_leader",
       .ref = member<&C::initial_leader>(),
       .min = 0,
       .max_is_num_nodes = true,
       .range_note = "0 = no initial leader",
       .meaning = "node sent StartElection at time 0, as in the seed; 0 leaves the first election "
                  "to timeouts"},
      {.path = "time_limit_ms",
       .ref = member<&C::time_limit_ms>(),
       .min = 1,
       .meaning = "the run stops at this virtual time whatever happens"},
      {.path = "linger_ms",
       .ref = member<&C::linger_ms>(),
       .min = 0,
       .meaning = "idle time (heartbeats only) after the last client request and the last "
                  "scheduled fault, and after it until the replicas converge (bounded by "
                  "`time_limit_ms`); 0: no lingering"},
      {.path = "leader_noop",
       .ref = member<&C::leader_noop>(),
       .meaning = "a new leader appends a no-op entry of its term (Raft §8); `false` lets you "
                  "watch Figure 8"},
      {.path = "raft.pre_vote",
       .ref = member<&C::raft, &R::pre_vote>(),
       .meaning = "a node whose election timer fires first asks for pre-votes for term + 1, "
                  "changing no term; only a majority of them starts an election (thesis §9.6)",
       .header_omits_default = true},
      {.path = "raft.check_quorum",
       .ref = member<&C::raft, &R::check_quorum>(),
       .meaning =
           "a leader that has not heard from a majority within an election timeout steps "
           "down, and a node that has a live leader ignores RequestVote (thesis §6.2, §4.2.3)",
       .header_omits_default = true},
      {.path = "raft.read_mode",
       .ref = member<&C::raft, &R::read_mode>(),
       .meaning = "how a leader answers a get: `\"log\"` commits it as a log entry; "
                  "`\"read_index\"` answers from its state machine after confirming its "
                  "leadership with one round of messages, without a log entry (thesis §6.4); "
                  "`\"lease\"` answers at once while the leader's lease from its last "
                  "confirmed round lasts (thesis §6.4.1; needs `check_quorum`)",
       .header_omits_default = true},
      {.path = "raft.snapshot_every",
       .ref = member<&C::raft, &R::snapshot_every>(),
       .min = 0,
       .max = 1000000000,
       .range_note = "0 = never snapshot",
       .meaning = "a node that has applied this many entries since its last snapshot writes a "
                  "snapshot of its store and client dedup table and discards its log through "
                  "the applied index; a follower that needs discarded entries gets the "
                  "leader's snapshot in InstallSnapshot (Raft §7); 0: never",
       .header_omits_default = true},
      {.path = "raft.snapshot_chunk_bytes",
       .ref = member<&C::raft, &R::snapshot_chunk_bytes>(),
       .min = 0,
       .max = 1073741824,
       .range_note = "0 = the whole snapshot in one message",
       .meaning = "the most snapshot bytes one InstallSnapshot carries (cut back so that no UTF-8 "
                  "character is split); 0: the whole snapshot in one message; no effect "
                  "without `snapshot_every`",
       .header_omits_default = true},
      {.path = "timing.heartbeat_interval_ms",
       .ref = member<&C::timing, &T::heartbeat_interval_ms>(),
       .min = 1,
       .meaning = "leader's AppendEntries period; must be below `election_timeout_min_ms`"},
      {.path = "timing.election_timeout_min_ms",
       .ref = member<&C::timing, &T::election_timeout_min_ms>(),
       .min = 1,
       .meaning = "election timeouts are drawn uniformly from [min, max)"},
      {.path = "timing.election_timeout_max_ms",
       .ref = member<&C::timing, &T::election_timeout_max_ms>(),
       .min = 1,
       .meaning = "the exclusive upper end of that range; must be above `election_timeout_min_ms`"},
      {.path = "timing.network_latency_min_ms",
       .ref = member<&C::timing, &T::network_latency_min_ms>(),
       .min = 0,
       .meaning = "each message's latency is drawn uniformly from [min, max] (so messages "
                  "reorder)"},
      {.path = "timing.network_latency_max_ms",
       .ref = member<&C::timing, &T::network_latency_max_ms>(),
       .min = 1,
       .meaning = "the inclusive upper end of that range; at least `network_latency_min_ms`"},
      {.path = "timing.client_timeout_ms",
       .ref = member<&C::timing, &T::client_timeout_ms>(),
       .min = 1,
       .meaning = "a client waits this long for one node, then tries the next"},
      {.path = "timing.client_deadline_ms",
       .ref = member<&C::timing, &T::client_deadline_ms>(),
       .min = 1,
       .meaning = "a client gives up on a request after this long: its outcome is `unknown`; at "
                  "least `client_timeout_ms`"},
      {.path = "timing.clock_drift_ppm",
       .ref = member<&C::timing, &T::clock_drift_ppm>(),
       .min = 0,
       .max = 500000,
       .range_note = "at most 500000 ppm (a clock at half or one and a half times true speed)",
       .meaning = "node clocks run off true time by up to this many parts per million, node 1 "
                  "slowest and the last node fastest; every node timer runs on its own clock "
                  "and a lease assumes this bound",
       .header_omits_default = true},
      {.path = "network.loss",
       .ref = member<&C::network, &N::loss>(),
       .meaning = "probability a message is lost"},
      {.path = "network.duplicate",
       .ref = member<&C::network, &N::duplicate>(),
       .meaning = "probability a message is delivered twice"},
      {.path = "faults",
       .ref = member<&C::faults>(),
       .meaning = "scheduled faults: `at_ms`, `action` and the action's fields"},
      {.path = "clients",
       .ref = member<&C::clients>(),
       .meaning = "per-client schedules: `id` and any of `start_ms`, `stop_ms`, `node`, `count` or "
                  "`commands`"},
      {.path = "nemesis.enabled",
       .ref = member<&C::nemesis, &M::enabled>(),
       .meaning = "random faults drawn from the run's RNG"},
      {.path = "nemesis.kinds",
       .ref = member<&C::nemesis, &M::kinds>(),
       .meaning = "what the nemesis may do; must not be empty when it is enabled"},
      {.path = "nemesis.mean_interval_ms",
       .ref = member<&C::nemesis, &M::mean_interval_ms>(),
       .min = 1,
       .meaning = "mean time between random faults (exponential)"},
      {.path = "nemesis.max_down",
       .ref = member<&C::nemesis, &M::max_down>(),
       .min = 0,
       .max_is_num_nodes = true,
       .meaning = "most nodes crashed at once"},
  };
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

}  // namespace

std::string_view ConfigField::section() const {
  size_t dot = path.find('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view ConfigField::name() const {
  size_t dot = path.find('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

int64_t ConfigField::max_for(const Config& cfg) const {
  return max_is_num_nodes ? cfg.num_nodes : max;
}

const std::vector<ConfigField>& config_fields() {
  static const std::vector<ConfigField> fields = make_fields();
  return fields;
}

const ConfigField* find_config_field(std::string_view path) {
  for (const ConfigField& field : config_fields()) {
    if (field.path == path) return &field;
  }
  return nullptr;
}

std::string readme_key(const ConfigField& field) {
  if (std::holds_alternative<FieldRef<std::vector<FaultConfig>>>(field.ref) ||
      std::holds_alternative<FieldRef<std::vector<ClientConfig>>>(field.ref)) {
    return code("[[" + std::string(field.path) + "]]");
  }
  if (field.section().empty()) return code(field.path);
  return code("[" + std::string(field.section()) + "] " + std::string(field.name()));
}

std::string readme_default(const ConfigField& field) {
  const Config defaults;
  return std::visit(
      Overload{[&](const FieldRef<bool>& r) -> std::string {
                 return r.get(defaults) ? "true" : "false";
               },
               [&](const FieldRef<double>& r) -> std::string {
                 // As TOML would spell it: a float keeps its point.
                 char buffer[32];
                 std::snprintf(buffer, sizeof buffer, "%g", r.get(defaults));
                 std::string text = buffer;
                 if (text.find_first_of(".en") == std::string::npos) text += ".0";
                 return text;
               },
               [&](const FieldRef<ReadMode>& r) -> std::string {
                 return code("\"" + std::string(to_string(r.get(defaults))) + "\"");
               },
               [&](const FieldRef<std::vector<NemesisKind>>& r) -> std::string {
                 std::string text = "[";
                 for (NemesisKind kind : r.get(defaults)) {
                   if (text.size() > 1) text += ", ";
                   text += "\"" + std::string(to_string(kind)) + "\"";
                 }
                 return code(text + "]");
               },
               [&](const FieldRef<std::vector<FaultConfig>>& r) -> std::string {
                 return r.get(defaults).empty() ? "none" : "(see config.h)";
               },
               [&](const FieldRef<std::vector<ClientConfig>>& r) -> std::string {
                 return r.get(defaults).empty() ? "none" : "(see config.h)";
               },
               [&](const auto& r) -> std::string { return std::to_string(r.get(defaults)); }},
      field.ref);
}

std::string readme_range(const ConfigField& field) {
  return std::visit(
      Overload{
          [&](const FieldRef<bool>&) -> std::string { return "`true`, `false`"; },
          [&](const FieldRef<double>&) -> std::string { return "[0, 1)"; },
          [&](const FieldRef<ReadMode>&) -> std::string {
            std::string text;
            const auto& names = read_mode_names();
            for (size_t i = 0; i < names.size(); ++i) {
              text += (i > 0 ? ", " : "") + code("\"" + std::string(names[i]) + "\"");
            }
            return text;
          },
          [&](const FieldRef<std::vector<NemesisKind>>&) -> std::string {
            std::string text = "any of ";
            const auto& names = nemesis_kind_names();
            for (size_t i = 0; i < names.size(); ++i) {
              text += (i > 0 ? ", " : "") + code(names[i]);
            }
            return text;
          },
          [&](const FieldRef<std::vector<FaultConfig>>&) -> std::string { return "see below"; },
          [&](const FieldRef<std::vector<ClientConfig>>&) -> std::string { return "see below"; },
          [&](const auto&) -> std::string {
            std::string low = std::to_string(field.min);
            if (field.max_is_num_nodes) return low + "..`num_nodes`";
            if (field.max == kConfigIntMax) return "≥ " + low;
            return low + ".." + std::to_string(field.max);
          }},
      field.ref);
}

std::string readme_config_table() {
  std::string out = "| key | default | allowed | meaning |\n|---|---|---|---|\n";
  for (const ConfigField& field : config_fields()) {
    out += "| " + readme_key(field) + " | " + readme_default(field) + " | " + readme_range(field) +
           " | " + std::string(field.meaning) + " |\n";
  }
  return out;
}

}  // namespace raftkv
