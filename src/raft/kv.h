// The replicated state machine: a string -> string map with the seed's
// semantics, plus per-client deduplication that makes client commands take
// effect exactly once and in each client's order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "raft/types.h"

namespace raftkv {

// How the state machine recognises client commands that must not execute.
// Only Full is correct; the others are planted bugs (raft/planted_bugs.h).
enum class DedupMode {
  Full,         // a seq at or below the client's last applied seq never executes
  LastSeqOnly,  // planted bug dedup_last_seq_only: only a repeat of the last seq is caught
  Off,          // planted bug no_client_dedup: every command executes
};

class KvStore {
 public:
  // Applies one committed command and returns its result:
  //   put(k, v): ok if k was absent (k := v), else key_exists
  //   get(k):    ok with the value, else not_found
  //   delete(k): ok if k was present (removed), else not_found
  //   noop:      ok, no change
  // Exactly-once, in client order (Raft §8; a client has one request in
  // flight and numbers its requests 1, 2, 3, ...). For a client command with
  // seq s and the client's last applied seq L:
  //   s > L: executes, and (s, result) becomes the client's last applied;
  //   s = L: a retry of the command that took effect: the remembered result,
  //          no change (so a retried put never reports key_exists because of
  //          its own first attempt);
  //   s < L: an old request that committed after a later one of its client
  //          (a duplicated or abandoned retry): executing it now would run it
  //          twice or out of order, so it does not execute; its result is
  //          `stale`, which no client waits for (the client is past s).
  // Noops and client 0 (requests injected by tests) are never deduplicated.
  Result apply(const Command& cmd, DedupMode mode = DedupMode::Full);

  const std::map<std::string, std::string>& data() const { return data_; }
  // The dedup table: each client's last applied seq and its result (read by
  // the spec's view, app/spec_view.h, which compares it with RaftKV.tla's
  // sessions).
  std::map<int, std::pair<int64_t, Result>> sessions() const;
  // FNV-1a 64 over the sorted "key=value\n" lines, as 16 hex digits.
  std::string digest() const;

  // The snapshot encoding (Raft paper §7; spec/trace-schema.md, "Snapshot
  // encoding"): the store and the dedup table as one byte string, so a
  // snapshot restores exactly-once as well as the data. decode() rebuilds a
  // store from it, or returns false when the bytes are not such an encoding
  // (a hand-made message can carry anything).
  std::string encode() const;
  static bool decode(const std::string& bytes, KvStore* out);

  // What this state machine has applied, counted as it went (and carried in
  // snapshots, so a log compacted away still counts): noops, client commands
  // that executed, and client commands that did not (a retry answered from
  // the dedup table, or a stale copy).
  struct Counts {
    int64_t noops = 0;
    int64_t executed = 0;
    int64_t repeats = 0;
    bool operator==(const Counts&) const = default;
  };
  const Counts& counts() const { return counts_; }

  // The last configuration entry applied (thesis §4.1) and its log index
  // (0 and an empty membership: none yet, the bootstrap configuration holds).
  // Part of the state machine so that a snapshot carries the configuration
  // as of its last included index (Raft paper, Figure 13's "last config").
  // The node records it when it applies a configuration entry; apply() counts
  // the entry as a noop.
  void set_config(int64_t index, const Membership& conf) {
    config_index_ = index;
    config_ = conf;
  }
  int64_t config_index() const { return config_index_; }
  const Membership& config() const { return config_; }

 private:
  struct LastApplied {
    int64_t seq = 0;
    Result result;
    bool known = false;  // a slot of dense_sessions_ no command has filled
  };
  Result execute(const Command& cmd);
  LastApplied* find_session(int client);
  LastApplied& add_session(int client);

  // Runtime clients are numbered 1..num_clients, so their sessions sit in a
  // vector indexed by client id: this lookup runs for every entry every node
  // applies, and an unordered_map's bucket index (a division) and node chase
  // cost more than the rest of apply(). Other ids (tests may use any int)
  // go to the map.
  static constexpr int kDenseClients = 4096;
  std::map<std::string, std::string> data_;  // ordered: digest needs order
  std::vector<LastApplied> dense_sessions_;
  std::unordered_map<int, LastApplied> sparse_sessions_;
  Counts counts_;
  int64_t config_index_ = 0;
  Membership config_;
};

// FNV-1a 64 of a byte string, continuing from `hash` (start from
// kFnv1a64Offset). Published vectors: "" -> cbf29ce484222325,
// "a" -> af63dc4c8601ec8c.
inline constexpr uint64_t kFnv1a64Offset = 14695981039346656037ull;
uint64_t fnv1a64(const std::string& bytes, uint64_t hash = kFnv1a64Offset);

}  // namespace raftkv
