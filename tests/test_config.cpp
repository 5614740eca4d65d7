// TOML config loading: defaults, every key, every class of error, and the
// toml-test corpus (every invalid document must give a located ConfigError).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <unistd.h>

#include "config/config.h"
#include "config/config_json.h"
#include "config/fields.h"

using namespace raftkv;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kName = "cfg.toml";

// The message of the ConfigError that parsing `text` throws; fails the test
// if it throws nothing (or something else).
std::string error_of(const std::string& text) {
  try {
    parse_config(text, kName);
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("expected a ConfigError for:\n" << text);
  return "";
}

std::string validate_error(const Config& cfg) {
  try {
    validate_config(cfg, "hand-built");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("expected validate_config to throw ConfigError");
  return "";
}

// "NAME:LINE:COL: message" on one line.
bool is_located(const std::string& message) {
  static const std::regex located("^[^:]+:[0-9]+:[0-9]+: ");
  return std::regex_search(message, located) && message.find('\n') == std::string::npos;
}

// A [[faults]] table, for building fault schedules.
std::string fault(const std::string& body) { return "\n[[faults]]\n" + body + "\n"; }

std::filesystem::path corpus_dir(const char* kind) {
  return std::filesystem::path(RAFTKV_SOURCE_DIR "/../shared/toml-test") / kind;
}

std::vector<std::filesystem::path> toml_files_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());  // stable order for readable output
  return files;
}

// A scratch file removed on scope exit. The pid keeps parallel test
// processes (ctest -j runs each case separately) from sharing it.
struct TempFile {
  explicit TempFile(const std::string& stem, const std::string& text)
      : path(std::filesystem::temp_directory_path() /
             (stem + "_" + std::to_string(::getpid()) + ".toml")) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  std::filesystem::path path;
};

}  // namespace

// ------------------------------------------------------------------ values

TEST_CASE("Empty config text gives the defaults", "[config]") {
  Config cfg = parse_config("", "empty.toml");
  Config defaults;
  CHECK(cfg.source == "empty.toml");
  CHECK(cfg.num_nodes == defaults.num_nodes);
  CHECK(cfg.num_clients == defaults.num_clients);
  CHECK(cfg.seed == defaults.seed);
  CHECK(cfg.requests_per_client == defaults.requests_per_client);
  CHECK(cfg.keys == defaults.keys);
  CHECK(defaults.keys == 5);  // the seed's workload: keys a..e
  CHECK(cfg.initial_leader == defaults.initial_leader);
  CHECK(cfg.time_limit_ms == defaults.time_limit_ms);
  CHECK(cfg.linger_ms == defaults.linger_ms);
  CHECK(cfg.leader_noop == defaults.leader_noop);
  CHECK(cfg.timing.heartbeat_interval_ms == defaults.timing.heartbeat_interval_ms);
  CHECK(cfg.timing.election_timeout_min_ms == defaults.timing.election_timeout_min_ms);
  CHECK(cfg.timing.election_timeout_max_ms == defaults.timing.election_timeout_max_ms);
  CHECK(cfg.timing.network_latency_min_ms == defaults.timing.network_latency_min_ms);
  CHECK(cfg.timing.network_latency_max_ms == defaults.timing.network_latency_max_ms);
  CHECK(cfg.timing.client_timeout_ms == defaults.timing.client_timeout_ms);
  CHECK(cfg.timing.client_deadline_ms == defaults.timing.client_deadline_ms);
  CHECK(cfg.network.loss == defaults.network.loss);
  CHECK(cfg.network.duplicate == defaults.network.duplicate);
  CHECK(cfg.faults.empty());
  CHECK(cfg.nemesis.enabled == defaults.nemesis.enabled);
  CHECK(cfg.nemesis.kinds == defaults.nemesis.kinds);
  CHECK(cfg.nemesis.mean_interval_ms == defaults.nemesis.mean_interval_ms);
  CHECK(cfg.nemesis.max_down == defaults.nemesis.max_down);

  // Comments and blank lines alone are still "empty".
  CHECK(parse_config("# nothing\n\n", kName).num_nodes == defaults.num_nodes);
  CHECK_NOTHROW(validate_config(Config{}, "defaults"));
}

TEST_CASE("Every key is read", "[config]") {
  const std::string text = R"(num_nodes = 7
num_clients = 4
seed = 42
requests_per_client = 9
keys = 1
initial_leader = 0
time_limit_ms = 90000
linger_ms = 250
leader_noop = false

[timing]
heartbeat_interval_ms = 20
election_timeout_min_ms = 100
election_timeout_max_ms = 200
network_latency_min_ms = 0
network_latency_max_ms = 8
client_timeout_ms = 300
client_deadline_ms = 3000

[network]
loss = 0.25
duplicate = 0.125

[nemesis]
enabled = true
kinds = ["crash", "partition", "cut"]
mean_interval_ms = 700
max_down = 3

[[faults]]
at_ms = 100
action = "crash"
node = 2

[[faults]]
at_ms = 200
action = "restart"
node = 2

[[faults]]
at_ms = 300
action = "partition"
groups = [[1, 2, 3], [4, 5, 6, 7]]

[[faults]]
at_ms = 400
action = "heal"

[[faults]]
at_ms = 500
action = "cut"
from = 1
to = 3

[[faults]]
at_ms = 600
action = "uncut"
from = 1
to = 3
)";
  Config cfg = parse_config(text, kName);
  CHECK(cfg.num_nodes == 7);
  CHECK(cfg.num_clients == 4);
  CHECK(cfg.seed == 42);
  CHECK(cfg.requests_per_client == 9);
  CHECK(cfg.keys == 1);
  CHECK(cfg.initial_leader == 0);
  CHECK(cfg.time_limit_ms == 90000);
  CHECK(cfg.linger_ms == 250);
  CHECK_FALSE(cfg.leader_noop);
  CHECK(cfg.timing.heartbeat_interval_ms == 20);
  CHECK(cfg.timing.election_timeout_min_ms == 100);
  CHECK(cfg.timing.election_timeout_max_ms == 200);
  CHECK(cfg.timing.network_latency_min_ms == 0);
  CHECK(cfg.timing.network_latency_max_ms == 8);
  CHECK(cfg.timing.client_timeout_ms == 300);
  CHECK(cfg.timing.client_deadline_ms == 3000);
  CHECK(cfg.network.loss == 0.25);
  CHECK(cfg.network.duplicate == 0.125);
  CHECK(cfg.nemesis.enabled);
  CHECK(cfg.nemesis.kinds ==
        std::vector<NemesisKind>{NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut});
  CHECK(cfg.nemesis.mean_interval_ms == 700);
  CHECK(cfg.nemesis.max_down == 3);

  REQUIRE(cfg.faults.size() == 6);
  CHECK(cfg.faults[0].at_ms == 100);
  CHECK(cfg.faults[0].action == FaultAction::Crash);
  CHECK(cfg.faults[0].node == 2);
  CHECK(cfg.faults[0].line == 30);
  CHECK(cfg.faults[1].action == FaultAction::Restart);
  CHECK(cfg.faults[1].node == 2);
  CHECK(cfg.faults[2].action == FaultAction::Partition);
  CHECK(cfg.faults[2].groups == std::vector<std::vector<int>>{{1, 2, 3}, {4, 5, 6, 7}});
  CHECK(cfg.faults[3].action == FaultAction::Heal);
  CHECK(cfg.faults[3].at_ms == 400);
  CHECK(cfg.faults[4].action == FaultAction::Cut);
  CHECK(cfg.faults[4].from == 1);
  CHECK(cfg.faults[4].to == 3);
  CHECK(cfg.faults[5].action == FaultAction::Uncut);
  CHECK(cfg.faults[5].line == 55);
}

