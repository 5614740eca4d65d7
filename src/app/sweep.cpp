// `raftkv sweep`: every seed of a shard, each run with every check of
// `raftkv check` on its trace in memory (app/sweep.h).
#include "app/sweep.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <streambuf>
#include <string_view>
#include <thread>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "app/progress.h"
#include "app/summary.h"
#include "config/config_json.h"
#include "sim/cluster.h"

namespace raftkv {
namespace sweep {
namespace {

constexpr uint64_t kMaxSeed = (uint64_t{1} << 31) - 1;

// A whole decimal number (digits only) no larger than `max`.
std::optional<uint64_t> parse_count(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// The trace of one run, gathered in memory: the runtime appends each line
// straight to the buffer (TraceSink::line_buffer).
class StringSink : public TraceSink {
 public:
  bool lines_only() const override { return true; }
  void write(const json& event) override {
    text_.append(event.dump());
    text_.push_back('\n');
  }
  void write_line(const std::string& line) override {
    text_.append(line);
    text_.push_back('\n');
  }
  LineBuffer* line_buffer() override { return &text_; }
  bool line_appended(size_t /*bytes*/) override {
    text_.push_back('\n');
    return false;
  }
  std::string_view text() const { return text_.view(); }
  void append(std::string_view s) { text_.append(s); }

 private:
  LineBuffer text_;
};

// An input stream over a string that stays put (the checker may reopen it).
class ViewBuf : public std::streambuf {
 public:
  explicit ViewBuf(std::string_view s) {
    char* p = const_cast<char*>(s.data());
    setg(p, p, p + s.size());
  }
};
class ViewStream : public std::istream {
 public:
  explicit ViewStream(std::string_view s) : std::istream(nullptr), buf_(s) { rdbuf(&buf_); }

 private:
  ViewBuf buf_;
};

int64_t total(const std::array<int64_t, RunStats::kFaultKinds>& a) {
  return std::accumulate(a.begin(), a.end(), int64_t{0});
}

// The first line of a paragraph, for the results file (the report prints it).
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::optional<SeedRange> parse_seed_range(const std::string& text, std::string* error) {
  auto bad = [&](const std::string& why) {
    *error = "--seeds takes A..B (A <= B) or one seed N, each 0 to 2^31 - 1: " + why;
    return std::nullopt;
  };
  size_t dots = text.find("..");
  std::string_view a = text, b = text;
  if (dots != std::string::npos) {
    a = std::string_view(text).substr(0, dots);
    b = std::string_view(text).substr(dots + 2);
  }
  auto first = parse_count(a, kMaxSeed), last = parse_count(b, kMaxSeed);
  if (!first || !last) return bad("'" + text + "' is not one");
  if (*first > *last) return bad("'" + text + "' starts after it ends");
  return SeedRange{*first, *last};
}

std::optional<Shard> resolve_shard(const std::string& shard_flag,
                                   std::optional<uint64_t> shards_flag, const Env& env,
                                   std::string* error) {
  constexpr uint64_t kMaxShards = 1'000'000;
  auto var = [&](const char* name) -> std::optional<std::string> {
    const char* v = env(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  auto fail = [&](const std::string& why) -> std::optional<Shard> {
    *error = why;
    return std::nullopt;
  };
  // The shard count given apart from the index: --shards wins over RAFTKV_SHARDS.
  std::optional<uint64_t> count = shards_flag;
  std::string count_source = "--shards";
  if (!count) {
    if (auto text = var("RAFTKV_SHARDS")) {
      count = parse_count(*text, kMaxShards);
      if (!count || *count == 0)
        return fail("RAFTKV_SHARDS='" + *text + "': a number of shards, 1 to 1000000");
      count_source = "RAFTKV_SHARDS";
    }
  } else if (*count == 0 || *count > kMaxShards) {
    return fail("--shards " + std::to_string(*count) + ": a number of shards, 1 to 1000000");
  }
  auto checked = [&](uint64_t index, uint64_t n, const std::string& source,
                     const std::string& n_source) -> std::optional<Shard> {
    if (index >= n) {
      return fail(source + " gives shard index " + std::to_string(index) + ", but " + n_source +
                  " says there are " + std::to_string(n) + " shards (indexes 0.." +
                  std::to_string(n - 1) + ")");
    }
    return Shard{index, n, source};
  };

  if (!shard_flag.empty()) {
    size_t slash = shard_flag.find('/');
    std::optional<uint64_t> i, n;
    if (slash != std::string::npos) {
      i = parse_count(std::string_view(shard_flag).substr(0, slash), kMaxShards);
      n = parse_count(std::string_view(shard_flag).substr(slash + 1), kMaxShards);
    }
    if (!i || !n || *n == 0 || *i >= *n)
      return fail("--shard takes I/N with 0 <= I < N <= 1000000, not '" + shard_flag + "'");
    if (shards_flag && *shards_flag != *n)
      return fail("--shard " + shard_flag + " and --shards " + std::to_string(*shards_flag) +
                  " disagree on the number of shards");
    return Shard{*i, *n, "--shard"};
  }
  if (auto text = var("JOB_COMPLETION_INDEX")) {
    auto i = parse_count(*text, kMaxShards);
    if (!i) return fail("JOB_COMPLETION_INDEX='" + *text + "' is not a shard index");
    if (!count) {
      return fail("JOB_COMPLETION_INDEX=" + *text +
                  " (a Kubernetes Indexed Job) gives this shard's index but not the number of "
                  "shards: give --shards N or set RAFTKV_SHARDS (the Job's completions)");
    }
    return checked(*i, *count, "JOB_COMPLETION_INDEX", count_source);
  }
  if (auto text = var("SLURM_ARRAY_TASK_ID")) {
    auto id = parse_count(*text, UINT32_MAX);
    if (!id) return fail("SLURM_ARRAY_TASK_ID='" + *text + "' is not a task id");
    uint64_t min = 0, step = 1;
    if (auto m = var("SLURM_ARRAY_TASK_MIN")) {
      auto v = parse_count(*m, UINT32_MAX);
      if (!v || *v > *id) return fail("SLURM_ARRAY_TASK_MIN='" + *m + "' does not fit the task id");
      min = *v;
    }
    if (auto s = var("SLURM_ARRAY_TASK_STEP")) {
      auto v = parse_count(*s, UINT32_MAX);
      if (!v || *v == 0) return fail("SLURM_ARRAY_TASK_STEP='" + *s + "' is not a step");
      step = *v;
    }
    if ((*id - min) % step != 0)
      return fail("SLURM_ARRAY_TASK_ID=" + *text + " is not on the array's step");
    uint64_t index = (*id - min) / step;
    if (count) return checked(index, *count, "SLURM_ARRAY_TASK_ID", count_source);
    auto n_text = var("SLURM_ARRAY_TASK_COUNT");
    if (!n_text) {
      return fail("SLURM_ARRAY_TASK_ID=" + *text +
                  " is set but SLURM_ARRAY_TASK_COUNT is not: give --shards N");
    }
    auto n = parse_count(*n_text, kMaxShards);
    if (!n || *n == 0)
      return fail("SLURM_ARRAY_TASK_COUNT='" + *n_text + "': a number of shards, 1 to 1000000");
    return checked(index, *n, "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT");
  }
  if (count) {
    if (auto text = var("PARALLEL_SEQ")) {
      auto seq = parse_count(*text, kMaxShards);
      if (!seq || *seq == 0) return fail("PARALLEL_SEQ='" + *text + "' is not a job number");
      return checked(*seq - 1, *count, "PARALLEL_SEQ", count_source);
    }
    return fail(count_source + " " + std::to_string(*count) +
                " gives the number of shards, but nothing gives this shard's index: use "
                "--shard I/N, or run under a Kubernetes Indexed Job (JOB_COMPLETION_INDEX), a "
                "Slurm job array (SLURM_ARRAY_TASK_ID) or GNU parallel (PARALLEL_SEQ)");
  }
  return Shard{0, 1, ""};
}

SeedResult run_seed(const Config& base, const PlantedBugs& bugs, uint64_t seed,
                    const check::CheckOptions& options) {
  Config cfg = base;
  cfg.seed = seed;
  SeedResult r;
  r.seed = seed;

  StringSink sink;
  Cluster cluster(cfg, bugs);
  cluster.keep_history(false);
  LivenessObserver liveness(cluster);
  cluster.set_observer(&liveness);
  cluster.add_sink(&sink);
  sink.append(cluster.header().dump());
  sink.append("\n");
  cluster.start();
  while (cluster.step()) {
  }
  cluster.finish();

  Outcome outcome = classify(cluster);
  check::LivenessFigures f = liveness.figures();
  const RunStats& st = cluster.stats();
  r.complete = outcome.complete();
  r.virtual_ms = cluster.now();
  r.committed_ops = commit_counts(cluster).operations;
  r.client_ops = f.client_ops;
  r.client_unknown = f.client_unknown;
  r.elections = st.elections_started;
  r.leaders = st.leaders_elected;
  r.faults = total(st.faults_scheduled) + total(st.faults_nemesis);
  r.messages = st.messages_sent;
  r.latency_p50_ms = f.latency_p50_ms;
  r.latency_p99_ms = f.latency_p99_ms;
  r.availability = f.availability();
  r.longest_unavailable_ms = f.longest_unavailable_ms;

  std::string_view text = sink.text();
  try {
    ViewStream in(text);
    check::Report report = check::check_trace(
        in, "seed " + std::to_string(seed), options,
        [&text]() -> std::unique_ptr<std::istream> { return std::make_unique<ViewStream>(text); });
    if (report.violation) {
      r.verdict = "violation";
      r.check = report.violation->check;
      r.explanation = first_line(report.violation->explanation);
    } else if (report.linearizability_inconclusive) {
      r.verdict = "inconclusive";
      r.check = check::kLinearizability;
      r.explanation = "the linearizability search ran out of budget on some key";
    }
  } catch (const check::TraceFormatError& e) {
    r.verdict = "error";
    r.explanation = std::string("the run's own trace is malformed: ") + e.what();
  }
  // The runtime's own finding (app/summary.h): the checker normally names it
  // first, as StateMachineSafety.
  if (r.verdict != "violation" && r.verdict != "error" && outcome.diverged) {
    r.verdict = "violation";
    r.check = "diverged";
    r.explanation = outcome.divergence;
  }
  if (r.verdict != "ok") r.trace = std::string(sink.text());
  return r;
}

std::string config_digest(const Config& cfg) {
  json j = config_to_json(cfg);
  j.erase("seed");
  // FNV-1a over the canonical dump (nlohmann sorts object keys).
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : j.dump()) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

nlohmann::ordered_json header_line(const std::string& config_path, const std::string& digest,
                                   const SeedRange& seeds, const Shard& shard,
                                   const std::vector<std::string>& planted_bugs) {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["config"] = config_path;
  j["config_digest"] = digest;
  j["seeds"] = {seeds.first, seeds.last};
  j["shard"] = {shard.index, shard.count};
  j["planted_bugs"] = planted_bugs;
  return j;
}

nlohmann::ordered_json result_line(const SeedResult& r) {
  nlohmann::ordered_json j;
  j["seed"] = r.seed;
  j["verdict"] = r.verdict;
  j["check"] = r.check.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.check);
  if (!r.explanation.empty()) j["explanation"] = r.explanation;
  if (!r.trace_path.empty()) j["trace"] = r.trace_path;
  j["complete"] = r.complete;
  j["virtual_ms"] = r.virtual_ms;
  j["committed_ops"] = r.committed_ops;
  j["client_ops"] = r.client_ops;
  j["client_unknown"] = r.client_unknown;
  j["elections"] = r.elections;
  j["leaders"] = r.leaders;
  j["faults"] = r.faults;
  j["messages"] = r.messages;
  // Fixed decimals keep the file's bytes independent of how a double prints.
  auto fixed = [](double v, int digits) {
    double scale = digits == 4 ? 1e4 : 1e2;
    return static_cast<double>(static_cast<int64_t>(v * scale + 0.5)) / scale;
  };
  j["messages_per_op"] = fixed(r.messages_per_op(), 2);
  j["latency_p50_ms"] = r.latency_p50_ms;
  j["latency_p99_ms"] = r.latency_p99_ms;
  j["availability"] = fixed(r.availability, 4);
  j["longest_unavailable_ms"] = r.longest_unavailable_ms;
  return j;
}

std::string reproduce_command(const std::string& config_path, uint64_t seed,
                              const std::vector<std::string>& planted_bugs) {
  std::string cmd = "raftkv run " + config_path + " --seed " + std::to_string(seed);
  for (const std::string& bug : planted_bugs) cmd += " --plant-bug " + bug;
  cmd += " -q --check";
  return cmd;
}

}  // namespace sweep

namespace {

// Where a failing seed's trace goes: beside the results, named after the
// config, the seed and any planted bugs.
std::string trace_path_for(const SweepOptions& opts, uint64_t seed) {
  std::filesystem::path dir = opts.trace_dir;
  if (dir.empty()) {
    dir = opts.out_path.empty() ? std::filesystem::path(".")
                                : std::filesystem::path(opts.out_path).parent_path();
  }
  std::string name = std::filesystem::path(opts.config_path).stem().string();
  name += "-seed" + std::to_string(seed);
  for (const std::string& bug : opts.planted_bugs) name += "-" + bug;
  name += ".jsonl";
  return dir.empty() ? name : (dir / name).string();
}

// Runs the shard's seeds on `jobs` threads and hands each result to `emit`
// in seed order, as soon as it and every seed before it are done.
void run_seeds(const std::vector<uint64_t>& seeds, int jobs, const Config& cfg,
               const PlantedBugs& bugs, Progress& progress,
               const std::function<void(sweep::SeedResult&)>& emit) {
  std::vector<std::optional<sweep::SeedResult>> done(seeds.size());
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<size_t> next{0};
  // A worker does not run ahead of the oldest unwritten seed by more than
  // this, so a failing seed's trace waits in memory only a little while.
  const size_t window = static_cast<size_t>(jobs) * 8;
  size_t written = 0;
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= seeds.size()) return;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return i < written + window; });
      }
      sweep::SeedResult r;
      try {
        r = sweep::run_seed(cfg, bugs, seeds[i]);
      } catch (const std::exception& e) {
        // A precondition of the node code (its `expect`) or of the runtime
        // failed: a bug in raftkv, reported as this seed's error.
        r = sweep::SeedResult{};
        r.seed = seeds[i];
        r.verdict = "error";
        r.explanation = std::string("the run stopped: ") + e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      done[i] = std::move(r);
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  while (written < seeds.size()) {
    sweep::SeedResult r;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done[written].has_value(); });
      r = std::move(*done[written]);
      done[written].reset();
    }
    emit(r);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++written;
    }
    cv.notify_all();
    progress.update(static_cast<int64_t>(written), static_cast<int64_t>(seeds.size()));
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace

