// Seed sweeps (`raftkv sweep`, `raftkv sweep-report`): the pieces the two
// commands share and the tests call directly. README.md, "Seed sweeps", is
// the user's guide; this header says how the parts fit.
//
// A sweep runs one config under many seeds. A run is deterministic (same
// config, seed and planted bugs, same trace), so a seed is a one-line
// reproduction and a sweep splits into shards that never overlap: shard I of
// N runs the seeds s of the range with s mod N == I. Each shard writes a
// results file: a header line naming the config, the range and the shard,
// then one line per seed in seed order (verdict, the violated check, the
// run's figures). Nothing in it depends on the machine, the number of jobs or
// the order shards ran in, so sweep-report merges any set of such files into
// the same report as one process sweeping every seed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/checker.h"
#include "config/config.h"
#include "raft/planted_bugs.h"

namespace raftkv::sweep {

// The results file's format name and version (line 1 of every shard's file).
inline constexpr const char* kFormat = "raftkv-sweep";
inline constexpr int kVersion = 1;

// An inclusive range of seeds, each under the config's `seed` rule (0 to 2^31 - 1).
struct SeedRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t size() const { return last - first + 1; }
};
// "A..B" (A <= B) or "N" (the one seed N); nullopt with *error saying why.
std::optional<SeedRange> parse_seed_range(const std::string& text, std::string* error);

// Which shard this process runs, and where that came from.
struct Shard {
  uint64_t index = 0;
  uint64_t count = 1;
  std::string source;  // "--shard", "JOB_COMPLETION_INDEX", ...; "" when unsharded
  bool owns(uint64_t seed) const { return seed % count == index; }
};
// The environment, as getenv gives it (tests pass their own).
using Env = std::function<const char*(const char*)>;
// The shard, from the first of these that is present:
//   --shard I/N (shard_flag non-empty);
//   Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based), the count from
//     --shards N or RAFTKV_SHARDS (an Indexed Job does not export its completions);
//   Slurm job arrays: (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP,
//     of SLURM_ARRAY_TASK_COUNT (or --shards N / RAFTKV_SHARDS);
//   GNU parallel: PARALLEL_SEQ - 1 (its job number, from 1), only when the count
//     is given by --shards N or RAFTKV_SHARDS: parallel numbers every job it
//     runs, shard or not;
// else the whole range (0/1). nullopt with *error naming the flag or variable.
std::optional<Shard> resolve_shard(const std::string& shard_flag,
                                   std::optional<uint64_t> shards_flag, const Env& env,
                                   std::string* error);

// One seed's run and its checks.
struct SeedResult {
  uint64_t seed = 0;
  // "ok"; "violation" (a check of `raftkv check` failed, or the replicas
  // diverged); "inconclusive" (linearizability ran out of budget, nothing
  // else failed); "error" (the run's own trace could not be read: a bug of
  // raftkv, not of the protocol).
  std::string verdict = "ok";
  std::string check;        // the violated check ("diverged" for the run's own finding)
  std::string explanation;  // what the check said, one paragraph
  bool complete = false;    // the run's Outcome line said "complete"
  int64_t virtual_ms = 0;
  int64_t committed_ops = 0;  // distinct client operations in the committed log
  int64_t client_ops = 0;     // client operations invoked
  int64_t client_unknown = 0;
  int64_t elections = 0;
  int64_t leaders = 0;
  int64_t faults = 0;  // scheduled and nemesis faults applied
  int64_t messages = 0;
  int64_t latency_p50_ms = 0;
  int64_t latency_p99_ms = 0;
  double availability = 1;
  int64_t longest_unavailable_ms = 0;
  std::string trace;       // the whole trace, kept only when the verdict is not ok
  std::string trace_path;  // where it was written (set by the caller)

  bool failed() const { return verdict == "violation" || verdict == "error"; }
  double messages_per_op() const {
    return committed_ops > 0 ? static_cast<double>(messages) / static_cast<double>(committed_ops)
                             : 0;
  }
};
// Runs `cfg` with `seed` (its own seed replaced) and every check of `raftkv
// check` on the trace in memory. The trace is kept in the result only when a
// check fails or is inconclusive. Safe to call from several threads at once.
SeedResult run_seed(const Config& cfg, const PlantedBugs& bugs, uint64_t seed,
                    const check::CheckOptions& options = {});

// The results file's lines (kFormat). `config_digest` identifies the
// effective config apart from its seed, so files made from one config at
// different paths (another machine, a container) can be merged.
nlohmann::ordered_json header_line(const std::string& config_path, const std::string& digest,
                                   const SeedRange& seeds, const Shard& shard,
                                   const std::vector<std::string>& planted_bugs);
nlohmann::ordered_json result_line(const SeedResult& r);
// A stable 64-bit digest (hex) of the effective config without its seed.
std::string config_digest(const Config& cfg);

// The exact command that reproduces one seed, with its checks.
std::string reproduce_command(const std::string& config_path, uint64_t seed,
                              const std::vector<std::string>& planted_bugs);

}  // namespace raftkv::sweep