TEST_CASE("Equivalent TOML spellings are accepted", "[config]") {
  SECTION("dotted keys and inline tables") {
    Config cfg = parse_config(
        "timing.heartbeat_interval_ms = 10\n"
        "network = { loss = 0.5 }\n"
        "faults = [ { at_ms = 5, action = \"crash\", node = 1 },\n"
        "           { at_ms = 6, action = \"restart\", node = 1 } ]\n",
        kName);
    CHECK(cfg.timing.heartbeat_interval_ms == 10);
    CHECK(cfg.network.loss == 0.5);
    REQUIRE(cfg.faults.size() == 2);
    CHECK(cfg.faults[1].action == FaultAction::Restart);
    CHECK(cfg.faults[0].line == 3);
  }
  SECTION("integer 0 for a probability, hex integers, empty lists") {
    Config cfg = parse_config(
        "num_nodes = 0x3\n[network]\nloss = 0\nduplicate = 0\n"
        "[nemesis]\nkinds = []\n",
        kName);
    CHECK(cfg.num_nodes == 3);
    CHECK(cfg.network.loss == 0.0);
    CHECK(cfg.nemesis.kinds.empty());
  }
}

TEST_CASE("The repository's config.toml loads", "[config]") {
  Config cfg = load_config(RAFTKV_SOURCE_DIR "/config.toml");
  CHECK(cfg.source == RAFTKV_SOURCE_DIR "/config.toml");
}

TEST_CASE("The sample configs under traces/configs load", "[config]") {
  const std::filesystem::path dir = RAFTKV_SOURCE_DIR "/traces/configs";
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipping: no " << dir.string());
    SUCCEED("nothing to load");
    return;
  }
  for (const auto& file : toml_files_under(dir)) {
    INFO(file.string());
    CHECK_NOTHROW(load_config(file.string()));
  }
}

TEST_CASE("load_config reads a file and names it in errors", "[config]") {
  TempFile good("raftkv_test_config_good", "num_nodes = 3\n");
  CHECK(load_config(good.path.string()).num_nodes == 3);

  TempFile bad("raftkv_test_config_bad", "num_nodes = 3\n\nseed = \"x\"\n");
  CHECK_THROWS_WITH(load_config(bad.path.string()),
                    bad.path.string() + ":3:8: key 'seed' must be an integer, got string");
}

TEST_CASE("load_config on a missing file or a directory throws ConfigError", "[config]") {
  const std::string missing = "/nonexistent/raftkv/config.toml";
  CHECK_THROWS_AS(load_config(missing), ConfigError);
  CHECK_THROWS_WITH(load_config(missing),
                    missing + ": cannot open config file (No such file or directory)");
  CHECK_THROWS_AS(load_config(std::filesystem::temp_directory_path().string()), ConfigError);
}

// ------------------------------------------------------------------ errors

TEST_CASE("TOML syntax errors are located", "[config]") {
  std::string message = error_of("num_nodes = 5\nnum_clients = = 3\n");
  CHECK_THAT(message, StartsWith("cfg.toml:2:"));
  CHECK(is_located(message));

  CHECK_THAT(error_of("[timing\n"), StartsWith("cfg.toml:1:"));
  CHECK_THAT(error_of("num_nodes = 5\nnum_nodes = 6\n"), StartsWith("cfg.toml:2:"));
  // toml++ echoes bad input back; the message must stay on one line.
  CHECK(is_located(error_of("x = fals\ny = 1\n")));
}

// ------------------------------------------------------- the error table
//
// Every bad config and the one-line message it must give: the input, the
// message, and whether the message is the whole of it (Exact) or its start
// (Prefix, where the rest is an explanation a test need not pin). Each case
// is also checked to be located ("NAME:LINE:COL: "). Grouped by the kind of
// mistake; a fault entry's text (fault()) starts on line 2 of its snippet, or
// on line 3 after kFaultPrefix.

