#include "check/liveness.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace raftkv::check {

double LivenessFigures::availability() const {
  if (duration_ms <= 0) return 1.0;
  return static_cast<double>(available_ms) / static_cast<double>(duration_ms);
}

double LivenessFigures::per_minute(int64_t count) const {
  if (duration_ms <= 0) return 0.0;
  return static_cast<double>(count) * 60000.0 / static_cast<double>(duration_ms);
}

double LivenessFigures::client_success() const {
  if (client_ops == 0) return 1.0;
  return static_cast<double>(client_answered()) / static_cast<double>(client_ops);
}

std::string format_liveness(const LivenessFigures& f) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "Availability: %.2f%% of %lld ms with a leader that a majority follows (%lld ms); "
                "longest without one: ",
                100.0 * f.availability(), static_cast<long long>(f.duration_ms),
                static_cast<long long>(f.available_ms));
  out += buf;
  if (f.longest_unavailable_ms == 0) {
    out += "none";
  } else {
    std::snprintf(buf, sizeof buf, "%lld ms (%lld..%lld ms%s)",
                  static_cast<long long>(f.longest_unavailable_ms),
                  static_cast<long long>(f.longest_unavailable_start_ms),
                  static_cast<long long>(f.longest_unavailable_end_ms),
                  f.unavailable_at_end && f.longest_unavailable_end_ms == f.duration_ms
                      ? ", to the end of the run"
                      : "");
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "\nElection churn: %lld election(s) in %lld term(s): %.1f elections and %.1f terms "
                "per minute of virtual time",
                static_cast<long long>(f.elections), static_cast<long long>(f.terms),
                f.per_minute(f.elections), f.per_minute(f.terms));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "\nClient success: %lld of %lld operations answered (%.2f%%; ok %lld, error "
                "result %lld); %lld gave up at the deadline (unknown), %lld still open at the end",
                static_cast<long long>(f.client_answered()), static_cast<long long>(f.client_ops),
                100.0 * f.client_success(), static_cast<long long>(f.client_ok),
                static_cast<long long>(f.client_error), static_cast<long long>(f.client_unknown),
                static_cast<long long>(f.client_open));
  out += buf;
  if (f.client_answered() > 0) {
    std::snprintf(buf, sizeof buf, "; latency p50 %lld ms, p99 %lld ms, max %lld ms",
                  static_cast<long long>(f.latency_p50_ms),
                  static_cast<long long>(f.latency_p99_ms),
                  static_cast<long long>(f.latency_max_ms));
    out += buf;
  }
  return out;
}

LivenessMeter::LivenessMeter(int num_nodes, int max_id)
    : num_nodes_(num_nodes), nodes_(static_cast<size_t>(std::max(num_nodes, max_id)) + 1) {}

LivenessMeter::NodeView& LivenessMeter::view(int node) {
  // A server added by a membership change may be above the ids the meter was made for.
  if (static_cast<size_t>(node) >= nodes_.size()) nodes_.resize(static_cast<size_t>(node) + 1);
  return nodes_[static_cast<size_t>(node)];
}

void LivenessMeter::set_voters(int node, const std::vector<int64_t>& voters) {
  NodeView& n = view(node);
  if (n.voters == voters) return;
  n.voters = voters;
  dirty_ = true;
}

void LivenessMeter::advance(int64_t t) {
  if (t <= now_) return;
  close_interval(t);
  now_ = t;
}

void LivenessMeter::node_state(int node, int64_t term, MeterRole role) {
  NodeView& n = view(node);
  if (n.term == term && n.role == role) return;
  n.term = term;
  n.role = role;
  // A crashed node follows no one; after its restart it follows a leader again only once that
  // leader's AppendEntries reaches it.
  if (role == MeterRole::Down) n.leader_term = -1;
  dirty_ = true;
}

void LivenessMeter::append_entries_delivered(int node, int leader, int64_t term) {
  NodeView& n = view(node);
  // A stale AppendEntries (older than the leader the node already follows) changes nothing.
  if (term < n.leader_term || (term == n.leader_term && leader == n.leader)) return;
  n.leader = leader;
  n.leader_term = term;
  dirty_ = true;
}

void LivenessMeter::election_started(int /*node*/, int64_t term) {
  ++f_.elections;
  candidacy_terms_.insert(term);
}

void LivenessMeter::client_invoked(int client, int64_t request) {
  ++f_.client_ops;
  open_[{client, request}] = now_;
}

void LivenessMeter::client_completed(int client, int64_t request, bool unknown, bool ok) {
  auto it = open_.find({client, request});
  if (it == open_.end()) return;  // never invoked: the checker reports that, not this meter
  int64_t invoked = it->second;
  open_.erase(it);
  if (unknown) {
    ++f_.client_unknown;
    return;
  }
  ++(ok ? f_.client_ok : f_.client_error);
  ++latencies_[now_ - invoked];
  ++answered_;
}

