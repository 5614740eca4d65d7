// The subcommands of the raftkv binary, as library functions so tests can
// call them directly. Each returns the process exit code (see README.md):
//   0 success, 1 the run/check/replay found a problem, 2 bad input.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "raft/planted_bugs.h"
#include "trace/narrate.h"

namespace raftkv {

// The command line's own rules that need the config's (src/cli may include
// only app): --seed's value under the config's `seed` rule, 0 <= seed < 2^31
// (CLI11 would wrap -1 to 2^64 - 1); nullopt after printing why to err.
std::optional<uint64_t> parse_seed_flag(const std::string& text, std::ostream& err);
// --plant-bug NAME, repeated: the bugs, or nullopt after "raftkv COMMAND:
// unknown planted bug 'X' (did you mean 'Y'?)" on err.
std::optional<PlantedBugs> parse_planted_bugs(const std::vector<std::string>& names,
                                              const std::string& command, std::ostream& err);
// "raftkv: unknown command 'WORD' (did you mean 'X'?)..." with the config's
// kind of suggestion among `commands`.
std::string unknown_command_message(const std::string& word,
                                    const std::vector<std::string>& commands);

struct RunOptions {
  // Empty: ./config.toml if it exists, else the built-in defaults (said on
  // stderr). A path the user named must exist.
  std::string config_path;
  std::optional<uint64_t> seed;           // overrides the config's seed
  std::string trace_path;                 // JSON-lines trace; empty = none
  bool quiet = false;                     // no narrative, summary only
  NarrateOptions narrative;               // --verbosity, --node, --client
  std::vector<std::string> planted_bugs;  // --plant-bug NAME (testing the tests)
  bool check = false;                     // run every check of `raftkv check` on the run
  std::string view_path;                  // write `raftkv view`'s page of the run here
};
int run_command(const RunOptions& opts, std::ostream& out, std::ostream& err);

struct ReplayCommandOptions {
  std::string input_path;    // a trace, or a scenario listing inputs only
  bool narrate = false;      // print the narrative while replaying
  NarrateOptions narrative;  // --verbosity, --node, --client
  std::string trace_path;    // scenarios: write the resulting trace here
};
int replay_command(const ReplayCommandOptions& opts, std::ostream& out, std::ostream& err);

struct CheckCommandOptions {
  std::vector<std::string> traces;
  bool skip_linearizability = false;
  bool skip_liveness = false;
  int64_t liveness_bound_ms = 0;  // 0: 10 x election_timeout_max_ms of each trace
  // --liveness: judge the liveness figures (check/liveness.h) against the bounds given, as
  // the user typed them (check_command rejects a bad value with exit 2).
  bool liveness = false;
  std::optional<std::string> max_unavailable_ms;  // a whole number of ms, >= 0
  std::optional<std::string> min_availability;    // a fraction in [0, 1]
};
// The exit status of `check --liveness` when a stated bound is missed (README, "Exit codes").
inline constexpr int kExitLivenessBound = 3;
// Exit 0 if every trace passes, 1 if any violates a check, 2 if any is
// malformed, 3 if any misses a stated liveness bound (2 wins over 1, 1 over 3).
int check_command(const CheckCommandOptions& opts, std::ostream& out, std::ostream& err);

// Exit 0 on success, 2 on unreadable or malformed input.
int export_tla_command(const std::string& trace_path, const std::string& out_path,
                       std::ostream& out, std::ostream& err);
// `raftkv export-shiviz`: the trace as a ShiViz log (replay/export_shiviz.h).
// Exit 0 on success, 2 on unreadable or malformed input.
int export_shiviz_command(const std::string& trace_path, const std::string& out_path,
                          std::ostream& out, std::ostream& err);

// `raftkv view`: one self-contained HTML page of a trace, with the verdict of
// the checks of `raftkv check` (README, "Seeing a run"). Exit 0 when the page
// is written and the trace passes, 1 when it is written and the trace violates
// a check, 2 on unreadable or malformed input (nothing written).
struct ViewOptions {
  std::string trace_path;
  std::string out_path;    // empty: default_view_path(trace_path)
  std::string trace_name;  // the name the page gives the trace; empty: its path
  // At most this many events in the page (0: all): a longer trace gives the
  // page the events around its violation, or its first ones, and says so.
  int64_t max_events = 300000;
};
int view_command(const ViewOptions& opts, std::ostream& out, std::ostream& err);
// The trace's path with its extension (".jsonl") replaced by ".html".
std::string default_view_path(const std::string& trace_path);

struct BenchOptions {
  int64_t ops = 20000;  // committed client operations per scenario (at least)
  bool json = false;
  std::string tracing = "both";  // "off", "on" or "both"
  std::string scenario = "all";  // "5x3", "51x16" or "all"
};
int bench_command(const BenchOptions& opts, std::ostream& out, std::ostream& err);

// `raftkv sweep` (README, "Seed sweeps"; app/sweep.h): every seed of a shard
// of a range, each run with every check of `raftkv check` on its trace in
// memory; one JSON line per seed. Exit 0 every seed passes, 1 some seed
// violates a check, 2 bad input (flags, config, shard, or a failing seed's
// trace that could not be written).
struct SweepOptions {
  std::string config_path;
  std::string seeds;                      // "A..B" or "N"
  std::string shard;                      // "I/N"; empty: from the environment
  std::optional<uint64_t> shards;         // N when the environment gives only the index
  int jobs = 1;                           // threads; 0: every core
  std::string out_path;                   // results file; empty: stdout
  std::string trace_dir;                  // failing seeds' traces; empty: beside the results
  std::vector<std::string> planted_bugs;  // --plant-bug NAME
  // Tests: the environment to read the shard from (nullptr: the process's).
  const char* (*env)(const char*) = nullptr;
};
int sweep_command(const SweepOptions& opts, std::ostream& out, std::ostream& err);

// `raftkv sweep-report FILE...`: merges results files in any order
// (duplicates allowed), lists missing seeds, every failing seed with the
// command that reproduces it, and the figures' distributions. Exit 0 all
// seeds of the range reported and passing, 1 some seed failed, 2 bad input
// (unreadable file, malformed line, files of different configs, one seed with
// two different results), 3 no seed failed but some are missing.
struct SweepReportOptions {
  std::vector<std::string> files;
  bool json = false;
};
inline constexpr int kExitSeedsMissing = 3;
int sweep_report_command(const SweepReportOptions& opts, std::ostream& out, std::ostream& err);

// `raftkv explore` (README, "Model checking the code"; app/explore.h):
// bounded breadth-first exploration of every schedule of the node code. The
// bounds come from the preset unless a flag gives one (-1: not given). Exit 0
// no violation within the bounds, 1 a violation (its scenario is written to
// out_path, and with trace_path replayed into that trace), 2 bad input.
struct ExploreOptions {
  std::string preset = "small";
  int servers = -1;
  int64_t max_term = -1;
  int64_t max_log = -1;
  int max_msgs = -1;
  int max_crashes = -1;
  int commands = -1;
  std::string leader_noop;  // "true", "false"; empty: the preset's
  bool sessions = false;    // --sessions: client 1's session instead of client 0's Puts
  int64_t max_depth = 0;
  double time_limit_s = 0;
  int64_t max_states = 4'000'000;         // 0: none
  std::vector<std::string> planted_bugs;  // --plant-bug NAME
  std::string out_path = "explore-counterexample.jsonl";
  std::string trace_path;  // empty: no trace
  std::string network;     // "runtime", "spec"; empty: runtime, or spec with compare_tlc
  // --compare-tlc FILE: the views TLC wrote of its states (spec/MCRaftKVView.tla),
  // compared with the views of the states explore reaches; exit 1 if the sets differ.
  std::string compare_tlc;
  bool tlc_symmetry = false;  // TLC ran with SYMMETRY: compare up to the servers' names
  // --cfg FILE: a TLC config of MCRaftKV whose bounds (Server, MaxTerm,
  // MaxLogLen, MaxMsgs, MaxCrashes, NumCommands), LeaderNoop, planted bugs
  // and SYMMETRY explore takes, on the spec's network; flags override them.
  std::string tlc_config;
  bool depth_first = false;   // --depth-first
  bool symmetry = false;      // --symmetry: node-id symmetry reduction
  bool pre_vote = false;      // --pre-vote: [raft] pre_vote
  bool check_quorum = false;  // --check-quorum: [raft] check_quorum
  int reads = -1;             // --reads N: gets of k1 along a path; -1: the preset's (0)
  bool read_index = false;    // --read-index: [raft] read_mode = "read_index"
  int transfers = -1;         // --transfers N: leadership transfers along a path; -1: the preset's
  int changes = -1;           // --changes N: membership changes along a path; -1: the preset's
  int joiners = -1;           // --joiners N: servers that may join; -1: the preset's (0)
  bool lease = false;         // --lease: [raft] read_mode = "lease", with clocks
  int ticks = -1;             // --ticks N: with --lease; -1: the preset's (4)
  int64_t clock_drift_ppm = -1;  // --clock-drift-ppm: with --lease; -1: 200000
  int64_t snapshot_every = -1;   // --snapshot-every N: [raft] snapshot_every; -1: the preset's (0)
};
int explore_command(const ExploreOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace raftkv