namespace {

enum class Match { Exact, Prefix };

struct ErrorCase {
  std::string text;
  std::string message;
  Match match = Match::Exact;
};

const std::string kFaultPrefix = "num_nodes = 5\n";  // so [[faults]] starts on line 3

std::string faults(const std::string& entries) { return kFaultPrefix + entries; }

std::string client(const std::string& body) { return "\n[[clients]]\n" + body + "\n"; }

std::string cut_fault(int at, const char* action) {
  return fault("at_ms = " + std::to_string(at) + "\naction = \"" + action + "\"\nfrom = 1\nto = 3");
}

std::vector<ErrorCase> error_cases() {
  using enum Match;
  return {
      // Unknown keys name the nearest valid key.
      {"num_node = 5\n", "cfg.toml:1:1: unknown key 'num_node' (did you mean 'num_nodes'?)"},
      {"\n[timing]\nhartbeat_interval_ms = 5\n",
       "cfg.toml:3:1: unknown key 'hartbeat_interval_ms' in [timing] "
       "(did you mean 'heartbeat_interval_ms'?)"},
      {"[nemesis]\n  enabeld = true\n",
       "cfg.toml:2:3: unknown key 'enabeld' in [nemesis] (did you mean 'enabled'?)"},
      {fault("action = \"heal\"\nat = 5"),
       "cfg.toml:4:1: unknown key 'at' in faults[0] (did you mean 'at_ms'?)"},
      {"kyes = 1\n", "cfg.toml:1:1: unknown key 'kyes' (did you mean 'keys'?)"},
      {"[netwrok]\nloss = 0.1\n", "cfg.toml:1:2: unknown key 'netwrok' (did you mean 'network'?)"},
      {"time_limit = 5\n",
       "cfg.toml:1:1: unknown key 'time_limit' (did you mean 'time_limit_ms'?)"},
      // A key from another table suggests that table.
      {"loss = 0.1\n", "cfg.toml:1:1: unknown key 'loss' (did you mean 'network.loss'?)"},
      // A top-level key written after a [table] header lands in that table.
      {"[timing]\nnum_nodes = 3\n",
       "cfg.toml:2:1: unknown key 'num_nodes' in [timing] (did you mean top-level 'num_nodes'?",
       Prefix},
      // Nothing close: no suggestion rather than a silly one.
      {"zzzzzzzzzzzz = 1\n", "cfg.toml:1:1: unknown key 'zzzzzzzzzzzz'"},

      // Values of the wrong type are located and named.
      {"num_nodes = \"5\"\n", "cfg.toml:1:13: key 'num_nodes' must be an integer, got string"},
      {"num_clients = 2.0\n", "cfg.toml:1:15: key 'num_clients' must be an integer, got float"},
      {"keys = \"a\"\n", "cfg.toml:1:8: key 'keys' must be an integer, got string"},
      {"leader_noop = 1\n", "cfg.toml:1:15: key 'leader_noop' must be a boolean, got integer"},
      {"timing = 5\n", "cfg.toml:1:10: key 'timing' must be a table, got integer"},
      {"[timing]\nclient_timeout_ms = true\n",
       "cfg.toml:2:21: key 'timing.client_timeout_ms' must be an integer, got boolean"},
      {"[network]\nloss = \"0.1\"\n",
       "cfg.toml:2:8: key 'network.loss' must be a number, got string"},
      {"[nemesis]\nenabled = \"yes\"\n",
       "cfg.toml:2:11: key 'nemesis.enabled' must be a boolean, got string"},
      {"[nemesis]\nkinds = \"crash\"\n",
       "cfg.toml:2:9: key 'nemesis.kinds' must be an array of strings, got string"},
      {"[nemesis]\nkinds = [\"crash\", 3]\n",
       "cfg.toml:2:19: key 'nemesis.kinds[1]' must be a string, got integer"},
      {"seed = 1979-05-27\n", "cfg.toml:1:8: key 'seed' must be an integer, got date"},
      {"[faults]\nat_ms = 1\n",
       "cfg.toml:1:1: key 'faults' must be an array of tables ([[faults]]), got table"},
      {"faults = [1]\n", "cfg.toml:1:11: key 'faults[0]' must be a table, got integer"},
      {fault("action = \"crash\"\nnode = 2.5"),
       "cfg.toml:4:8: key 'faults[0].node' must be an integer or \"leader\" or \"follower\", got "
       "float"},
      {fault("action = \"partition\"\ngroups = [1, 2]"),
       "cfg.toml:4:11: key 'faults[0].groups[0]' must be an array of integers, got integer"},
      {fault("action = \"partition\"\ngroups = [[1, \"2\"]]"),
       "cfg.toml:4:15: key 'faults[0].groups[0][1]' must be an integer, got string"},
      {fault("at_ms = 1.5\naction = \"heal\""),
       "cfg.toml:3:9: key 'faults[0].at_ms' must be an integer, got float"},
      {fault("action = 3"), "cfg.toml:3:10: key 'faults[0].action' must be a string, got integer"},

      // Integers must fit in int32.
      {"seed = 2147483648\n", "cfg.toml:1:8: key 'seed' must be below 2^31, got 2147483648"},
      {"time_limit_ms = 9223372036854775807\n",
       "cfg.toml:1:17: key 'time_limit_ms' must be below 2^31, got 9223372036854775807"},
      {"num_nodes = -2147483649\n",
       "cfg.toml:1:13: key 'num_nodes' must be at least -2^31, got -2147483649"},
      {"[timing]\nclient_deadline_ms = 4294967296\n",
       "cfg.toml:2:22: key 'timing.client_deadline_ms' must be below 2^31, got 4294967296"},
      {fault("at_ms = 3000000000\naction = \"heal\""),
       "cfg.toml:3:9: key 'faults[0].at_ms' must be below 2^31", Prefix},

      // Out-of-range values are located and named.
      {"num_nodes = 0\n", "cfg.toml:1:13: key 'num_nodes' must be between 1 and 1000, got 0"},
      {"num_nodes = 1001\n", "cfg.toml:1:13: key 'num_nodes' must be between 1 and 1000, got 1001"},
      {"num_clients = -1\n", "cfg.toml:1:15: key 'num_clients' must be between 0 and 1000, got -1"},
      {"num_clients = 1001\n",
       "cfg.toml:1:15: key 'num_clients' must be between 0 and 1000, got 1001"},
      {"requests_per_client = -1\n",
       "cfg.toml:1:23: key 'requests_per_client' must be >= 0, got -1"},
      {"seed = -1\n", "cfg.toml:1:8: key 'seed' must be >= 0, got -1"},
      {"keys = 0\n",
       "cfg.toml:1:8: key 'keys' must be between 1 and 26, got 0 (the workload's keys are "
       "'a'..'z')"},
      {"keys = 27\n",
       "cfg.toml:1:8: key 'keys' must be between 1 and 26, got 27 (the workload's keys are "
       "'a'..'z')"},
      {"keys = -3\n",
       "cfg.toml:1:8: key 'keys' must be between 1 and 26, got -3 (the workload's keys are "
       "'a'..'z')"},
      {"num_nodes = 3\ninitial_leader = 4\n",
       "cfg.toml:2:18: key 'initial_leader' must be between 0 and 3, got 4 "
       "(0 = no initial leader; num_nodes = 3)"},
      {"initial_leader = -1\n",
       "cfg.toml:1:18: key 'initial_leader' must be between 0 and 5, got -1 "
       "(0 = no initial leader; num_nodes = 5)"},
      {"time_limit_ms = 0\n", "cfg.toml:1:17: key 'time_limit_ms' must be >= 1, got 0"},
      {"linger_ms = -5\n", "cfg.toml:1:13: key 'linger_ms' must be >= 0, got -5"},
      {"[timing]\nheartbeat_interval_ms = 0\n",
       "cfg.toml:2:25: key 'timing.heartbeat_interval_ms' must be >= 1, got 0"},
      {"[timing]\nelection_timeout_min_ms = 0\n",
       "cfg.toml:2:27: key 'timing.election_timeout_min_ms' must be >= 1, got 0"},
      {"[timing]\nnetwork_latency_min_ms = -1\n",
       "cfg.toml:2:26: key 'timing.network_latency_min_ms' must be >= 0, got -1"},
      {"[timing]\nnetwork_latency_max_ms = 0\n",
       "cfg.toml:2:26: key 'timing.network_latency_max_ms' must be >= 1, got 0"},
      {"[timing]\nclient_timeout_ms = 0\n",
       "cfg.toml:2:21: key 'timing.client_timeout_ms' must be >= 1, got 0"},
      {"[network]\nloss = 1.0\n",
       "cfg.toml:2:8: key 'network.loss' must be a probability in [0, 1), got 1"},
      {"[network]\nloss = 1\n",
       "cfg.toml:2:8: key 'network.loss' must be a probability in [0, 1), got 1"},
      {"[network]\nduplicate = -0.5\n",
       "cfg.toml:2:13: key 'network.duplicate' must be a probability in [0, 1), got -0.5"},
      {"[network]\nduplicate = nan\n",
       "cfg.toml:2:13: key 'network.duplicate' must be a probability in [0, 1), got nan"},
      {"[network]\nloss = inf\n",
       "cfg.toml:2:8: key 'network.loss' must be a probability in [0, 1), got inf"},

      // Cross-field timing errors point at one of the keys.
      {"[timing]\nelection_timeout_min_ms = 300\nelection_timeout_max_ms = 300\n",
       "cfg.toml:2:27: timing.election_timeout_min_ms (300) must be less than "
       "timing.election_timeout_max_ms (300), which is exclusive"},
      // Only max is in the file: the message points at max.
      {"[timing]\nelection_timeout_max_ms = 100\n",
       "cfg.toml:2:27: timing.election_timeout_min_ms (150) must be less than", Prefix},
      {"[timing]\nnetwork_latency_min_ms = 9\nnetwork_latency_max_ms = 8\n",
       "cfg.toml:2:26: timing.network_latency_min_ms (9) must be <= "
       "timing.network_latency_max_ms (8)",
       Prefix},
      {"[timing]\nheartbeat_interval_ms = 150\n",
       "cfg.toml:2:25: timing.heartbeat_interval_ms must be less than "
       "timing.election_timeout_min_ms",
       Prefix},
      {"[timing]\nclient_deadline_ms = 100\n",
       "cfg.toml:2:22: timing.client_timeout_ms (500) must be <= timing.client_deadline_ms (100)",
       Prefix},
      {"leader_noop = false\n[raft]\nread_mode = \"read_index\"\n",
       "cfg.toml:3:13: [raft] read_mode = \"read_index\" needs leader_noop = true", Prefix},
      {"[raft]\nread_mode = \"leases\"\n",
       "cfg.toml:2:13: key 'raft.read_mode': unknown read mode 'leases'", Prefix},
      {"[raft]\nread_mode = \"lease\"\n",
       "cfg.toml:2:13: [raft] read_mode = \"lease\" needs check_quorum = true", Prefix},
      {"leader_noop = false\n[raft]\nread_mode = \"lease\"\ncheck_quorum = true\n",
       "cfg.toml:3:13: [raft] read_mode = \"lease\" needs leader_noop = true", Prefix},
      {"[timing]\nclock_drift_ppm = 500001\n", "cfg.toml:2:19: key 'timing.clock_drift_ppm'",
       Prefix},
      {"[timing]\nclock_drift_ppm = -1\n", "cfg.toml:2:19: key 'timing.clock_drift_ppm'", Prefix},

      // Bad faults name the entry's line and the field.
      {faults(fault("at_ms = 1\naction = \"crash\"\nnode = 1") +
              fault("at_ms = 2\naction = \"restart\"\nnode = 1") +
              fault("at_ms = 3\naction = \"crash\"\nnode = 9")),
       "cfg.toml:13:1: faults[2].node: node 9 does not exist (num_nodes = 5)"},
      {faults(fault("at_ms = 0\naction = \"crash\"\nnode = 0")),
       "cfg.toml:3:1: faults[0].node: node 0 does not exist (num_nodes = 5)"},
      {faults(fault("action = \"crahs\"\nnode = 1")),
       "cfg.toml:4:10: faults[0].action: unknown action 'crahs' (did you mean 'crash'?)"},
      {faults(fault("action = \"explode\"")),
       "cfg.toml:4:10: faults[0].action: unknown action 'explode' "
       "(expected crash, restart, partition, heal, cut, uncut, network, transfer_leader, "
       "add_node or remove_node)"},
      {faults(fault("at_ms = -5\naction = \"heal\"")),
       "cfg.toml:3:1: faults[0].at_ms: must be >= 0, got -5"},
      // Missing and stray fields.
      {faults(fault("at_ms = 5")),
       "cfg.toml:3:1: faults[0].action: missing (every fault needs an action: "
       "crash, restart, partition, heal, cut, uncut, network, transfer_leader, add_node or "
       "remove_node)"},
      {faults(fault("action = \"crash\"")),
       "cfg.toml:3:1: faults[0].node: missing (action 'crash' requires 'node')"},
      {faults(fault("action = \"partition\"")),
       "cfg.toml:3:1: faults[0].groups: missing (action 'partition' requires 'groups')"},
      {faults(fault("action = \"cut\"\nfrom = 1")),
       "cfg.toml:3:1: faults[0].to: missing (action 'cut' requires 'to')"},
      {faults(fault("action = \"heal\"\nnode = 2")),
       "cfg.toml:5:8: faults[0].node: not used by action 'heal'"},
      // transfer_leader (thesis §3.10) takes `to`, an existing node, and acts on the leader of
      // the moment: it takes no `node`.
      {faults(fault("at_ms = 0\naction = \"transfer_leader\"")),
       "cfg.toml:3:1: faults[0].to: missing (action 'transfer_leader' requires 'to')"},
      {faults(fault("at_ms = 0\naction = \"transfer_leader\"\nto = 6")),
       "cfg.toml:3:1: faults[0].to: node 6 does not exist (num_nodes = 5)"},
      {faults(fault("at_ms = 0\naction = \"transfer_leader\"\nto = 2\nnode = \"leader\"")),
       "cfg.toml:7:8: faults[0].node: not used by action 'transfer_leader'"},
      // The crash/restart schedule, replayed in at_ms order.
      {faults(fault("at_ms = 100\naction = \"restart\"\nnode = 2")),
       "cfg.toml:3:1: faults[0].node: node 2 is not crashed at 100 ms, so it cannot restart"},
      {faults(fault("at_ms = 100\naction = \"crash\"\nnode = 2") +
              fault("at_ms = 200\naction = \"crash\"\nnode = 2")),
       "cfg.toml:8:1: faults[1].node: node 2 is already crashed at 200 ms (crashed by faults[0])"},
      // Equal times keep file order: restart then crash is refused.
      {faults(fault("at_ms = 100\naction = \"restart\"\nnode = 2") +
              fault("at_ms = 100\naction = \"crash\"\nnode = 2")),
       "cfg.toml:3:1: faults[0].node: node 2 is not crashed", Prefix},
      // Partition groups must partition 1..num_nodes.
      {faults(fault("at_ms = 0\naction = \"partition\"\ngroups = [[1, 2], [3, 4]]")),
       "cfg.toml:3:1: faults[0].groups: node 5 is in no group (the groups must split nodes 1..5)"},
      {faults(fault("at_ms = 0\naction = \"partition\"\ngroups = [[1, 2, 3], [3, 4, 5]]")),
       "cfg.toml:3:1: faults[0].groups: node 3 appears more than once (in groups 0 and 1)"},
      {faults(fault("at_ms = 0\naction = \"partition\"\ngroups = [[1, 1, 2, 3, 4, 5]]")),
       "cfg.toml:3:1: faults[0].groups: node 1 appears more than once (twice in group 0)"},
      {faults(fault("at_ms = 0\naction = \"partition\"\ngroups = [[1, 2, 3, 4, 5], []]")),
       "cfg.toml:3:1: faults[0].groups: group 1 is empty"},
      {faults(fault("at_ms = 0\naction = \"partition\"\ngroups = [[1, 2, 3], [4, 5, 6]]")),
       "cfg.toml:3:1: faults[0].groups: node 6 does not exist (num_nodes = 5)"},
      {faults(fault("at_ms = 0\naction = \"partition\"\ngroups = []")),
       "cfg.toml:3:1: faults[0].groups: node 1 is in no group (the groups must split nodes 1..5)"},
      // Cut and uncut need two distinct existing nodes.
      {faults(fault("at_ms = 0\naction = \"cut\"\nfrom = 2\nto = 2")),
       "cfg.toml:3:1: faults[0].to: from and to are both node 2 "
       "(a link joins two different nodes)"},
      {faults(fault("at_ms = 0\naction = \"uncut\"\nfrom = 0\nto = 2")),
       "cfg.toml:3:1: faults[0].from: node 0 does not exist (num_nodes = 5)"},
      {faults(fault("at_ms = 0\naction = \"cut\"\nfrom = 1\nto = 6")),
       "cfg.toml:3:1: faults[0].to: node 6 does not exist (num_nodes = 5)"},
      // Issue 12: a fault's time is never guessed, a fault that cannot fire is refused, and
      // every fault that would change nothing is an error alike.
      {faults(fault("action = \"crash\"\nnode = 1")),
       "cfg.toml:3:1: faults[0].at_ms: missing (every fault needs the virtual time, in ms, "
       "at which it happens)"},
      {"time_limit_ms = 1000\n" + fault("at_ms = 1000\naction = \"crash\"\nnode = 1") +
           fault("at_ms = 1001\naction = \"restart\"\nnode = 1"),
       "cfg.toml:8:1: faults[1].at_ms: 1001 is after time_limit_ms (1000), so the fault would "
       "never happen"},
      // uncut, cut and heal follow the rule of restart and crash.
      {faults(cut_fault(100, "uncut")),
       "cfg.toml:3:1: faults[0].from: link 1 -> 3 is not cut at 100 ms, so it cannot be uncut"},
      {faults(cut_fault(100, "cut") + cut_fault(200, "cut")),
       "cfg.toml:9:1: faults[1].from: link 1 -> 3 is already cut at 200 ms (cut by faults[0])"},
      // heal removes every cut: uncutting the link afterwards changes nothing.
      {faults(cut_fault(100, "cut") + fault("at_ms = 150\naction = \"heal\"") +
              cut_fault(200, "uncut")),
       "cfg.toml:13:1: faults[2].from: link 1 -> 3 is not cut at 200 ms, so it cannot be uncut"},
      {faults(fault("at_ms = 100\naction = \"heal\"")),
       "cfg.toml:3:1: faults[0].action: nothing to heal at 100 ms (no partition or cut is in "
       "place)"},

      // Action network: the [network] and [timing] keys it sets, with their ranges.
      {faults(fault("at_ms = 10\naction = \"network\"")),
       "cfg.toml:3:1: faults[0]: action 'network' needs at least one of loss, duplicate, "
       "network_latency_min_ms or network_latency_max_ms (the settings to change)"},
      {faults(fault("at_ms = 10\naction = \"network\"\nloss = 1.0")),
       "cfg.toml:3:1: faults[0].loss: must be a probability in [0, 1), got 1"},
      {faults(fault("at_ms = 10\naction = \"network\"\nduplicate = -0.1")),
       "cfg.toml:3:1: faults[0].duplicate: must be a probability in [0, 1), got -0.1"},
      {faults(fault("at_ms = 10\naction = \"network\"\nloss = \"0.1\"")),
       "cfg.toml:6:8: key 'faults[0].loss' must be a number, got string"},
      {faults(fault("at_ms = 10\naction = \"network\"\nnetwork_latency_min_ms = -1")),
       "cfg.toml:3:1: faults[0].network_latency_min_ms: must be >= 0, got -1"},
      {faults(fault("at_ms = 10\naction = \"network\"\nnetwork_latency_max_ms = 0")),
       "cfg.toml:3:1: faults[0].network_latency_max_ms: must be >= 1, got 0"},
      // The range in effect, after the earlier changes in time order, must keep min <= max.
      {faults(fault("at_ms = 10\naction = \"network\"\nnetwork_latency_min_ms = 9")),
       "cfg.toml:3:1: faults[0].network_latency_min_ms: the latency range would be 9..5 ms at "
       "10 ms (network_latency_min_ms must be <= network_latency_max_ms)"},
      {faults(fault("at_ms = 20\naction = \"network\"\nnetwork_latency_max_ms = 2") +
              fault("at_ms = 10\naction = \"network\"\nnetwork_latency_min_ms = 3\n"
                    "network_latency_max_ms = 30")),
       "cfg.toml:3:1: faults[0].network_latency_max_ms: the latency range would be 3..2 ms at "
       "20 ms",
       Prefix},
      {faults(fault("at_ms = 10\naction = \"crash\"\nnode = 1\nloss = 0.1")),
       "cfg.toml:7:8: faults[0].loss: not used by action 'crash'"},
      {faults(fault("at_ms = 10\naction = \"network\"\nloss = 0.1\nnode = 1")),
       "cfg.toml:7:8: faults[0].node: not used by action 'network'"},
      {faults(fault("at_ms = 10\naction = \"network\"\nlos = 0.1")),
       "cfg.toml:6:1: unknown key 'los' in faults[0] (did you mean 'loss'?)"},

      // Role targets: node = "leader" / "follower".
      {faults(fault("at_ms = 10\naction = \"crash\"\nnode = \"leadr\"")),
       "cfg.toml:6:8: faults[0].node: unknown node 'leadr' (did you mean 'leader'?); a node is "
       "an id or a role"},
      // A number in a string is not a node id.
      {fault("action = \"crash\"\nnode = \"2\""),
       "cfg.toml:4:8: faults[0].node: unknown node '2' (expected leader or follower); a node is an "
       "id or a role"},
      {faults(fault("at_ms = 10\naction = \"crash\"\nnode = \"candidate\"")),
       "cfg.toml:6:8: faults[0].node: unknown node 'candidate' (expected leader or follower); "
       "a node is an id or a role"},
      {faults(fault("at_ms = 10\naction = \"restart\"\nnode = \"leader\"")),
       "cfg.toml:3:1: faults[0].node: no earlier crash of node \"leader\" is left to restart at "
       "10 ms (restart \"leader\" restarts the node the latest crash of \"leader\" crashed)"},
      // A crash of the follower is not one of the leader's.
      {faults(fault("at_ms = 10\naction = \"crash\"\nnode = \"follower\"") +
              fault("at_ms = 20\naction = \"restart\"\nnode = \"leader\"")),
       "cfg.toml:8:1: faults[1].node: no earlier crash of node \"leader\"", Prefix},
      {faults(fault("at_ms = 10\naction = \"crash\"\nnode = \"leader\"") +
              fault("at_ms = 20\naction = \"restart\"\nnode = \"leader\"") +
              fault("at_ms = 30\naction = \"restart\"\nnode = \"leader\"")),
       "cfg.toml:13:1: faults[2].node: no earlier crash of node \"leader\"", Prefix},

      // [[clients]].
      {"clients = 5\n",
       "cfg.toml:1:11: key 'clients' must be an array of tables ([[clients]]), got integer"},
      {"clients = [1]\n", "cfg.toml:1:12: key 'clients[0]' must be a table, got integer"},
      {client("start_ms = 5"),
       "cfg.toml:2:1: clients[0].id: missing (every [[clients]] entry names its client, "
       "1..num_clients)"},
      {client("id = \"1\""), "cfg.toml:3:6: key 'clients[0].id' must be an integer, got string"},
      {client("id = 1\nstrat_ms = 5"),
       "cfg.toml:4:1: unknown key 'strat_ms' in clients[0] (did you mean 'start_ms'?)"},
      {client("id = 1\nseed = 5"),
       "cfg.toml:4:1: unknown key 'seed' in clients[0] (did you mean top-level 'seed'?", Prefix},
      {client("id = 4"), "cfg.toml:2:1: clients[0].id: client 4 does not exist (num_clients = 3)"},
      {client("id = 0"), "cfg.toml:2:1: clients[0].id: client 0 does not exist (num_clients = 3)"},
      {client("id = 2") + client("id = 2"),
       "cfg.toml:5:1: clients[1].id: client 2 is listed twice (also clients[0])"},
      {client("id = 1\nstart_ms = -1"), "cfg.toml:2:1: clients[0].start_ms: must be >= 0, got -1"},
      {"time_limit_ms = 1000\n" + client("id = 1\nstart_ms = 1001"),
       "cfg.toml:3:1: clients[0].start_ms: 1001 is after time_limit_ms (1000), so it would never "
       "happen"},
      {client("id = 1\nstop_ms = -3"), "cfg.toml:2:1: clients[0].stop_ms: must be >= 0, got -3"},
      {client("id = 1\nstart_ms = 100\nstop_ms = 100"),
       "cfg.toml:2:1: clients[0].stop_ms: 100 is not after start_ms (100), so the client would "
       "send nothing"},
      {client("id = 1\nnode = 6"),
       "cfg.toml:2:1: clients[0].node: node 6 does not exist (num_nodes = 5)"},
      {client("id = 1\nnode = \"leader\""),
       "cfg.toml:4:8: key 'clients[0].node' must be an integer, got string"},
      {client("id = 1\ncount = -1"), "cfg.toml:2:1: clients[0].count: must be >= 0, got -1"},
      {client("id = 1\ncount = 2\ncommands = [\"get a\"]"),
       "cfg.toml:5:12: clients[0].commands: not used with 'count' (a client sends either count "
       "random commands or the commands listed)"},
      {client("id = 1\ncommands = \"get a\""),
       "cfg.toml:4:12: key 'clients[0].commands' must be an array of strings, got string"},
      {client("id = 1\ncommands = [1]"),
       "cfg.toml:4:13: key 'clients[0].commands[0]' must be a string, got integer"},
      {client("id = 1\ncommands = [\"get a\", \"put a\"]"),
       "cfg.toml:4:22: key 'clients[0].commands[1]': bad command 'put a': expected put KEY VALUE"},
      {client("id = 1\ncommands = [\"pot a 1\"]"),
       "cfg.toml:4:13: key 'clients[0].commands[0]': bad command 'pot a 1': unknown operation "
       "'pot' (did you mean 'put'?)"},
      {client("id = 1\ncommands = [\"delete\"]"),
       "cfg.toml:4:13: key 'clients[0].commands[0]': bad command 'delete': expected delete KEY"},
      {client("id = 1\ncommands = [\"get a b\"]"),
       "cfg.toml:4:13: key 'clients[0].commands[0]': bad command 'get a b': expected get KEY"},
      {client("id = 1\ncommands = [\"\"]"),
       "cfg.toml:4:13: key 'clients[0].commands[0]': bad command '': expected put KEY VALUE, get "
       "KEY or delete KEY"},
      {client("id = 1\ncommands = [\"put a\\tb\"]"),
       "cfg.toml:4:13: key 'clients[0].commands[0]': bad command 'put a\\tb': keys and values are "
       "printable ASCII words without spaces"},

      // Bad nemesis settings are located and named.
      {"[nemesis]\nkinds = [\"crash\", \"partiton\"]\n",
       "cfg.toml:2:19: key 'nemesis.kinds[1]': unknown kind 'partiton' (did you mean "
       "'partition'?)"},
      {"[nemesis]\nkinds = [\"restart\"]\n",
       "cfg.toml:2:10: key 'nemesis.kinds[0]': unknown kind 'restart' "
       "(expected crash, partition or cut)"},
      {"[nemesis]\nenabled = true\nkinds = []\n",
       "cfg.toml:3:9: key 'nemesis.kinds' must not be empty when the nemesis is enabled"},
      {"[nemesis]\nmean_interval_ms = 0\n",
       "cfg.toml:2:20: key 'nemesis.mean_interval_ms' must be >= 1, got 0"},
      {"[nemesis]\nmax_down = -1\n",
       "cfg.toml:2:12: key 'nemesis.max_down' must be between 0 and 5, got -1 (num_nodes = 5)"},
      {"num_nodes = 3\n[nemesis]\nmax_down = 4\n",
       "cfg.toml:3:12: key 'nemesis.max_down' must be between 0 and 3, got 4 (num_nodes = 3)"},
  };
}

// Configs close to the cases above that are fine.
std::vector<std::string> valid_cases() {
  return {
      "[timing]\nnetwork_latency_min_ms = 3\nnetwork_latency_max_ms = 3\n"
      "client_timeout_ms = 900\nclient_deadline_ms = 900\n",
      "seed = 2147483647\ntime_limit_ms = 2147483647\n",
      "num_nodes = 3\n[nemesis]\nmax_down = 3\n",
      // Listed out of order but valid in time order.
      faults(fault("at_ms = 200\naction = \"restart\"\nnode = 2") +
             fault("at_ms = 100\naction = \"crash\"\nnode = 2")),
      // Equal times keep file order: crash then restart is fine.
      faults(fault("at_ms = 100\naction = \"crash\"\nnode = 2") +
             fault("at_ms = 100\naction = \"restart\"\nnode = 2")),
      // A crashed node may crash again after a restart.
      faults(fault("at_ms = 1\naction = \"crash\"\nnode = 3") +
             fault("at_ms = 2\naction = \"restart\"\nnode = 3") +
             fault("at_ms = 3\naction = \"crash\"\nnode = 3")),
      // The reverse link is another link; the schedule is replayed in time order.
      faults(cut_fault(300, "uncut") + cut_fault(100, "cut") +
             fault("at_ms = 200\naction = \"cut\"\nfrom = 3\nto = 1") + cut_fault(400, "cut") +
             fault("at_ms = 500\naction = \"heal\"") +
             fault("at_ms = 600\naction = \"partition\"\ngroups = [[1, 2], [3, 4, 5]]") +
             fault("at_ms = 700\naction = \"heal\"")),
      // Network changes, each keeping min <= max in time order; an integer probability.
      faults(fault("at_ms = 20\naction = \"network\"\nnetwork_latency_min_ms = 9") +
             fault("at_ms = 10\naction = \"network\"\nnetwork_latency_max_ms = 30\nloss = 0") +
             fault("at_ms = 30\naction = \"network\"\nduplicate = 0.5")),
      // Role crashes may repeat (a new leader each time); restarts undo them latest first.
      faults(fault("at_ms = 10\naction = \"crash\"\nnode = \"leader\"") +
             fault("at_ms = 20\naction = \"crash\"\nnode = \"leader\"") +
             fault("at_ms = 30\naction = \"crash\"\nnode = \"follower\"") +
             fault("at_ms = 40\naction = \"restart\"\nnode = \"leader\"") +
             fault("at_ms = 50\naction = \"restart\"\nnode = \"follower\"") +
             fault("at_ms = 60\naction = \"restart\"\nnode = \"leader\"") +
             fault("at_ms = 70\naction = \"crash\"\nnode = 2")),
      // Clients: every key; commands = [] is a client with nothing to send.
      client("id = 1\nstart_ms = 0\nstop_ms = 10\nnode = 5\ncount = 0") +
          client("id = 3\ncommands = [\"put a 1\", \"  get   a \", \"delete a\"]") +
          client("id = 2\ncommands = []"),
  };
}

}  // namespace

