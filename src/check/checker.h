// The trace checker: reads a raftkv trace (spec/trace-schema.md) and verifies the Raft safety
// properties of Figure 3 of the Raft paper (Ongaro & Ousterhout 2014), the higher-term rule of
// Figure 2, the KV state machine's semantics and the linearizability of the client-visible
// history. spec/checks.md documents every check; the names below are the ones spec/ and
// RaftKV.tla use.
//
// Checking is one pass over the trace; every check except Linearizability costs O(1) amortised
// per event (hash maps, per-index prefix hashes of the logs, no rescans). Linearizability is
// searched per key as the trace goes, at the points where a key's history can be cut, and
// judged at the end as if over the whole client history (check/linearizability.h); a client
// request keeps only its invoke seq once completed. Memory is the cluster's state (logs, per-index
// records), the open client operations and the messages in flight (check_trace with reopen,
// check_trace_file), plus 8 bytes per completed request. The first violation
// stops the check and is reported; a trace that cannot be read (bad JSON, truncated, missing
// or mistyped field, unknown event, wrong format/version, a null) raises TraceFormatError.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "check/liveness.h"
#include "trace/reader.h"

namespace raftkv::check {

// The check names, exactly as spec/checks.md and RaftKV.tla spell them.
inline constexpr const char* kWellFormed = "WellFormed";
inline constexpr const char* kElectionSafety = "ElectionSafety";
inline constexpr const char* kLeaderAppendOnly = "LeaderAppendOnly";
inline constexpr const char* kLogMatching = "LogMatching";
inline constexpr const char* kLeaderCompleteness = "LeaderCompleteness";
inline constexpr const char* kStateMachineSafety = "StateMachineSafety";
inline constexpr const char* kTermAdoption = "TermAdoption";
inline constexpr const char* kKVSemantics = "KVSemantics";
inline constexpr const char* kLinearizability = "Linearizability";
inline constexpr const char* kDurability = "Durability";
inline constexpr const char* kReplication = "Replication";
inline constexpr const char* kLiveness = "Liveness";
inline constexpr const char* kCheckQuorum = "CheckQuorum";
inline constexpr const char* kLeaderTransfer = "LeaderTransfer";
inline constexpr const char* kLeaseRead = "LeaseRead";
inline constexpr const char* kMembershipChange = "MembershipChange";

// The timing assumption under which the leader and convergence bounds are judged
// (spec/checks.md, Liveness) allows at most this message loss.
inline constexpr double kMaxJudgedLoss = 0.3;

struct Violation {
  std::string check;          // one of the names above
  std::vector<int64_t> seqs;  // the trace events involved (their `seq`), ascending
  std::vector<int> nodes;     // the nodes involved, ascending (may be empty for client checks)
  std::string explanation;    // one paragraph
};

struct Report {
  std::string trace_name;
  int64_t events = 0;  // events read (the header line not counted)
  std::optional<Violation> violation;
  std::vector<std::string> planted_bugs;  // from the header (normally empty)
  // Linearizability ran out of budget on some key: neither a pass nor a violation.
  bool linearizability_inconclusive = false;
  // Why a liveness property was not judged (the trace ends before its bound, the cluster never
  // had a healthy majority after the last fault, ...); empty when all three were.
  std::vector<std::string> liveness_skipped;
  // Summary figures: "nodes", "messages", "deliveries", "drops", "crashes", "restarts",
  // "leaders", "terms", "higher_terms_seen", "log_entries" (distinct (index, term) pairs),
  // "committed_entries", "leaders_checked", "applies", "client_ops",
  // "client_results_compared", "linearizability_ops", "linearizability_keys",
  // "linearizability_steps", "linearizability_inconclusive_keys"; with membership changes
  // (thesis §4.1) also "config_entries" (distinct configuration entries), "joins", "leaves",
  // "changes".
  std::map<std::string, int64_t> counts;
  // Availability, election churn and the clients' success (check/liveness.h): reports, not
  // checks; measured for every trace read to its end, absent when a violation stopped the check.
  std::optional<LivenessFigures> liveness_figures;

  bool ok() const { return !violation.has_value(); }
};

// A trace that cannot be read as a raftkv-trace version 1 file. what() is "NAME:LINE: message";
// line 0 means the file itself (e.g. it cannot be opened). The one error type of every reader of
// traces (trace/reader.h).
using TraceFormatError = TraceInputError;

struct CheckOptions {
  bool linearizability = true;  // false skips the client-history search
  int64_t linearizability_steps_per_key = 2'000'000;
  int64_t linearizability_steps_total = 20'000'000;
  // Liveness, with stated bounds (spec/checks.md): after the last fault, with a majority up and
  // connected, a leader within the bound; the replicas converge within the bound; every client
  // operation ends by its deadline. 0 derives the bound from the trace's config:
  // 10 x election_timeout_max_ms. The leader and convergence bounds are judged only when the
  // config meets Raft's timing assumption (spec/checks.md); otherwise the report says which part
  // it breaks, in liveness_skipped.
  bool liveness = true;
  int64_t liveness_bound_ms = 0;
};

Report check_trace(std::istream& in, const std::string& name, const CheckOptions& options = {});
// The same, for a trace that can be read again from its start (`reopen` gives a new stream on
// it): the checker then keeps only the messages still in flight, and reads the trace again for a
// message an event names after its last copy was used up, so its memory does not grow with the
// trace's length. check_trace_file reads files this way.
Report check_trace(std::istream& in, const std::string& name, const CheckOptions& options,
                   const std::function<std::unique_ptr<std::istream>()>& reopen);
Report check_trace_file(const std::string& path, const CheckOptions& options = {});

// Human summary. A passing trace gives one check per line after its verdict:
//   "OK name: N events [planted bugs: ...]"
//   "  WellFormed ok (M messages, C crashes)"
//   "  ElectionSafety ok (L leaders in T terms)" ...
// a violating one gives "VIOLATION name: Check at seq a, b on node(s) x, y" and the explanation.
std::string format_report(const Report& report);

}  // namespace raftkv::check