// Available: some up node is leader of a term T, and it together with the up nodes in term T
// that accepted its AppendEntries of T make a majority of the voters of the leader's
// configuration (thesis §4.1; the leader counts only if it is one of them).
bool LivenessMeter::available() const {
  const int last = static_cast<int>(nodes_.size()) - 1;
  for (int id = 1; id <= last; ++id) {
    const NodeView& l = nodes_[static_cast<size_t>(id)];
    if (l.role != MeterRole::Leader) continue;
    auto follows = [&](int other) {
      if (other == id) return true;
      if (other < 1 || other > last) return false;
      const NodeView& n = nodes_[static_cast<size_t>(other)];
      return n.role != MeterRole::Down && n.term == l.term && n.leader == id &&
             n.leader_term == l.term;
    };
    int voters = l.voters.empty() ? num_nodes_ : static_cast<int>(l.voters.size());
    const int majority = voters / 2 + 1;
    int following = 0;
    if (l.voters.empty()) {
      for (int other = 1; other <= num_nodes_ && following < majority; ++other) {
        following += follows(other) ? 1 : 0;
      }
    } else {
      for (int64_t other : l.voters) following += follows(static_cast<int>(other)) ? 1 : 0;
    }
    if (following >= majority) return true;
  }
  return false;
}

void LivenessMeter::close_interval(int64_t until) {
  // The state as it stands after everything at now_ holds over [now_, until).
  if (dirty_) {
    bool a = available();
    if (a && !available_) {
      int64_t length = now_ - unavailable_since_;
      if (length > f_.longest_unavailable_ms) {
        f_.longest_unavailable_ms = length;
        f_.longest_unavailable_start_ms = unavailable_since_;
        f_.longest_unavailable_end_ms = now_;
      }
    } else if (!a && available_) {
      unavailable_since_ = now_;
    }
    available_ = a;
    dirty_ = false;
  }
  if (available_) f_.available_ms += until - now_;
}

LivenessFigures LivenessMeter::finish(int64_t end_t) {
  advance(end_t);
  LivenessFigures f = f_;
  f.duration_ms = std::max<int64_t>(now_, 0);
  // A stretch still open at the end counts up to the end; what changed at the very last
  // millisecond has no time left to count.
  if (!available_) {
    int64_t length = now_ - unavailable_since_;
    if (length > f.longest_unavailable_ms) {
      f.longest_unavailable_ms = length;
      f.longest_unavailable_start_ms = unavailable_since_;
      f.longest_unavailable_end_ms = now_;
      f.unavailable_at_end = true;
    }
  }
  f.terms = static_cast<int64_t>(candidacy_terms_.size());
  f.client_open = static_cast<int64_t>(open_.size());
  if (answered_ > 0) {
    // Nearest rank, as the run summary's latency line.
    auto rank = [this](double p) {
      int64_t r = static_cast<int64_t>(p * static_cast<double>(answered_) + 0.999999);
      r = std::clamp<int64_t>(r, 1, answered_);
      int64_t seen = 0;
      for (const auto& [ms, count] : latencies_) {
        seen += count;
        if (seen >= r) return ms;
      }
      return latencies_.rbegin()->first;
    };
    f.latency_p50_ms = rank(0.50);
    f.latency_p99_ms = rank(0.99);
    f.latency_max_ms = latencies_.rbegin()->first;
  }
  return f;
}

std::vector<std::string> missed_bounds(const LivenessFigures& f, const LivenessBounds& b) {
  std::vector<std::string> out;
  char buf[512];
  if (b.max_unavailable_ms && f.longest_unavailable_ms > *b.max_unavailable_ms) {
    std::snprintf(buf, sizeof buf,
                  "--max-unavailable-ms %lld missed: the longest stretch without a leader that a "
                  "majority follows was %lld ms (%lld..%lld ms)",
                  static_cast<long long>(*b.max_unavailable_ms),
                  static_cast<long long>(f.longest_unavailable_ms),
                  static_cast<long long>(f.longest_unavailable_start_ms),
                  static_cast<long long>(f.longest_unavailable_end_ms));
    out.emplace_back(buf);
  }
  if (b.min_availability && f.availability() < *b.min_availability) {
    std::snprintf(buf, sizeof buf,
                  "--min-availability %g missed: availability was %.4f (%lld of %lld ms with a "
                  "leader that a majority follows)",
                  *b.min_availability, f.availability(), static_cast<long long>(f.available_ms),
                  static_cast<long long>(f.duration_ms));
    out.emplace_back(buf);
  }
  return out;
}

}  // namespace raftkv::check
