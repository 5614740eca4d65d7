#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

#include "app/commands.h"
#include "app/summary.h"
#include "sim/cluster.h"
#include "trace/json_writer.h"

namespace raftkv {
namespace {

// Serializes each event as the trace file would, without disk I/O, so the
// figure measures the emulator's cost of tracing rather than the disk.
class SerializingSink : public TraceSink {
 public:
  void write(const json& event) override {
    buffer_.clear();
    append_json(event, buffer_);
    bytes_ += static_cast<int64_t>(buffer_.size()) + 1;
  }
  int64_t bytes() const { return bytes_; }

 private:
  std::string buffer_;
  int64_t bytes_ = 0;
};

struct Scenario {
  const char* name;
  int nodes;
  int clients;
};

struct Figures {
  double wall_s = 0;
  int64_t delivered = 0;
  int64_t committed = 0;
  int64_t events = 0;
  int64_t trace_bytes = 0;
  int64_t virtual_ms = 0;
  long peak_rss_kb = 0;
};

Figures measure(const Scenario& s, int64_t ops, bool trace) {
  Config cfg;
  cfg.num_nodes = s.nodes;
  cfg.num_clients = s.clients;
  cfg.requests_per_client = static_cast<int>((ops + s.clients - 1) / s.clients);
  cfg.time_limit_ms = 2000000000;  // the run ends when the clients are done
  cfg.seed = 1;
  Cluster cluster(cfg);
  SerializingSink sink;
  if (trace) cluster.add_sink(&sink);
  auto t0 = std::chrono::steady_clock::now();
  cluster.run();
  auto t1 = std::chrono::steady_clock::now();
  Figures f;
  f.wall_s = std::chrono::duration<double>(t1 - t0).count();
  f.delivered = cluster.stats().messages_delivered;
  f.committed = committed_client_ops(cluster);
  f.events = trace ? cluster.stats().trace_events : 0;
  f.trace_bytes = sink.bytes();
  f.virtual_ms = cluster.now();
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  f.peak_rss_kb = usage.ru_maxrss;
  return f;
}

}  // namespace

int bench_command(const BenchOptions& opts, std::ostream& out, std::ostream& err) {
  if (opts.ops < 1) {
    err << "raftkv bench: --ops must be at least 1\n";
    return 2;
  }
  if (opts.tracing != "off" && opts.tracing != "on" && opts.tracing != "both") {
    err << "raftkv bench: --tracing must be off, on or both\n";
    return 2;
  }
  if (opts.scenario != "all" && opts.scenario != "5x3" && opts.scenario != "51x16") {
    err << "raftkv bench: --scenario must be 5x3, 51x16 or all\n";
    return 2;
  }
  const Scenario scenarios[] = {{"5x3", 5, 3}, {"51x16", 51, 16}};
  std::string json_out = "[";
  for (const Scenario& s : scenarios) {
    if (opts.scenario != "all" && opts.scenario != s.name) continue;
    for (bool trace : {false, true}) {
      if (opts.tracing != "both" && (opts.tracing == "on") != trace) continue;
      Figures f = measure(s, opts.ops, trace);
      std::string label = std::string(s.name) + (trace ? " trace=on" : " trace=off");
      char buf[1024];
      if (opts.json) {
        std::snprintf(buf, sizeof buf,
                      "%s{\"scenario\":\"%s\",\"nodes\":%d,\"clients\":%d,\"trace\":%s,"
                      "\"wall_s\":%.3f,\"deliveries_per_s\":%.0f,\"committed_ops\":%lld,"
                      "\"committed_ops_per_s\":%.0f,\"trace_events\":%lld,"
                      "\"trace_events_per_s\":%.0f,\"trace_bytes\":%lld,\"virtual_ms\":%lld,"
                      "\"peak_rss_kb\":%ld}",
                      json_out.size() > 1 ? "," : "", s.name, s.nodes, s.clients,
                      trace ? "true" : "false", f.wall_s, f.delivered / f.wall_s,
                      static_cast<long long>(f.committed), f.committed / f.wall_s,
                      static_cast<long long>(f.events), f.events / f.wall_s,
                      static_cast<long long>(f.trace_bytes), static_cast<long long>(f.virtual_ms),
                      f.peak_rss_kb);
        json_out += buf;
      } else {
        std::snprintf(buf, sizeof buf,
                      "%s: wall_s %.3f\n%s: message_deliveries_per_s %.0f\n"
                      "%s: committed_ops %lld\n%s: committed_ops_per_s %.0f\n"
                      "%s: trace_events_per_s %.0f\n%s: trace_bytes %lld\n"
                      "%s: peak_rss_kb %ld\n",
                      label.c_str(), f.wall_s, label.c_str(), f.delivered / f.wall_s, label.c_str(),
                      static_cast<long long>(f.committed), label.c_str(), f.committed / f.wall_s,
                      label.c_str(), f.events / f.wall_s, label.c_str(),
                      static_cast<long long>(f.trace_bytes), label.c_str(), f.peak_rss_kb);
        out << buf << std::flush;
      }
    }
  }
  if (opts.json) out << json_out << "]\n";
  return 0;
}

}  // namespace raftkv