TEST_CASE("Every bad config in the error table gives its located message", "[config]") {
  for (const ErrorCase& c : error_cases()) {
    INFO(c.text);
    std::string message = error_of(c.text);
    if (c.match == Match::Exact) {
      CHECK(message == c.message);
    } else {
      CHECK_THAT(message, StartsWith(c.message));
    }
    CHECK(is_located(message));
  }
}

TEST_CASE("The configs next to the error table's load", "[config]") {
  for (const std::string& text : valid_cases()) {
    INFO(text);
    CHECK_NOTHROW(parse_config(text, kName));
  }
}

TEST_CASE("validate_config checks a Config built in code", "[config]") {
  Config cfg;
  CHECK_NOTHROW(validate_config(cfg, "hand-built"));

  cfg.timing.election_timeout_max_ms = cfg.timing.election_timeout_min_ms;
  CHECK_THAT(validate_error(cfg),
             StartsWith("hand-built: timing.election_timeout_min_ms (150) must be less than"));

  cfg = Config{};
  cfg.num_nodes = 0;
  CHECK(validate_error(cfg) == "hand-built: key 'num_nodes' must be between 1 and 1000, got 0");

  cfg = Config{};
  cfg.seed = uint64_t{1} << 31;
  CHECK(validate_error(cfg) == "hand-built: key 'seed' must be below 2^31, got 2147483648");

  cfg = Config{};
  cfg.keys = 0;
  CHECK(
      validate_error(cfg) ==
      "hand-built: key 'keys' must be between 1 and 26, got 0 (the workload's keys are 'a'..'z')");

  cfg = Config{};
  cfg.network.loss = 1.5;
  CHECK_THAT(validate_error(cfg), StartsWith("hand-built: key 'network.loss'"));

  // Faults without a line are reported without one; with a line, at it.
  cfg = Config{};
  FaultConfig crash;
  crash.action = FaultAction::Crash;
  crash.node = 9;
  cfg.faults.push_back(crash);
  CHECK(validate_error(cfg) == "hand-built: faults[0].node: node 9 does not exist (num_nodes = 5)");
  cfg.faults[0].line = 7;
  CHECK(validate_error(cfg) ==
        "hand-built:7:1: faults[0].node: node 9 does not exist (num_nodes = 5)");
  // An unknown fault action or nemesis kind cannot be built in code any more: both are enums,
  // named only when a file is read (tested above).
}

