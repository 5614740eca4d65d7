// The human narrative of a run: one readable, time-stamped line for each
// trace event worth reading, in the spirit of the seed's per-actor output.
// `raftkv run` prints it live and `raftkv replay --narrate` prints it from a
// trace file, with the same code, so the two always agree. The notation is
// explained in spec/narrative.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "trace/codec.h"

namespace raftkv {

// How much of the run to tell, and about whom.
struct NarrateOptions {
  // 1 "events": elections, votes and their reasons, faults, refusals,
  //   truncations, the leader's commits and what it may not commit, client
  //   operations;
  // 2 "steps" (the default): also appends, applies, followers' commits,
  //   log-carrying AppendEntries, RequestVotes, replies, heartbeats;
  // 3 "all": also the leader's nextIndex/matchIndex bookkeeping, persists,
  //   empty AppendEntries and their acknowledgements, every delivery.
  int verbosity = 2;
  // Only lines of these nodes, or of messages from or to them, and the
  // network-wide faults (empty: every node).
  std::vector<int> nodes;
  // Only lines of these clients or about their requests (empty: every client).
  std::vector<int> clients;
};

class Narrator {
 public:
  explicit Narrator(NarrateOptions options = {}) : options_(std::move(options)) {}

  // The line for one event, or nothing for an event below the verbosity or
  // outside the filters. Every event must be passed, in trace order, even
  // those that print nothing: the narrator follows the messages and the logs.
  std::optional<std::string> line(const json& event);
  // The trace's header, before its first event: the logs nodes boot with
  // (initial_state), which the events never show being written.
  void header(const json& header);

 private:
  // What a line is about, for the verbosity and the filters.
  struct Told {
    int level = 2;
    int node = 0;    // the actor, if a node
    int peer = 0;    // the other node of a message, if any
    int client = 0;  // the client the line is about, if any
    bool network_wide = false;
    std::string text;
  };
  bool shown(const Told& t) const;
  std::optional<Told> tell(const json& ev);

  // A deliver names its message by id (schema v2), so the narrator keeps
  // every sent message until its last copy is delivered or dropped.
  struct Pending {
    json msg;
    int copies = 1;
  };
  void note_message(const std::string& event, const json& ev);
  const json& delivered_message(const json& ev) const;

  // Each node's log as the terms of its entries (index 1 first), followed
  // from append and truncate events: the leader's §5.4.2 restraint is told
  // from it.
  void note_log(const std::string& event, const json& ev);
  int64_t term_at(int node, int64_t index) const;
  std::optional<Told> restraint(const json& ev, const json& st);

  NarrateOptions options_;
  std::map<std::pair<int64_t, int64_t>, int64_t> invoked_at_;  // (client, seq) -> t
  std::unordered_map<int64_t, Pending> pending_;               // msg id -> message
  std::map<int, json> last_delivered_;                         // node -> message
  std::map<int, std::string> last_role_;                       // node -> role
  std::map<int, std::vector<int64_t>> log_terms_;
  bool lease_ = false;  // config.raft.read_mode is "lease": a refusal may be a lease promise //
                        // node -> terms
  std::map<int, std::map<int, int64_t>> match_;                 // leader -> peer -> match
  std::set<int> nodes_seen_;                                    // every node that started
  std::set<std::tuple<int, int64_t, int64_t>> restraint_told_;  // (leader, term, index)
};

// "PUT "a" = "val_3"", "GET "a"", "DELETE "a"", "NOOP".
std::string describe_command(const json& cmd);
// "ok", "\"val_3\"", "key_exists", ...
std::string describe_result(const json& result);

}  // namespace raftkv
