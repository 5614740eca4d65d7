#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "app/commands.h"
#include "app/progress.h"
#include "app/summary.h"
#include "app/trace_file.h"
#include "sim/cluster.h"
#include "trace/json_writer.h"

namespace raftkv {
namespace {

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
  double entries_per_committed_entry = 0;  // AppendEntries payload per committed log entry
};

Figures measure(const Scenario& s, int64_t ops, bool trace) {
  Config cfg;
  cfg.num_nodes = s.nodes;
  cfg.num_clients = s.clients;
  cfg.requests_per_client = static_cast<int>((ops + s.clients - 1) / s.clients);
  cfg.time_limit_ms = 2000000000;  // the run ends when the clients are done
  cfg.seed = 1;
  Cluster cluster(cfg);
  cluster.keep_history(false);  // nothing here reads it
  // Traced, the run writes its trace to a real file (in $TMPDIR, removed
  // after), as `raftkv run --trace` does: the figure includes the writes
  // into the page cache, not the fsync run makes before its rename.
  std::optional<TempTrace> temp;
  std::ofstream file;
  std::optional<FileSink> sink;
  int fd = -1;
  if (trace) {
    temp.emplace("raftkv-bench");
    if (temp->path().empty()) throw std::runtime_error("cannot create a trace file (set TMPDIR)");
    // mkstemp made the file, empty: opened without O_TRUNC (in | out). A
    // truncation, even of an empty file, makes ext4 start writing all of the
    // file back at close (its replace-by-truncate heuristic, auto_da_alloc),
    // inside the timed part: 0.2-0.4 s of a 755 MB trace's 1.2-1.6 s here.
    file.open(temp->path(), std::ios::binary | std::ios::in | std::ios::out);
    if (!file) throw std::runtime_error("cannot open " + temp->path());
    // The sink writes the file itself through a descriptor of its own, as
    // it does `run --trace`'s (app/trace_file.h).
    fd = ::open(temp->path().c_str(), O_RDWR);
    if (fd < 0) throw std::runtime_error("cannot open " + temp->path());
    sink.emplace(file, fd);
    cluster.add_sink(&*sink);
  }
  auto t0 = std::chrono::steady_clock::now();
  cluster.run();
  if (sink) {
    sink->flush();
    file.close();
    if (!file || !sink->error().empty()) {
      throw std::runtime_error("writing " + temp->path() + " failed: " + sink->error());
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  Figures f;
  f.wall_s = std::chrono::duration<double>(t1 - t0).count();
  f.delivered = cluster.stats().messages_delivered;
  f.committed = committed_client_ops(cluster);
  f.events = trace ? cluster.stats().trace_events : 0;
  f.trace_bytes = sink ? sink->bytes() : 0;
  f.virtual_ms = cluster.now();
  int64_t committed_entries = 0;
  for (int id = 1; id <= cfg.num_nodes; ++id) {
    committed_entries = std::max(committed_entries, cluster.node(id).commit_index());
  }
  if (committed_entries > 0) {
    f.entries_per_committed_entry =
        static_cast<double>(cluster.stats().entries_sent) / static_cast<double>(committed_entries);
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  f.peak_rss_kb = usage.ru_maxrss;
  sink.reset();  // before its descriptor goes
  if (fd >= 0) ::close(fd);
  return f;
}

// The agreement benchmark (issue 9): 3 nodes, node 1 elected at once, 12
// client commands (3 clients x 4, leader_noop off), no faults, the default
// latency. Counts what agreement costs: the AppendEntries,
// AppendEntriesResponse and CommitNotification messages sent from the first
// client request until the leader has committed all 12 commands (agreement
// reached), and until every node has applied them.
struct MessageCount {
  int64_t append_entries = 0;
  int64_t responses = 0;
  int64_t commit_notifications = 0;
  int64_t entries = 0;  // log entries those AppendEntries carried
  // Requests, as a Raft lab counts RPCs (a response is part of its call).
  int64_t requests() const { return append_entries + commit_notifications; }
  int64_t messages() const { return requests() + responses; }
  MessageCount operator-(const MessageCount& o) const {
    return MessageCount{append_entries - o.append_entries, responses - o.responses,
                        commit_notifications - o.commit_notifications, entries - o.entries};
  }
};

struct Agreement {
  bool reached = false;
  MessageCount committed;  // until the leader committed every command
  MessageCount applied;    // until every node applied every command
};

// The cluster both message benchmarks run: 3 nodes, node 1 elected at once,
// 3 clients x 4 commands, no no-op (so every entry is a client's).
Config small_agreement_config(uint64_t seed) {
  Config cfg;
  cfg.num_nodes = 3;
  cfg.num_clients = 3;
  cfg.requests_per_client = 4;
  cfg.leader_noop = false;
  cfg.seed = seed;
  return cfg;
}

// Client commands among a node's first `upto` log entries.
int64_t client_entries_among(const Node& n, int64_t upto) {
  int64_t count = 0;
  for (int64_t i = 0; i < upto; ++i) count += n.log()[static_cast<size_t>(i)].cmd.client != 0;
  return count;
}

Agreement measure_agreement(uint64_t seed) {
  Config cfg = small_agreement_config(seed);
  const int64_t commands = cfg.num_clients * cfg.requests_per_client;
  Cluster cluster(cfg);
  cluster.keep_history(false);  // nothing here reads it
  cluster.start();
  auto now = [&cluster] {
    const RunStats& st = cluster.stats();
    auto n = [&st](MsgType t) { return st.sent_by_type[static_cast<size_t>(t)]; };
    return MessageCount{n(MsgType::AppendEntries), n(MsgType::AppendEntriesResponse),
                        n(MsgType::CommitNotification), st.entries_sent};
  };
  auto client_entries = [&cluster](int id, int64_t upto) {
    return client_entries_among(cluster.node(id), upto);
  };
  Agreement a;
  std::optional<MessageCount> start;
  bool committed = false;
  while (cluster.step()) {
    // The first request is sent in the step that elects the leader: the
    // messages of that step are the election's.
    if (!start && cluster.stats().sent_by_type[static_cast<size_t>(MsgType::ClientRequest)] > 0) {
      start = now();
    }
    if (!start) continue;
    if (!committed) {
      for (int id = 1; id <= cfg.num_nodes; ++id) {
        const Node& n = cluster.node(id);
        if (n.role() == Role::Leader && client_entries(id, n.commit_index()) >= commands) {
          committed = true;
          a.committed = now() - *start;
        }
      }
    }
    bool applied = true;
    for (int id = 1; id <= cfg.num_nodes; ++id) {
      applied &= client_entries(id, cluster.node(id).last_applied()) >= commands;
    }
    if (committed && applied) {
      a.applied = now() - *start;
      a.reached = true;
      return a;
    }
  }
  return a;
}

int bench_agreement(const BenchOptions& opts, std::ostream& out) {
  std::string json_out = "[";
  int64_t worst_committed = 0, worst_requests = 0, worst_applied = 0;
  bool all_reached = true;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Agreement a = measure_agreement(seed);
    all_reached &= a.reached;
    worst_committed = std::max(worst_committed, a.committed.messages());
    worst_requests = std::max(worst_requests, a.committed.requests());
    worst_applied = std::max(worst_applied, a.applied.messages());
    const MessageCount& c = a.committed;
    char buf[768];
    if (opts.json) {
      std::snprintf(
          buf, sizeof buf,
          "%s{\"scenario\":\"agreement\",\"seed\":%llu,\"reached\":%s,\"messages\":%lld,"
          "\"requests\":%lld,\"append_entries\":%lld,\"append_entries_responses\":%lld,"
          "\"commit_notifications\":%lld,\"entries_sent\":%lld,"
          "\"messages_until_applied_everywhere\":%lld}",
          json_out.size() > 1 ? "," : "", static_cast<unsigned long long>(seed),
          a.reached ? "true" : "false", static_cast<long long>(c.messages()),
          static_cast<long long>(c.requests()), static_cast<long long>(c.append_entries),
          static_cast<long long>(c.responses), static_cast<long long>(c.commit_notifications),
          static_cast<long long>(c.entries), static_cast<long long>(a.applied.messages()));
      json_out += buf;
    } else if (!a.reached) {
      std::snprintf(buf, sizeof buf, "agreement seed %llu: the 12 commands were NOT all applied\n",
                    static_cast<unsigned long long>(seed));
      out << buf;
    } else {
      std::snprintf(buf, sizeof buf,
                    "agreement seed %llu: %lld messages until committed: %lld requests "
                    "(AppendEntries %lld, CommitNotification %lld) and %lld responses, "
                    "%lld entries sent; %lld messages until applied everywhere\n",
                    static_cast<unsigned long long>(seed), static_cast<long long>(c.messages()),
                    static_cast<long long>(c.requests()), static_cast<long long>(c.append_entries),
                    static_cast<long long>(c.commit_notifications),
                    static_cast<long long>(c.responses), static_cast<long long>(c.entries),
                    static_cast<long long>(a.applied.messages()));
      out << buf;
    }
  }
  if (opts.json) {
    out << json_out << "]\n";
  } else {
    out << "agreement: at most " << worst_committed << " messages (" << worst_requests
        << " requests) until the leader committed the 12 commands, at most " << worst_applied
        << " until every node applied them (3 nodes, seeds 1-10)"
        << (all_reached ? "" : "; NOT every seed reached agreement") << "\n";
  }
  return all_reached ? 0 : 1;
}

// The catch-up benchmark (issue 10): 3 nodes, node 1 elected at once, 12 client
// commands (leader_noop off), no faults but one: node 3 crashes once it knows 3
// commands committed and restarts once the leader has committed all 12. Its
// log is then a prefix of the leader's, and §5.3's conflict hint (a short log
// answers "my log ends at i") lets the leader find the match point with one
// refused AppendEntries: any more is a round trip the hint promised to save.
struct CatchUp {
  bool reached = false;
  int64_t lag = 0;             // entries node 3 lacked when it restarted
  int64_t refused = 0;         // AppendEntriesResponses with success false node 3 sent
  int64_t append_entries = 0;  // AppendEntries the leader sent node 3
  int64_t messages = 0;        // all messages sent, from the restart until node 3 applied all 12
};

CatchUp measure_catch_up(uint64_t seed) {
  Config cfg = small_agreement_config(seed);
  const int64_t commands = cfg.num_clients * cfg.requests_per_client;
  const int lagging = 3;
  CatchUp c;
  bool counting = false;
  Cluster cluster(cfg);
  cluster.keep_history(false);  // nothing here reads it
  // Never drops: observes the messages node 3 exchanges after its restart.
  cluster.set_drop_filter([&c, &counting](const Message& m) {
    if (!counting) return false;
    ++c.messages;
    if (m.type == MsgType::AppendEntries && m.to == lagging) ++c.append_entries;
    if (m.type == MsgType::AppendEntriesResponse && m.from == lagging && !m.success) ++c.refused;
    return false;
  });
  cluster.start();
  auto client_entries = [&cluster](int id, int64_t upto) {
    return client_entries_among(cluster.node(id), upto);
  };
  bool crashed = false, restarted = false;
  while (cluster.step()) {
    if (!crashed) {
      // Replicating to node 3 by then, the leader keeps sending it entries
      // (and moving nextIndex past them) while it is down.
      if (client_entries(lagging, cluster.node(lagging).commit_index()) < 3) continue;
      cluster.crash(lagging);
      crashed = true;
    }
    if (!restarted) {
      std::optional<int> leader = cluster.leader();
      if (!leader) continue;
      const Node& l = cluster.node(*leader);
      if (client_entries(*leader, l.commit_index()) < commands) continue;
      cluster.restart(lagging);
      restarted = counting = true;
      c.lag = l.last_index() - cluster.node(lagging).last_index();
    }
    if (client_entries(lagging, cluster.node(lagging).last_applied()) >= commands) {
      c.reached = true;
      return c;
    }
  }
  return c;
}

int bench_catch_up(const BenchOptions& opts, std::ostream& out) {
  std::string json_out = "[";
  int64_t worst_refused = 0, total_messages = 0;
  bool all_reached = true;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    CatchUp c = measure_catch_up(seed);
    all_reached &= c.reached;
    worst_refused = std::max(worst_refused, c.refused);
    total_messages += c.messages;
    char buf[512];
    if (opts.json) {
      std::snprintf(buf, sizeof buf,
                    "%s{\"scenario\":\"catch-up\",\"seed\":%llu,\"reached\":%s,\"lag\":%lld,"
                    "\"refused\":%lld,\"append_entries\":%lld,\"messages\":%lld}",
                    json_out.size() > 1 ? "," : "", static_cast<unsigned long long>(seed),
                    c.reached ? "true" : "false", static_cast<long long>(c.lag),
                    static_cast<long long>(c.refused), static_cast<long long>(c.append_entries),
                    static_cast<long long>(c.messages));
      json_out += buf;
    } else if (!c.reached) {
      std::snprintf(buf, sizeof buf, "catch-up seed %llu: node 3 did NOT catch up\n",
                    static_cast<unsigned long long>(seed));
      out << buf;
    } else {
      std::snprintf(buf, sizeof buf,
                    "catch-up seed %llu: lag %lld entries, %lld refused, %lld AppendEntries to "
                    "node 3, %lld messages until node 3 applied all 12\n",
                    static_cast<unsigned long long>(seed), static_cast<long long>(c.lag),
                    static_cast<long long>(c.refused), static_cast<long long>(c.append_entries),
                    static_cast<long long>(c.messages));
      out << buf;
    }
  }
  const bool within = worst_refused <= 1;
  if (opts.json) {
    out << json_out << "]\n";
  } else {
    out << "catch-up: at most " << worst_refused
        << " refused AppendEntries per catch-up (the hint promises 1), " << total_messages
        << " messages in all (3 nodes, seeds 1-10)"
        << (all_reached ? "" : "; NOT every seed caught up")
        << (within ? "" : "; MORE than one refusal: the conflict hint did not find the match")
        << "\n";
  }
  return all_reached && within ? 0 : 1;
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
  if (opts.scenario != "all" && opts.scenario != "5x3" && opts.scenario != "51x16" &&
      opts.scenario != "agreement" && opts.scenario != "catch-up") {
    err << "raftkv bench: --scenario must be 5x3, 51x16, all, agreement or catch-up\n";
    return 2;
  }
  if (opts.scenario == "agreement") return bench_agreement(opts, out);
  if (opts.scenario == "catch-up") return bench_catch_up(opts, out);
  const Scenario scenarios[] = {{"5x3", 5, 3}, {"51x16", 51, 16}};
  std::string json_out = "[";
  // Progress between measurements only, never inside a timed one.
  int64_t total = (opts.scenario == "all" ? 2 : 1) * (opts.tracing == "both" ? 2 : 1), done = 0;
  Progress progress(err, "bench", "measurements");
  for (const Scenario& s : scenarios) {
    if (opts.scenario != "all" && opts.scenario != s.name) continue;
    for (bool trace : {false, true}) {
      if (opts.tracing != "both" && (opts.tracing == "on") != trace) continue;
      Figures f;
      try {
        f = measure(s, opts.ops, trace);
      } catch (const std::runtime_error& e) {
        err << "raftkv bench: " << e.what() << '\n';
        return 2;
      }
      progress.update(++done, total);
      std::string label = std::string(s.name) + (trace ? " trace=on" : " trace=off");
      char buf[1024];
      if (opts.json) {
        std::snprintf(buf, sizeof buf,
                      "%s{\"scenario\":\"%s\",\"nodes\":%d,\"clients\":%d,\"trace\":%s,"
                      "\"wall_s\":%.3f,\"deliveries_per_s\":%.0f,\"committed_ops\":%lld,"
                      "\"committed_ops_per_s\":%.0f,\"trace_events\":%lld,"
                      "\"trace_events_per_s\":%.0f,\"trace_bytes\":%lld,\"virtual_ms\":%lld,"
                      "\"peak_rss_kb\":%ld,\"entries_per_committed_entry\":%.3f}",
                      json_out.size() > 1 ? "," : "", s.name, s.nodes, s.clients,
                      trace ? "true" : "false", f.wall_s, f.delivered / f.wall_s,
                      static_cast<long long>(f.committed), f.committed / f.wall_s,
                      static_cast<long long>(f.events), f.events / f.wall_s,
                      static_cast<long long>(f.trace_bytes), static_cast<long long>(f.virtual_ms),
                      f.peak_rss_kb, f.entries_per_committed_entry);
        json_out += buf;
      } else {
        std::snprintf(buf, sizeof buf,
                      "%s: wall_s %.3f\n%s: message_deliveries_per_s %.0f\n"
                      "%s: committed_ops %lld\n%s: committed_ops_per_s %.0f\n"
                      "%s: trace_events_per_s %.0f\n%s: trace_bytes %lld\n"
                      "%s: peak_rss_kb %ld\n%s: entries_sent_per_committed_entry %.2f\n",
                      label.c_str(), f.wall_s, label.c_str(), f.delivered / f.wall_s, label.c_str(),
                      static_cast<long long>(f.committed), label.c_str(), f.committed / f.wall_s,
                      label.c_str(), f.events / f.wall_s, label.c_str(),
                      static_cast<long long>(f.trace_bytes), label.c_str(), f.peak_rss_kb,
                      label.c_str(), f.entries_per_committed_entry);
        progress.finish();  // the figures go on a clean line
        out << buf << std::flush;
      }
    }
  }
  if (opts.json) out << json_out << "]\n";
  return 0;
}

}  // namespace raftkv