// ------------------------------------------------------------ robustness

TEST_CASE("Hostile input gives located errors, never a crash", "[config]") {
  SECTION("deeply nested dotted keys and table headers") {
    std::string dotted;
    for (int i = 0; i < 200000; ++i) dotted += "a.";
    CHECK_THAT(error_of(dotted + "a = 1\n"),
               StartsWith("cfg.toml:1:65: dotted key has more than 32 parts"));
    CHECK_THAT(error_of("x = 1\n[" + dotted + "a]\n"),
               StartsWith("cfg.toml:2:66: dotted key has more than 32 parts"));
    std::string quoted_parts;
    for (int i = 0; i < 100000; ++i) quoted_parts += "\"=\".";
    CHECK(is_located(error_of(quoted_parts + "a = 1\n")));
  }
  SECTION("deeply nested arrays and inline tables") {
    CHECK(is_located(error_of("x = " + std::string(100000, '[') + std::string(100000, ']'))));
    std::string inline_tables;
    for (int i = 0; i < 100000; ++i) inline_tables += "{a=";
    CHECK(is_located(error_of("x = " + inline_tables + "1" + std::string(100000, '}'))));
  }
  SECTION("the deepest nesting the scan lets through") {
    // 32 levels of inline tables, each under a 32-part dotted key: toml++
    // parses it (about 1000 nested tables) and the schema then rejects it.
    std::string key;
    for (int i = 0; i < 31; ++i) key += "k.";
    key += "k";
    std::string text = "[" + key + "]\n";
    text += "x = ";
    for (int i = 0; i < 31; ++i) text += "{" + key + " = ";
    text += "1" + std::string(31, '}') + "\n";
    CHECK(error_of(text) == "cfg.toml:1:2: unknown key 'k'");
  }
  SECTION("dots inside strings and comments do not count") {
    std::string many_dots;
    for (int i = 0; i < 100; ++i) many_dots += "a.";
    CHECK_NOTHROW(parse_config("# " + many_dots + "\n", kName));
    CHECK(error_of("x = \"" + many_dots + "\"\n") == "cfg.toml:1:1: unknown key 'x'");
    CHECK(error_of("x = '''\n" + many_dots + "\n'''\n") == "cfg.toml:1:1: unknown key 'x'");
  }
  SECTION("bad bytes") {
    CHECK(is_located(error_of("num_nodes = 5\n\xff\xfe = 1\n")));
    CHECK(is_located(error_of(std::string("x = \"a\0b\"\n", 10))));
    CHECK(is_located(error_of("x = \"\xc3\x28\"\n")));
    // Bad UTF-8 in a key name is escaped in the message.
    std::string message = error_of("\"\\u00e9\\n\" = 1\n");
    CHECK(message == "cfg.toml:1:1: unknown key '\xc3\xa9\\n'");
  }
}

