// Classic Raft mistakes that can be planted in the node on purpose, so the
// checker and the property tests can be shown to catch them (issue 4).
#pragma once

#include <string>
#include <vector>

namespace raftkv {

// All off by default; only code that names a field (or `raftkv run --plant-bug
// NAME`) turns one on, and the trace header lists the planted ones.
struct PlantedBugs {
  bool vote_without_log_check = false;      // grant votes without §5.4.1's up-to-date check
  bool vote_twice = false;                  // grant a second vote in the same term
  bool commit_old_term = false;             // commit earlier-term entries by counting (Fig. 8)
  bool skip_truncate = false;               // overwrite a conflicting entry, keep what follows
  bool skip_prev_log_check = false;         // accept AppendEntries without the prev-log match
  bool apply_before_commit = false;         // apply entries as soon as they are in the log
  bool leader_ignores_higher_term = false;  // a leader does not step down on a higher term
  bool no_client_dedup = false;             // re-execute retried client commands
  bool dedup_last_seq_only = false;         // re-execute a client's older, stale retries
  bool prevote_raises_term = false;         // a PreVote makes its receiver adopt the term
  bool leader_ignores_quorum = false;       // check_quorum never makes a leader step down
  bool read_index_without_confirm = false;  // read_index reads skip the leadership check
  bool transfer_before_caught_up = false;   // TimeoutNow before the target's log matches (§3.10)
  bool lease_ignores_drift = false;         // a read lease as long as the election timeout
  bool snapshot_uncommitted = false;        // snapshot entries past the commit index (§7)
  bool install_discards_log = false;  // an installed snapshot discards a matching suffix (§7)
  // A new leader starts a configuration change before an entry of its own
  // term is committed (the single-server-change bug Ongaro published in 2015).
  bool change_before_term_commit = false;

  bool any() const;  // from the name table in planted_bugs.cpp, so no list is kept twice
};

// Every bug's name, as used on the command line and in the trace header.
const std::vector<std::string>& planted_bug_names();
// The names of the bugs planted in `bugs`.
std::vector<std::string> planted_bug_list(const PlantedBugs& bugs);
// Turns on the named bug; false if there is no bug of that name.
bool plant_bug(PlantedBugs& bugs, const std::string& name);

}  // namespace raftkv
