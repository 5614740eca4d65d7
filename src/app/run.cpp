#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "app/commands.h"
#include "app/summary.h"
#include "config/config.h"
#include "sim/cluster.h"
#include "trace/json_writer.h"
#include "trace/narrate.h"

namespace raftkv {
namespace {

class FileSink : public TraceSink {
 public:
  explicit FileSink(std::ostream& out) : out_(out) {}
  void write(const json& event) override {
    line_.clear();
    append_json(event, line_);
    line_ += '\n';
    out_ << line_;
  }

 private:
  std::ostream& out_;
  std::string line_;
};

class NarrativeSink : public TraceSink {
 public:
  explicit NarrativeSink(std::ostream& out) : out_(out) {}
  void write(const json& event) override {
    if (auto text = narrator_.line(event)) out_ << *text << '\n';
  }

 private:
  std::ostream& out_;
  Narrator narrator_;
};

}  // namespace

int run_command(const RunOptions& opts, std::ostream& out, std::ostream& err) {
  Config cfg;
  try {
    cfg = load_config(opts.config_path);
    if (opts.seed) cfg.seed = *opts.seed;
  } catch (const ConfigError& e) {
    err << "raftkv: config error: " << e.what() << '\n';
    return 2;
  }

  std::ofstream trace_file;
  if (!opts.trace_path.empty()) {
    trace_file.open(opts.trace_path, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!trace_file) {
      err << "raftkv: cannot write trace file '" << opts.trace_path << "'\n";
      return 2;
    }
  }

  PlantedBugs bugs;
  for (const std::string& name : opts.planted_bugs) {
    if (!plant_bug(bugs, name)) {
      err << "raftkv: unknown planted bug '" << name << "' (known:";
      for (const std::string& known : planted_bug_names()) err << ' ' << known;
      err << ")\n";
      return 2;
    }
  }
  if (bugs.any()) {
    err << "raftkv: WARNING: running with planted protocol bug(s):";
    for (const std::string& name : planted_bug_list(bugs)) err << ' ' << name;
    err << " -- this run is deliberately NOT correct Raft\n";
  }

  Cluster cluster(cfg, bugs);
  FileSink file_sink(trace_file);
  NarrativeSink narrative(out);
  if (trace_file.is_open()) {
    cluster.add_sink(&file_sink);
    trace_file << cluster.header().dump() << '\n';
  }
  if (!opts.quiet) {
    cluster.add_sink(&narrative);
    out << "Config: " << cfg.num_nodes << " nodes, " << cfg.num_clients << " clients, "
        << cfg.requests_per_client << " requests each, seed " << cfg.seed << " (from " << cfg.source
        << ")\n";
    out << "Peers configured: every node knows nodes 1.." << cfg.num_nodes << "\n";
  }
  cluster.run();
  cluster.finish();
  if (trace_file.is_open()) {
    trace_file.flush();
    if (!trace_file) {
      err << "raftkv: error writing trace file '" << opts.trace_path << "'\n";
      return 2;
    }
  }
  print_summary(cluster, out);
  return cluster.replicas_agree() ? 0 : 1;
}

}  // namespace raftkv