TEST_CASE("Inputs that trip toml++ 3.3 give located errors", "[config]") {
  // Each of these aborts on an assertion inside toml++ 3.3 (undefined
  // behaviour in NDEBUG builds) unless the pre-parse scan rejects it first.
  CHECK(error_of("[[[1]]]\n") == "cfg.toml:1:3: expected a table name after '['");
  CHECK(error_of("x = 1\n[ +faults]\n") == "cfg.toml:2:3: expected a table name after '['");
  CHECK(error_of("a = [1,\n# comment\n}]\n") == "cfg.toml:3:1: expected a value before '}'");
  CHECK(error_of("a = [}]\n") == "cfg.toml:1:6: expected a value before '}'");
  CHECK(error_of("a = 1979-05-27T\"7:32:00\"\n") ==
        "cfg.toml:1:16: unexpected character in value '1979-05-27T\"7:32:00\"'");
  CHECK(error_of("a = 1997-09-09true\n") == "cfg.toml:1:5: invalid date-time '1997-09-09true'");
  CHECK(error_of("a = [0001-01-01 0]\n") == "cfg.toml:1:6: invalid date-time '0001-01-01 0'");
  CHECK(error_of("a = 1\"\xc9\x91\"\n") ==
        "cfg.toml:1:6: unexpected character in value '1\"\xc9\x91\"'");
  CHECK(error_of("\xc3\xa9 = 1\n") ==
        "cfg.toml:1:1: non-ASCII character outside a string or comment");
  // Valid TOML, but toml++ 3.3 misreads the character after the backslash.
  CHECK(error_of("a = \"\"\"\\\n  \xc2\xa7\"\"\"\n") ==
        "cfg.toml:2:3: non-ASCII character after a backslash in a multi-line string "
        "(not supported by toml++ 3.3)");

  // What the scan must still let through.
  CHECK(error_of("seed = 1979-05-27T07:32:00.5-07:00\n") ==
        "cfg.toml:1:8: key 'seed' must be an integer, got date-time");
  CHECK(error_of("seed = 1979-05-27 07:32:00Z\n") ==
        "cfg.toml:1:8: key 'seed' must be an integer, got date-time");
  CHECK(error_of("x = \"\"\"\\\n   caf\xc3\xa9 \\u00e9\"\"\" # \xc3\xa9\n") ==
        "cfg.toml:1:1: unknown key 'x'");
  Config cfg = parse_config(
      "\xEF\xBB\xBF# leading byte order mark\n"
      "[ timing ]\n"
      "heartbeat_interval_ms = 1_0\n"
      "[nemesis]\n"
      "kinds = [\n  \"crash\", # trailing comma is fine in arrays\n]\n"
      "[[ faults ]]\n"
      "action = 'crash'\n"
      "node = 1\n"
      "at_ms = +5\n",
      kName);
  CHECK(cfg.timing.heartbeat_interval_ms == 10);
  CHECK(cfg.nemesis.kinds == std::vector<NemesisKind>{NemesisKind::Crash});
  REQUIRE(cfg.faults.size() == 1);
  CHECK(cfg.faults[0].at_ms == 5);
  CHECK(cfg.faults[0].line == 8);
}