int sweep_command(const SweepOptions& opts, std::ostream& out, std::ostream& err) {
  std::string why;
  auto range = sweep::parse_seed_range(opts.seeds, &why);
  if (!range) {
    err << "raftkv sweep: " << why << '\n';
    return 2;
  }
  auto shard = sweep::resolve_shard(
      opts.shard, opts.shards,
      opts.env ? sweep::Env(opts.env)
               : sweep::Env([](const char* name) -> const char* { return std::getenv(name); }),
      &why);
  if (!shard) {
    err << "raftkv sweep: " << why << '\n';
    return 2;
  }
  if (opts.jobs < 0 || opts.jobs > 1024) {
    err << "raftkv sweep: --jobs takes 0 (every core) to 1024, not " << opts.jobs << '\n';
    return 2;
  }
  int jobs = opts.jobs > 0 ? opts.jobs
                           : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  Config cfg;
  try {
    cfg = load_config(opts.config_path);
  } catch (const ConfigError& e) {
    err << "raftkv: config error: " << e.what() << '\n';
    return 2;
  }
  std::optional<PlantedBugs> planted = parse_planted_bugs(opts.planted_bugs, "sweep", err);
  if (!planted) return 2;
  const PlantedBugs& bugs = *planted;
  if (!opts.out_path.empty() && same_file(opts.out_path, opts.config_path)) {
    err << "raftkv sweep: refusing to write the results to '" << opts.out_path
        << "': it is the config file\n";
    return 2;
  }
  if (!opts.trace_dir.empty() && !std::filesystem::is_directory(opts.trace_dir)) {
    err << "raftkv sweep: --trace-dir '" << opts.trace_dir << "' is not a directory\n";
    return 2;
  }

  // The results appear only when the shard is complete (app/atomic_file.h).
  std::optional<AtomicOutputFile> file;
  if (!opts.out_path.empty()) {
    file.emplace(opts.out_path);
    if (!file->open()) {
      err << "raftkv sweep: " << file->error() << '\n';
      return 2;
    }
  }
  std::ostream& results = file ? file->stream() : out;
  std::vector<uint64_t> seeds;
  for (uint64_t s = range->first;; ++s) {
    if (shard->owns(s)) seeds.push_back(s);
    if (s == range->last) break;
  }
  std::vector<std::string> bug_names = planted_bug_list(bugs);
  results << sweep::header_line(opts.config_path, sweep::config_digest(cfg), *range, *shard,
                                bug_names)
                 .dump()
          << '\n';

  std::string label = "sweep";
  if (shard->count > 1)
    label += " shard " + std::to_string(shard->index) + "/" + std::to_string(shard->count);
  int64_t failures = 0, inconclusive = 0, trace_errors = 0;
  auto start = std::chrono::steady_clock::now();
  {
    Progress progress(err, label, "seeds");
    run_seeds(seeds, jobs, cfg, bugs, progress, [&](sweep::SeedResult& r) {
      if (r.failed()) ++failures;
      if (r.verdict == "inconclusive") ++inconclusive;
      if (!r.trace.empty()) {
        // The failing run's trace, so the seed can be looked at without
        // running it again; the run is deterministic, so an older file of
        // the same name holds the same bytes.
        std::string path = trace_path_for(opts, r.seed);
        AtomicOutputFile trace(path);
        if (trace.open()) {
          trace.stream() << r.trace;
          if (trace.commit()) r.trace_path = path;
        }
        if (r.trace_path.empty()) {
          ++trace_errors;
          err << "raftkv sweep: seed " << r.seed << ": cannot write its trace: " << trace.error()
              << '\n';
        }
        r.trace.clear();
        r.trace.shrink_to_fit();
      }
      results << sweep::result_line(r).dump() << '\n';
    });
  }
  if (file && !file->commit()) {
    err << "raftkv sweep: " << file->error() << '\n';
    return 2;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f s, %.1f seeds/s", secs,
                secs > 0 ? static_cast<double>(seeds.size()) / secs : 0.0);
  // The summary goes to stderr: stdout may be the results themselves.
  err << label << (shard->source.empty() ? "" : " (from " + shard->source + ")") << ": "
      << seeds.size() << " seeds of " << range->first << ".." << range->last << " in " << rate
      << " on " << jobs << " job(s); " << failures << " failed, " << inconclusive << " inconclusive"
      << (opts.out_path.empty() ? "" : "; results in " + opts.out_path) << '\n';
  if (trace_errors > 0) return 2;
  return failures > 0 ? 1 : 0;
}

}  // namespace raftkv
