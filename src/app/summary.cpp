#include "app/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <utility>

namespace raftkv {
namespace {

std::string store_text(const KvStore& store) {
  std::string s = "{";
  for (const auto& [k, v] : store.data()) s += (s.size() > 1 ? ", " : "") + k + "=" + v;
  return s + "}";
}

// The node whose commit index is highest: its log up to there is the
// committed log (Log Matching makes every other committed prefix a prefix of it).
const Node* most_committed(const Cluster& cluster) {
  const Node* best = nullptr;
  for (int id = 1; id <= cluster.num_nodes(); ++id) {
    const Node& n = cluster.node(id);
    if (!best || n.commit_index() > best->commit_index()) best = &n;
  }
  return best;
}

std::string node_list(const std::vector<int>& ids) {
  std::string s = ids.size() == 1 ? "node " : "nodes ";
  for (size_t i = 0; i < ids.size(); ++i) {
    s += (i == 0 ? "" : i + 1 == ids.size() ? " and " : ", ") + std::to_string(ids[i]);
  }
  return s;
}

// "crash 1, restart 1": the non-zero counts of one source's faults.
std::string fault_kinds(const std::array<int64_t, RunStats::kFaultKinds>& counts) {
  std::string s;
  for (int k = 0; k < RunStats::kFaultKinds; ++k) {
    int64_t n = counts[static_cast<size_t>(k)];
    if (n == 0) continue;
    s += (s.empty() ? "" : ", ") + std::string(to_string(static_cast<FaultAction>(k))) + " " +
         std::to_string(n);
  }
  return s;
}

int64_t total(const std::array<int64_t, RunStats::kFaultKinds>& counts) {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return n;
}

}  // namespace

int64_t committed_client_ops(const Cluster& cluster) { return commit_counts(cluster).commands; }

CommitCounts commit_counts(const Cluster& cluster) {
  CommitCounts c;
  const Node* best = most_committed(cluster);
  if (!best) return c;
  c.entries = std::min<int64_t>(best->commit_index(), best->last_index());
  // Entries compacted into a snapshot are gone from the log; the state
  // machine counted them as it applied them. There a copy is a committed
  // command that did not execute (a retry answered from the dedup table, or a
  // stale copy), the same as below except for the copy of a request whose
  // first copy never committed (it counts here, not below).
  int64_t from = 1;
  if (best->snapshot_index() > 0) {
    const KvStore::Counts& k = best->store().counts();
    c.noops = k.noops;
    c.commands = k.executed + k.repeats;
    c.operations = k.executed;
    from = best->last_applied() + 1;
  }
  // A request made by no client (client 0, tests) has no sequence number to
  // tell its copies apart: each one counts as its own operation.
  std::set<std::pair<int, int64_t>> ops;
  for (int64_t i = from; i <= c.entries; ++i) {
    const Command& cmd = best->entry(i).cmd;
    if (cmd.op == Op::Noop || cmd.op == Op::Config) {  // as the state machine counts them
      ++c.noops;
      continue;
    }
    ++c.commands;
    if (cmd.client == 0 || ops.insert({cmd.client, cmd.seq}).second) ++c.operations;
  }
  c.copies = c.commands - c.operations;
  return c;
}

Outcome classify(const Cluster& cluster) {
  Outcome o;
  std::vector<int> up;
  for (int id = 1; id <= cluster.num_nodes(); ++id) {
    if (cluster.is_up(id)) up.push_back(id);
  }
  o.running = static_cast<int>(up.size());
  o.no_running_node = up.empty();
  // Every pair of running nodes: the entries both applied must be the same
  // entries, and two nodes that applied as many must hold the same store.
  // Only a node's applied prefix counts: entries past it may still be
  // replaced by a later leader, which is correct Raft.
  for (size_t a = 0; a < up.size() && !o.diverged; ++a) {
    const Node& x = cluster.node(up[a]);
    for (size_t b = a + 1; b < up.size() && !o.diverged; ++b) {
      const Node& y = cluster.node(up[b]);
      int64_t common =
          std::min({x.last_applied(), y.last_applied(), x.last_index(), y.last_index()});
      // Entries in either node's snapshot are gone: compared from after them.
      int64_t from = std::max(x.snapshot_index(), y.snapshot_index()) + 1;
      for (int64_t i = from; i <= common; ++i) {
        if (x.entry(i) != y.entry(i)) {
          o.diverged = true;
          o.divergence = "nodes " + std::to_string(up[a]) + " and " + std::to_string(up[b]) +
                         " applied different entries at index " + std::to_string(i);
          break;
        }
      }
      if (!o.diverged && x.last_applied() == y.last_applied() &&
          x.store().data() != y.store().data()) {
        o.diverged = true;
        o.divergence = "nodes " + std::to_string(up[a]) + " and " + std::to_string(up[b]) +
                       " both applied " + std::to_string(x.last_applied()) +
                       " entries but hold different stores";
      }
    }
  }
  for (int id : up) o.max_applied = std::max(o.max_applied, cluster.node(id).last_applied());
  if (!o.diverged) {
    for (int id : up) {
      if (cluster.node(id).last_applied() < o.max_applied) o.behind.push_back(id);
    }
    o.still_converging = !o.behind.empty();
  }
  o.no_leader_ever = cluster.stats().leaders_elected == 0;
  o.time_limit_reached = cluster.stopped_at_time_limit();
  o.requests_planned = cluster.stats().requests_planned;
  o.requests_not_issued = o.requests_planned - cluster.stats().requests_issued;
  o.requests_unanswered = cluster.stats().requests_issued - cluster.client_totals().finished;
  return o;
}

namespace {

void print_outcome(const Cluster& cluster, const Outcome& o, std::ostream& out) {
  const Config& cfg = cluster.config();
  std::vector<std::pair<std::string, std::string>> found;  // headline, explanation
  if (o.diverged) {
    found.emplace_back("diverged", o.divergence + ": a safety problem");
  }
  if (o.no_running_node) {
    found.emplace_back("no running node",
                       "every node is down at the end, so no replica can be compared");
  }
  if (o.still_converging) {
    std::string applied;
    for (size_t i = 0; i < o.behind.size(); ++i) {
      applied += (i == 0 ? "" : ", ") + std::to_string(cluster.node(o.behind[i]).last_applied());
    }
    found.emplace_back("still converging",
                       "the running nodes' applied entries agree, but " + node_list(o.behind) +
                           (o.behind.size() == 1 ? " is" : " are") + " behind (applied " + applied +
                           " of " + std::to_string(o.max_applied) + "): not a safety problem");
  }
  if (o.no_leader_ever) {
    found.emplace_back("no leader ever elected",
                       std::to_string(cluster.stats().elections_started) +
                           " election(s) held, none won, so no client request was served");
  }
  if (o.time_limit_reached) {
    int64_t done = cluster.stats().clients_done_ms;
    found.emplace_back("time limit reached",
                       "the run stopped at time_limit_ms = " + std::to_string(cfg.time_limit_ms) +
                           (done < 0 ? " before the clients were done"
                                     : ", cutting short linger_ms (clients done at " +
                                           std::to_string(done) + " ms)"));
  }
  if (o.requests_not_issued > 0) {
    std::string count = std::to_string(o.requests_not_issued) + " of " +
                        std::to_string(o.requests_planned) + " client requests not issued";
    found.emplace_back(count,
                       "requests_per_client " + std::to_string(cfg.requests_per_client) +
                           " x num_clients " + std::to_string(cfg.num_clients) +
                           (o.no_leader_ever ? "; clients start once the first leader is elected"
                                             : "; a client issues its next request only once its "
                                               "previous one has an answer"));
  }
  if (o.requests_unanswered > 0) {
    found.emplace_back(std::to_string(o.requests_unanswered) + " client request(s) unanswered",
                       "issued, still waiting for a reply when the run ended");
  }
  if (found.empty()) {
    int64_t unknown = cluster.client_totals().unknown;
    out << "Outcome: complete: all " << o.requests_planned << " client requests issued and ";
    if (unknown == 0)
      out << "answered";
    else
      out << "finished (" << unknown << " `unknown`: deadline passed)";
    out << "; the " << o.running << " running node(s) applied the same " << o.max_applied
        << " entries and hold the same store";
    if (o.running < cluster.num_nodes())
      out << " (" << cluster.num_nodes() - o.running << " node(s) down)";
    out << "\n";
    return;
  }
  out << "Outcome:";
  for (size_t i = 0; i < found.size(); ++i) out << (i == 0 ? " " : "; ") << found[i].first;
  out << "\n";
  for (const auto& [headline, why] : found) out << "  " << headline << ": " << why << "\n";
  if (!o.diverged && !o.no_running_node && !o.still_converging) {
    out << "  replicas agree: the " << o.running << " running node(s) applied the same "
        << o.max_applied << " entries and hold the same store\n";
  }
}

// How long the replicas took to agree under a stable leader once the workload
// and the faults were over (Cluster::converged), or why that is not known.
void print_convergence(const Cluster& cluster, std::ostream& out) {
  int64_t settled = cluster.settled_ms();
  int64_t since = cluster.converged_since_ms();
  out << "Convergence: ";
  if (settled < 0) {
    out << "not measured: the clients were not done when the run ended\n";
    return;
  }
  std::optional<int> leader = cluster.leader();
  if (since >= 0 && leader) {
    out << "the replicas agree under leader " << *leader << " (term "
        << cluster.node(*leader).term() << "), " << since - settled
        << " ms after the workload and the faults were over (at " << settled << " ms)";
    if (cluster.lingered_for_convergence())
      out << "; the run lingered past linger_ms = " << cluster.config().linger_ms << " until then";
    out << "\n";
    return;
  }
  out << "not reached by the end of the run (" << cluster.now() << " ms, "
      << cluster.now() - settled << " ms after the workload and the faults were over";
  if (cluster.config().linger_ms == 0)
    out << "; linger_ms = 0 does not wait for it";
  else if (cluster.stopped_at_time_limit())
    out << "; time_limit_ms = " << cluster.config().time_limit_ms;
  out << ")\n";
}

}  // namespace

void LivenessObserver::node_state(int node, int64_t term, Role role, bool up) {
  meter_.advance(cluster_.now());
  check::MeterRole r = !up                       ? check::MeterRole::Down
                       : role == Role::Leader    ? check::MeterRole::Leader
                       : role == Role::Candidate ? check::MeterRole::Candidate
                                                 : check::MeterRole::Follower;
  meter_.node_state(node, term, r);
}

void LivenessObserver::append_entries_delivered(int node, int leader, int64_t term) {
  meter_.advance(cluster_.now());
  meter_.append_entries_delivered(node, leader, term);
}

void LivenessObserver::voters(int node, const std::vector<int>& voters) {
  meter_.advance(cluster_.now());
  meter_.set_voters(node, std::vector<int64_t>(voters.begin(), voters.end()));
}

void LivenessObserver::election_started(int node, int64_t term) {
  meter_.advance(cluster_.now());
  meter_.election_started(node, term);
}

void LivenessObserver::client_invoked(int client, int64_t seq) {
  meter_.advance(cluster_.now());
  meter_.client_invoked(client, seq);
}

void LivenessObserver::client_completed(int client, int64_t seq, Status status) {
  meter_.advance(cluster_.now());
  meter_.client_completed(client, seq, status == Status::Unknown, status == Status::Ok);
}

check::LivenessFigures LivenessObserver::figures() { return meter_.finish(cluster_.now()); }

void print_summary(const Cluster& cluster, std::ostream& out,
                   const check::LivenessFigures* liveness) {
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
  print_outcome(cluster, classify(cluster), out);

  // Client operations by kind and outcome.
  const ClientTotals& totals = cluster.client_totals();
  std::map<std::string, std::map<std::string, int64_t>> by_kind;
  for (Op op : {Op::Put, Op::Get, Op::Delete, Op::Noop}) {
    for (Status status : {Status::Ok, Status::KeyExists, Status::NotFound, Status::NotLeader,
                          Status::Unknown, Status::Stale}) {
      int64_t n = totals.by_kind_status[static_cast<size_t>(op)][static_cast<size_t>(status)];
      if (n > 0) by_kind[to_string(op)][to_string(status)] = n;
    }
  }
  int64_t unknown = totals.unknown;
  // A client that gives up at its deadline finishes with `unknown`: finished,
  // not answered, so the two counts are told apart.
  out << "Client operations: " << st.requests_planned << " planned, " << st.requests_issued
      << " issued, " << totals.finished << " finished (" << totals.answered() << " with a reply, "
      << unknown << " `unknown`: deadline passed)";
  for (const auto& [kind, outcomes] : by_kind) {
    int64_t count = 0;
    for (const auto& [o, c] : outcomes) count += c;
    out << "; " << kind << " " << count << " (";
    bool first = true;
    for (const auto& [o, c] : outcomes) {
      out << (first ? "" : ", ") << o << " " << c;
      first = false;
    }
    out << ")";
  }
  out << "\n";

  CommitCounts cc = commit_counts(cluster);
  char line[512];
  std::snprintf(line, sizeof line,
                "Committed log: %lld entries = %lld client commands + %lld no-ops; %lld "
                "commands = %lld client operations + %lld extra copies (retries or network "
                "duplicates committed again, applied once)\n",
                static_cast<long long>(cc.entries), static_cast<long long>(cc.commands),
                static_cast<long long>(cc.noops), static_cast<long long>(cc.commands),
                static_cast<long long>(cc.operations), static_cast<long long>(cc.copies));
  out << line;

  // Every message sent (and every extra copy the network made) is, at the
  // end, delivered, dropped or still on its way: the line adds up.
  std::string reasons;
  for (int r = 0; r < RunStats::kDropReasons; ++r) {
    int64_t n = st.dropped_by_reason[static_cast<size_t>(r)];
    if (n > 0)
      reasons += (reasons.empty() ? "" : ", ") + std::string(RunStats::drop_reason_name(r)) + " " +
                 std::to_string(n);
  }
  std::snprintf(
      line, sizeof line,
      "Messages: %lld sent + %lld duplicated by the network = %lld delivered + %lld "
      "dropped%s%s%s + %lld in flight at the end\n",
      static_cast<long long>(st.messages_sent), static_cast<long long>(st.messages_duplicated),
      static_cast<long long>(st.messages_delivered), static_cast<long long>(st.messages_dropped),
      reasons.empty() ? "" : " (", reasons.c_str(), reasons.empty() ? "" : ")",
      static_cast<long long>(st.messages_in_flight));
  out << line;
  // Per committed client operation, by type: what agreement costs (issue 9).
  // Operations, not commands: a retry's second commit is part of the cost.
  if (cc.operations > 0) {
    std::snprintf(line, sizeof line,
                  "Messages per committed client operation: %.1f (%lld sent for %lld operations); "
                  "by type:",
                  static_cast<double>(st.messages_sent) / static_cast<double>(cc.operations),
                  static_cast<long long>(st.messages_sent), static_cast<long long>(cc.operations));
    out << line;
    bool first = true;
    for (int t = 0; t < RunStats::kMsgTypes; ++t) {
      int64_t n = st.sent_by_type[static_cast<size_t>(t)];
      if (n == 0) continue;
      std::snprintf(line, sizeof line, "%s %s %.2f", first ? "" : ",",
                    to_string(static_cast<MsgType>(t)),
                    static_cast<double>(n) / static_cast<double>(cc.operations));
      out << line;
      first = false;
    }
    out << "\n";
  }
  if (cc.entries > 0 && cluster.num_nodes() > 1) {
    std::snprintf(line, sizeof line,
                  "Log entries sent per committed entry: %.2f (%lld entries in AppendEntries for "
                  "%lld committed entries; one copy to each of %d followers is %d)\n",
                  static_cast<double>(st.entries_sent) / static_cast<double>(cc.entries),
                  static_cast<long long>(st.entries_sent), static_cast<long long>(cc.entries),
                  cluster.num_nodes() - 1, cluster.num_nodes() - 1);
    out << line;
  }
  if (st.clients_done_ms >= 0 && cluster.now() > st.clients_done_ms) {
    // A round is one firing of the leader's heartbeat timer: one
    // AppendEntries to each follower. Messages alone would scale with the
    // cluster's size and hide the period.
    double idle_s = static_cast<double>(cluster.now() - st.clients_done_ms) / 1000.0;
    int64_t rounds = st.heartbeat_rounds_after_done;
    std::snprintf(line, sizeof line,
                  "Heartbeats while idle: %.1f rounds per second, %.1f messages per round (%lld "
                  "rounds, %lld messages in the %.3f s after the last client reply)\n",
                  static_cast<double>(rounds) / idle_s,
                  rounds ? static_cast<double>(st.heartbeat_round_messages_after_done) /
                               static_cast<double>(rounds)
                         : 0.0,
                  static_cast<long long>(rounds),
                  static_cast<long long>(st.heartbeat_round_messages_after_done), idle_s);
    out << line;
  }
  out << "Elections: " << st.elections_started << " held, " << st.leaders_elected
      << " leader(s) elected";
  if (st.first_leader_ms >= 0) out << ", first leader at " << st.first_leader_ms << " ms";
  out << "\n";
  if (liveness) out << check::format_liveness(*liveness) << "\n";
  print_convergence(cluster, out);
  if (totals.answered() == 0) {
    out << "Client latency: no operation answered (" << unknown << " `unknown`: deadline passed)\n";
  } else {
    out << "Client latency (virtual ms, " << totals.answered() << " answered operations; "
        << unknown << " `unknown` outcomes, deadline passed, not included): p50 "
        << totals.latency_percentile(0.50) << "  p99 " << totals.latency_percentile(0.99)
        << "  max " << totals.latency_max() << "\n";
  }
  int64_t scheduled = total(st.faults_scheduled), random = total(st.faults_nemesis);
  int64_t skipped = st.faults_skipped;
  // Scheduled faults neither applied nor skipped: their time came after the run ended.
  size_t missed = cluster.config().faults.size() - static_cast<size_t>(scheduled + skipped);
  std::string skipped_text =
      std::to_string(skipped) + " skipped (no leader or follower to act on when it fired)";
  if (scheduled == 0 && random == 0) {
    out << "Faults injected: none";
    if (skipped > 0) out << " (" << skipped_text << ")";
    if (missed > 0) out << " (" << missed << " scheduled after the run ended)";
    out << "\n";
  } else {
    out << "Faults injected:";
    if (scheduled > 0) {
      out << " schedule " << scheduled << " (" << fault_kinds(st.faults_scheduled) << ")";
      if (missed > 0) out << " and " << missed << " scheduled after the run ended";
    }
    if (skipped > 0) out << (scheduled > 0 ? ", " : " schedule: ") << skipped_text;
    if (random > 0)
      out << (scheduled > 0 ? ";" : "") << " nemesis " << random << " ("
          << fault_kinds(st.faults_nemesis) << ")";
    out << "\n";
  }
  // Membership changes (thesis §4.1): how long each took, from the fault to
  // the leader's committed configuration having it (an added server caught
  // up and a voter; a removed one gone and shut down).
  if (!st.membership_changes.empty()) {
    out << "Membership changes:";
    const char* sep = " ";
    for (const RunStats::MembershipChange& c : st.membership_changes) {
      out << sep << (c.action == ChangeAction::Add ? "add" : "remove") << " node " << c.node
          << " at " << c.begun_ms << " ms: ";
      if (c.done_ms < 0) {
        out << "not committed by the end of the run";
      } else {
        out << (c.action == ChangeAction::Add ? "a voter (caught up and promoted) "
                                              : "committed and shut down ")
            << c.done_ms - c.begun_ms << " ms later";
      }
      sep = "; ";
    }
    out << "\n";
  }
}

}  // namespace raftkv