TEST_CASE("Random corruptions of a valid config never crash", "[config]") {
  const std::string base = R"(num_nodes = 5
seed = 7
[timing]
heartbeat_interval_ms = 20
[network]
loss = 0.1
[nemesis]
enabled = true
kinds = ["crash", "cut"]
[[faults]]
at_ms = 10
action = "partition"
groups = [[1, 2], [3, 4, 5]]
)";
  REQUIRE_NOTHROW(parse_config(base, kName));
  const std::string alphabet = "[]{}=.,\"'#\n\\ 0123456789aeu-+:\xc3\xff";
  std::mt19937 rng(12345);  // fixed: failures must be reproducible
  int rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (text.size() + 1);
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text.insert(at, 1, c); break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
          break;
      }
    }
    try {
      parse_config(text, kName);
    } catch (const ConfigError& e) {
      ++rejected;
      if (!is_located(e.what())) FAIL("unlocated message " << e.what() << " for:\n" << text);
    }
  }
  CHECK(rejected > 0);
}

// ------------------------------------------------------------ toml-test

TEST_CASE("Every invalid toml-test document gives a located ConfigError", "[config]") {
  const std::filesystem::path dir = corpus_dir("invalid");
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipping: toml-test corpus not found at " << dir.string()
                                                    << " (expected next to the repository)");
    SUCCEED("nothing to walk");
    return;
  }
  const std::vector<std::filesystem::path> files = toml_files_under(dir);
  REQUIRE_FALSE(files.empty());
  int located = 0;
  std::vector<std::string> accepted;  // documents that loaded without error
  for (const auto& file : files) {
    INFO(file.string());
    try {
      load_config(file.string());
      accepted.push_back(file.string());
    } catch (const ConfigError& e) {
      CHECK(is_located(e.what()));
      if (is_located(e.what())) ++located;
    }
  }
  for (const std::string& file : accepted) {
    FAIL_CHECK("load_config accepted an invalid document: " << file);
  }
  CHECK(located == static_cast<int>(files.size()));
  WARN("toml-test invalid: walked " << files.size() << " files, " << located
                                    << " gave a located ConfigError");
}

TEST_CASE("Valid toml-test documents load or give a located ConfigError", "[config]") {
  // None of them is a raftkv config, so nearly all fail the schema; the point
  // is that every kind of valid TOML value goes through the reader safely.
  const std::filesystem::path dir = corpus_dir("valid");
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipping: toml-test corpus not found at " << dir.string());
    SUCCEED("nothing to walk");
    return;
  }
  const std::vector<std::filesystem::path> files = toml_files_under(dir);
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    INFO(file.string());
    try {
      load_config(file.string());
    } catch (const ConfigError& e) {
      CHECK(is_located(e.what()));
    }
  }
}

// ------------------------------------------------------------ field table

// README.md's config table is the field table's, cell for cell: key, default,
// allowed values and meaning. On a difference, change src/config/fields.cpp
// or README.md; the expected table is printed to paste.
TEST_CASE("README's config table matches the field table", "[config][readme]") {
  std::ifstream in(RAFTKV_SOURCE_DIR "/README.md");
  REQUIRE(in);
  std::vector<std::string> got;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) in_section = line == "## Configuration";
    if (!in_section) continue;
    if (line.starts_with("|")) {
      got.push_back(line);
    } else if (!got.empty()) {
      break;  // the first table of the section ends
    }
  }
  std::vector<std::string> want;
  std::istringstream expected(readme_config_table());
  for (std::string line; std::getline(expected, line);) want.push_back(line);
  INFO("README.md's config table should be:\n" << readme_config_table());
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    INFO("row " << i);
    CHECK((i < got.size() ? got[i] : "(missing)") == (i < want.size() ? want[i] : "(extra)"));
  }
}

TEST_CASE("Every integer key of the field table is range-checked at its key", "[config]") {
  for (const ConfigField& field : config_fields()) {
    bool integer = std::visit(
        [](const auto& r) {
          using T = typename std::remove_cvref_t<decltype(r)>::Type;
          return std::is_integral_v<T> && !std::is_same_v<T, bool>;
        },
        field.ref);
    if (!integer) continue;
    std::string section(field.section());
    std::string text = (section.empty() ? "" : "[" + section + "]\n") + std::string(field.name()) +
                       " = " + std::to_string(field.min - 1) + "\n";
    INFO(text);
    CHECK_THAT(error_of(text), Contains("key '" + std::string(field.path) + "' must be"));
  }
}

