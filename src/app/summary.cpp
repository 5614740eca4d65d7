#include "app/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>

namespace raftkv {
namespace {

std::string store_text(const KvStore& store) {
  std::string s = "{";
  for (const auto& [k, v] : store.data()) s += (s.size() > 1 ? ", " : "") + k + "=" + v;
  return s + "}";
}

int64_t percentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest-rank percentile.
  size_t rank = static_cast<size_t>(p * static_cast<double>(values.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

}  // namespace

int64_t committed_client_ops(const Cluster& cluster) {
  const Node* best = nullptr;
  for (int id = 1; id <= cluster.num_nodes(); ++id) {
    const Node& n = cluster.node(id);
    if (!best || n.commit_index() > best->commit_index()) best = &n;
  }
  int64_t count = 0;
  if (!best) return 0;
  for (int64_t i = 0; i < best->commit_index(); ++i) {
    if (best->log()[static_cast<size_t>(i)].cmd.op != Op::Noop) ++count;
  }
  return count;
}

void print_summary(const Cluster& cluster, std::ostream& out) {
  const RunStats& st = cluster.stats();
  out << "\n== Summary: virtual time " << cluster.now() << " ms, seed " << cluster.config().seed
      << " ==\n";
  for (int id = 1; id <= cluster.num_nodes(); ++id) {
    const Node& n = cluster.node(id);
    char line[256];
    std::snprintf(
        line, sizeof line, "node %d: %-9s term %lld  log %lld  commit %lld  applied %lld  ", id,
        cluster.is_up(id) ? to_string(n.role()) : "down", static_cast<long long>(n.term()),
        static_cast<long long>(n.last_index()), static_cast<long long>(n.commit_index()),
        static_cast<long long>(n.last_applied()));
    out << line;
    if (n.store().data().size() <= 8)
      out << "store " << store_text(n.store());
    else
      out << "store " << n.store().data().size() << " keys";
    out << "  digest " << n.store().digest() << "\n";
  }
  bool agree = cluster.replicas_agree();
  out << "Replicas agree: " << (agree ? "yes" : "NO")
      << (agree ? " (every running node applied the same entries and holds the same store)"
                : " (running nodes differ in applied entries or store contents)")
      << "\n";

  // Client operations by kind and outcome.
  std::map<std::string, std::map<std::string, int>> by_kind;
  std::vector<int64_t> latencies;
  for (const ClientOp& op : cluster.history()) {
    by_kind[to_string(op.cmd.op)][to_string(op.result.status)]++;
    if (op.result.status != Status::Unknown) latencies.push_back(op.completed_ms - op.invoked_ms);
  }
  out << "Client operations: " << cluster.history().size();
  for (const auto& [kind, outcomes] : by_kind) {
    int total = 0;
    for (const auto& [o, c] : outcomes) total += c;
    out << "; " << kind << " " << total << " (";
    bool first = true;
    for (const auto& [o, c] : outcomes) {
      out << (first ? "" : ", ") << o << " " << c;
      first = false;
    }
    out << ")";
  }
  out << "\n";

  int64_t committed = committed_client_ops(cluster);
  char line[256];
  std::snprintf(
      line, sizeof line,
      "Messages: %lld sent, %lld delivered, %lld dropped; %.1f per committed client "
      "operation (%lld committed)\n",
      static_cast<long long>(st.messages_sent), static_cast<long long>(st.messages_delivered),
      static_cast<long long>(st.messages_dropped),
      committed ? static_cast<double>(st.messages_sent) / static_cast<double>(committed) : 0.0,
      static_cast<long long>(committed));
  out << line;
  // Per committed client operation, by type: what agreement costs (issue 9).
  if (committed > 0) {
    out << "Messages per committed client operation by type:";
    bool first = true;
    for (int t = 0; t < RunStats::kMsgTypes; ++t) {
      int64_t n = st.sent_by_type[static_cast<size_t>(t)];
      if (n == 0) continue;
      std::snprintf(line, sizeof line, "%s %s %.2f", first ? "" : ",",
                    to_string(static_cast<MsgType>(t)),
                    static_cast<double>(n) / static_cast<double>(committed));
      out << line;
      first = false;
    }
    out << "\n";
  }
  int64_t committed_entries = 0;
  for (int id = 1; id <= cluster.num_nodes(); ++id) {
    committed_entries = std::max(committed_entries, cluster.node(id).commit_index());
  }
  if (committed_entries > 0 && cluster.num_nodes() > 1) {
    std::snprintf(line, sizeof line,
                  "Log entries sent per committed entry: %.2f (%lld entries in AppendEntries for "
                  "%lld committed entries; one copy to each of %d followers is %d)\n",
                  static_cast<double>(st.entries_sent) / static_cast<double>(committed_entries),
                  static_cast<long long>(st.entries_sent),
                  static_cast<long long>(committed_entries), cluster.num_nodes() - 1,
                  cluster.num_nodes() - 1);
    out << line;
  }
  if (st.clients_done_ms >= 0 && cluster.now() > st.clients_done_ms) {
    double idle_s = static_cast<double>(cluster.now() - st.clients_done_ms) / 1000.0;
    std::snprintf(line, sizeof line, "Heartbeats while idle: %.1f per second (%lld in %.3f s)\n",
                  static_cast<double>(st.heartbeats_after_done) / idle_s,
                  static_cast<long long>(st.heartbeats_after_done), idle_s);
    out << line;
  }
  out << "Elections: " << st.elections_started << " held, " << st.leaders_elected
      << " leader(s) elected";
  if (st.first_leader_ms >= 0) out << ", first leader at " << st.first_leader_ms << " ms";
  out << "\n";
  out << "Client latency (virtual ms): p50 " << percentile(latencies, 0.50) << "  p99 "
      << percentile(latencies, 0.99) << "  max " << percentile(latencies, 1.0) << "\n";
}

}  // namespace raftkv
