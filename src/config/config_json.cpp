#include "config/config_json.h"

#include <sstream>

namespace raftkv {
namespace {

std::string probability_string(double p) {
  std::ostringstream out;
  out << p;
  return out.str();
}

}  // namespace

json config_to_json(const Config& cfg) {
  json faults = json::array();
  for (const FaultConfig& f : cfg.faults) {
    json groups = json::array();
    for (const auto& g : f.groups) groups.push_back(g);
    faults.push_back(json{{"at_ms", f.at_ms},
                          {"action", f.action},
                          {"node", f.node},
                          {"groups", groups},
                          {"from", f.from},
                          {"to", f.to}});
  }
  const TimingConfig& t = cfg.timing;
  json out = json{
      {"num_nodes", cfg.num_nodes},
      {"num_clients", cfg.num_clients},
      {"seed", cfg.seed},
      {"requests_per_client", cfg.requests_per_client},
      {"initial_leader", cfg.initial_leader},
      {"time_limit_ms", cfg.time_limit_ms},
      {"linger_ms", cfg.linger_ms},
      {"leader_noop", cfg.leader_noop},
      {"timing",
       {{"heartbeat_interval_ms", t.heartbeat_interval_ms},
        {"election_timeout_min_ms", t.election_timeout_min_ms},
        {"election_timeout_max_ms", t.election_timeout_max_ms},
        {"network_latency_min_ms", t.network_latency_min_ms},
        {"network_latency_max_ms", t.network_latency_max_ms},
        {"client_timeout_ms", t.client_timeout_ms},
        {"client_deadline_ms", t.client_deadline_ms}}},
      {"network",
       {{"loss", probability_string(cfg.network.loss)},
        {"duplicate", probability_string(cfg.network.duplicate)}}},
      {"faults", faults},
      {"nemesis",
       {{"enabled", cfg.nemesis.enabled},
        {"kinds", cfg.nemesis.kinds},
        {"mean_interval_ms", cfg.nemesis.mean_interval_ms},
        {"max_down", cfg.nemesis.max_down}}},
  };
  // `keys` came after traces of version 1 were written: it is present only when it is not the
  // default 5, so a run with the default writes the same bytes as before it existed, and a trace
  // without it means 5 (spec/trace-schema.md).
  if (cfg.keys != Config{}.keys) out["keys"] = cfg.keys;
  return out;
}

}  // namespace raftkv