TEST_CASE("The header's config reads back as the config it was written from", "[config]") {
  Config cfg = parse_config(R"(num_nodes = 4
seed = 9
keys = 2
leader_noop = false
[timing]
client_timeout_ms = 400
[network]
loss = 0.25
duplicate = 0.1
[nemesis]
enabled = true
kinds = ["cut", "crash"]
max_down = 2
[[faults]]
at_ms = 10
action = "partition"
groups = [[1, 2], [3, 4]]
[[faults]]
at_ms = 20
action = "uncut"
from = 1
to = 2
[[faults]]
at_ms = 15
action = "cut"
from = 1
to = 2
)",
                            kName);
  json header = config_to_json(cfg);
  Config back = config_from_json(header);
  CHECK(config_to_json(back) == header);
  CHECK(back.num_nodes == 4);
  CHECK(back.seed == 9);
  CHECK(back.keys == 2);
  CHECK_FALSE(back.leader_noop);
  CHECK(back.timing.client_timeout_ms == 400);
  CHECK(back.network.loss == 0.25);
  CHECK(back.network.duplicate == 0.1);
  CHECK(back.nemesis.kinds == std::vector<NemesisKind>{NemesisKind::Cut, NemesisKind::Crash});
  REQUIRE(back.faults.size() == 3);
  CHECK(back.faults[0].action == FaultAction::Partition);
  CHECK(back.faults[0].groups == std::vector<std::vector<int>>{{1, 2}, {3, 4}});
  CHECK(back.faults[1].action == FaultAction::Uncut);
  CHECK(back.faults[1].to == 2);
  CHECK_NOTHROW(validate_config(back, "read back"));

  // The default `keys` is left out of the header (older traces lack it) and
  // reads back as the default.
  CHECK_FALSE(config_to_json(Config{}).contains("keys"));
  CHECK(config_from_json(config_to_json(Config{})).keys == Config{}.keys);
}

TEST_CASE("The schedule keys are read and read back from the header", "[config]") {
  const std::string text = R"(num_clients = 3
[[faults]]
at_ms = 10
action = "network"
loss = 0.5
network_latency_max_ms = 30
[[faults]]
at_ms = 20
action = "crash"
node = "leader"
[[faults]]
at_ms = 30
action = "restart"
node = "leader"
[[faults]]
at_ms = 40
action = "crash"
node = "follower"
[[clients]]
id = 2
start_ms = 100
stop_ms = 900
node = 4
count = 7
[[clients]]
id = 3
commands = ["put k v", "get k", "delete k"]
)";
  Config cfg = parse_config(text, kName);
  REQUIRE(cfg.faults.size() == 4);
  CHECK(cfg.faults[0].action == FaultAction::Network);
  CHECK(cfg.faults[0].loss == 0.5);
  CHECK_FALSE(cfg.faults[0].duplicate);
  CHECK_FALSE(cfg.faults[0].latency_min_ms);
  CHECK(cfg.faults[0].latency_max_ms == 30);
  CHECK(cfg.faults[1].target == FaultTarget::Leader);
  CHECK(cfg.faults[1].node == 0);
  CHECK(cfg.faults[2].target == FaultTarget::Leader);
  CHECK(cfg.faults[3].target == FaultTarget::Follower);
  REQUIRE(cfg.clients.size() == 2);
  CHECK(cfg.clients[0].id == 2);
  CHECK(cfg.clients[0].start_ms == 100);
  CHECK(cfg.clients[0].stop_ms == 900);
  CHECK(cfg.clients[0].node == 4);
  CHECK(cfg.clients[0].count == 7);
  CHECK(cfg.clients[0].line == 19);
  CHECK(cfg.clients[1].commands == std::vector<std::string>{"put k v", "get k", "delete k"});
  CHECK_FALSE(cfg.clients[1].start_ms);
  CHECK_FALSE(cfg.clients[1].node);

  json header = config_to_json(cfg);
  CHECK(header["faults"][0]["loss"] == "0.5");
  CHECK_FALSE(header["faults"][0].contains("duplicate"));
  CHECK(header["faults"][1]["target"] == "leader");
  CHECK(header["clients"][1] == json{{"id", 3}, {"commands", {"put k v", "get k", "delete k"}}});
  Config back = config_from_json(header);
  CHECK(config_to_json(back) == header);
  CHECK(back.faults[3].target == FaultTarget::Follower);
  CHECK(back.clients[0].count == 7);
  CHECK_NOTHROW(validate_config(back, "read back"));

  // Without the new keys the header has none of them (the sample traces' bytes).
  json plain = config_to_json(Config{});
  CHECK_FALSE(plain.contains("clients"));
  Config crash = parse_config("[[faults]]\nat_ms = 1\naction = \"crash\"\nnode = 2\n", kName);
  CHECK(config_to_json(crash)["faults"][0].size() == 6);
}

// Log compaction (Raft §7): [raft] snapshot_every and snapshot_chunk_bytes,
// integers with 0 = off, in the header only when set (older traces keep their
// bytes), read back from it.
TEST_CASE("The snapshot keys are read, range-checked and written only when set", "[config]") {
  Config cfg = parse_config("[raft]\nsnapshot_every = 40\nsnapshot_chunk_bytes = 128\n", kName);
  CHECK(cfg.raft.snapshot_every == 40);
  CHECK(cfg.raft.snapshot_chunk_bytes == 128);
  json header = config_to_json(cfg);
  CHECK(header["raft"] == json{{"snapshot_every", 40}, {"snapshot_chunk_bytes", 128}});
  Config back = config_from_json(header);
  CHECK(back.raft.snapshot_every == 40);
  CHECK(back.raft.snapshot_chunk_bytes == 128);
  // The chunk size alone is allowed (it has no effect).
  CHECK(parse_config("[raft]\nsnapshot_chunk_bytes = 7\n", kName).raft.snapshot_chunk_bytes == 7);
  // The largest values.
  Config most = parse_config(
      "[raft]\nsnapshot_every = 1000000000\nsnapshot_chunk_bytes = 1073741824\n", kName);
  CHECK(most.raft.snapshot_every == 1000000000);
  CHECK(most.raft.snapshot_chunk_bytes == 1073741824);
  // Off (the default, or 0 written out): no key, and no `raft` object at all.
  CHECK_FALSE(config_to_json(Config{}).contains("raft"));
  CHECK_FALSE(config_to_json(parse_config("[raft]\nsnapshot_every = 0\n", kName)).contains("raft"));

  // Bad values are located at the key.
  CHECK_THAT(error_of("[raft]\nsnapshot_every = -1\n"),
             StartsWith("cfg.toml:2:18: key 'raft.snapshot_every' must be between 0 and "
                        "1000000000, got -1"));
  CHECK_THAT(error_of("[raft]\nsnapshot_every = 1000000001\n"),
             StartsWith("cfg.toml:2:18: key 'raft.snapshot_every' must be between 0 and "
                        "1000000000"));
  CHECK_THAT(error_of("[raft]\nsnapshot_chunk_bytes = 1073741825\n"),
             StartsWith("cfg.toml:2:24: key 'raft.snapshot_chunk_bytes' must be between 0 and "
                        "1073741824"));
  CHECK_THAT(error_of("[raft]\nsnapshot_chunk_bytes = -3\n"),
             StartsWith("cfg.toml:2:24: key 'raft.snapshot_chunk_bytes'"));
  // Wrong types.
  CHECK_THAT(error_of("[raft]\nsnapshot_every = \"10\"\n"),
             StartsWith("cfg.toml:2:18: key 'raft.snapshot_every' must be an integer"));
  CHECK_THAT(error_of("[raft]\nsnapshot_chunk_bytes = 1.5\n"),
             StartsWith("cfg.toml:2:24: key 'raft.snapshot_chunk_bytes' must be an integer"));
  CHECK_THAT(error_of("[raft]\nsnapshot_every = true\n"),
             StartsWith("cfg.toml:2:18: key 'raft.snapshot_every' must be an integer"));
  // A misspelt key gets a hint.
  CHECK_THAT(error_of("[raft]\nsnapshot_evry = 10\n"), Contains("snapshot_every"));
}
