// Protocol vocabulary shared by the node core, the runtime and the trace.
//
// Names follow the Raft paper (Ongaro & Ousterhout, Figure 2) and the seed
// emulation: RequestVote, AppendEntries, CommitNotification and the client
// requests Put/Get/Delete. spec/trace-schema.md gives the JSON form of each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace raftkv {

// Config: a cluster configuration entry (thesis §4.1), written by the leader,
// never by a client; it takes effect at each node as soon as it is in the
// node's log, committed or not.
enum class Op { Put, Get, Delete, Noop, Config };

// A cluster configuration (thesis §4.1): the voters, whose majority elects
// leaders and commits entries, and the learners, which receive the log but
// neither vote nor count for a majority (a new server catches up as one, as
// in etcd). Both ascending, disjoint; node ids are >= 1.
struct Membership {
  std::vector<int> voters;
  std::vector<int> learners;

  bool is_voter(int id) const;
  bool is_member(int id) const;  // a voter or a learner
  bool operator==(const Membership&) const = default;
};

// A configuration entry's membership, held out of line. Every log entry has a
// Command, and only configuration entries carry a membership: two vectors
// inline (48 bytes) made each entry half again as large, and an untraced run
// spent up to 40% of its time in the kernel zeroing the pages its logs first
// touch (issue 11). A value: copies are deep, == compares the memberships.
class MembershipBox {
 public:
  MembershipBox() = default;
  MembershipBox(Membership m) : p_(std::make_unique<Membership>(std::move(m))) {}  // NOLINT
  MembershipBox(const MembershipBox& o)
      : p_(o.p_ ? std::make_unique<Membership>(*o.p_) : nullptr) {}
  MembershipBox(MembershipBox&&) noexcept = default;
  MembershipBox& operator=(const MembershipBox& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<Membership>(*o.p_) : nullptr;
    return *this;
  }
  MembershipBox& operator=(MembershipBox&&) noexcept = default;

  // The membership; empty for a command that carries none.
  const Membership& get() const { return p_ ? *p_ : empty(); }
  Membership& mutable_get() {
    if (!p_) p_ = std::make_unique<Membership>();
    return *p_;
  }
  bool operator==(const MembershipBox& o) const { return get() == o.get(); }

 private:
  static const Membership& empty();
  std::unique_ptr<Membership> p_;
};

// The runtime's request to a leader to change the cluster by one server
// (thesis §4.1): add a server (as a learner; the leader promotes it to voter
// once it has caught up) or remove one (a voter or a learner).
enum class ChangeAction { Add, Remove };

// A state machine command. (client, seq) identifies a client request so the
// state machine can recognise a retried command (client dedup).
struct Command {
  Op op = Op::Noop;
  std::string key;
  std::string value;        // only for Put
  int client = 0;           // 0 for Noop and Config
  int64_t seq = 0;          // 0 for Noop and Config
  MembershipBox conf = {};  // only for Config: the new configuration

  bool operator==(const Command&) const = default;
};

struct Entry {
  int64_t term = 0;
  Command cmd;

  bool operator==(const Entry&) const = default;
};

// Stale: the outcome of a client command older than one of its client's
// commands that already took effect. It is not executed (exactly-once, in
// client order); no client is waiting for it (README, "The protocol").
enum class Status { Ok, KeyExists, NotFound, NotLeader, Unknown, Stale };

struct Result {
  Status status = Status::Ok;
  std::string value;  // the value read by a successful get

  bool operator==(const Result&) const = default;
};

enum class Role { Follower, Candidate, Leader };

enum class MsgType {
  RequestVote,
  RequestVoteResponse,
  AppendEntries,
  AppendEntriesResponse,
  CommitNotification,
  ClientRequest,
  ClientReply,
  // [raft] pre_vote (thesis §9.6): fields as RequestVote / RequestVoteResponse;
  // `term` is the term the sender would stand in (its own term + 1), never
  // adopted by anyone.
  PreVote,
  PreVoteResponse,
  // [raft] read_mode = "read_index" (thesis §6.4): a leader asks every peer
  // to confirm it is still the leader of `term`, for the reads it took
  // before this confirmation `round`; the response carries the responder's
  // term and the round it answers.
  ReadConfirm,
  ReadConfirmResponse,
  // Leadership transfer (thesis §3.10): a leader whose transfer target's log
  // matches its own tells the target to start an election at once. `term` is
  // the leader's term.
  TimeoutNow,
  // Log compaction (Raft paper §7, [raft] snapshot_every): a leader whose
  // follower needs an entry the leader has discarded sends its snapshot, the
  // state machine through `snap_index` (whose entry had term `snap_term`), as
  // bytes `data` starting at `offset` of the snapshot's encoding (kv.h); `done`
  // marks the last chunk. The response carries the responder's term, the
  // snapshot it answers (`snap_index`), how many bytes of it the responder now
  // holds (`offset`, the next it wants) and `done`: it holds the state through
  // `snap_index` (installed now, or it already had it).
  InstallSnapshot,
  InstallSnapshotResponse,
};

// One message on the emulated network. A flat struct: which fields are
// meaningful depends on `type` (see spec/trace-schema.md, "Messages").
struct Message {
  // User-provided, so that value-initialisation (the outbox's emplace_back(),
  // once per send) sets each member from its initialiser below instead of
  // first zeroing all of the struct's bytes, which cost a `rep stos` per
  // message.
  Message() {}

  int64_t id = 0;  // assigned by the runtime when the message is sent
  MsgType type = MsgType::RequestVote;
  int from = 0;    // sending node (0 for ClientRequest)
  int to = 0;      // receiving node (0 for ClientReply)
  int client = 0;  // ClientRequest / ClientReply only
  int64_t term = 0;

  // RequestVote
  int64_t last_log_index = 0;
  int64_t last_log_term = 0;
  // RequestVote of an election started by a TimeoutNow (thesis §3.10): voters
  // with a live leader still consider it (§4.2.3). Traced only when true.
  bool transfer = false;
  // RequestVoteResponse
  bool granted = false;
  // RequestVoteResponse / AppendEntriesResponse
  std::string reason;
  // AppendEntries
  int64_t prev_log_index = 0;
  int64_t prev_log_term = 0;
  std::vector<Entry> entries;
  int64_t leader_commit = 0;  // also CommitNotification
  // AppendEntriesResponse
  bool success = false;
  int64_t match_index = 0;
  int64_t conflict_index = 0;
  int64_t conflict_term = 0;
  // ClientRequest
  Command cmd;
  // ClientReply
  int64_t seq = 0;
  Result result;
  int leader_hint = 0;
  // ReadConfirm / ReadConfirmResponse
  int64_t round = 0;
  // InstallSnapshot / InstallSnapshotResponse (trace: last_included_index,
  // last_included_term, offset, data, done)
  int64_t snap_index = 0;
  int64_t snap_term = 0;  // InstallSnapshot only
  int64_t offset = 0;
  std::string data;  // InstallSnapshot only
  bool done = false;

  bool operator==(const Message&) const = default;
};

const char* to_string(Op op);
const char* to_string(ChangeAction action);
const char* to_string(Status status);
const char* to_string(Role role);
const char* to_string(MsgType type);

}  // namespace raftkv
