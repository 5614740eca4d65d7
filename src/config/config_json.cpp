#include "config/config_json.h"

#include <sstream>

#include "config/fields.h"

namespace raftkv {
namespace {

std::string probability_string(double p) {
  std::ostringstream out;
  out << p;
  return out.str();
}

// Where a field lives in the header's config object: the section's object
// (created on first use) or the config itself.
json& slot(json& config, const ConfigField& field) {
  if (field.section().empty()) return config[std::string(field.path)];
  return config[std::string(field.section())][std::string(field.name())];
}

const json* find_slot(const json& config, const ConfigField& field) {
  const json* table = &config;
  if (!field.section().empty()) {
    auto it = config.find(std::string(field.section()));
    if (it == config.end() || !it->is_object()) return nullptr;
    table = &*it;
  }
  auto it = table->find(std::string(field.name()));
  return it == table->end() ? nullptr : &*it;
}

// The faults keep their hand-written shape: which fields matter depends on
// the action, so the field table has no row per fault field.
json faults_to_json(const std::vector<FaultConfig>& faults) {
  json out = json::array();
  for (const FaultConfig& f : faults) {
    json groups = json::array();
    for (const auto& g : f.groups) groups.push_back(g);
    json entry{{"at_ms", f.at_ms}, {"action", to_string(f.action)},
               {"node", f.node},   {"groups", groups},
               {"from", f.from},   {"to", f.to}};
    // Keys that came after version 3 was first written appear only when
    // used, so a config without them writes the same bytes as before. A
    // role target keeps `node` 0 (the trace never holds a node name).
    if (f.target != FaultTarget::Node) entry["target"] = to_string(f.target);
    if (f.loss) entry["loss"] = probability_string(*f.loss);
    if (f.duplicate) entry["duplicate"] = probability_string(*f.duplicate);
    if (f.latency_min_ms) entry["network_latency_min_ms"] = *f.latency_min_ms;
    if (f.latency_max_ms) entry["network_latency_max_ms"] = *f.latency_max_ms;
    out.push_back(std::move(entry));
  }
  return out;
}

json clients_to_json(const std::vector<ClientConfig>& clients) {
  json out = json::array();
  for (const ClientConfig& c : clients) {
    json entry{{"id", c.id}};
    if (c.start_ms) entry["start_ms"] = *c.start_ms;
    if (c.stop_ms) entry["stop_ms"] = *c.stop_ms;
    if (c.node) entry["node"] = *c.node;
    if (c.count) entry["count"] = *c.count;
    if (!c.commands.empty()) entry["commands"] = c.commands;
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<ClientConfig> clients_from_json(const json& clients) {
  std::vector<ClientConfig> out;
  for (const json& c : clients) {
    ClientConfig& client = out.emplace_back();
    client.id = c.at("id").get<int>();
    if (c.contains("start_ms")) client.start_ms = c["start_ms"].get<int64_t>();
    if (c.contains("stop_ms")) client.stop_ms = c["stop_ms"].get<int64_t>();
    if (c.contains("node")) client.node = c["node"].get<int>();
    if (c.contains("count")) client.count = c["count"].get<int>();
    if (c.contains("commands")) client.commands = c["commands"].get<std::vector<std::string>>();
  }
  return out;
}

std::vector<FaultConfig> faults_from_json(const json& faults) {
  std::vector<FaultConfig> out;
  for (const json& f : faults) {
    FaultConfig& fault = out.emplace_back();
    fault.at_ms = f.at("at_ms").get<int64_t>();
    std::string action = f.at("action").get<std::string>();
    auto known = fault_action_named(action);
    if (!known) throw ConfigError("header config: unknown fault action '" + action + "'");
    fault.action = *known;
    fault.node = f.at("node").get<int>();
    fault.groups = f.at("groups").get<std::vector<std::vector<int>>>();
    fault.from = f.at("from").get<int>();
    fault.to = f.at("to").get<int>();
    if (f.contains("target")) {
      std::string target = f["target"].get<std::string>();
      if (target == "leader") {
        fault.target = FaultTarget::Leader;
      } else if (target == "follower") {
        fault.target = FaultTarget::Follower;
      } else {
        throw ConfigError("header config: unknown fault target '" + target + "'");
      }
    }
    if (f.contains("loss")) fault.loss = std::stod(f["loss"].get<std::string>());
    if (f.contains("duplicate")) fault.duplicate = std::stod(f["duplicate"].get<std::string>());
    if (f.contains("network_latency_min_ms")) {
      fault.latency_min_ms = f["network_latency_min_ms"].get<int64_t>();
    }
    if (f.contains("network_latency_max_ms")) {
      fault.latency_max_ms = f["network_latency_max_ms"].get<int64_t>();
    }
  }
  return out;
}

}  // namespace

json config_to_json(const Config& cfg) {
  const Config defaults;
  json out = json::object();
  for (const ConfigField& field : config_fields()) {
    std::visit(Overload{[&](const FieldRef<double>& r) {
                          slot(out, field) = probability_string(r.get(cfg));
                        },
                        [&](const FieldRef<ReadMode>& r) {
                          if (field.header_omits_default && r.get(cfg) == r.get(defaults)) return;
                          slot(out, field) = std::string(to_string(r.get(cfg)));
                        },
                        [&](const FieldRef<std::vector<NemesisKind>>& r) {
                          json kinds = json::array();
                          for (NemesisKind kind : r.get(cfg)) kinds.push_back(to_string(kind));
                          slot(out, field) = kinds;
                        },
                        [&](const FieldRef<std::vector<FaultConfig>>& r) {
                          slot(out, field) = faults_to_json(r.get(cfg));
                        },
                        [&](const FieldRef<std::vector<ClientConfig>>& r) {
                          // Absent when empty: default runs keep their bytes.
                          if (!r.get(cfg).empty()) slot(out, field) = clients_to_json(r.get(cfg));
                        },
                        [&](const auto& r) {
                          if (field.header_omits_default && r.get(cfg) == r.get(defaults)) return;
                          slot(out, field) = r.get(cfg);
                        }},
               field.ref);
  }
  return out;
}

Config config_from_json(const json& config) {
  Config cfg;
  for (const ConfigField& field : config_fields()) {
    const json* value = find_slot(config, field);
    if (value == nullptr) continue;
    std::visit(
        Overload{
            [&](const FieldRef<double>& r) { r.mut(cfg) = std::stod(value->get<std::string>()); },
            [&](const FieldRef<ReadMode>& r) {
              auto mode = read_mode_named(value->get<std::string>());
              if (!mode) throw ConfigError("header config: unknown read_mode " + value->dump());
              r.mut(cfg) = *mode;
            },
            [&](const FieldRef<std::vector<NemesisKind>>& r) {
              std::vector<NemesisKind>& kinds = r.mut(cfg);
              kinds.clear();
              for (const json& name : *value) {
                auto kind = nemesis_kind_named(name.get<std::string>());
                if (!kind) {
                  throw ConfigError("header config: unknown nemesis kind " + name.dump());
                }
                kinds.push_back(*kind);
              }
            },
            [&](const FieldRef<std::vector<FaultConfig>>& r) {
              r.mut(cfg) = faults_from_json(*value);
            },
            [&](const FieldRef<std::vector<ClientConfig>>& r) {
              r.mut(cfg) = clients_from_json(*value);
            },
            [&](const auto& r) {
              using T = typename std::remove_cvref_t<decltype(r)>::Type;
              r.mut(cfg) = value->get<T>();
            }},
        field.ref);
  }
  return cfg;
}

}  // namespace raftkv
