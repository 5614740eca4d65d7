#include "raft/planted_bugs.h"

#include <utility>

namespace raftkv {
namespace {

// One table ties each name to its switch, so the lists cannot drift apart.
const std::vector<std::pair<std::string, bool PlantedBugs::*>>& table() {
  static const std::vector<std::pair<std::string, bool PlantedBugs::*>> kTable = {
      {"vote_without_log_check", &PlantedBugs::vote_without_log_check},
      {"vote_twice", &PlantedBugs::vote_twice},
      {"commit_old_term", &PlantedBugs::commit_old_term},
      {"skip_truncate", &PlantedBugs::skip_truncate},
      {"skip_prev_log_check", &PlantedBugs::skip_prev_log_check},
      {"apply_before_commit", &PlantedBugs::apply_before_commit},
      {"leader_ignores_higher_term", &PlantedBugs::leader_ignores_higher_term},
      {"no_client_dedup", &PlantedBugs::no_client_dedup},
      {"dedup_last_seq_only", &PlantedBugs::dedup_last_seq_only},
      {"prevote_raises_term", &PlantedBugs::prevote_raises_term},
      {"leader_ignores_quorum", &PlantedBugs::leader_ignores_quorum},
      {"read_index_without_confirm", &PlantedBugs::read_index_without_confirm},
      {"transfer_before_caught_up", &PlantedBugs::transfer_before_caught_up},
      {"lease_ignores_drift", &PlantedBugs::lease_ignores_drift},
      {"snapshot_uncommitted", &PlantedBugs::snapshot_uncommitted},
      {"install_discards_log", &PlantedBugs::install_discards_log},
      {"change_before_term_commit", &PlantedBugs::change_before_term_commit},
  };
  return kTable;
}

}  // namespace

bool PlantedBugs::any() const {
  for (const auto& [name, field] : table()) {
    if (this->*field) return true;
  }
  return false;
}

const std::vector<std::string>& planted_bug_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& [name, field] : table()) names.push_back(name);
    return names;
  }();
  return kNames;
}

std::vector<std::string> planted_bug_list(const PlantedBugs& bugs) {
  std::vector<std::string> out;
  for (const auto& [name, field] : table()) {
    if (bugs.*field) out.push_back(name);
  }
  return out;
}

bool plant_bug(PlantedBugs& bugs, const std::string& name) {
  for (const auto& [n, field] : table()) {
    if (n == name) {
      bugs.*field = true;
      return true;
    }
  }
  return false;
}

}  // namespace raftkv
