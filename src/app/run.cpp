#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <cstdlib>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "app/progress.h"
#include "app/summary.h"
#include "app/trace_file.h"
#include "check/checker.h"
#include "config/config.h"
#include "sim/cluster.h"
#include "trace/json_writer.h"
#include "trace/narrate.h"
#include "trace/reader.h"

namespace raftkv {
namespace {

class NarrativeSink : public TraceSink {
 public:
  NarrativeSink(std::ostream& out, const NarrateOptions& options) : out_(out), narrator_(options) {}
  void write(const json& event) override {
    // The narrator reads whole node lines, as TraceFraming gives them to
    // `replay --narrate`: put back the state, or the fields of it, the
    // runtime left out (schema v3, v4).
    json full = event;
    states_.fill(full);
    if (auto text = narrator_.line(full)) out_ << *text << '\n';
  }

 private:
  std::ostream& out_;
  Narrator narrator_;
  StateFiller states_;
};

// `run --check`: the checks of `raftkv check` on the trace just written.
// Returns the exit status they give: 0 ok, 1 a violation, 2 unreadable.
int check_run_trace(const std::string& path, const std::string& name, std::ostream& out,
                    std::ostream& err) {
  try {
    check::Report report = check::check_trace_file(path);
    report.trace_name = name;
    out << "Check: " << check::format_report(report) << '\n';
    return report.ok() ? 0 : 1;
  } catch (const check::TraceFormatError& e) {
    err << "raftkv run --check: the run's trace is malformed: " << e.what() << '\n';
    return 2;
  }
}

}  // namespace

int run_command(const RunOptions& opts, std::ostream& out, std::ostream& err) {
  // Every key is optional, so with no config named and none in the current
  // directory the defaults are a whole config (a first run outside the
  // repository should work); a config the user named must exist.
  std::string config_path = opts.config_path;
  bool defaults = false;
  if (config_path.empty()) {
    std::error_code ec;
    defaults = !std::filesystem::exists(std::filesystem::symlink_status("config.toml", ec));
    if (!defaults) config_path = "config.toml";
  }
  Config cfg;
  try {
    if (!defaults) cfg = load_config(config_path);
    if (opts.seed) cfg.seed = *opts.seed;
  } catch (const ConfigError& e) {
    err << "raftkv: config error: " << e.what() << '\n';
    return 2;
  }

  std::optional<PlantedBugs> planted = parse_planted_bugs(opts.planted_bugs, "run", err);
  if (!planted) return 2;
  const PlantedBugs& bugs = *planted;
  // A filter naming a node or client the run does not have would silently
  // print nothing.
  for (int node : opts.narrative.nodes) {
    if (node > cfg.num_nodes) {
      err << "raftkv run: --node " << node << ": the run has nodes 1.." << cfg.num_nodes << '\n';
      return 2;
    }
  }
  for (int client : opts.narrative.clients) {
    if (client > cfg.num_clients) {
      err << "raftkv run: --client " << client << ": the run has clients 1.." << cfg.num_clients
          << '\n';
      return 2;
    }
  }
  if (defaults) {
    err << "raftkv run: no ./config.toml here and no config given: running the built-in "
           "defaults\n";
  }
  // Everything that can reject the command is decided before the trace file
  // is created.
  if (!opts.trace_path.empty() && !defaults && same_file(opts.trace_path, config_path)) {
    err << "raftkv run: refusing to write the trace to '" << opts.trace_path
        << "': it is the config file '" << config_path << "'\n";
    return 2;
  }
  // --check and --view need the trace: the user's file if there is one, else a temp file.
  std::optional<TempTrace> temp;
  std::string trace_path = opts.trace_path;
  if ((opts.check || !opts.view_path.empty()) && trace_path.empty()) {
    temp.emplace();
    if (temp->path().empty()) {
      err << "raftkv run --check: cannot create a temporary trace file (set TMPDIR)\n";
      return 2;
    }
    trace_path = temp->path();
  }
  std::optional<AtomicOutputFile> trace_file;
  if (!trace_path.empty()) {
    trace_file.emplace(trace_path);
    if (!trace_file->open()) {
      err << "raftkv run: " << trace_file->error() << '\n';
      return 2;
    }
  }
  if (bugs.any()) {
    err << "raftkv: WARNING: running with planted protocol bug(s):";
    for (const std::string& name : planted_bug_list(bugs)) err << ' ' << name;
    err << " -- this run is deliberately NOT correct Raft\n";
  }

  Cluster cluster(cfg, bugs);
  // The summary reads running totals; a history of every operation would grow
  // with the run (issue 16: memory bounded by the snapshot interval).
  cluster.keep_history(false);
  LivenessObserver liveness(cluster);
  cluster.set_observer(&liveness);
  std::optional<FileSink> file_sink;
  NarrativeSink narrative(out, opts.narrative);
  if (trace_file) {
    // The header first: the sink writes the file from where the stream is.
    trace_file->stream() << cluster.header().dump() << '\n';
    file_sink.emplace(trace_file->stream(), trace_file->fd());
    cluster.add_sink(&*file_sink);
  }
  if (!opts.quiet) {
    cluster.add_sink(&narrative);
    out << "Config: " << cfg.num_nodes << " nodes, " << cfg.num_clients << " clients, "
        << cfg.requests_per_client << " requests each, seed " << cfg.seed << " (from " << cfg.source
        << ")\n";
    out << "Peers configured: every node knows nodes 1.." << cfg.num_nodes << "\n";
  }
  {
    // A large workload takes a while: say how far it got (stderr, terminals only).
    Progress progress(err, "run", "requests issued", !opts.quiet);
    cluster.start();
    for (int64_t steps = 1; cluster.step(); ++steps) {
      if ((steps & 0xFFF) == 0) {
        progress.update(cluster.stats().requests_issued, cluster.stats().requests_planned);
      }
    }
  }
  cluster.finish();
  if (file_sink) file_sink->flush();
  // A run that found a problem still keeps its trace: that is the trace the
  // user needs. Only a trace that could not be written completely is lost.
  if (file_sink && !file_sink->error().empty()) {
    err << "raftkv run: cannot write '" << trace_file->path() << "': " << file_sink->error()
        << '\n';
    return 2;
  }
  if (trace_file && !trace_file->commit()) {
    err << "raftkv run: " << trace_file->error() << '\n';
    return 2;
  }
  check::LivenessFigures figures = liveness.figures();
  print_summary(cluster, out, &figures);
  // Exit 1 only for a safety problem: a run that is merely incomplete (a
  // node behind, no leader, the time limit) says so in its Outcome line and
  // exits 0, so a seed sweep that treats 1 as "found a bug" stays true.
  int status = classify(cluster).safety_problem() ? 1 : 0;
  if (opts.check)
    status =
        std::max(status, check_run_trace(trace_path, temp ? "this run" : trace_path, out, err));
  if (!opts.view_path.empty()) {
    ViewOptions view;
    view.trace_path = trace_path;
    view.out_path = opts.view_path;
    view.trace_name = temp ? "this run" : trace_path;
    // The page shows the verdict; only --check lets it change the exit status.
    if (view_command(view, out, err) == 2) status = 2;
  }
  return status;
}

}  // namespace raftkv
