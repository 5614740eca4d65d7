// spec/ stays honest to the code: every event the emulator writes is
// documented in spec/trace-schema.md and mapped by spec/TraceRaftKV.tla, and
// every step export-tla names maps to an action of spec/RaftKV.tla.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "replay/export_tla.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

// A trace RaftKV.tla does not model: made with a [raft] switch other than
// pre_vote, check_quorum and read_mode, or with a read_mode other than
// read_index and lease (TraceRaftKV.tla's ASSUMEs reject any other).
// Leadership transfer (the fault transfer_leader) needs no switch and is
// modelled.
bool uses_unmodelled_switch(const std::string& text) {
  json header = json::parse(text.substr(0, text.find('\n')));
  if (!header.contains("config")) return false;
  const json& config = header["config"];
  if (!config.contains("raft")) return false;
  for (const auto& [name, value] : config["raft"].items()) {
    if (name == "pre_vote" || name == "check_quorum") continue;
    if (name == "read_mode" && value.is_string() && (value == "read_index" || value == "lease")) {
      continue;
    }
    return true;
  }
  return false;
}

// Event names written by a faulty run and by every sample trace (for the TLA+
// tests, only the traces the spec models).
std::set<std::string> event_names(std::vector<std::string>* traces, bool modelled_only = false) {
  Config cfg = test_config(5, 3, 30, 4);
  cfg.network.loss = 0.1;
  cfg.network.duplicate = 0.1;
  cfg.nemesis.enabled = true;
  cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
  cfg.nemesis.mean_interval_ms = 100;
  cfg.nemesis.max_down = 2;
  traces->push_back(trace_text(cfg));
  for (const auto& f :
       std::filesystem::directory_iterator(std::string(RAFTKV_SOURCE_DIR) + "/traces")) {
    if (f.path().extension() != ".jsonl") continue;
    std::string text = read_file(f.path().string());
    if (modelled_only && uses_unmodelled_switch(text)) continue;
    traces->push_back(std::move(text));
  }
  std::set<std::string> names;
  for (const std::string& text : *traces) {
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) names.insert(json::parse(line)["event"].get<std::string>());
  }
  return names;
}

// The event names TraceRaftKV.tla maps to RaftKV actions: the string
// literals of the definitions from InputEvents up to KnownEvents (its ASSUME
// rejects a trace holding any other name).
std::set<std::string> tla_known_events(const std::string& tla) {
  size_t from = tla.find("\nInputEvents ==");
  size_t to = tla.find("\nKnownEvents ==");
  if (from == std::string::npos || to == std::string::npos || to < from) return {};
  std::string defs = tla.substr(from, to - from);
  std::set<std::string> known;
  std::regex literal("\"([a-z_]+)\"");
  for (auto it = std::sregex_iterator(defs.begin(), defs.end(), literal);
       it != std::sregex_iterator(); ++it) {
    known.insert((*it)[1].str());
  }
  return known;
}

std::set<std::string> unmapped(const std::set<std::string>& names,
                               const std::set<std::string>& known) {
  std::set<std::string> missing;
  for (const std::string& name : names) {
    if (!known.count(name)) missing.insert(name);
  }
  return missing;
}

}  // namespace

TEST_CASE("Every traced event is documented in spec/trace-schema.md", "[spec]") {
  std::vector<std::string> traces;
  std::set<std::string> names = event_names(&traces);
  CHECK(names.size() >= 25);
  std::string schema = read_file(std::string(RAFTKV_SOURCE_DIR) + "/spec/trace-schema.md");
  REQUIRE_FALSE(schema.empty());
  for (const std::string& name : names) {
    INFO("event '" << name << "' has no row in spec/trace-schema.md");
    bool documented = schema.find("| `" + name + "`") != std::string::npos ||
                      schema.find("/ `" + name + "`") != std::string::npos;
    CHECK(documented);
  }
}

TEST_CASE("Every exported step maps to an action of spec/RaftKV.tla", "[spec][tla]") {
  std::vector<std::string> traces;
  event_names(&traces, /*modelled_only=*/true);
  std::string tla = read_file(std::string(RAFTKV_SOURCE_DIR) + "/spec/RaftKV.tla");
  REQUIRE_FALSE(tla.empty());
  std::set<std::string> actions;
  for (const std::string& text : traces) {
    std::istringstream in(text);
    std::ostringstream out;
    export_tla(in, "trace", out);
    std::istringstream steps(out.str());
    for (std::string line; std::getline(steps, line);) {
      actions.insert(json::parse(line)["action"].get<std::string>());
    }
  }
  CHECK(actions.count("Receive") == 1);
  CHECK(actions.count("CheckQuorumTick") == 1);  // traces/check-quorum*.jsonl
  CHECK(actions.count("Transfer") == 1);         // traces/leader-transfer.jsonl
  for (const std::string& action : actions) {
    if (action == "Start") continue;  // a node's boot is the spec's Init
    INFO("step action '" << action << "' is not defined in spec/RaftKV.tla");
    CHECK(std::regex_search(tla, std::regex("\\n" + action + "\\(")));
  }
}

TEST_CASE("Every traced event has a mapping in spec/TraceRaftKV.tla", "[spec][tla]") {
  std::vector<std::string> traces;
  std::set<std::string> names = event_names(&traces, /*modelled_only=*/true);
  std::set<std::string> known =
      tla_known_events(read_file(std::string(RAFTKV_SOURCE_DIR) + "/spec/TraceRaftKV.tla"));
  REQUIRE(known.size() >= 25);
  // The traces of read_mode read_index and lease, and of a leadership
  // transfer, are among those checked.
  CHECK(names.count("read") == 1);
  CHECK(names.count("transfer") == 1);
  for (const std::string& name : unmapped(names, known)) {
    FAIL_CHECK("event '" << name
                         << "' is in a trace but not in KnownEvents of "
                            "spec/TraceRaftKV.tla (add its mapping there and in spec/README.md)");
  }
  // The check can fail: a name the emulator does not write is reported.
  names.insert("frobnicate");
  CHECK(unmapped(names, known) == std::set<std::string>{"frobnicate"});
}

// catch_discover_tests hands each test's name to CMake, which splits it at
// ';' into two names that match no test: such a test never runs in CTest,
// and CTest still reports it as passed.
TEST_CASE("No test name contains a semicolon, so CTest runs every test", "[spec]") {
  namespace fs = std::filesystem;
  for (const auto& e : fs::directory_iterator(std::string(RAFTKV_SOURCE_DIR) + "/tests")) {
    if (e.path().extension() != ".cpp") continue;
    std::ifstream in(e.path());
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t at = all.find("TEST_CASE(\""); at != std::string::npos;
         at = all.find("TEST_CASE(\"", at + 1)) {
      size_t end = all.find("\",", at);
      std::string name = all.substr(at + 11, end == std::string::npos ? 0 : end - at - 11);
      INFO(e.path().filename().string() << ": " << name);
      CHECK(name.find(';') == std::string::npos);
    }
  }
}
