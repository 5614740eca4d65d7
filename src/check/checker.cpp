// Trace checker: one pass over a raftkv trace, checking the Raft paper's Figure 3 properties,
// the KV semantics and (at the end) linearizability. See checker.h and spec/checks.md.
#include "check/checker.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "check/linearizability.h"
#include "trace/event_table.h"
#include "trace/fast_reader.h"
#include "trace/reader.h"

namespace raftkv::check {

namespace {

using json = nlohmann::json;
using element = LineValue;  // a value of the line being checked (trace/fast_reader.h)

constexpr int kMaxNodes = 1000;  // the config's limit (src/config/config.cpp)

template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

std::string join(const std::vector<int64_t>& xs) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + std::to_string(xs[i]);
  return s;
}
std::string describe_ids(const std::vector<int64_t>& ids) { return join(ids); }

std::string quote(const std::string& s) { return "\"" + s + "\""; }

// ---------------------------------------------------------------------------------------------
// Hashing

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnv_bytes(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t fnv_int(uint64_t h, int64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
  return h;
}

// Length-prefixed so that ("ab","c") and ("a","bc") differ.
uint64_t fnv_string(uint64_t h, std::string_view s) {
  return fnv_bytes(fnv_int(h, static_cast<int64_t>(s.size())), s);
}

// Structural hash of a JSON value, used to compare a delivered message with the one sent under
// the same id without keeping every message. An object hashes its members in any order (the sum
// of their hashes), so two messages that differ only in key order are the same message, as they
// are to nlohmann/json. Each value is tagged with its type; strings hash their bytes.
uint64_t mix(uint64_t h, uint64_t v) { return splitmix64(h ^ (v + 0x9e3779b97f4a7c15ull * h)); }

uint64_t hash_json(element v) {
  switch (v.type()) {
    case LineType::Object: {
      uint64_t sum = 0;
      for (element member : v) {
        sum += mix(fnv_bytes(kFnvOffset, member.key()), hash_json(member));
      }
      return mix(1, sum);
    }
    case LineType::Array: {
      uint64_t h = 2;
      for (element child : v) h = mix(h, hash_json(child));
      return mix(h, 6);
    }
    case LineType::String: return mix(3, fnv_bytes(kFnvOffset, v.str()));
    case LineType::Bool: return mix(4, v.boolean() ? 1 : 0);
    case LineType::Int: return mix(5, static_cast<uint64_t>(v.integer()));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Reading the JSON (format errors)

// A reason the current line is not a valid trace line; the caller adds name and line number.
class FormatIssue : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A JSON object of an event line being read. The reader has validated the line against the
// contract, so these accessors fail only on a contract the checker reads differently; they still
// name the field by its path ("msg.entries[0].cmd"), which is spelled out only then: the chain of
// parents costs nothing on the way.
class Obj {
 public:
  // The line itself.
  explicit Obj(element j) : Obj(j, nullptr, {}, kNoIndex) {}
  // Element `index` of the array field `name` of `parent` (kAnyIndex: written "[]").
  Obj(element j, const Obj* parent, std::string_view name, int64_t index)
      : e_(j), parent_(parent), name_(name), index_(index) {
    if (!j.is(LineType::Object)) {
      std::string path = this->path();
      throw FormatIssue(cat("'", path.empty() ? "line" : path, "' must be an object"));
    }
    first_ = next_ = j.index() + 1;
    end_ = j.nodes()[j.index()].end;
  }

  static constexpr int64_t kNoIndex = -1;
  static constexpr int64_t kAnyIndex = -2;

  // Whether the object has field `name` (an optional field: a node line's `state`). A scan of
  // the keys that leaves the read cursor where it was.
  bool has(std::string_view name) const {
    const LineNode* nodes = e_.nodes();
    for (uint32_t i = first_; i != end_; i = nodes[i].end) {
      if (same(nodes[i].key_view(), name)) return true;
    }
    return false;
  }

  element get(std::string_view name) const {
    // Lines have their keys sorted and the parsers below read fields in that order where they
    // can, so the field after the last one found is tried first: one comparison, not a scan.
    // The scan goes on from there and wraps around, so a read that skips a few keys (seq after
    // event) or comes back to an earlier one still finds it in a few comparisons. The fields
    // are read in place, in the line's tree (trace/fast_reader.h): nothing is copied.
    const LineNode* nodes = e_.nodes();
    for (uint32_t i = next_; i != end_; i = nodes[i].end) {
      if (same(nodes[i].key_view(), name)) {
        next_ = nodes[i].end;
        return element(nodes, i);
      }
    }
    for (uint32_t i = first_; i != next_; i = nodes[i].end) {
      if (same(nodes[i].key_view(), name)) {
        next_ = nodes[i].end;
        return element(nodes, i);
      }
    }
    throw FormatIssue(cat("missing field '", qualified(name), "'"));
  }
  int64_t integer(std::string_view name) const {
    element v = get(name);
    if (!v.is(LineType::Int)) throw wrong_type(name, "an integer");
    return v.integer();
  }
  int node_id(std::string_view name) const { return static_cast<int>(integer(name)); }
  std::string_view str(std::string_view name) const {
    element v = get(name);
    if (!v.is(LineType::String)) throw wrong_type(name, "a string");
    return v.str();
  }
  bool boolean(std::string_view name) const {
    element v = get(name);
    if (!v.is(LineType::Bool)) throw wrong_type(name, "a boolean");
    return v.boolean();
  }
  Obj object(std::string_view name) const {
    element v = get(name);
    if (!v.is(LineType::Object)) throw wrong_type(name, "an object");
    return Obj(v, this, name, kNoIndex);
  }
  element array(std::string_view name) const {
    element v = get(name);
    if (!v.is(LineType::Array)) throw wrong_type(name, "an array");
    return v;
  }
  // One of a fixed set of strings.
  std::string_view one_of(std::string_view name,
                          std::initializer_list<std::string_view> allowed) const {
    std::string_view s = str(name);
    // same(), not ==: the lengths are not constants here, so == called memcmp on every value
    // (4% of the checking thread's time).
    for (std::string_view a : allowed) {
      if (same(s, a)) return s;
    }
    throw FormatIssue(
        cat("field '", qualified(name), "' has unknown value ", quote(std::string(s))));
  }
  std::vector<int64_t> int_array(std::string_view name) const {
    std::vector<int64_t> out;
    for (element v : array(name)) {
      if (!v.is(LineType::Int)) throw wrong_type(name, "an array of integers");
      out.push_back(v.integer());
    }
    return out;
  }
  element raw() const { return e_; }
  // "msg.entries[0]"; empty for the line itself.
  std::string path() const {
    std::string head = parent_ ? parent_->path() : "";
    if (name_.empty()) return head;
    std::string s = head.empty() ? std::string(name_) : cat(head, ".", name_);
    if (index_ == kAnyIndex) return s + "[]";
    if (index_ >= 0) return cat(s, "[", index_, "]");
    return s;
  }

 private:
  std::string qualified(std::string_view name) const {
    std::string p = path();
    return p.empty() ? std::string(name) : cat(p, ".", name);
  }
  FormatIssue wrong_type(std::string_view name, const char* what) const {
    return FormatIssue(cat("field '", qualified(name), "' must be ", what));
  }
  // Names are a few bytes: compared inline, as a call to memcmp per key was the checker's
  // largest single cost.
  static bool same(std::string_view key, std::string_view name) {
    if (key.size() != name.size()) return false;
    size_t i = 0;
    while (i < name.size() && key[i] == name[i]) ++i;
    return i == name.size();
  }

  element e_;
  uint32_t first_ = 0;           // the node of the first field
  uint32_t end_ = 0;             // the node after the last field's subtree
  mutable uint32_t next_ = 0;    // the node of the field after the last one read
  const Obj* parent_ = nullptr;  // outlives this (children are read within their parent's scope)
  std::string_view name_;
  int64_t index_ = kNoIndex;
};

// The header, a small document nlohmann/json reads (trace/fast_reader.h).
class HeaderObj {
 public:
  HeaderObj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object())
      throw FormatIssue(cat("'", path_.empty() ? "line" : path_, "' must be an object"));
  }

  const json& get(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end()) throw FormatIssue(cat("missing field '", qualified(name), "'"));
    return *it;
  }
  int64_t integer(const char* name) const {
    const json& v = get(name);
    if (!v.is_number_integer()) throw wrong_type(name, "an integer");
    return v.get<int64_t>();
  }
  const std::string& str(const char* name) const {
    const json& v = get(name);
    if (!v.is_string()) throw wrong_type(name, "a string");
    return v.get_ref<const std::string&>();
  }
  bool boolean(const char* name) const {
    const json& v = get(name);
    if (!v.is_boolean()) throw wrong_type(name, "a boolean");
    return v.get<bool>();
  }
  HeaderObj object(const char* name) const {
    const json& v = get(name);
    if (!v.is_object()) throw wrong_type(name, "an object");
    return HeaderObj(v, qualified(name));
  }
  const json& array(const char* name) const {
    const json& v = get(name);
    if (!v.is_array()) throw wrong_type(name, "an array");
    return v;
  }
  const json& raw() const { return j_; }

 private:
  std::string qualified(const char* name) const {
    return path_.empty() ? name : path_ + "." + name;
  }
  FormatIssue wrong_type(const char* name, const char* what) const {
    return FormatIssue(cat("field '", qualified(name), "' must be ", what));
  }

  const json& j_;
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Trace vocabulary

enum class Role { Follower, Candidate, Leader, Down };

const char* role_name(Role r) {
  switch (r) {
    case Role::Follower: return "follower";
    case Role::Candidate: return "candidate";
    case Role::Leader: return "leader";
    case Role::Down: return "down";
  }
  return "?";
}

MeterRole meter_role(Role r) {
  switch (r) {
    case Role::Follower: return MeterRole::Follower;
    case Role::Candidate: return MeterRole::Candidate;
    case Role::Leader: return MeterRole::Leader;
    case Role::Down: return MeterRole::Down;
  }
  return MeterRole::Down;
}

struct NodeState {
  int64_t term = 0;
  int64_t vote = 0;
  Role role = Role::Follower;
  int64_t commit = 0;
  int64_t applied = 0;
  int64_t last_index = 0;
  int64_t last_term = 0;
};

NodeState parse_state(const Obj& s) {
  // In the order of the keys in a line (Obj::get).
  NodeState st;
  st.applied = s.integer("applied");
  st.commit = s.integer("commit");
  st.last_index = s.integer("last_index");
  st.last_term = s.integer("last_term");
  std::string_view role = s.one_of("role", {"follower", "candidate", "leader", "down"});
  st.role = role == "follower"    ? Role::Follower
            : role == "candidate" ? Role::Candidate
            : role == "leader"    ? Role::Leader
                                  : Role::Down;
  st.term = s.integer("term");
  st.vote = s.integer("vote");
  return st;
}

// A node line's `state` (schema version 4): the fields it has replace those
// of `st`, the node's previous state.
NodeState parse_state_change(const Obj& s, NodeState st) {
  if (s.has("applied")) st.applied = s.integer("applied");
  if (s.has("commit")) st.commit = s.integer("commit");
  if (s.has("last_index")) st.last_index = s.integer("last_index");
  if (s.has("last_term")) st.last_term = s.integer("last_term");
  if (s.has("role")) {
    std::string_view role = s.one_of("role", {"follower", "candidate", "leader", "down"});
    st.role = role == "follower"    ? Role::Follower
              : role == "candidate" ? Role::Candidate
              : role == "leader"    ? Role::Leader
                                    : Role::Down;
  }
  if (s.has("term")) st.term = s.integer("term");
  if (s.has("vote")) st.vote = s.integer("vote");
  return st;
}

struct Command {
  std::string op;  // put | get | delete | noop | config
  std::string key;
  std::string value;
  int64_t client = 0;
  int64_t seq = 0;
  // op config (thesis §4.1): the configuration the entry sets, each ascending.
  std::vector<int64_t> voters;
  std::vector<int64_t> learners;
  bool operator==(const Command&) const = default;
};

// Ascending without repeats.
bool strictly_ascending(const std::vector<int64_t>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<int64_t>()) == ids.end();
}

Command parse_command(const Obj& c) {
  // In the order of the keys in a line (Obj::get).
  Command cmd;
  cmd.client = c.integer("client");
  cmd.key = c.str("key");
  bool config = c.has("learners");
  if (config) cmd.learners = c.int_array("learners");
  cmd.op = c.one_of("op", {"put", "get", "delete", "noop", "config"});
  cmd.seq = c.integer("seq");
  cmd.value = c.str("value");
  if (config) cmd.voters = c.int_array("voters");
  if ((cmd.op == "config") != (config && c.has("voters"))) {
    throw FormatIssue("a command has 'voters' and 'learners' exactly when its op is \"config\"");
  }
  if (config) {
    std::vector<int64_t> both = cmd.voters;
    both.insert(both.end(), cmd.learners.begin(), cmd.learners.end());
    std::sort(both.begin(), both.end());
    if (cmd.voters.empty() || !strictly_ascending(cmd.voters) ||
        !strictly_ascending(cmd.learners) || !strictly_ascending(both)) {
      throw FormatIssue(
          "a config command's 'voters' (non-empty) and 'learners' are ascending and disjoint");
    }
  }
  return cmd;
}

std::string describe(const Command& c) {
  if (c.op == "noop") return "noop";
  if (c.op == "config") {
    return cat("config voters {", describe_ids(c.voters), "} learners {", describe_ids(c.learners),
               "}");
  }
  std::string s = c.op + " " + c.key;
  if (c.op == "put") s += "=" + quote(c.value);
  return cat(s, " (client ", c.client, " request ", c.seq, ")");
}

struct Entry {
  int64_t term = 0;
  Command cmd;
  uint64_t hash = 0;  // of term and command
};

uint64_t entry_hash(int64_t term, const Command& c) {
  uint64_t h = fnv_int(kFnvOffset, term);
  h = fnv_string(h, c.op);
  h = fnv_string(h, c.key);
  h = fnv_string(h, c.value);
  h = fnv_int(h, c.client);
  h = fnv_int(h, c.seq);
  if (c.op == "config") {
    h = fnv_int(h, static_cast<int64_t>(c.voters.size()));
    for (int64_t v : c.voters) h = fnv_int(h, v);
    h = fnv_int(h, static_cast<int64_t>(c.learners.size()));
    for (int64_t l : c.learners) h = fnv_int(h, l);
  }
  return splitmix64(h);
}

Entry parse_entry(const Obj& e) {
  Entry entry;
  entry.term = e.integer("term");
  entry.cmd = parse_command(e.object("cmd"));
  entry.hash = entry_hash(entry.term, entry.cmd);
  return entry;
}

std::vector<Entry> parse_entries(const Obj& parent, std::string_view name) {
  std::vector<Entry> out;
  element arr = parent.array(name);
  out.reserve(arr.size());
  int64_t i = 0;
  for (element item : arr) out.push_back(parse_entry(Obj(item, &parent, name, i++)));
  return out;
}

std::string describe(const Entry& e, int64_t index) {
  return cat("(index ", index, ", term ", e.term, ", ", describe(e.cmd), ")");
}

struct Result {
  std::string status;  // ok | key_exists | not_found | not_leader | unknown | stale
  std::string value;
  bool operator==(const Result&) const = default;
};

Result parse_result(const Obj& r) {
  return Result{std::string(r.one_of(
                    "status", {"ok", "key_exists", "not_found", "not_leader", "unknown", "stale"})),
                std::string(r.str("value"))};
}

std::string describe(const Result& r) {
  return r.value.empty() ? r.status : cat(r.status, " ", quote(r.value));
}

void require_ints(const Obj& o, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) o.integer(name);
}

// The message fields spec/trace-schema.md requires, per type.
struct MessageInfo {
  int64_t id = 0;
  std::string type;
  int from = 0;
  int to = 0;
};

MessageInfo validate_message(const Obj& m) {
  MessageInfo info;
  info.id = m.integer("id");
  info.type = m.one_of(
      "type", {"RequestVote", "RequestVoteResponse", "AppendEntries", "AppendEntriesResponse",
               "CommitNotification", "ClientRequest", "ClientReply", "PreVote", "PreVoteResponse",
               "ReadConfirm", "ReadConfirmResponse", "TimeoutNow", "InstallSnapshot",
               "InstallSnapshotResponse"});
  info.from = m.node_id("from");
  info.to = m.node_id("to");
  const std::string& t = info.type;
  if (t == "RequestVote" || t == "PreVote") {
    require_ints(m, {"term", "last_log_index", "last_log_term"});
    // A leadership transfer's RequestVote says so with `transfer`, written only when true.
    if (t == "RequestVote" && m.has("transfer") && !m.boolean("transfer")) {
      throw FormatIssue("field 'transfer' of a RequestVote is written only when true");
    }
  } else if (t == "TimeoutNow") {
    require_ints(m, {"term"});
  } else if (t == "InstallSnapshot") {
    require_ints(m, {"term", "last_included_index", "last_included_term", "offset"});
    m.str("data");
    m.boolean("done");
  } else if (t == "InstallSnapshotResponse") {
    require_ints(m, {"term", "last_included_index", "offset"});
    m.boolean("done");
  } else if (t == "ReadConfirm" || t == "ReadConfirmResponse") {
    require_ints(m, {"term", "round"});
  } else if (t == "PreVoteResponse") {
    require_ints(m, {"term"});
    m.boolean("granted");
    m.one_of("reason", {"", "stale_term", "leader_live", "log_not_up_to_date"});
  } else if (t == "RequestVoteResponse") {
    require_ints(m, {"term"});
    m.boolean("granted");
    m.one_of("reason", {"", "stale_term", "already_voted", "log_not_up_to_date", "leader_live"});
  } else if (t == "AppendEntries") {
    require_ints(m, {"term", "prev_log_index", "prev_log_term", "leader_commit"});
    parse_entries(m, "entries");
  } else if (t == "AppendEntriesResponse") {
    require_ints(m, {"term", "prev_log_index", "match_index", "conflict_index", "conflict_term"});
    m.boolean("success");
    m.one_of("reason", {"", "stale_term", "log_mismatch"});
  } else if (t == "CommitNotification") {
    require_ints(m, {"term", "leader_commit"});
  } else if (t == "ClientRequest") {
    require_ints(m, {"client"});
    parse_command(m.object("cmd"));
  } else {  // ClientReply
    require_ints(m, {"client", "seq", "leader_hint"});
    parse_result(m.object("result"));
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// The state machine's specification, written from what a client relies on rather than from
// src/raft/kv.cpp (this is an intentionally independent copy: an oracle that reused the
// implementation's rule would confirm its bugs).
//
//  1. The seed's KV semantics for a command that takes effect: put is ok if the key is absent
//     (key := value) else key_exists; get is ok with the value else not_found; delete is ok if
//     present (removed) else not_found; noop is ok.
//  2. Exactly-once, in client order (Raft §8). A client numbers its requests 1, 2, 3, ... and has
//     one in flight at a time, so its requests must take effect in seq order and each at most
//     once. A log may still hold a request more than once (a retry that committed twice, a
//     duplicated or abandoned copy committing late), so for a command of client c with seq s,
//     and H the highest seq of c that has taken effect:
//       s > H  it takes effect now;
//       s = H  a repeat of the request that took effect: no effect, the same result again;
//       s < H  an older request: whether or not it took effect before, it must not take effect
//              now (that would be a second time, or out of c's order). Its outcome is `stale`.
//     Noops and client 0 (requests injected by tests, which no client tracks) always execute.

class KvModel {
 public:
  enum class Kind { Executed, Repeat, Stale };
  struct Outcome {
    Kind kind = Kind::Executed;
    Result result;       // the result the state machine must report
    int64_t latest = 0;  // Repeat/Stale: the client's highest seq that took effect
    int64_t index = 0;   // Repeat/Stale: the log index where it took effect
  };

  Outcome apply(const Command& cmd, int64_t index) {
    if (cmd.op == "noop" || cmd.client == 0) return Outcome{Kind::Executed, execute(cmd), 0, 0};
    auto it = sessions_.find(cmd.client);
    if (it != sessions_.end()) {
      const Session& h = it->second;
      if (cmd.seq == h.seq) return Outcome{Kind::Repeat, h.result, h.seq, h.index};
      if (cmd.seq < h.seq) return Outcome{Kind::Stale, Result{"stale", ""}, h.seq, h.index};
    }
    Result result = execute(cmd);
    sessions_[cmd.client] = Session{cmd.seq, result, index};
    return Outcome{Kind::Executed, result, 0, 0};
  }

  void reset() {
    data_.clear();
    sessions_.clear();
  }

  int64_t size() const { return static_cast<int64_t>(data_.size()); }

  // FNV-1a 64 over the sorted "key=value\n" lines, 16 lowercase hex digits (trace-schema `end`).
  std::string digest() const {
    uint64_t h = kFnvOffset;
    for (const auto& [k, v] : data_) {
      h = fnv_bytes(h, k);
      h = fnv_bytes(h, "=");
      h = fnv_bytes(h, v);
      h = fnv_bytes(h, "\n");
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }

 private:
  struct Session {
    int64_t seq = 0;  // the highest seq of the client that took effect
    Result result;    // its result
    int64_t index = 0;
  };

  Result execute(const Command& cmd) {
    if (cmd.op == "put") {
      bool inserted = data_.try_emplace(cmd.key, cmd.value).second;
      return Result{inserted ? "ok" : "key_exists", ""};
    }
    if (cmd.op == "get") {
      auto it = data_.find(cmd.key);
      return it == data_.end() ? Result{"not_found", ""} : Result{"ok", it->second};
    }
    if (cmd.op == "delete") return Result{data_.erase(cmd.key) == 1 ? "ok" : "not_found", ""};
    return Result{"ok", ""};
  }

  std::map<std::string, std::string> data_;  // ordered, for the digest
  std::unordered_map<int64_t, Session> sessions_;
};

// ---------------------------------------------------------------------------------------------
// Events

enum class Ev {
  // input events
  Start,
  Deliver,
  Timeout,
  Crash,
  Restart,
  Join,
  Leave,
  Change,
  Transfer,
  // effect events
  TermUpdate,
  BecomeCandidate,
  BecomePrecandidate,
  BecomeLeader,
  BecomeFollower,
  StepDown,
  TransferAbort,
  Membership,
  RejectChange,
  Vote,
  PreVote,
  Truncate,
  Append,
  Progress,
  Commit,
  Apply,
  Persist,
  Send,
  Read,
  RejectClient,
  Snapshot,
  InstallSnapshot,
  // runtime events
  Inject,
  Drop,
  Duplicate,
  ClientInvoke,
  ClientSend,
  ClientComplete,
  ClientReceive,
  ClientRetry,
  Partition,
  Heal,
  Cut,
  Uncut,
  Network,
  FaultSkipped,
  End,
};

const std::unordered_map<std::string_view, Ev>& event_table() {
  static const std::unordered_map<std::string_view, Ev> table = {
      {"start", Ev::Start},
      {"deliver", Ev::Deliver},
      {"timeout", Ev::Timeout},
      {"crash", Ev::Crash},
      {"restart", Ev::Restart},
      {"join", Ev::Join},
      {"leave", Ev::Leave},
      {"change", Ev::Change},
      {"transfer", Ev::Transfer},
      {"term_update", Ev::TermUpdate},
      {"become_candidate", Ev::BecomeCandidate},
      {"become_precandidate", Ev::BecomePrecandidate},
      {"become_leader", Ev::BecomeLeader},
      {"become_follower", Ev::BecomeFollower},
      {"step_down", Ev::StepDown},
      {"transfer_abort", Ev::TransferAbort},
      {"membership", Ev::Membership},
      {"reject_change", Ev::RejectChange},
      {"vote", Ev::Vote},
      {"prevote", Ev::PreVote},
      {"truncate", Ev::Truncate},
      {"append", Ev::Append},
      {"progress", Ev::Progress},
      {"commit", Ev::Commit},
      {"apply", Ev::Apply},
      {"persist", Ev::Persist},
      {"send", Ev::Send},
      {"read", Ev::Read},
      {"reject_client", Ev::RejectClient},
      {"snapshot", Ev::Snapshot},
      {"install_snapshot", Ev::InstallSnapshot},
      {"inject", Ev::Inject},
      {"drop", Ev::Drop},
      {"duplicate", Ev::Duplicate},
      {"client_invoke", Ev::ClientInvoke},
      {"client_send", Ev::ClientSend},
      {"client_complete", Ev::ClientComplete},
      {"client_receive", Ev::ClientReceive},
      {"client_retry", Ev::ClientRetry},
      {"partition", Ev::Partition},
      {"heal", Ev::Heal},
      {"cut", Ev::Cut},
      {"uncut", Ev::Uncut},
      {"network", Ev::Network},
      {"fault_skipped", Ev::FaultSkipped},
      {"end", Ev::End},
  };
  return table;
}

// The checker's event for each entry of the contract's table (trace::event_table()), which the
// reader names by index: no lookup of the name on every line.
const std::vector<std::optional<Ev>>& events_by_index() {
  static const std::vector<std::optional<Ev>> table = [] {
    std::vector<std::optional<Ev>> out;
    for (const trace::EventSpec& spec : trace::event_table()) {
      auto it = event_table().find(spec.name);
      out.push_back(it == event_table().end() ? std::nullopt : std::optional<Ev>(it->second));
    }
    return out;
  }();
  return table;
}

// The contract's event names as string_views, made once: a view of the const char* on every
// line measured its length each time.
const std::vector<std::string_view>& event_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const trace::EventSpec& spec : trace::event_table()) out.emplace_back(spec.name);
    return out;
  }();
  return names;
}

bool is_input(Ev e) { return e <= Ev::Transfer; }
bool is_node_event(Ev e) { return e <= Ev::InstallSnapshot; }

// ---------------------------------------------------------------------------------------------
// Checker state

// One log slot as the checker rebuilds it: the entry's term, a hash of the entry and a hash of
// the whole log prefix ending here (the Log Matching fingerprint).
struct LogSlot {
  int64_t term = 0;
  uint64_t entry_hash = 0;
  uint64_t prefix_hash = 0;
  // The configuration in effect through this index (thesis §4.1): the latest configuration entry
  // at or before it, as an id in TraceChecker::configs_ (0: the bootstrap configuration).
  int32_t config = 0;
};

// A configuration (thesis §4.1): the entry at `index` set it (0: the bootstrap one, voters
// 1..num_nodes).
struct Membership {
  int64_t index = 0;
  std::vector<int64_t> voters;    // ascending
  std::vector<int64_t> learners;  // ascending
  bool is_voter(int64_t id) const { return std::binary_search(voters.begin(), voters.end(), id); }
  bool is_learner(int64_t id) const {
    return std::binary_search(learners.begin(), learners.end(), id);
  }
  int majority() const { return static_cast<int>(voters.size()) / 2 + 1; }
  std::string describe() const {
    return cat("voters {", join(voters), "}, learners {", join(learners), "} (",
               index == 0 ? std::string("the bootstrap configuration")
                          : cat("the configuration entry at index ", index),
               ")");
  }
};

uint64_t chain(uint64_t prefix, uint64_t entry) { return splitmix64(prefix * kFnvPrime ^ entry); }

constexpr uint64_t kEmptyPrefix = 0x6a09e667f3bcc908ull;

struct NodeTrack {
  bool down = false;
  // Membership (thesis §4.1): a node above num_nodes exists only from its `join` on; a node that
  // left (`leave`) is shut down for good.
  bool joined = true;
  bool left = false;
  int32_t meter_config = -1;  // the configuration the liveness meter last got for this node
  Role role = Role::Follower;
  int64_t term = 0;
  int64_t vote = 0;
  int64_t commit = 0;
  int64_t applied = 0;
  std::vector<LogSlot> log;  // log[i - 1] is index i
  KvModel kv;
  // Raft paper §7: the node's latest snapshot (index 0: none) and the one its storage holds.
  // The checker keeps the slots of compacted entries: they stay facts about the node's log
  // (what it holds through its snapshot), and LogMatching and Replication compare them.
  struct Snap {
    int64_t index = 0;
    int64_t term = 0;
    KvModel kv;
  };
  Snap snap;
  // The durable state, as the node's persist events wrote it: what a crash keeps. A persist
  // writes term, vote and the log; the log write covers the indices changed since the last one.
  int64_t durable_term = 0;
  int64_t durable_vote = 0;
  std::vector<LogSlot> durable_log;
  Snap durable_snap;  // written in the step that took or installed it
  // The highest index this node acknowledged (a successful AppendEntriesResponse) to the leader
  // of acked_term: that leader counts it toward a commit, so it must stay in the log.
  int64_t acked_term = 0;
  int64_t acked_index = 0;
  int64_t unsynced_from = 1;  // lowest log index changed since the last persist
  int64_t term_before_crash = 0;
  // Liveness: when the node was first seen in role leader since the last fault (-1: not yet).
  int64_t leader_since_fault_t = -1;
  // [raft] check_quorum. A follower's last contact with the leader of its term: the time of the
  // last AppendEntries of that term delivered to it since its last election timeout (contact_term
  // 0: none). A leader's term began at leader_since_t; heard_t[p] is when a message of its term
  // from peer p last reached it.
  int64_t contact_t = 0;
  int64_t contact_term = 0;
  // [raft] read_mode = "lease" (thesis §6.4.1): when the node last answered a leader's
  // confirmation round, or restarted (it may have answered one just before its crash), with no
  // election timeout since (-1: none). Until its timer fires it may refuse every vote.
  int64_t promise_t = -1;
  int64_t leader_since_t = 0;
  std::vector<int64_t> heard_t;
  // Leadership transfer (thesis §3.10): the target of the transfer this node began as leader of
  // transfer_term (0: none). It is under way while the node is still leader of that term and has
  // not given it up (transfer_abort): see transferring().
  int transfer_to = 0;
  int64_t transfer_term = 0;

  // Is a transfer under way at this node in state `st`?
  bool transferring(const NodeState& st) const {
    return transfer_to != 0 && st.role == Role::Leader && st.term == transfer_term;
  }
  // The node's state after its last line: a line without `state` has it (schema v3), a line
  // with some fields of it has the others (v4).
  bool has_line_state = false;
  NodeState line_state;

  uint64_t prefix(int64_t index) const {
    return index == 0 ? kEmptyPrefix : log[static_cast<size_t>(index - 1)].prefix_hash;
  }
  int64_t last_index() const { return static_cast<int64_t>(log.size()); }
  // The configuration in effect (thesis §4.1): the latest configuration entry in the log (the
  // checker keeps the slots of compacted entries, so this covers the snapshot's), else bootstrap.
  int32_t config() const { return log.empty() ? 0 : log.back().config; }
  int64_t last_term() const { return log.empty() ? 0 : log.back().term; }
  int64_t term_at(int64_t index) const {
    return index >= 1 && index <= last_index() ? log[static_cast<size_t>(index - 1)].term : 0;
  }
};

// What a deliver needs of the message it names by id (schema v2: `deliver` carries only
// `msg_id`), kept from its send. 32-bit fields: every traced integer is below 2^31.
struct DeliveryFacts {
  const char* type = "";       // a message type name (static storage)
  bool transfer = false;       // a RequestVote with `transfer`: a leadership transfer's
  int32_t term = 0;            // 0 for client messages, which have none
  int32_t prev_log_index = 0;  // AppendEntries only, as the rest
  int32_t last_new_index = 0;  // prev_log_index + entries
  int32_t last_new_term = 0;   // term of the last entry, else prev_log_term
};

struct SentMessage {
  int64_t id = 0;
  uint64_t hash = 0;
  int64_t seq = 0;
  int64_t copies = 1;  // sends + duplicates - deliveries - drops
  int to = 0;
  DeliveryFacts facts;
  int from = 0;  // the sender (0 for a client): the liveness figures follow AppendEntries senders;
                 // check_quorum, who reached a leader
};

// The messages that may still be delivered, dropped or duplicated, by id: a message is kept from
// its send until its last copy is used up (copies 0), so the store holds the messages in flight,
// not every message of the trace. A later event may still name a message forgotten that way (a
// scenario's duplicate after the delivery, or a malformed trace delivering it once more): the
// checker then finds its send again in the trace (TraceChecker::recover_message), so every
// verdict and message is the one a store of every message would give.
class SentMessages {
 public:
  SentMessage* find(int64_t id) {
    auto it = live_.find(id);
    return it == live_.end() ? nullptr : &it->second;
  }
  SentMessage& add(const SentMessage& m) { return live_.insert_or_assign(m.id, m).first->second; }
  void forget(int64_t id) { live_.erase(id); }
  size_t size() const { return live_.size(); }

 private:
  std::unordered_map<int64_t, SentMessage> live_;
};

// The first time an (index, term) pair appeared in some log, with that log's prefix hash.
struct PairRecord {
  uint64_t prefix_hash = 0;
  int64_t seq = 0;
  int node = 0;
};

// An entry known to be committed: some node's commit index covered it.
struct CommittedEntry {
  int64_t term = 0;          // the entry's term
  uint64_t prefix_hash = 0;  // prefix hash of the committing node's log at this index
  int64_t commit_term = 0;   // the committing node's currentTerm when its commit covered it
  int64_t seq = 0;
  int node = 0;
  int32_t config = 0;         // the configuration in effect through this index
  int32_t commit_config = 0;  // the committing node's configuration when it committed it
};

struct AppliedRecord {
  bool set = false;
  uint64_t entry_hash = 0;
  Entry entry;
  int64_t seq = 0;
  int node = 0;
};

// The result the state machine produced for a client request, from its first apply.
struct AppliedResult {
  Result result;
  Command cmd;
  int64_t seq = 0;
  int node = 0;
};

// A client request from its client_invoke to its client_complete.
struct ClientRequestTrack {
  Command cmd;
  int64_t invoke_seq = 0;
  LinearizabilityMonitor::Handle history = 0;  // 0: not in the history (a noop command)
};

// The requests that completed: the seq of each one's client_invoke, all that a later event can
// still need (a second invoke or complete of the request is malformed, and the first names it).
// 8 bytes a request instead of its whole record: a client numbers its requests 1, 2, 3, ..., so
// they are kept by number per client; other numbers (hand-made traces) go to a map.
class CompletedRequests {
 public:
  // 0 if the request has not completed.
  int64_t invoke_seq(int64_t client, int64_t request) const {
    auto it = dense_.find(client);
    if (it != dense_.end() && request >= 1 && static_cast<size_t>(request) <= it->second.size()) {
      int64_t s = it->second[static_cast<size_t>(request - 1)];
      if (s != 0) return s;
    }
    auto sparse = sparse_.find(key(client, request));
    return sparse == sparse_.end() ? 0 : sparse->second;
  }
  void add(int64_t client, int64_t request, int64_t invoke_seq) {
    std::vector<int64_t>& v = dense_[client];
    if (request >= 1 && static_cast<size_t>(request) <= v.size() + kMaxGap) {
      if (static_cast<size_t>(request) > v.size()) v.resize(static_cast<size_t>(request), 0);
      v[static_cast<size_t>(request - 1)] = invoke_seq;
    } else {
      sparse_[key(client, request)] = invoke_seq;
    }
  }

 private:
  static constexpr size_t kMaxGap = 4096;
  static uint64_t key(int64_t client, int64_t request) {
    return (static_cast<uint64_t>(client) << 32) | static_cast<uint64_t>(request);
  }
  std::unordered_map<int64_t, std::vector<int64_t>> dense_;
  std::unordered_map<uint64_t, int64_t> sparse_;
};

LinearizabilityOptions linearizability_options(const CheckOptions& options) {
  LinearizabilityOptions lin;
  lin.max_steps_per_key = options.linearizability_steps_per_key;
  lin.max_steps_total = options.linearizability_steps_total;
  return lin;
}

uint64_t client_key(int64_t client, int64_t seq) {
  return (static_cast<uint64_t>(client) << 32) | static_cast<uint64_t>(seq);
}

uint64_t pair_key(int64_t index, int64_t term) {
  return (static_cast<uint64_t>(index) << 32) | static_cast<uint64_t>(term);
}

// Thrown to stop at the first violation.
struct Stop {
  Violation violation;
};

// Everything known about the event being processed.
struct NodeEvent {
  Ev kind;
  int64_t seq = 0;
  int id = 0;
  NodeTrack* node = nullptr;
  NodeState st;
};

class TraceChecker {
 public:
  TraceChecker(const CheckOptions& options, Report& report)
      : options_(options), report_(report), history_(linearizability_options(options)) {}

  void header(const json& j);
  void initial_state(const json& header);
  void event(element j, size_t index);  // index: the event's in trace::event_table()
  void set_source(std::function<std::unique_ptr<std::istream>()> reopen, std::string name,
                  const FastTraceReader* reader) {
    source_ = Source{std::move(reopen), std::move(name), reader};
  }
  void finish();

 private:
  [[noreturn]] void fail(const char* check, std::vector<int64_t> seqs, std::vector<int> nodes,
                         const std::string& explanation) const;
  void count(const char* name, int64_t by = 1) { counter(name) += by; }
  // The report's figure `name`, found by the address of the name (each call site passes a
  // literal) instead of a string lookup in the map on every event.
  int64_t& counter(const char* name) {
    for (const auto& [n, value] : counters_) {
      if (n == name) return *value;
    }
    int64_t* value = &report_.counts[name];  // std::map: the address stays valid
    counters_.emplace_back(name, value);
    return *value;
  }
  std::vector<std::pair<const char*, int64_t*>> counters_;

  // WellFormed helpers
  void check_order(int64_t seq, int64_t t);
  void check_node_id(int64_t id, int64_t seq, const char* what, bool zero_ok = false) const;
  void check_client_id(int64_t id, int64_t seq) const;
  void check_term(const NodeEvent& e);
  void check_post_state(const NodeEvent& e);
  SentMessage& sent_message(const Obj& msg, int64_t seq, const char* event);
  // A sent message by id, also one whose copies were all used up (found again in the trace).
  SentMessage* find_message(int64_t id);
  SentMessage* recover_message(int64_t id);
  // After an event used up a copy of `m`: forgets it once no copy is left (`m` dies).
  void release(SentMessage& m);
  SentMessage& delivered_message(int64_t id, int64_t seq);
  void record_send(const Obj& msg, int64_t seq, int node);

  // Node events
  std::string_view event_name_;  // the current line's event (static storage)
  void node_event(Ev kind, const Obj& ev, int64_t seq);
  // The line's `state` over node id's previous one (fields left out, schema v4), or that one
  // (absent, v3).
  NodeState line_state(const Obj& ev, int64_t id);
  void on_deliver(const NodeEvent& e, const Obj& ev);
  void on_crash(const NodeEvent& e);
  void on_restart(const NodeEvent& e);
  void on_term_update(const NodeEvent& e, const Obj& ev);
  void on_become_leader(const NodeEvent& e, const Obj& ev);
  void on_truncate(const NodeEvent& e, const Obj& ev);
  void on_transfer(const NodeEvent& e, const Obj& ev);
  void on_transfer_abort(const NodeEvent& e, const Obj& ev);
  void check_transfer_send(const NodeEvent& e, const Obj& msg);
  void on_append(const NodeEvent& e, const Obj& ev);
  void on_commit(const NodeEvent& e, const Obj& ev);
  void on_apply(const NodeEvent& e, const Obj& ev);
  void on_send(const NodeEvent& e, const Obj& ev);
  void on_read(const NodeEvent& e, const Obj& ev);
  void on_snapshot(const NodeEvent& e, const Obj& ev);
  void check_snapshot_acknowledgement(const NodeEvent& e, const Obj& msg);
  void on_install_snapshot(const NodeEvent& e, const Obj& ev);

  // The safety checks
  void check_election_safety(const NodeEvent& e, const std::vector<int64_t>& votes);
  void check_leader_completeness(const NodeEvent& e);
  void check_leaders_hold(const NodeEvent& e, int64_t c);
  void check_log_matching(const NodeEvent& e, int64_t from_index);
  void check_committed_kept(const NodeEvent& e, int64_t index, const char* verb);
  void advance_commit(const NodeEvent& e);
  void check_apply_safety(const NodeEvent& e, int64_t index, const Entry& entry);
  void check_apply_result(const NodeEvent& e, int64_t index, const Entry& entry,
                          const Result& traced);

  // TermAdoption
  void note_higher_term(const NodeEvent& e, const DeliveryFacts& msg);
  void check_term_adopted();
  void check_prevote_step();
  void note_leader_contact(const NodeEvent& e, const DeliveryFacts& msg, int from);
  bool has_live_leader(const NodeEvent& e) const;
  void check_quorum_contact(int node, int64_t seq);
  void check_leader_noop();

  // Runtime events
  void runtime_event(Ev kind, const Obj& ev, int64_t seq);
  void on_client_invoke(const Obj& ev, int64_t seq);
  void on_scenario_request(const Obj& msg, int64_t seq);
  void on_scenario_reply(const Obj& msg, int64_t seq, int node);
  void on_client_receive(const Obj& ev, int64_t seq);
  void on_client_complete(const Obj& ev, int64_t seq);
  void on_end(const Obj& ev, int64_t seq);
  void check_linearizability();

  const CheckOptions& options_;
  Report& report_;
  int num_nodes_ = 0;
  // Membership (thesis §4.1): the highest node id (num_nodes, or an add_node fault's node), the
  // ids add_node faults name, and every configuration seen, by id (LogSlot::config).
  int max_id_ = 0;
  std::set<int> joinable_;
  std::vector<Membership> configs_;
  std::unordered_map<uint64_t, int32_t> config_ids_;  // (index, entry hash) -> id
  int32_t intern_config(int64_t index, const Entry& entry);
  const Membership& config_of(const NodeTrack& n) const {
    return configs_[static_cast<size_t>(n.config())];
  }
  void update_configs(NodeTrack& n, int64_t from);
  void on_join(const NodeEvent& e);
  void on_leave(const NodeEvent& e);
  void on_change(const NodeEvent& e, const Obj& ev);
  void on_membership(const NodeEvent& e, const Obj& ev);
  void on_step_down(const NodeEvent& e, const Obj& ev);
  void check_config_entry(const NodeEvent& e, int64_t index, const Membership& before,
                          const Command& after);
  void check_removed_leader(int node, int64_t seq);
  void check_voter_candidate(const NodeEvent& e);
  // The liveness figures (check/liveness.h), from the header on; reported at the end.
  std::optional<LivenessMeter> meter_;
  int num_clients_ = 0;

  int64_t last_seq_ = 0;
  int64_t last_t_ = 0;
  bool ended_ = false;
  int step_node_ = 0;  // node of the current step's input event (0: no step yet)
  int64_t step_seq_ = 0;

  // A message with a term above its receiver's, delivered in the current step.
  struct HigherTerm {
    int node = 0;
    int64_t term = 0;
    int64_t seq = 0;
    std::string type;
    bool candidate_hears_leader = false;  // an AppendEntries of a candidate's own term
  };
  std::optional<HigherTerm> higher_term_;
  // A PreVote or PreVoteResponse delivered in the current step, with the receiver's term and
  // vote before it (thesis §9.6: a pre-vote changes no term or vote).
  struct PreVoteStep {
    int node = 0;
    int64_t term = 0;
    int64_t vote = 0;
    int64_t seq = 0;
    std::string type;
  };
  std::optional<PreVoteStep> prevote_step_;
  // A leader elected with leader_noop on, until the no-op of its term is appended (same step).
  struct NewLeader {
    int node = 0;
    int64_t term = 0;
    int64_t seq = 0;
  };
  std::optional<NewLeader> awaiting_noop_;

  std::vector<NodeTrack> nodes_;  // nodes_[id], id 1..max_id_
  SentMessages sent_;
  // Where the trace can be read again (recover_message); no reopen: never read again.
  struct Source {
    std::function<std::unique_ptr<std::istream>()> reopen;
    std::string name;
    const FastTraceReader* reader = nullptr;  // the pass's reader: its current line
  };
  Source source_;
  int64_t last_message_id_ = -1;

  std::unordered_map<int64_t, std::pair<int, int64_t>> leader_of_term_;  // term -> (node, seq)
  std::unordered_map<uint64_t, PairRecord> pairs_;
  // Every snapshot some node took, by (index, term): the state the node's applies had built
  // there (checked against the sequential model as they went). An install must bring exactly
  // one of these.
  struct TakenSnapshot {
    KvModel kv;
    std::string digest;  // as the first node to take it reported it
    int64_t seq = 0;
    int node = 0;
  };
  std::unordered_map<uint64_t, TakenSnapshot> snapshots_;
  std::vector<CommittedEntry> committed_;    // committed_[i - 1] is index i
  std::vector<int64_t> completeness_stack_;  // indices with strictly increasing commit_term
  std::vector<AppliedRecord> applied_;       // applied_[i - 1] is index i
  // By (client, seq), until the request completes: a result applied after that is never
  // compared (a second client_complete is malformed).
  std::unordered_map<uint64_t, AppliedResult> results_;

  std::unordered_map<uint64_t, ClientRequestTrack> requests_;  // the open requests
  CompletedRequests completed_;
  // The client history, checked as it goes and holding only what later operations can still
  // need (check/linearizability.h): memory bounded by the open operations, not the trace.
  LinearizabilityMonitor history_;
  // The last ClientReply each client was handed: its request's seq and result.
  std::unordered_map<int64_t, std::pair<int64_t, Result>> last_reply_;
  // Requests put on the network with no client_invoke: a scenario's, or explore's
  // (`raftkv replay`, `raftkv explore`), which no client waits for. They are operations of the
  // history all the same -- a get answered with a stale value is as wrong when a scenario asked
  // -- from the client_send (their invocation) to the first ClientReply with a result a node
  // sends for them (their response: the reply leaves the system then, so a correct one took
  // effect within that interval). By (client, seq). A client with a session (not 0) sending
  // the same request again is retrying the same operation. Client 0 has no session and numbers
  // every request 0, so each of its sends is an operation of its own, and a reply to (0, 0)
  // while more than one is open cannot be matched: those stay open, which the history reads as
  // "took effect at some time after its invocation, or never" -- weaker, never wrong.
  struct ScenarioRequest {
    Command cmd;
    std::vector<LinearizabilityMonitor::Handle> history;  // open operations with this number
    bool replied = false;
  };
  std::unordered_map<uint64_t, ScenarioRequest> scenario_requests_;

  // The AppendEntries the current step delivers, if it does: the replies it causes must answer
  // exactly it (Replication).
  struct StepAppend {
    bool present = false;
    int64_t prev_log_index = 0;
    int64_t last_new_index = 0;  // prev_log_index + number of entries
    int64_t last_new_term = 0;   // term of the last entry, or prev_log_term without entries
  };
  StepAppend step_append_;
  // The current step delivers a TimeoutNow of its receiver's term (thesis §3.10): only such a step
  // may start a leadership transfer's election.
  bool step_timeout_now_ = false;

  // Liveness bookkeeping (spec/checks.md, "Liveness").
  struct Timing {
    bool known = false;
    int64_t election_timeout_min_ms = 0;
    int64_t election_timeout_max_ms = 0;
    int64_t heartbeat_interval_ms = 0;
    int64_t network_latency_min_ms = 0;
    int64_t network_latency_max_ms = 0;
    int64_t client_timeout_ms = 0;
    int64_t client_deadline_ms = 0;
    int64_t clock_drift_ppm = 0;  // config.timing.clock_drift_ppm (absent: clocks keep true time)
    double loss = 0;              // config.network.loss (absent: no loss)
    // The longest a timer of `ms` on a node's own clock can take in true time (the trace's
    // time): a clock may run slow by clock_drift_ppm.
    int64_t stretched(int64_t ms) const {
      int64_t rate = 1'000'000 - clock_drift_ppm;
      return (ms * 1'000'000 + rate - 1) / rate;
    }
  };
  Timing timing_;
  bool leader_noop_ = true;           // config.leader_noop (absent in hand-made traces: assume on)
  bool check_quorum_ = false;         // config.raft.check_quorum
  bool read_index_ = false;           // config.raft.read_mode is "read_index" or "lease"
  bool lease_ = false;                // config.raft.read_mode is "lease"
  int64_t snapshot_chunk_bytes_ = 0;  // config.raft.snapshot_chunk_bytes (0: whole snapshots)
  int64_t largest_snapshot_bytes_ = 0;  // the largest `snapshot` event's `bytes` so far
  // The highest term any node has become leader of so far (LeaseRead).
  int64_t newest_leader_term_ = 0;
  int64_t newest_leader_seq_ = 0;
  int newest_leader_ = 0;
  // Reads answered outside the log (`read` events), by (client, seq): every result a node
  // answered the request with (a retried get may be answered more than once, at different
  // times), until the request completes.
  std::unordered_map<uint64_t, std::vector<Result>> read_results_;
  int64_t last_fault_t_ = 0;
  std::vector<int> group_of_;                   // partition group per node (0: not partitioned)
  std::set<std::pair<int64_t, int64_t>> cuts_;  // one-way cut links
  std::deque<std::pair<int64_t, int64_t>> commit_history_;  // (t, highest commit so far)
  // check_liveness's bound, 0 when it judges none.
  int64_t liveness_bound() const {
    if (!options_.liveness) return 0;
    if (options_.liveness_bound_ms > 0) return options_.liveness_bound_ms;
    return timing_.known ? 10 * timing_.election_timeout_max_ms : 0;
  }
  std::unordered_map<uint64_t, int64_t> invoked_at_;  // open client operations: invoke time

  void check_durable_send(const NodeEvent& e, const Obj& msg);
  void check_acknowledgement(const NodeEvent& e, const Obj& msg);
  void check_majority_holds(const NodeEvent& e, int64_t index, uint64_t prefix_hash,
                            const char* what, const Membership& conf);
  void check_committed_survives(const NodeEvent& e, const char* how);
  void on_persist(const NodeEvent& e, const Obj& ev);
  void note_fault();
  void check_liveness(int64_t seq);
  std::vector<std::string> timing_assumption_breaks() const;
  // A client answers its caller by its deadline.
  int64_t client_bound() const { return timing_.client_deadline_ms; }
};

void TraceChecker::fail(const char* check, std::vector<int64_t> seqs, std::vector<int> nodes,
                        const std::string& explanation) const {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  throw Stop{Violation{check, std::move(seqs), std::move(nodes), explanation}};
}

// ---------------------------------------------------------------------------------------------
// Header

// The header's initial_state (a scenario's): what nodes hold on disk before they boot. Their
// logs take part in Log Matching from the start, as if written before the first line.
void TraceChecker::initial_state(const json& header) {
  auto it = header.find("initial_state");
  if (it == header.end()) return;
  if (!it->is_array()) throw FormatIssue("field 'initial_state' must be an array");
  for (const json& s : *it) {
    HeaderObj h(s, "initial_state");
    int64_t id = h.integer("node");
    if (id < 1 || id > num_nodes_) throw FormatIssue(cat("initial_state names node ", id));
    NodeTrack& n = nodes_[static_cast<size_t>(id)];
    n.term = h.integer("term");
    n.vote = h.integer("vote");
    for (const json& e : h.array("log")) {
      HeaderObj entry(e, "initial_state log entry");
      HeaderObj c = entry.object("cmd");
      Command cmd{
          c.str("op"), c.str("key"), c.str("value"), c.integer("client"), c.integer("seq"), {}, {}};
      if (cmd.op == "config") {
        for (const json& v : c.array("voters")) cmd.voters.push_back(v.get<int64_t>());
        for (const json& l : c.array("learners")) cmd.learners.push_back(l.get<int64_t>());
      }
      int64_t term = entry.integer("term");
      Entry full{term, cmd, entry_hash(term, cmd)};
      int64_t index = n.last_index() + 1;
      int32_t config = cmd.op == "config" ? intern_config(index, full) : n.config();
      n.log.push_back(LogSlot{term, full.hash, 0, config});
    }
    n.durable_term = n.term;
    n.durable_vote = n.vote;
    n.durable_log = n.log;
    n.unsynced_from = n.last_index() + 1;
    NodeEvent e{Ev::Start, 0, static_cast<int>(id), &n, NodeState{}};
    check_log_matching(e, 1);
    n.durable_log = n.log;  // with the prefix hashes Log Matching filled in
  }
}

void TraceChecker::header(const json& j) {
  HeaderObj h(j, "");
  const std::string& format = h.str("format");
  if (format != "raftkv-trace") {
    throw FormatIssue("format is " + quote(format) + ", expected \"raftkv-trace\"");
  }
  int64_t version = h.integer("version");
  if (!trace::readable_version(version)) throw FormatIssue(trace::version_mismatch(version));
  h.integer("seed");
  for (const json& bug : h.array("planted_bugs")) {
    if (!bug.is_string()) throw FormatIssue("field 'planted_bugs' must be an array of strings");
    report_.planted_bugs.push_back(bug.get<std::string>());
  }
  HeaderObj config = h.object("config");
  num_nodes_ = static_cast<int>(config.integer("num_nodes"));
  num_clients_ = static_cast<int>(config.integer("num_clients"));
  if (num_nodes_ < 1 || num_nodes_ > kMaxNodes) {
    throw FormatIssue(cat("config.num_nodes must be in 1..", kMaxNodes));
  }
  // Membership (thesis §4.1): the ids an add_node fault may bring in exist too, from their join.
  max_id_ = num_nodes_;
  if (config.raw().contains("faults") && config.raw()["faults"].is_array()) {
    for (const json& f : config.raw()["faults"]) {
      if (!f.is_object() || !f.contains("action") || f["action"] != "add_node") continue;
      HeaderObj fault(f, "config.faults");
      int64_t id = fault.integer("node");
      if (id <= num_nodes_ || id > kMaxNodes) {
        throw FormatIssue(cat("an add_node fault names node ", id, ", which must be in ",
                              num_nodes_ + 1, "..", kMaxNodes));
      }
      max_id_ = std::max(max_id_, static_cast<int>(id));
      joinable_.insert(static_cast<int>(id));
    }
  }
  nodes_.assign(static_cast<size_t>(max_id_) + 1, NodeTrack{});
  for (int id = num_nodes_ + 1; id <= max_id_; ++id) {
    nodes_[static_cast<size_t>(id)].joined = false;
    nodes_[static_cast<size_t>(id)].down = true;
  }
  configs_.clear();
  config_ids_.clear();
  Membership bootstrap;
  for (int id = 1; id <= num_nodes_; ++id) bootstrap.voters.push_back(id);
  configs_.push_back(bootstrap);
  meter_.emplace(num_nodes_, max_id_);
  group_of_.assign(static_cast<size_t>(max_id_) + 1, 0);
  report_.counts["nodes"] = num_nodes_;
  initial_state(j);
  // The bounds of the liveness checks come from the run's timing (absent in hand-made traces).
  if (config.raw().contains("leader_noop")) leader_noop_ = config.boolean("leader_noop");
  if (config.raw().contains("raft")) {
    HeaderObj raft = config.object("raft");
    if (raft.raw().contains("check_quorum")) check_quorum_ = raft.boolean("check_quorum");
    if (raft.raw().contains("read_mode")) {
      const std::string& mode = raft.str("read_mode");
      if (mode != "log" && mode != "read_index" && mode != "lease") {
        throw FormatIssue(
            "field 'config.raft.read_mode' must be \"log\", \"read_index\" or \"lease\"");
      }
      read_index_ = mode != "log";
      lease_ = mode == "lease";
    }
    if (raft.raw().contains("snapshot_chunk_bytes")) {
      snapshot_chunk_bytes_ = raft.integer("snapshot_chunk_bytes");
    }
  }
  if (config.raw().contains("timing")) {
    HeaderObj timing = config.object("timing");
    timing_.known = true;
    timing_.election_timeout_min_ms = timing.integer("election_timeout_min_ms");
    timing_.election_timeout_max_ms = timing.integer("election_timeout_max_ms");
    timing_.heartbeat_interval_ms = timing.integer("heartbeat_interval_ms");
    timing_.network_latency_min_ms = timing.integer("network_latency_min_ms");
    timing_.network_latency_max_ms = timing.integer("network_latency_max_ms");
    timing_.client_timeout_ms = timing.integer("client_timeout_ms");
    timing_.client_deadline_ms = timing.integer("client_deadline_ms");
    if (timing.raw().contains("clock_drift_ppm")) {
      timing_.clock_drift_ppm = timing.integer("clock_drift_ppm");
      if (timing_.clock_drift_ppm < 0 || timing_.clock_drift_ppm >= 1'000'000) {
        throw FormatIssue("field 'config.timing.clock_drift_ppm' must be in 0..999999");
      }
    }
  }
  if (config.raw().contains("network")) {
    // A probability is written as a decimal string (spec/trace-schema.md).
    const std::string& loss = config.object("network").str("loss");
    char* end = nullptr;
    timing_.loss = std::strtod(loss.c_str(), &end);
    if (loss.empty() || *end != '\0' || !(timing_.loss >= 0 && timing_.loss < 1)) {
      throw FormatIssue("field 'config.network.loss' must be a probability in [0, 1) as a string");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WellFormed

void TraceChecker::check_order(int64_t seq, int64_t t) {
  // The reader (trace/reader.h) has already rejected a seq out of order and
  // time going back as malformed input, as replay and export-tla do.
  last_seq_ = seq;
  last_t_ = t;
}

void TraceChecker::check_node_id(int64_t id, int64_t seq, const char* what, bool zero_ok) const {
  // A node the cluster does not have is malformed input, not a protocol
  // violation: replay and export-tla cannot even drive such a line, and every
  // reader of traces gives malformed input the same verdict (exit 2).
  (void)seq;
  if ((zero_ok && id == 0) || (id >= 1 && id <= num_nodes_)) return;
  if (id > num_nodes_ && joinable_.count(static_cast<int>(id)) > 0) return;
  throw FormatIssue(cat("node ", id, " (", what, ") does not exist: the cluster has nodes 1..",
                        num_nodes_, " (config.num_nodes)",
                        joinable_.empty() ? "" : " and those the add_node faults name",
                        zero_ok ? ", and 0 means none" : ""));
}

void TraceChecker::check_client_id(int64_t id, int64_t seq) const {
  if (id >= 1 && id <= num_clients_) return;
  fail(kWellFormed, {seq}, {},
       cat("Event seq ", seq, " names client ", id, ", but the run has clients 1..", num_clients_,
           " (config.num_clients)."));
}

// A node's currentTerm never decreases (Figure 2: it is persistent state and only ever set to a
// higher term), including across a crash and restart.
void TraceChecker::check_term(const NodeEvent& e) {
  if (e.st.term >= e.node->term) return;
  fail(kWellFormed, {e.seq}, {e.id},
       cat("Node ", e.id, "'s term goes down from ", e.node->term, " to ", e.st.term, " at seq ",
           e.seq,
           ". currentTerm is persistent state that only ever increases (Raft Figure 2, "
           "§5.1), across crashes and restarts too."));
}

// The event's `state` is the node's post-state: it must agree with what the checker rebuilt
// from the events so far (log from append/truncate, applied index from apply, role down while
// crashed). Without this, the log-based checks below would be checking a different log.
void TraceChecker::check_post_state(const NodeEvent& e) {
  NodeTrack& n = *e.node;
  auto bad = [&](const std::string& what) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, "'s state at seq ", e.seq, " disagrees with its events: ", what,
             ". Every node event's state is the node's complete post-state (trace-schema "
             "\"Invariants\"), and the log is rebuilt from append and truncate events alone."));
  };
  if ((e.st.role == Role::Down) != n.down) {
    bad(cat("role is ", role_name(e.st.role), " while the node is ",
            n.down ? "crashed" : "running"));
  }
  if (e.st.last_index != n.last_index() || e.st.last_term != n.last_term()) {
    bad(cat("state says last_index ", e.st.last_index, ", last_term ", e.st.last_term,
            " but its log events give last_index ", n.last_index(), ", last_term ", n.last_term()));
  }
  n.term = e.st.term;
  if (n.down) return;  // volatile state is gone while crashed; restart starts it from zero
  if (e.st.applied != n.applied) {
    bad(cat("state says applied ", e.st.applied, " but its apply events reach index ", n.applied));
  }
  if (e.st.commit < n.commit) {
    bad(cat("commit index goes down from ", n.commit, " to ", e.st.commit,
            " without a restart (Figure 2: commitIndex increases monotonically)"));
  }
  if (e.st.commit > n.commit) advance_commit(e);
}

SentMessage& TraceChecker::sent_message(const Obj& msg, int64_t seq, const char* event) {
  int64_t id = msg.integer("id");
  SentMessage* m = find_message(id);
  if (m == nullptr) {
    fail(kWellFormed, {seq}, {},
         cat("The ", event, " at seq ", seq, " names message id ", id,
             ", which no earlier send or client_send carried. The network can only deliver, "
             "drop or duplicate a message that was sent."));
  }
  if (m->hash != hash_json(msg.raw())) {
    fail(kWellFormed, {m->seq, seq}, {},
         cat("The ", event, " at seq ", seq, " carries message id ", id,
             " with different contents from the message sent under that id at seq ", m->seq,
             ". The network must not alter messages: a deliver, drop or "
             "duplicate repeats the sent message object exactly."));
  }
  return *m;
}

// The message a deliver names by its msg_id: one an earlier send or client_send carried.
SentMessage& TraceChecker::delivered_message(int64_t id, int64_t seq) {
  SentMessage* m = find_message(id);
  if (m == nullptr) {
    fail(kWellFormed, {seq}, {},
         cat("The deliver at seq ", seq, " names message id ", id,
             " (msg_id), which no earlier send or client_send carried. The network can only "
             "deliver a message that was sent."));
  }
  return *m;
}

namespace {
// At send time, what a later deliver of the message is checked against (see DeliveryFacts).
DeliveryFacts delivery_facts(const Obj& msg, const std::string& type) {
  // string_views, whose lengths are known: comparing with a const char* measured it each time.
  static constexpr std::string_view kTypes[] = {"RequestVote",         "RequestVoteResponse",
                                                "AppendEntries",       "AppendEntriesResponse",
                                                "CommitNotification",  "ClientRequest",
                                                "ClientReply",         "PreVote",
                                                "PreVoteResponse",     "ReadConfirm",
                                                "ReadConfirmResponse", "TimeoutNow",
                                                "InstallSnapshot",     "InstallSnapshotResponse"};
  DeliveryFacts f;
  for (std::string_view t : kTypes) {
    if (std::string_view(type) == t) f.type = t.data();  // literals: NUL-terminated
  }
  if (type == "ClientRequest" || type == "ClientReply") return f;
  f.term = static_cast<int32_t>(msg.integer("term"));
  if (type == "RequestVote") f.transfer = msg.has("transfer") && msg.boolean("transfer");
  if (type != "AppendEntries") return f;
  element entries = msg.array("entries");
  f.prev_log_index = static_cast<int32_t>(msg.integer("prev_log_index"));
  f.last_new_index = f.prev_log_index + static_cast<int32_t>(entries.size());
  f.last_new_term = static_cast<int32_t>(msg.integer("prev_log_term"));
  for (element entry : entries) {
    f.last_new_term =
        static_cast<int32_t>(Obj(entry, &msg, "entries", Obj::kAnyIndex).integer("term"));
  }
  return f;
}
}  // namespace

// A message put on the network: by node `node`, or by a client when `node` is 0.
void TraceChecker::record_send(const Obj& msg, int64_t seq, int node) {
  MessageInfo info = validate_message(msg);
  auto bad = [&](const std::string& what) {
    fail(kWellFormed, {seq}, node ? std::vector<int>{node} : std::vector<int>{},
         cat("Message id ", info.id, " (", info.type, ") sent at seq ", seq, " ", what, "."));
  };
  if (info.id <= last_message_id_) {
    bad(cat("does not have an id above the previous one (", last_message_id_,
            "): ids are unique and increase in send order"));
  }
  last_message_id_ = info.id;
  bool by_client = node == 0;
  if (by_client != (info.type == "ClientRequest")) {
    bad(by_client ? "comes from a client, which only sends ClientRequest"
                  : "comes from a node, but only clients send ClientRequest");
  }
  if (info.from != node) bad(cat("has from=", info.from, ", expected ", node));
  if (info.type == "ClientReply") {
    if (info.to != 0) bad(cat("has to=", info.to, "; a reply to a client has to=0"));
  } else {
    check_node_id(info.to, seq, "a message's receiver");
    if (info.to == node) bad("is addressed to its own sender");
  }
  sent_.add(SentMessage{info.id, hash_json(msg.raw()), seq, 1, info.to,
                        delivery_facts(msg, info.type), info.from});
  count("messages");
}

SentMessage* TraceChecker::find_message(int64_t id) {
  if (SentMessage* m = sent_.find(id)) return m;
  return recover_message(id);
}

void TraceChecker::release(SentMessage& m) {
  // Without a way to read the trace again, nothing is forgotten.
  if (m.copies == 0 && source_.reopen) sent_.forget(m.id);
}

// Reads the trace again, from its first line to the one before the current, for the send of
// message `id`, and puts its record back as it was when forgotten (no copy left). Only when an
// event names a message the store no longer holds: never for a trace the runtime wrote without
// faults in it, as every copy it uses up was sent or duplicated before.
SentMessage* TraceChecker::recover_message(int64_t id) {
  if (!source_.reopen || id > last_message_id_) return nullptr;  // ids rise in send order
  std::unique_ptr<std::istream> in = source_.reopen();
  if (!in || !*in) {
    throw TraceFormatError(
        source_.name, 0,
        "cannot open the trace file again (to find message " + std::to_string(id) + ")");
  }
  FastTraceReader again(*in, source_.name);
  json header;
  again.read_header(header);
  LineValue line;
  while (again.next(line) && again.line() < source_.reader->line()) {
    const std::optional<Ev>& kind = events_by_index()[again.event_index()];
    if (kind != Ev::Send && kind != Ev::ClientSend && kind != Ev::Inject) continue;
    Obj ev(line);
    Obj msg = ev.object("msg");
    if (msg.integer("id") != id) continue;
    MessageInfo info = validate_message(msg);
    return &sent_.add(SentMessage{id, hash_json(msg.raw()), ev.integer("seq"), 0, info.to,
                                  delivery_facts(msg, info.type), info.from});
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Node events

NodeState TraceChecker::line_state(const Obj& ev, int64_t id) {
  NodeTrack& n = nodes_[static_cast<size_t>(id)];
  if (ev.has("state")) {
    // Schema version 4: the fields the line writes are those that changed;
    // the others are the node's previous state's, and a first state names
    // them all.
    Obj s = ev.object("state");
    if (!n.has_line_state) {
      for (const char* field : trace::kStateFields) {
        if (!s.has(field)) throw FormatIssue(trace::incomplete_state(id, field));
      }
    }
    n.line_state = parse_state_change(s, n.line_state);
    n.has_line_state = true;
  } else if (!n.has_line_state) {
    throw FormatIssue(trace::missing_state(id));
  }
  return n.line_state;
}

void TraceChecker::node_event(Ev kind, const Obj& ev, int64_t seq) {
  int64_t id = ev.integer("node");
  check_node_id(id, seq, "the event's node");
  NodeState st = line_state(ev, id);
  NodeEvent e{kind, seq, static_cast<int>(id), &nodes_[static_cast<size_t>(id)], st};
  std::string_view name = event_name_;
  if (meter_) {
    meter_->node_state(e.id, st.term, meter_role(st.role));
    if (kind == Ev::BecomeCandidate) meter_->election_started(e.id, st.term);
  }
  if (!e.node->joined && kind != Ev::Join) {
    fail(kWellFormed, {seq}, {e.id},
         cat("Node ", e.id, " is above config.num_nodes and has not joined, yet event seq ", seq,
             " (", name, ") happens at it. A server added by add_node exists from its join on."));
  }
  if (e.node->left) {
    fail(kWellFormed, {seq}, {e.id},
         cat("Node ", e.id, " left the cluster, yet event seq ", seq, " (", name,
             ") happens at it. A removed server is shut down for good."));
  }
  // A removed server that is already down is shut down for good all the same.
  if (e.node->down && kind != Ev::Restart && kind != Ev::Join && kind != Ev::Leave) {
    fail(kWellFormed, {seq}, {e.id},
         cat("Node ", e.id, " is crashed, yet event seq ", seq, " (", name,
             ") happens at it. A crashed node does nothing until it restarts."));
  }
  if (is_input(kind)) {
    step_node_ = e.id;
    step_seq_ = seq;
  } else if (step_node_ != e.id) {
    std::string current = step_node_ == 0 ? std::string(": no step has begun")
                                          : cat(": the current step (seq ", step_seq_,
                                                ") belongs to node ", step_node_);
    fail(kWellFormed, {step_seq_, seq}, {e.id},
         cat("Effect event seq ", seq, " (", name, ") at node ", e.id,
             " is not inside a step of node ", e.id, current,
             ". A node acts only while handling an input event of its own."));
  }
  if (kind == Ev::Restart) on_restart(e);  // before check_term: a lost term is a Durability fault
  if (kind == Ev::Join) on_join(e);
  check_term(e);
  if (is_input(kind)) {
    step_append_ = StepAppend{};
    step_timeout_now_ = false;
  }

  // ElectionSafety, judged from every state: at most one node is leader in a term.
  if (st.role == Role::Leader) {
    auto [it, inserted] = leader_of_term_.try_emplace(st.term, e.id, seq);
    if (!inserted && it->second.first != e.id) {
      auto [other, other_seq] = it->second;
      fail(kElectionSafety, {other_seq, seq}, {other, e.id},
           cat("Node ", e.id, " is leader of term ", st.term, " at seq ", seq, ", but node ", other,
               " was leader of term ", st.term, " at seq ", other_seq,
               ". Election Safety (Raft Figure 3, §5.2): at most one leader per term."));
    }
    if (e.node->leader_since_fault_t < 0) e.node->leader_since_fault_t = last_t_;
  }

  switch (kind) {
    case Ev::Start: break;
    case Ev::Deliver: on_deliver(e, ev); break;
    case Ev::Transfer: on_transfer(e, ev); break;
    case Ev::TransferAbort: on_transfer_abort(e, ev); break;
    case Ev::Timeout:
      ev.one_of("timer", {"election", "heartbeat", "start_election", "check_quorum", "transfer"});
      if (check_quorum_) {
        check_quorum_contact(e.id, seq);
        // An election timeout means the node no longer counts on its leader.
        if (ev.str("timer") != "heartbeat" && ev.str("timer") != "check_quorum") {
          e.node->contact_term = 0;
          e.node->promise_t = -1;
        }
      }
      break;
    case Ev::Crash: on_crash(e); break;
    case Ev::Restart: break;  // handled above
    case Ev::Join: break;     // handled above
    case Ev::Leave: on_leave(e); break;
    case Ev::Change: on_change(e, ev); break;
    case Ev::Membership: on_membership(e, ev); break;
    case Ev::RejectChange:
      ev.one_of("action", {"add", "remove"});
      ev.integer("target");
      ev.one_of("reason", {"not_leader", "transfer", "change_pending", "term_not_committed",
                           "already_member", "not_member", "last_voter", "invalid_target"});
      break;
    case Ev::TermUpdate: on_term_update(e, ev); break;
    case Ev::BecomeCandidate: check_voter_candidate(e); break;
    case Ev::BecomePrecandidate: check_voter_candidate(e); break;
    case Ev::BecomeLeader: on_become_leader(e, ev); break;
    case Ev::BecomeFollower: check_node_id(ev.integer("leader"), seq, "leader", true); break;
    case Ev::StepDown: on_step_down(e, ev); break;
    case Ev::Vote:
      check_node_id(ev.integer("candidate"), seq, "candidate");
      ev.boolean("granted");
      ev.one_of("reason", {"", "stale_term", "already_voted", "log_not_up_to_date", "leader_live"});
      break;
    case Ev::PreVote:
      check_node_id(ev.integer("candidate"), seq, "candidate");
      ev.boolean("granted");
      ev.one_of("reason", {"", "stale_term", "leader_live", "log_not_up_to_date"});
      break;
    case Ev::Truncate: on_truncate(e, ev); break;
    case Ev::Append: on_append(e, ev); break;
    case Ev::Progress:
      check_node_id(ev.integer("peer"), seq, "peer");
      require_ints(ev, {"next_index", "match_index"});
      ev.one_of("mode", {"probe", "replicate"});
      break;
    case Ev::Commit: on_commit(e, ev); break;
    case Ev::Apply: on_apply(e, ev); break;
    case Ev::Persist: on_persist(e, ev); break;
    case Ev::Send: on_send(e, ev); break;
    case Ev::Read: on_read(e, ev); break;
    case Ev::Snapshot: on_snapshot(e, ev); break;
    case Ev::InstallSnapshot: on_install_snapshot(e, ev); break;
    case Ev::RejectClient:
      require_ints(ev, {"client", "client_seq"});
      check_node_id(ev.integer("leader_hint"), seq, "leader_hint", true);
      break;
    default: break;
  }
  check_post_state(e);
  e.node->role = st.role;
  e.node->vote = st.vote;
  if (kind == Ev::Crash || kind == Ev::Leave) {
    // The crash state shows the node's memory; from now on it holds only what it persisted.
    NodeTrack& n = *e.node;
    n.term_before_crash = n.term;
    n.log = n.durable_log;
    n.unsynced_from = n.last_index() + 1;
    check_committed_survives(e, kind == Ev::Crash ? "crashed" : "left");
  }
  if (meter_ && e.node->meter_config != e.node->config()) {
    e.node->meter_config = e.node->config();
    meter_->set_voters(e.id, config_of(*e.node).voters);
  }
}

void TraceChecker::on_deliver(const NodeEvent& e, const Obj& ev) {
  SentMessage& m = delivered_message(ev.integer("msg_id"), e.seq);
  if (check_quorum_) {
    check_quorum_contact(e.id, e.seq);  // judged before this message counts
    note_leader_contact(e, m.facts, m.from);
  }
  note_higher_term(e, m.facts);
  // A TimeoutNow not older than the receiver's term (a higher one is adopted first).
  if (std::string_view(m.facts.type) == "TimeoutNow" && m.facts.term >= e.st.term) {
    step_timeout_now_ = true;
  }
  if (std::string_view(m.facts.type) == "AppendEntries") {
    if (meter_) meter_->append_entries_delivered(e.id, m.from, m.facts.term);
    step_append_.present = true;
    step_append_.prev_log_index = m.facts.prev_log_index;
    step_append_.last_new_index = m.facts.last_new_index;
    step_append_.last_new_term = m.facts.last_new_term;
  }
  if (m.to != 0 && m.to != e.id) {
    fail(kWellFormed, {m.seq, e.seq}, {e.id, m.to},
         cat("Message sent at seq ", m.seq, " to node ", m.to, " is delivered to node ", e.id,
             " at seq ", e.seq, "."));
  }
  if (--m.copies < 0) {
    fail(kWellFormed, {m.seq, e.seq}, {e.id},
         cat("Message sent at seq ", m.seq, " is delivered at seq ", e.seq,
             " more often than it "
             "was sent and duplicated (every deliver or drop uses up one copy)."));
  }
  count("deliveries");
  release(m);
}

void TraceChecker::on_crash(const NodeEvent& e) {
  e.node->down = true;
  note_fault();
  count("crashes");
}

// Restart: persisted term, vote and log survive; commit, applied and the store start from zero.
void TraceChecker::on_restart(const NodeEvent& e) {
  NodeTrack& n = *e.node;
  // Thesis §6.4.1: a restarted server may have answered a lease round just before it crashed.
  if (lease_) n.promise_t = last_t_;
  if (!n.down) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " restarts at seq ", e.seq, " without having crashed."));
  }
  // §7: a restart loads the stored snapshot: commit and applied start at its index (0 without).
  int64_t base = n.durable_snap.index;
  if (e.st.commit != base || e.st.applied != base || e.st.role != Role::Follower) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " restarts at seq ", e.seq, " as ", role_name(e.st.role),
             " with commit ", e.st.commit, " and applied ", e.st.applied,
             "; a restarted node is a follower with commit and applied at its stored snapshot's "
             "index, ",
             base, " (0 without a snapshot)."));
  }
  // Durability: a restart brings back exactly what the node persisted.
  int64_t durable_last_term = n.durable_log.empty() ? 0 : n.durable_log.back().term;
  if (e.st.term != n.durable_term || e.st.vote != n.durable_vote ||
      e.st.last_index != static_cast<int64_t>(n.durable_log.size()) ||
      e.st.last_term != durable_last_term) {
    fail(kDurability, {e.seq}, {e.id},
         cat("Node ", e.id, " restarts at seq ", e.seq, " with term ", e.st.term, ", vote ",
             e.st.vote, " and a log of ", e.st.last_index, " entries (last term ", e.st.last_term,
             "), but what it persisted before crashing is term ", n.durable_term, ", vote ",
             n.durable_vote, " and ", n.durable_log.size(), " entries (last term ",
             durable_last_term,
             "). A restarted server has exactly its persistent state (Raft Figure 2: currentTerm, "
             "votedFor and log[] are updated on stable storage before responding to RPCs)."));
  }
  if (n.durable_term < n.term_before_crash) {
    fail(kDurability, {e.seq}, {e.id},
         cat("Node ", e.id, " was in term ", n.term_before_crash,
             " when it crashed but restarts at seq ", e.seq, " in term ", n.durable_term,
             ": it never persisted its current term. Figure 2: currentTerm is persistent state, "
             "written before the server responds to any RPC."));
  }
  n.down = false;
  n.snap = n.durable_snap;
  n.commit = n.snap.index;
  n.applied = n.snap.index;
  n.kv = n.snap.kv;
  note_fault();
  count("restarts");
}

// A persist writes the node's term, vote and log: it must write what the node holds.
void TraceChecker::on_persist(const NodeEvent& e, const Obj& ev) {
  NodeTrack& n = *e.node;
  int64_t term = ev.integer("term");
  int64_t vote = ev.integer("vote");
  int64_t log_len = ev.integer("log_len");
  if (term != e.st.term || vote != e.st.vote || log_len != n.last_index()) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("persist at seq ", e.seq, " writes term ", term, ", vote ", vote, " and ", log_len,
             " log entries, but node ", e.id, " holds term ", e.st.term, ", vote ", e.st.vote,
             " and ", n.last_index(), " entries; a persist writes the node's own state."));
  }
  n.durable_term = term;
  n.durable_vote = vote;
  size_t keep = static_cast<size_t>(std::min<int64_t>(n.unsynced_from - 1, n.last_index()));
  n.durable_log.resize(std::min(keep, n.durable_log.size()));
  n.durable_log.insert(n.durable_log.end(), n.log.begin() + static_cast<long>(n.durable_log.size()),
                       n.log.end());
  n.unsynced_from = n.last_index() + 1;
  count("persists");
}

void TraceChecker::on_term_update(const NodeEvent& e, const Obj& ev) {
  int64_t old_term = ev.integer("old_term");
  if (old_term != e.node->term || e.st.term <= old_term) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("term_update at seq ", e.seq, " says node ", e.id, " moved from term ", old_term,
             " to ", e.st.term, ", but its term was ", e.node->term,
             "; a term update adopts a strictly higher term (§5.1)."));
  }
}

void TraceChecker::on_become_leader(const NodeEvent& e, const Obj& ev) {
  std::vector<int64_t> votes = ev.int_array("votes");
  for (int64_t v : votes) check_node_id(v, e.seq, "a voter");
  check_election_safety(e, votes);
  check_leader_completeness(e);
  count("leaders");
  if (leader_noop_) awaiting_noop_ = NewLeader{e.id, e.st.term, e.seq};
  e.node->leader_since_t = last_t_;
  e.node->heard_t.assign(static_cast<size_t>(max_id_) + 1, -1);
  if (e.st.term > newest_leader_term_) {
    newest_leader_term_ = e.st.term;
    newest_leader_seq_ = e.seq;
    newest_leader_ = e.id;
  }
}

void TraceChecker::on_truncate(const NodeEvent& e, const Obj& ev) {
  NodeTrack& n = *e.node;
  int64_t from = ev.integer("from_index");
  int64_t removed = ev.integer("removed");
  // Leader Append-Only (Figure 3, §5.3): a leader never overwrites or deletes log entries.
  if (e.st.role == Role::Leader) {
    fail(kLeaderAppendOnly, {e.seq}, {e.id},
         cat("Node ", e.id, " truncated its log from index ", from, " (", removed,
             " entries) at seq ", e.seq, " while leader of term ", e.st.term,
             ". Leader Append-Only (Raft Figure 3, §5.3): a leader never overwrites or deletes "
             "entries in its log; it only appends. Only followers delete conflicting entries."));
  }
  if (from < 1 || from > n.last_index() || removed != n.last_index() - from + 1) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("truncate at seq ", e.seq, " removes ", removed, " entries from index ", from,
             " of node ", e.id, "'s log of ", n.last_index(), " entries; it must remove index ",
             "from_index through the last index, and from_index must exist."));
  }
  check_committed_kept(e, from, "deleted");
  n.log.resize(static_cast<size_t>(from - 1));
  n.unsynced_from = std::min(n.unsynced_from, from);
  check_committed_survives(e, "truncated its log");
}

// A node never removes or replaces an entry at or below its own commit index: committed entries
// are final (State Machine Safety, Figure 3, §5.4.3; a correct follower's conflicts are always
// above its commit index, because every leader holds all committed entries, §5.4).
void TraceChecker::check_committed_kept(const NodeEvent& e, int64_t index, const char* verb) {
  if (index > e.node->commit) return;
  fail(kStateMachineSafety, {e.seq}, {e.id},
       cat("Node ", e.id, " ", verb, " its entry at index ", index, " (term ",
           e.node->term_at(index), ") at seq ", e.seq, " although its commit index is ",
           e.node->commit,
           ". State Machine Safety (Raft Figure 3, §5.4.3): a committed entry "
           "is final; no node may replace it, or nodes would apply different commands at that "
           "index."));
}

void TraceChecker::on_append(const NodeEvent& e, const Obj& ev) {
  NodeTrack& n = *e.node;
  int64_t first = ev.integer("first_index");
  std::vector<Entry> entries = parse_entries(ev, "entries");
  if (awaiting_noop_ && awaiting_noop_->node == e.id && !entries.empty() &&
      entries.front().cmd.op == "noop" && entries.front().term == awaiting_noop_->term) {
    awaiting_noop_.reset();
  }
  // LeaderTransfer (thesis §3.10): while a transfer is under way the leader takes no new client
  // command, so that the target can catch up with a log that stops growing.
  if (n.transferring(e.st)) {
    for (const Entry& entry : entries) {
      if (entry.cmd.op == "noop") continue;
      fail(kLeaderTransfer, {e.seq}, {e.id},
           cat("Node ", e.id, ", leader of term ", e.st.term, ", appends a client command (client ",
               entry.cmd.client, ", seq ", entry.cmd.seq, ") at seq ", e.seq,
               " while its transfer of leadership to node ", n.transfer_to,
               " is under way. Raft thesis §3.10: the leader stops accepting client requests "
               "during a transfer."));
      break;
    }
  }
  // Leader Append-Only (Figure 3, §5.3): a leader appends new entries only at the end.
  if (e.st.role == Role::Leader && first != n.last_index() + 1) {
    fail(kLeaderAppendOnly, {e.seq}, {e.id},
         cat("Node ", e.id, " wrote ", entries.size(), " entries at index ", first, " at seq ",
             e.seq, " while leader of term ", e.st.term, " with a log ending at index ",
             n.last_index(),
             ". Leader Append-Only (Raft Figure 3, §5.3): a leader only appends "
             "at its last index + 1 and never overwrites entries."));
  }
  if (first < 1 || first > n.last_index() + 1) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("append at seq ", e.seq, " writes at index ", first, " but node ", e.id,
             "'s log ends at index ", n.last_index(), "; a log has no holes."));
  }
  n.unsynced_from = std::min(n.unsynced_from, first);
  // Membership (thesis §4.1): every node in a configuration entry exists, and a leader's
  // configuration entries are single-server changes made one at a time (MembershipChange).
  int32_t before = first >= 2 ? n.log[static_cast<size_t>(first - 2)].config : 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Command& cmd = entries[i].cmd;
    if (cmd.op != "config") continue;
    for (int64_t v : cmd.voters) check_node_id(v, e.seq, "a voter of a configuration entry");
    for (int64_t l : cmd.learners) check_node_id(l, e.seq, "a learner of a configuration entry");
    int64_t index = first + static_cast<int64_t>(i);
    if (e.st.role == Role::Leader) {
      check_config_entry(e, index, configs_[static_cast<size_t>(before)], cmd);
    }
    before = intern_config(index, entries[i]);
  }
  // Entries at or below the last index overwrite in place (only a buggy node does that: a
  // correct follower truncates first); the rest extend the log.
  size_t at = static_cast<size_t>(first - 1);
  for (const Entry& entry : entries) {
    int32_t config = entry.cmd.op == "config" ? intern_config(static_cast<int64_t>(at) + 1, entry)
                                              : (at == 0 ? 0 : n.log[at - 1].config);
    LogSlot slot{entry.term, entry.hash, 0, config};
    if (at < n.log.size()) {
      if (n.log[at].entry_hash != entry.hash) {
        check_committed_kept(e, static_cast<int64_t>(at) + 1, "overwrote");
      }
      n.log[at] = slot;
    } else {
      n.log.push_back(slot);
    }
    ++at;
  }
  update_configs(n, static_cast<int64_t>(at) + 1);
  if (entries.empty()) return;
  check_log_matching(e, first);
}

// ---------------------------------------------------------------------------------------------
// Membership (thesis §4.1)

int32_t TraceChecker::intern_config(int64_t index, const Entry& entry) {
  uint64_t key = mix(entry.hash, static_cast<uint64_t>(index));
  auto [it, inserted] = config_ids_.try_emplace(key, static_cast<int32_t>(configs_.size()));
  if (inserted) {
    configs_.push_back(Membership{index, entry.cmd.voters, entry.cmd.learners});
    counter("config_entries") = static_cast<int64_t>(configs_.size()) - 1;
  }
  return it->second;
}

// After an in-place overwrite: the slots from `from` on that are not configuration entries take
// the configuration of the slot before them.
void TraceChecker::update_configs(NodeTrack& n, int64_t from) {
  for (int64_t i = std::max<int64_t>(from, 1); i <= n.last_index(); ++i) {
    LogSlot& slot = n.log[static_cast<size_t>(i - 1)];
    if (configs_[static_cast<size_t>(slot.config)].index == i) continue;  // its own entry
    slot.config = i == 1 ? 0 : n.log[static_cast<size_t>(i - 2)].config;
  }
}

// A join boots a new, empty server (an id an add_node fault names).
void TraceChecker::on_join(const NodeEvent& e) {
  NodeTrack& n = *e.node;
  if (n.joined) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " joins at seq ", e.seq, ", but it ",
             e.id <= num_nodes_ ? "is a bootstrap server (1..config.num_nodes)" : "joined before",
             ". A join boots a server that add_node brings in, once."));
  }
  if (e.st.term != 0 || e.st.vote != 0 || e.st.role != Role::Follower || e.st.commit != 0 ||
      e.st.applied != 0 || e.st.last_index != 0) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " joins at seq ", e.seq, " as ", role_name(e.st.role), " in term ",
             e.st.term, " with a log of ", e.st.last_index,
             " entries; a new server boots empty: follower, term 0, no vote, commit 0."));
  }
  n.joined = true;
  n.down = false;
  note_fault();
  count("joins");
}

// A leave shuts a removed server down for good: its removal is committed.
void TraceChecker::on_leave(const NodeEvent& e) {
  const Membership& committed =
      configs_[static_cast<size_t>(committed_.empty() ? 0 : committed_.back().config)];
  if (committed.is_voter(e.id) || committed.is_learner(e.id)) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " leaves at seq ", e.seq, ", but the latest committed configuration, ",
             committed.describe(),
             ", still has it. The runtime shuts a server down only once "
             "its removal is committed."));
  }
  e.node->down = true;
  e.node->left = true;
  note_fault();
  count("leaves");
}

void TraceChecker::on_change(const NodeEvent& e, const Obj& ev) {
  (void)e;
  ev.one_of("action", {"add", "remove"});
  ev.integer("target");
  count("changes");
}

// WellFormed: the configuration a node reports is the one its own log (or snapshot) gives.
void TraceChecker::on_membership(const NodeEvent& e, const Obj& ev) {
  int64_t index = ev.integer("index");
  std::vector<int64_t> learners = ev.int_array("learners");
  std::vector<int64_t> voters = ev.int_array("voters");
  const Membership& conf = config_of(*e.node);
  if (index == conf.index && voters == conf.voters && learners == conf.learners) return;
  fail(kWellFormed, {e.seq}, {e.id},
       cat("Node ", e.id, " reports at seq ", e.seq, " the configuration voters {", join(voters),
           "}, learners {", join(learners), "} from index ", index,
           ", but the one in effect by its log is ", conf.describe(),
           ". Thesis §4.1: a server uses the latest configuration in its log, committed or not "
           "(else its snapshot's, else the bootstrap one)."));
}

void TraceChecker::on_step_down(const NodeEvent& e, const Obj& ev) {
  for (int64_t v : ev.int_array("heard_from")) check_node_id(v, e.seq, "heard_from");
  if (!ev.has("removed") || !ev.boolean("removed")) return;
  const NodeTrack& n = *e.node;
  const Membership& conf = config_of(n);
  if (n.role == Role::Leader && !conf.is_voter(e.id) && conf.index <= n.commit) return;
  fail(
      kMembershipChange, {e.seq}, {e.id},
      cat("Node ", e.id, " steps down as removed at seq ", e.seq, ", but ",
          n.role != Role::Leader ? std::string("it was not leader")
          : conf.is_voter(e.id) ? cat("its configuration, ", conf.describe(), ", has it as a voter")
                                : cat("its configuration, ", conf.describe(),
                                      ", is not committed at it (commit ", n.commit, ")"),
          ". Thesis §4.2.2: a leader steps down for its removal once the configuration without "
          "it is committed."));
}

// MembershipChange (c): at the end of each of its steps, a leader whose configuration does not
// have it as a voter and is committed at it has stepped down (thesis §4.2.2).
void TraceChecker::check_removed_leader(int node, int64_t seq) {
  if (node < 1 || node > max_id_) return;
  const NodeTrack& n = nodes_[static_cast<size_t>(node)];
  if (n.down || n.role != Role::Leader) return;
  const Membership& conf = config_of(n);
  if (conf.is_voter(node) || conf.index > n.commit) return;
  fail(kMembershipChange, {seq}, {node},
       cat("Node ", node, " is still leader of term ", n.term, " at the end of its step (seq ", seq,
           ") although its configuration, ", conf.describe(),
           ", which does not have it as a voter, is committed at it (commit ", n.commit,
           "). Thesis §4.2.2: a leader removed from the configuration steps down once that "
           "configuration is committed (step_down with removed)."));
}

// MembershipChange (d): only a voter of its own configuration stands for election (thesis
// §4.2.1: a learner does not count for majorities; §4.2.3: a removed server never disrupts).
void TraceChecker::check_voter_candidate(const NodeEvent& e) {
  const Membership& conf = config_of(*e.node);
  if (conf.is_voter(e.id)) return;
  fail(kMembershipChange, {e.seq}, {e.id},
       cat("Node ", e.id, " ",
           event_name_ == "become_candidate" ? "becomes candidate"
                                             : "starts a "
                                               "pre-vote round",
           " at seq ", e.seq, " although it is not a voter of its configuration, ", conf.describe(),
           ". Thesis §4.1: only the voters of a configuration stand for "
           "election; a learner or a removed server that did could win votes that count in no "
           "majority of the cluster's configuration."));
}

// MembershipChange (a), (b): a configuration entry a leader appends at `index` changes one server
// of the configuration in effect before it, and that one is committed at the leader.
void TraceChecker::check_config_entry(const NodeEvent& e, int64_t index, const Membership& before,
                                      const Command& after) {
  const NodeTrack& n = *e.node;
  if (before.index > n.commit) {
    fail(kMembershipChange, {e.seq}, {e.id},
         cat("Node ", e.id, ", leader of term ", e.st.term,
             ", appends a configuration entry at "
             "index ",
             index, " at seq ", e.seq, " while its previous configuration, ", before.describe(),
             ", is not committed (its commit index is ", n.commit,
             "). Thesis §4.1: a leader starts a new change only once the previous one is "
             "committed; two uncommitted single-server changes can add up to a change of two "
             "servers, whose majorities need not overlap."));
  }
  // The servers that joined or left the voters and the learners.
  auto minus = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::vector<int64_t> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
  };
  std::vector<int64_t> voter_in = minus(after.voters, before.voters);
  std::vector<int64_t> voter_out = minus(before.voters, after.voters);
  std::vector<int64_t> learner_in = minus(after.learners, before.learners);
  std::vector<int64_t> learner_out = minus(before.learners, after.learners);
  size_t changed = voter_in.size() + voter_out.size() + learner_in.size() + learner_out.size();
  bool add = changed == 1 && learner_in.size() == 1;  // a new server, as a learner (its ids are
                                                      // disjoint, so it was no voter either)
  bool promote = changed == 2 && voter_in.size() == 1 && learner_out == voter_in;
  bool remove = changed == 1 && (voter_out.size() == 1 || learner_out.size() == 1);
  if ((add || promote || remove) && !after.voters.empty()) return;
  fail(kMembershipChange, {e.seq}, {e.id},
       cat("Node ", e.id, ", leader of term ", e.st.term, ", appends at index ", index, " at seq ",
           e.seq, " the configuration voters {", join(after.voters), "}, learners {",
           join(after.learners), "}, but its configuration was ", before.describe(),
           ": voters in {", join(voter_in), "} out {", join(voter_out), "}, learners in {",
           join(learner_in), "} out {", join(learner_out),
           "}. Thesis §4.1: a change adds or removes one server at a time (here: adds one as a "
           "learner, promotes one learner, or removes one), so that the majorities of the old "
           "and the new configuration overlap."));
}

void TraceChecker::on_commit(const NodeEvent& e, const Obj& ev) {
  int64_t old_commit = ev.integer("old_commit");
  if (old_commit != e.node->commit || e.st.commit <= old_commit) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("commit at seq ", e.seq, " says node ", e.id, "'s commit index moved from ",
             old_commit, " to ", e.st.commit, ", but it was ", e.node->commit, "."));
  }
}

void TraceChecker::on_apply(const NodeEvent& e, const Obj& ev) {
  int64_t index = ev.integer("index");
  Entry entry = parse_entry(ev.object("entry"));
  Result result = parse_result(ev.object("result"));
  check_apply_safety(e, index, entry);
  e.node->applied = index;
  check_apply_result(e, index, entry, result);
  count("applies");
}

// ---------------------------------------------------------------------------------------------
// LeaderTransfer (Raft thesis §3.10). A leader asked to hand leadership to node `to` stops taking
// client commands, brings `to`'s log up to date, and then sends it TimeoutNow, on which `to`
// starts an election at once; the transfer is given up after an election timeout. The checks
// below say what that promises, as seen in the trace: no client command is appended while the
// transfer is under way (on_append); a TimeoutNow goes only from a leader with a transfer under
// way, to its target, whose log then holds the leader's whole log (so the election it starts
// can be won without the leader losing an entry); and only a node that was just handed a
// TimeoutNow of its term marks its RequestVotes as a transfer's -- the mark that lets them past
// voters that have a live leader ([raft] check_quorum, §4.2.3), so it must not be forgeable.

void TraceChecker::on_transfer(const NodeEvent& e, const Obj& ev) {
  int64_t to = ev.integer("to");
  check_node_id(to, e.seq, "to");
  count("transfers_requested");
  // The node core begins a transfer only as leader and only to another node (a transfer to
  // itself changes nothing); a new request replaces the one under way.
  if (e.st.role != Role::Leader || to == e.id) return;
  e.node->transfer_to = static_cast<int>(to);
  e.node->transfer_term = e.st.term;
}

void TraceChecker::on_transfer_abort(const NodeEvent& e, const Obj& ev) {
  int64_t to = ev.integer("to");
  check_node_id(to, e.seq, "to");
  NodeTrack& n = *e.node;
  if (!n.transferring(e.st) || n.transfer_to != to) {
    fail(kLeaderTransfer, {e.seq}, {e.id},
         cat("Node ", e.id, " gives up a transfer of leadership to node ", to, " at seq ", e.seq,
             ", but it has no such transfer under way",
             n.transferring(e.st) ? cat(" (its transfer is to node ", n.transfer_to, ")") : "",
             ". Raft thesis §3.10: only a leader's transfer under way can time out."));
  }
  n.transfer_to = 0;
  count("transfers_aborted");
}

void TraceChecker::check_transfer_send(const NodeEvent& e, const Obj& msg) {
  std::string_view type = msg.str("type");
  if (type == "RequestVote" && msg.has("transfer") && !step_timeout_now_) {
    fail(kLeaderTransfer, {e.seq}, {e.id},
         cat("Node ", e.id, " sends a RequestVote marked as a leadership transfer's at seq ", e.seq,
             ", but the step did not deliver it a TimeoutNow of its term. Raft thesis §3.10: only "
             "the target of a transfer, told by the leader, starts such an election (and only its "
             "RequestVotes pass voters that have a live leader, §4.2.3)."));
  }
  if (type != "TimeoutNow") return;
  count("timeout_now_sent");
  const NodeTrack& n = *e.node;
  int64_t to = msg.integer("to");
  int64_t term = msg.integer("term");
  if (!n.transferring(e.st) || n.transfer_to != to || term != e.st.term) {
    fail(kLeaderTransfer, {e.seq}, {e.id},
         cat("Node ", e.id, " sends TimeoutNow of term ", term, " to node ", to, " at seq ", e.seq,
             " without a transfer of leadership to that node under way as leader of term ", term,
             " (role ", role_name(e.st.role), ", term ", e.st.term,
             "). Raft thesis §3.10: only "
             "the leader, transferring leadership to a node, tells it to time out now."));
    return;
  }
  if (to < 1 || to > max_id_) return;  // reported by record_send
  const NodeTrack& target = nodes_[static_cast<size_t>(to)];
  int64_t last = n.last_index();
  if (target.last_index() < last || target.prefix(last) != n.prefix(last)) {
    int64_t common = 0;
    while (common < std::min(last, target.last_index()) &&
           target.prefix(common + 1) == n.prefix(common + 1)) {
      ++common;
    }
    fail(kLeaderTransfer, {e.seq}, {e.id, static_cast<int>(to)},
         cat("Node ", e.id, ", leader of term ", e.st.term, ", sends TimeoutNow to node ", to,
             " at seq ", e.seq, ", whose log matches the leader's only through index ", common,
             " of ", last,
             ". Raft thesis §3.10: the leader first brings the target's log up to "
             "date, so the target can win the election it starts."));
  }
}

void TraceChecker::on_send(const NodeEvent& e, const Obj& ev) {
  Obj msg = ev.object("msg");
  record_send(msg, e.seq, e.id);
  if (msg.str("type") == "ClientReply") on_scenario_reply(msg, e.seq, e.id);
  check_transfer_send(e, msg);
  check_acknowledgement(e, msg);
  check_snapshot_acknowledgement(e, msg);
  check_durable_send(e, msg);
}

// ---------------------------------------------------------------------------------------------
// Snapshots (Raft paper §7). A snapshot replaces a log prefix with the state machine it
// produced, so what a user relies on is that the state is exactly what applying the committed
// log gives: a snapshot covers only committed entries (it cannot be undone when a new leader
// replaces an uncommitted entry), its store is the one the node's applies built (each apply was
// checked against the sequential model), an install brings exactly a state some node built
// from the committed log, never rolls a state machine back, and never drops an acknowledged or
// committed entry.

void TraceChecker::on_snapshot(const NodeEvent& e, const Obj& ev) {
  NodeTrack& n = *e.node;
  int64_t index = ev.integer("index");
  int64_t term = ev.integer("term");
  std::string digest(ev.str("store_digest"));
  int64_t size = ev.integer("store_size");
  largest_snapshot_bytes_ = std::max(largest_snapshot_bytes_, ev.integer("bytes"));
  if (index > e.st.commit) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " snapshots its state machine through index ", index, " at seq ", e.seq,
             " while its commit index is ", e.st.commit,
             ". A snapshot replaces log entries with the state they produced, and only committed "
             "entries may shape the state machine (Raft §7: each server snapshots \"just the "
             "committed entries in its log\"); an uncommitted entry may still be replaced by a "
             "new leader, and once folded into a snapshot it can never be undone."));
  }
  if (index <= n.snap.index || index > n.last_index() || n.term_at(index) != term ||
      index != n.applied) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("snapshot at seq ", e.seq, " of node ", e.id, " covers index ", index, " (term ", term,
             "), but the node applied through ", n.applied, ", holds term ", n.term_at(index),
             " there, and its previous snapshot was through ", n.snap.index,
             "; a snapshot is taken at the applied index, of an entry the log holds, and moves "
             "forward."));
  }
  if (digest != n.kv.digest() || size != n.kv.size()) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, "'s snapshot through index ", index, " at seq ", e.seq,
             " holds a store with digest ", digest, " (", size,
             " keys), but applying its log through that index gives digest ", n.kv.digest(), " (",
             n.kv.size(), " keys). A snapshot is the state machine after the committed prefix."));
  }
  n.snap = NodeTrack::Snap{index, term, n.kv};
  n.durable_snap = n.snap;  // written with the step's storage write (trace-schema `snapshot`)
  auto [it, inserted] =
      snapshots_.try_emplace(pair_key(index, term), TakenSnapshot{n.kv, digest, e.seq, e.id});
  if (!inserted && it->second.digest != digest) {
    fail(kStateMachineSafety, {it->second.seq, e.seq}, {it->second.node, e.id},
         cat("Nodes ", it->second.node, " and ", e.id, " took snapshots through index ", index,
             " (term ", term, ") with different stores, at seqs ", it->second.seq, " and ", e.seq,
             ". The state after a committed prefix is the same at every node."));
  }
  count("snapshots");
}

void TraceChecker::on_install_snapshot(const NodeEvent& e, const Obj& ev) {
  NodeTrack& n = *e.node;
  int64_t index = ev.integer("index");
  int64_t term = ev.integer("term");
  std::string digest(ev.str("store_digest"));
  int64_t size = ev.integer("store_size");
  int64_t kept = ev.integer("kept");
  if (e.st.role == Role::Leader) {
    fail(kLeaderAppendOnly, {e.seq}, {e.id},
         cat("Node ", e.id, " installs a snapshot at seq ", e.seq, " while leader of term ",
             e.st.term, ". A leader never replaces its log (Raft Figure 3, Leader Append-Only)."));
  }
  if (index <= n.applied) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " installs a snapshot through index ", index, " at seq ", e.seq,
             " although it has already applied through ", n.applied,
             ": its state machine would go back to an earlier state. A follower uses a "
             "snapshot only to move forward (Raft §7)."));
  }
  auto taken = snapshots_.find(pair_key(index, term));
  if (taken == snapshots_.end()) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " installs a snapshot through index ", index, " (term ", term,
             ") at seq ", e.seq,
             " that no node took. A leader sends the snapshot it took or installed: a state some "
             "node built by applying the committed log."));
  }
  const KvModel& kv = taken->second.kv;
  if (digest != kv.digest() || size != kv.size()) {
    fail(kStateMachineSafety, {taken->second.seq, e.seq}, {taken->second.node, e.id},
         cat("Node ", e.id, " installs a snapshot through index ", index, " at seq ", e.seq,
             " with store digest ", digest, " (", size, " keys), but node ", taken->second.node,
             " took that snapshot at seq ", taken->second.seq, " with digest ", kv.digest(), " (",
             kv.size(), " keys). An installed snapshot is the state its sender built."));
  }
  if (static_cast<int64_t>(committed_.size()) < index ||
      committed_[static_cast<size_t>(index - 1)].term != term) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " installs a snapshot through index ", index, " (term ", term,
             ") at seq ", e.seq, " that is not of the committed log: ",
             static_cast<int64_t>(committed_.size()) < index
                 ? cat("only ", committed_.size(), " entries are known committed")
                 : cat("the entry committed there has term ",
                       committed_[static_cast<size_t>(index - 1)].term),
             "."));
  }
  const uint64_t snap_prefix = committed_[static_cast<size_t>(index - 1)].prefix_hash;
  bool matches = n.last_index() >= index && n.prefix(index) == snap_prefix;
  if (kept < 0 || kept > std::max<int64_t>(0, n.last_index() - index) || (kept > 0 && !matches)) {
    fail(kLogMatching, {e.seq}, {e.id},
         cat("Node ", e.id, " installs a snapshot through index ", index, " at seq ", e.seq,
             " and keeps ", kept, " entries after it, but its log held ",
             std::max<int64_t>(0, n.last_index() - index), " entries there",
             matches ? "" : " and did not match the snapshot at its index",
             ". Only a suffix that extends the snapshot's prefix may stay (Raft §7)."));
  }
  if (e.st.term == n.acked_term && index + kept < n.acked_index) {
    fail(kReplication, {e.seq}, {e.id},
         cat("Node ", e.id, " acknowledged entries through index ", n.acked_index,
             " to the leader of term ", n.acked_term, ", then at seq ", e.seq,
             " installed a snapshot through index ", index, " keeping ", kept,
             " entries after it: its log now ends at ", index + kept,
             ". The leader counts an acknowledged entry toward a commit, so the follower must "
             "keep it (Raft §7: a follower retains the entries following a snapshot that matches "
             "its log); dropping it can lose a committed write."));
  }
  // The node's log: the committed prefix through the snapshot (keeping its own slots as far as
  // they match it), then the entries it kept.
  int64_t own = 0;  // the longest prefix of its log that is the committed prefix
  {
    int64_t lo = 0, hi = std::min(index, n.last_index());
    while (lo < hi) {
      int64_t mid = (lo + hi + 1) / 2;
      if (n.prefix(mid) == committed_[static_cast<size_t>(mid - 1)].prefix_hash) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    own = lo;
  }
  n.log.resize(static_cast<size_t>(matches ? index + kept : own));
  for (int64_t i = own + 1; i <= index; ++i) {
    const CommittedEntry& ce = committed_[static_cast<size_t>(i - 1)];
    // The entry itself is in the snapshot, and so is the configuration through it.
    n.log.push_back(LogSlot{ce.term, 0, ce.prefix_hash, ce.config});
  }
  n.unsynced_from = std::min(n.unsynced_from, own + 1);
  n.snap = NodeTrack::Snap{index, term, kv};
  n.durable_snap = n.snap;
  n.kv = kv;
  n.applied = index;
  count("snapshots_installed");
  check_committed_survives(e, "installed a snapshot");
}

// A follower that answers an InstallSnapshot with done holds the state through its index: the
// leader takes that as its matchIndex (§7).
void TraceChecker::check_snapshot_acknowledgement(const NodeEvent& e, const Obj& msg) {
  std::string_view type = msg.str("type");
  NodeTrack& n = *e.node;
  if (type == "AppendEntriesResponse" && msg.boolean("success")) {
    int64_t term = msg.integer("term");
    int64_t match = msg.integer("match_index");
    if (term != n.acked_term) n.acked_index = 0;
    n.acked_term = term;
    n.acked_index = std::max(n.acked_index, match);
    return;
  }
  if (type != "InstallSnapshotResponse" || !msg.boolean("done")) return;
  int64_t index = msg.integer("last_included_index");
  if (e.st.commit >= index) return;
  fail(kReplication, {step_seq_, e.seq}, {e.id},
       cat("Node ", e.id, " tells the leader at seq ", e.seq,
           " that it holds the snapshot through "
           "index ",
           index, ", but its commit index is ", e.st.commit,
           ". The leader takes the answer as matchIndex and counts it toward commits (Raft §7)."));
}

// [raft] read_mode = "read_index" (thesis §6.4): a leader answers a get without a log entry. The
// checker keeps what it answered for the client's completion (KVSemantics); the answer's
// freshness is judged by Linearizability on the client history, as for every other operation.
void TraceChecker::on_read(const NodeEvent& e, const Obj& ev) {
  int64_t client = ev.integer("client");
  int64_t request = ev.integer("client_seq");
  Result result = parse_result(ev.object("result"));
  ev.str("key");
  ev.integer("read_index");
  check_client_id(client, e.seq);
  bool on_lease = ev.has("lease") && ev.boolean("lease");
  if (ev.has("lease") && !lease_) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " says at seq ", e.seq,
             " whether a read was answered on a lease, but "
             "the trace's config does not set [raft] read_mode = \"lease\"."));
  }
  // LeaseRead (thesis §6.4.1): a lease is the leader's belief that no other leader can have
  // been elected yet. It is only worth that if it is true: by the time a read is answered on a
  // lease, no node may have become leader of a later term. (Linearizability may not notice a
  // broken lease when nothing was written meanwhile; this says what the lease promised.)
  if (on_lease) {
    count("lease_reads");
    if (newest_leader_term_ > e.st.term) {
      fail(kLeaseRead, {newest_leader_seq_, e.seq}, {e.id, newest_leader_},
           cat("Node ", e.id, " answers client ", client, "'s read #", request,
               " on its lease as leader of term ", e.st.term, " at t=", last_t_, " ms (seq ", e.seq,
               "), but node ", newest_leader_, " had already become leader of term ",
               newest_leader_term_, " (seq ", newest_leader_seq_,
               "). Raft thesis §6.4.1: a lease must end before any other server can be elected, "
               "which with clocks that drift by up to ",
               timing_.clock_drift_ppm,
               " ppm means a lease shorter than the minimum election timeout by that "
               "margin on both clocks; a stale read is possible here."));
    }
  }
  if (!read_index_) {
    fail(kWellFormed, {e.seq}, {e.id},
         cat("Node ", e.id, " answers a read outside the log at seq ", e.seq,
             ", but the trace's config does not set [raft] read_mode = \"read_index\"; with reads "
             "through the log every get is a log entry, applied like any command."));
  }
  if (e.st.role != Role::Leader) {
    fail(kKVSemantics, {e.seq}, {e.id},
         cat("Node ", e.id, " answers a read at seq ", e.seq, " as ", role_name(e.st.role),
             ". Raft thesis §6.4: only a leader answers a read outside the log, and only after "
             "confirming it still is one."));
  }
  read_results_[client_key(client, request)].push_back(result);
  count("reads");
}

// ---------------------------------------------------------------------------------------------
// Durability (Figure 2: "Persistent state on all servers: updated on stable storage before
// responding to RPCs"). A message leaves a node only after what it depends on was persisted: its
// term, the vote it grants or asks for, the log entries it acknowledges. Otherwise a crash right
// after the send makes the node forget a promise others already count on (a second vote in the
// term, an acknowledged entry gone from the majority that committed it).

void TraceChecker::check_durable_send(const NodeEvent& e, const Obj& msg) {
  std::string_view type = msg.str("type");
  if (type == "ClientReply") return;
  const NodeTrack& n = *e.node;
  auto bad = [&](const std::string& what) {
    fail(kDurability, {e.seq}, {e.id},
         cat("Node ", e.id, " sends a ", type, " at seq ", e.seq, " ", what,
             ". Raft Figure 2: persistent state is updated on stable storage before responding "
             "to RPCs; a crash after this send would make the node forget what it told others."));
  };
  if (n.durable_term != e.st.term) {
    bad(cat("in term ", e.st.term, ", but its persisted term is ", n.durable_term));
  }
  if (type == "RequestVote" && n.durable_vote != e.id) {
    bad(cat("without having persisted its vote for itself (persisted vote: ", n.durable_vote, ")"));
  }
  if (type == "RequestVoteResponse" && msg.boolean("granted") &&
      n.durable_vote != msg.integer("to")) {
    bad(cat("granting its vote to node ", msg.integer("to"), ", but its persisted vote is ",
            n.durable_vote));
  }
  if (type == "AppendEntriesResponse" && msg.boolean("success")) {
    int64_t match = msg.integer("match_index");
    if (match > static_cast<int64_t>(n.durable_log.size()) || match >= n.unsynced_from) {
      bad(cat("acknowledging its log through index ", match, ", but only ",
              std::min<int64_t>(static_cast<int64_t>(n.durable_log.size()), n.unsynced_from - 1),
              " entries of it are persisted"));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Replication (§5.3). A follower acknowledges only entries it holds, answering the very
// AppendEntries it was handed; an entry is committed only once a majority of logs hold it; and a
// committed entry never drops out of a majority of logs (crashes included: what a node holds
// after a crash is what it persisted). These are what make an acknowledged write survive.

void TraceChecker::check_acknowledgement(const NodeEvent& e, const Obj& msg) {
  if (msg.str("type") != "AppendEntriesResponse" || !msg.boolean("success")) return;
  const NodeTrack& n = *e.node;
  int64_t match = msg.integer("match_index");
  int64_t prev = msg.integer("prev_log_index");
  auto bad = [&](const std::string& what) {
    fail(kReplication, {step_seq_, e.seq}, {e.id},
         cat("Node ", e.id, " acknowledges at seq ", e.seq,
             " that its log matches the leader's "
             "through index ",
             match, ", but ", what,
             ". A follower may acknowledge only entries it holds, as the leader sent them (§5.3); "
             "the leader counts the acknowledgement toward committing them."));
  };
  if (!step_append_.present) bad("the step did not deliver an AppendEntries to answer");
  if (prev != step_append_.prev_log_index || match != step_append_.last_new_index) {
    bad(cat("the AppendEntries it answers (delivered at seq ", step_seq_, ") has prev_log_index ",
            step_append_.prev_log_index, " and ends at index ", step_append_.last_new_index,
            "; the reply says prev_log_index ", prev, " and match_index ", match));
  }
  if (match > n.last_index() || n.term_at(match) != step_append_.last_new_term) {
    bad(match > n.last_index()
            ? cat("its log ends at index ", n.last_index())
            : cat("its entry at index ", match, " has term ", n.term_at(match), ", not the term ",
                  step_append_.last_new_term, " the leader sent"));
  }
}

// How many logs (of running and crashed nodes alike) hold the prefix ending at `index` with
// hash `prefix_hash`.
// Only the voters of `conf` count (thesis §4.1).
void TraceChecker::check_majority_holds(const NodeEvent& e, int64_t index, uint64_t prefix_hash,
                                        const char* what, const Membership& conf) {
  std::vector<int64_t> holders;
  for (int64_t id : conf.voters) {
    if (id < 1 || id > max_id_) continue;
    const NodeTrack& o = nodes_[static_cast<size_t>(id)];
    if (o.last_index() >= index && o.prefix(index) == prefix_hash) holders.push_back(id);
  }
  int majority = conf.majority();
  if (static_cast<int>(holders.size()) >= majority) return;
  fail(kReplication, {e.seq}, {e.id},
       cat("At seq ", e.seq, ", ", what, ", the committed entry at index ", index,
           " (with everything before it) is held by ", holders.size(), " of the ",
           conf.voters.size(), " voters' logs (nodes {", join(holders), "}), not a majority of ",
           majority, "; the configuration that counts is ", conf.describe(),
           ". An entry is committed once a majority of the voters of the committing leader's "
           "configuration hold it (§5.3, thesis §4.1), and it must stay on that majority: that "
           "is what lets every later leader have it (§5.4) and what makes an acknowledged write "
           "survive crashes."));
}

// After a truncate or a crash: the highest committed entry is still on a majority of the voters
// of the configuration it was committed in. Under single-server changes that majority is never
// released: a node that holds a committed entry only loses it by a crash before persisting it
// (which Durability and this check catch) or by a buggy truncation; a later configuration
// without some of those voters does not make them drop it (spec/checks.md, Replication).
void TraceChecker::check_committed_survives(const NodeEvent& e, const char* how) {
  if (committed_.empty()) return;
  auto k = static_cast<int64_t>(committed_.size());
  const CommittedEntry& ce = committed_[static_cast<size_t>(k - 1)];
  check_majority_holds(e, k, ce.prefix_hash, cat("after node ", e.id, " ", how).c_str(),
                       configs_[static_cast<size_t>(ce.commit_config)]);
}

// ---------------------------------------------------------------------------------------------
// ElectionSafety (Figure 3, §5.2): at most one leader can be elected in a given term.

void TraceChecker::check_election_safety(const NodeEvent& e, const std::vector<int64_t>& votes) {
  std::vector<int64_t> distinct = votes;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  bool self = std::binary_search(distinct.begin(), distinct.end(), int64_t{e.id});
  // Thesis §4.1: a majority of the voters of the candidate's configuration at that moment.
  const Membership& conf = config_of(*e.node);
  int counted = 0;
  for (int64_t v : distinct) counted += conf.is_voter(v) ? 1 : 0;
  if (!self || counted < conf.majority()) {
    fail(kElectionSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " became leader of term ", e.st.term, " at seq ", e.seq,
             " with votes from {", join(distinct), "}, which is not a majority of the ",
             conf.voters.size(), " voters of its configuration, ", conf.describe(),
             ", including itself. Election Safety (Raft Figure 3, §5.2) rests on a leader "
             "holding votes from a majority; with membership changes, of the voters of the "
             "candidate's configuration (thesis §4.1)."));
  }
  auto [it, inserted] = leader_of_term_.try_emplace(e.st.term, e.id, e.seq);
  if (!inserted && it->second.first != e.id) {
    auto [other, other_seq] = it->second;
    fail(kElectionSafety, {other_seq, e.seq}, {other, e.id},
         cat("Node ", e.id, " became leader of term ", e.st.term, " at seq ", e.seq, ", but node ",
             other, " had already become leader of term ", e.st.term, " at seq ", other_seq,
             ". Election Safety (Raft Figure 3, §5.2) allows at most one leader per "
             "term: each server votes at most once per term and a leader needs a majority, so "
             "two leaders of one term mean some server voted twice or a vote was miscounted."));
  }
  counter("terms") = static_cast<int64_t>(leader_of_term_.size());
}

// ---------------------------------------------------------------------------------------------
// LogMatching (Figure 3, §5.3): if two logs contain an entry with the same index and term, the
// logs are identical in all entries up through that index.
//
// Every log slot carries a hash of the whole prefix ending there. The first time an (index,
// term) pair appears anywhere its prefix hash is recorded; every later appearance must carry the
// same hash. In Raft an (index, term) pair identifies one entry and one prefix forever (a leader
// creates one entry per index in its term and never changes its log while leader), so comparing
// against the first appearance, even if that log has since been truncated, is exact and costs
// O(1) per appended entry.

void TraceChecker::check_log_matching(const NodeEvent& e, int64_t from_index) {
  NodeTrack& n = *e.node;
  for (int64_t i = from_index; i <= n.last_index(); ++i) {
    LogSlot& slot = n.log[static_cast<size_t>(i - 1)];
    slot.prefix_hash = chain(n.prefix(i - 1), slot.entry_hash);
    auto [it, inserted] =
        pairs_.try_emplace(pair_key(i, slot.term), PairRecord{slot.prefix_hash, e.seq, e.id});
    if (inserted) {
      count("log_entries");
      continue;
    }
    if (it->second.prefix_hash == slot.prefix_hash) continue;
    const PairRecord& other = it->second;
    std::string where = "at or before that index";
    const NodeTrack& o = nodes_[static_cast<size_t>(other.node)];
    if (o.last_index() >= i && o.prefix(i) == other.prefix_hash) {
      for (int64_t k = 1; k <= i; ++k) {
        if (o.prefix(k) != n.prefix(k)) {
          where = cat("at index ", k, " (node ", e.id, " has term ", n.term_at(k), ", node ",
                      other.node, " has term ", o.term_at(k),
                      o.term_at(k) == n.term_at(k) ? ", different commands" : "", ")");
          break;
        }
      }
    }
    fail(kLogMatching, {other.seq, e.seq}, {other.node, e.id},
         cat("Node ", e.id, " holds entry (index ", i, ", term ", slot.term, ") after seq ", e.seq,
             ", and node ", other.node, " held an entry with the same index and term at seq ",
             other.seq, ", but the two logs differ ", where,
             ". Log Matching (Raft Figure 3, "
             "§5.3): logs that share an entry's index and term are identical up to it; the "
             "AppendEntries consistency check on prevLogIndex/prevLogTerm (and truncating "
             "conflicting entries) is what maintains it."));
  }
}

// ---------------------------------------------------------------------------------------------
// Commit tracking, feeding LeaderCompleteness and the committed half of StateMachineSafety.
//
// When a node's commit index rises to c, its entries 1..c are committed. The checker keeps the
// committed prefix seen so far (entry term, prefix hash, and the committing node's term when it
// first covered the entry). A node whose commit covers already-committed indices must agree with
// them (one prefix-hash comparison), and indices past the known prefix are appended. O(1)
// amortised per committed index.

void TraceChecker::advance_commit(const NodeEvent& e) {
  NodeTrack& n = *e.node;
  int64_t c = e.st.commit;
  if (c > n.last_index()) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, "'s commit index reaches ", c, " at seq ", e.seq,
             " but its log ends at index ", n.last_index(),
             ". A node can only commit entries it "
             "holds (Figure 2: commitIndex = min(leaderCommit, index of last new entry)), or it "
             "would apply entries it does not have."));
  }
  auto known = static_cast<int64_t>(committed_.size());
  int64_t overlap = std::min(c, known);
  if (overlap > 0 &&
      committed_[static_cast<size_t>(overlap - 1)].prefix_hash != n.prefix(overlap)) {
    // Only on a violation: find the first index where this log leaves the committed prefix.
    int64_t k = 1;
    while (committed_[static_cast<size_t>(k - 1)].prefix_hash == n.prefix(k)) ++k;
    const CommittedEntry& ce = committed_[static_cast<size_t>(k - 1)];
    fail(kStateMachineSafety, {ce.seq, e.seq}, {ce.node, e.id},
         cat("Node ", e.id, " commits through index ", c, " at seq ", e.seq,
             ", but its entry at index ", k, " (term ", n.term_at(k),
             ") differs from the entry "
             "committed there (term ",
             ce.term, ", committed by node ", ce.node, " at seq ", ce.seq,
             "). State Machine Safety (Raft Figure 3, §5.4.3): once an entry is committed at an "
             "index, no node may commit or apply a different entry at that index."));
  }
  if (c > known) {
    // The first time these indices are committed: the entry at c (with its prefix) must be on
    // a majority of logs now.
    check_majority_holds(e, c, n.prefix(c),
                         cat("node ", e.id, " commits through index ", c).c_str(), config_of(n));
    commit_history_.emplace_back(last_t_, c);
    // check_liveness wants the last entry at least `bound` before the end and every later one;
    // the end is no earlier than now, so an entry with a successor at least `bound` before now
    // is never that one: forgotten, the history holds about one bound's worth of commits.
    if (int64_t bound = liveness_bound(); bound > 0) {
      while (commit_history_.size() >= 2 && commit_history_[1].first <= last_t_ - bound) {
        commit_history_.pop_front();
      }
    }
  }
  for (int64_t i = known + 1; i <= c; ++i) {
    const LogSlot& slot = n.log[static_cast<size_t>(i - 1)];
    committed_.push_back(CommittedEntry{slot.term, slot.prefix_hash, e.st.term, e.seq, e.id,
                                        slot.config, n.config()});
    // Keep the stack of indices whose commit_term is below that of every later index.
    while (!completeness_stack_.empty() &&
           committed_[static_cast<size_t>(completeness_stack_.back() - 1)].commit_term >=
               e.st.term) {
      completeness_stack_.pop_back();
    }
    completeness_stack_.push_back(i);
  }
  if (c > known) check_leaders_hold(e, c);
  n.commit = c;
  counter("committed_entries") = static_cast<int64_t>(committed_.size());
}

// LeaderCompleteness, the other order: an entry first committed now, in term T, must already be
// in the log of every node that leads a term above T now. Such a leader was elected before the
// commit, so check_leader_completeness could not ask it then (Figure 8 with the planted
// commit_old_term: s1, leader of term 3, commits its term-1 entry by counting after s2 was
// elected for term 4 without it). Holding the entry at index c with the committing node's
// prefix is holding it, by Log Matching.
void TraceChecker::check_leaders_hold(const NodeEvent& e, int64_t c) {
  const NodeTrack& n = *e.node;
  for (size_t id = 1; id < nodes_.size(); ++id) {
    const NodeTrack& o = nodes_[id];
    if (o.down || o.role != Role::Leader || o.term <= e.st.term) continue;
    if (o.last_index() >= c && o.prefix(c) == n.prefix(c)) continue;
    int64_t missing = 1;
    while (missing < c && o.last_index() >= missing && o.prefix(missing) == n.prefix(missing)) {
      ++missing;
    }
    fail(kLeaderCompleteness, {e.seq}, {e.id, static_cast<int>(id)},
         cat("Node ", e.id, " commits through index ", c, " at seq ", e.seq, " in term ", e.st.term,
             ", but node ", id, ", leader of term ", o.term, ", lacks the entry at index ", missing,
             o.last_index() < missing ? cat(" (its log ends at index ", o.last_index(), ")")
                                      : cat(" (it has term ", o.term_at(missing), " there)"),
             ". Leader Completeness (Raft Figure 3, §5.4): an entry committed in a term is in the "
             "log of every leader of a higher term; a leader commits only entries of its own "
             "term by counting replicas (§5.4.2), which a later leader's election guarantees "
             "it holds."));
    return;
  }
}

// ---------------------------------------------------------------------------------------------
// LeaderCompleteness (Figure 3, §5.4): if a log entry is committed in a given term, that entry
// is present in the logs of the leaders of all higher-numbered terms.
//
// An entry's commit term is not in the trace; the checker uses the term the committing node was
// in when its commit index first covered the entry, which is at least the real commit term, so
// the check never demands more than Raft guarantees. At become_leader of term T the new leader
// must hold every committed entry whose commit term is < T. With K the highest such index, that
// is one comparison of prefix hashes at K (the same prefix means every entry up to K is there).
// K is found by binary search in a stack of the indices whose commit term is lower than that of
// every later index (the largest index with commit term < T is always on it).

void TraceChecker::check_leader_completeness(const NodeEvent& e) {
  count("leaders_checked");
  int64_t term = e.st.term;
  auto it = std::partition_point(
      completeness_stack_.begin(), completeness_stack_.end(),
      [&](int64_t i) { return committed_[static_cast<size_t>(i - 1)].commit_term < term; });
  if (it == completeness_stack_.begin()) return;
  int64_t k = *(it - 1);
  const NodeTrack& n = *e.node;
  if (n.last_index() >= k && n.prefix(k) == committed_[static_cast<size_t>(k - 1)].prefix_hash) {
    return;
  }
  // Name the first missing required entry.
  int64_t missing = k;
  for (int64_t i = 1; i <= k; ++i) {
    const CommittedEntry& ce = committed_[static_cast<size_t>(i - 1)];
    if (ce.commit_term < term && (n.last_index() < i || n.prefix(i) != ce.prefix_hash)) {
      missing = i;
      break;
    }
  }
  const CommittedEntry& ce = committed_[static_cast<size_t>(missing - 1)];
  std::string has = n.last_index() < missing
                        ? cat("its log ends at index ", n.last_index())
                        : cat("it has term ", n.term_at(missing), " there",
                              n.term_at(missing) == ce.term ? " with a different history" : "");
  fail(kLeaderCompleteness, {ce.seq, e.seq}, {ce.node, e.id},
       cat("Node ", e.id, " became leader of term ", term, " at seq ", e.seq,
           " without the committed entry (index ", missing, ", term ", ce.term, "): node ", ce.node,
           "'s commit index covered it at seq ", ce.seq, " in term ", ce.commit_term, ", but ", has,
           ". Leader Completeness (Raft Figure 3, §5.4): an entry committed in a "
           "term is in the log of every leader of a higher term; the election restriction of "
           "§5.4.1 (vote only for a candidate whose log is at least as up to date) and the rule "
           "that leaders commit only current-term entries by counting (§5.4.2) guarantee it."));
}

// ---------------------------------------------------------------------------------------------
// StateMachineSafety (Figure 3, §5.4.3): if a server has applied a log entry at a given index,
// no other server will ever apply a different log entry for the same index. Also Figure 2's
// rules for applying: in index order without gaps (lastApplied + 1), only committed entries
// (index <= commitIndex), and the entry applied is the one in the node's own log.

void TraceChecker::check_apply_safety(const NodeEvent& e, int64_t index, const Entry& entry) {
  NodeTrack& n = *e.node;
  auto fig2 =
      " (Raft Figure 2: \"if commitIndex > lastApplied: increment lastApplied, apply "
      "log[lastApplied] to state machine\")";
  if (index != n.applied + 1) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " applied index ", index, " at seq ", e.seq, " after index ", n.applied,
             ". Entries are applied one at a time in index order with no gaps", fig2,
             ", so every node's state machine sees the same sequence of commands."));
  }
  if (index > e.st.commit) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " applied index ", index, " at seq ", e.seq,
             " while its commit index was ", e.st.commit,
             ". Only committed entries may be "
             "applied",
             fig2, "; an uncommitted entry can still be replaced by a new leader."));
  }
  if (index > n.last_index() || n.log[static_cast<size_t>(index - 1)].entry_hash != entry.hash) {
    fail(kStateMachineSafety, {e.seq}, {e.id},
         cat("Node ", e.id, " applied ", describe(entry, index), " at seq ", e.seq,
             ", which is not the entry its log holds at that index",
             index > n.last_index() ? " (its log is shorter)" : "", fig2, "."));
  }
  if (applied_.size() < static_cast<size_t>(index)) applied_.resize(static_cast<size_t>(index));
  AppliedRecord& first = applied_[static_cast<size_t>(index - 1)];
  if (!first.set) {
    first = AppliedRecord{true, entry.hash, entry, e.seq, e.id};
    return;
  }
  if (first.entry_hash == entry.hash) return;
  fail(kStateMachineSafety, {first.seq, e.seq}, {first.node, e.id},
       cat("Node ", e.id, " applied ", describe(entry, index), " at seq ", e.seq, ", but node ",
           first.node, " applied a different entry at the same index, ",
           describe(first.entry, index), ", at seq ", first.seq,
           ". State Machine Safety (Raft "
           "Figure 3, §5.4.3): no two servers apply different entries at the same index."));
}

// ---------------------------------------------------------------------------------------------
// KVSemantics: each node's applies, replayed in order through the KV specification above (the
// seed's semantics, exactly-once in client order), give exactly the traced results; and the
// result of each client request is remembered for comparison with what the client was told.

void TraceChecker::check_apply_result(const NodeEvent& e, int64_t index, const Entry& entry,
                                      const Result& traced) {
  KvModel::Outcome expected = e.node->kv.apply(entry.cmd, index);
  if (expected.result != traced) {
    const Command& c = entry.cmd;
    std::string why;
    switch (expected.kind) {
      case KvModel::Kind::Stale:
        why = cat("Client ", c.client, "'s request #", expected.latest, ", a later one than this #",
                  c.seq, ", already took effect at node ", e.id, " (index ", expected.index,
                  "). A client's requests take effect at most once and ",
                  "in its order, so this older copy must not take effect now (its outcome is ",
                  "stale): either it took effect before and this would be a second time, or its ",
                  "client gave up on it and moved on. Executing it is the exactly-once violation ",
                  "of a stale retry.");
        break;
      case KvModel::Kind::Repeat:
        why = cat("This is a repeat of client ", c.client, "'s request #", c.seq,
                  ", which already took effect at index ", expected.index,
                  ". A retried request takes effect at most once: it must change nothing and "
                  "answer with the result of its first execution, ",
                  describe(expected.result), ".");
        break;
      case KvModel::Kind::Executed:
        why = cat("Replaying node ", e.id,
                  "'s applied entries in index order through the KV specification gives ",
                  describe(expected.result),
                  " (put is ok if the key is absent else key_exists; get returns the value or "
                  "not_found; delete is ok if present else not_found).");
        break;
    }
    fail(kKVSemantics, {e.seq}, {e.id},
         cat("Node ", e.id, " applied ", describe(entry, index), " at seq ", e.seq, " with result ",
             describe(traced), ", but the expected result is ", describe(expected.result), ". ",
             why));
  }
  if (entry.cmd.op == "noop" || entry.cmd.client == 0) return;
  if (completed_.invoke_seq(entry.cmd.client, entry.cmd.seq) != 0) return;  // no longer needed
  results_.try_emplace(client_key(entry.cmd.client, entry.cmd.seq),
                       AppliedResult{traced, entry.cmd, e.seq, e.id});
}

// ---------------------------------------------------------------------------------------------
// TermAdoption (Figure 2, "Rules for Servers / All Servers", §5.1): if an RPC request or
// response contains term T > currentTerm, set currentTerm = T and convert to follower. A
// deliver's `state` is the receiver's state before it handles the message (the deliver itself
// changes nothing), so a message carrying a higher term must leave the receiver in at least that
// term by the end of the step: checked at the next input event or at `end`.

void TraceChecker::note_higher_term(const NodeEvent& e, const DeliveryFacts& msg) {
  std::string_view type = msg.type;
  if (type == "ClientRequest" || type == "ClientReply") return;  // no term
  if (type == "PreVote" || type == "PreVoteResponse") {
    // A pre-vote's term is a term nobody holds yet: no one adopts it (judged at the step's end).
    prevote_step_ = PreVoteStep{e.id, e.st.term, e.st.vote, e.seq, std::string(type)};
    count("prevotes_delivered");
    return;
  }
  int64_t term = msg.term;
  // Figure 2 (candidates) and §5.2: a candidate that receives AppendEntries from the leader of
  // its own term recognizes that leader and returns to follower.
  if (term == e.st.term && e.st.role == Role::Candidate &&
      (type == "AppendEntries" || type == "InstallSnapshot")) {
    higher_term_ = HigherTerm{e.id, term, e.seq, std::string(type), true};
    count("candidates_hearing_leader");
    return;
  }
  if (term <= e.st.term) return;
  // Thesis §4.2.3 ([raft] check_quorum): a server that has a live leader -- it is the leader, or
  // it heard from the leader of its term within an election timeout and has not timed out since
  // -- may disregard a RequestVote, term included, so that a server cut off from the leader cannot
  // depose it. Without that evidence the rule above applies in full.
  // A leadership transfer's RequestVote (thesis §3.10) is exempt from that: the voter adopts its
  // term even with a live leader, as the leader asked for the election.
  if (type == "RequestVote" && check_quorum_ && !msg.transfer && has_live_leader(e)) {
    count("requestvotes_disregarded");
    return;
  }
  higher_term_ = HigherTerm{e.id, term, e.seq, std::string(type)};
  count("higher_terms_seen");
}

// [raft] check_quorum. A deliver of an AppendEntries of term T (T at least the receiver's) comes
// from the one leader of T (ElectionSafety): the receiver has heard from a current leader. A
// message of its own term reaching a leader is a sign of life from that peer.
void TraceChecker::note_leader_contact(const NodeEvent& e, const DeliveryFacts& msg, int from) {
  NodeTrack& n = *e.node;
  // An InstallSnapshot (§7) comes from the leader of its term just as an AppendEntries does.
  std::string_view type = msg.type;
  // A leader of an older term that receives one adopts the term and follows its sender (the
  // deliver's state is the one before the step, still leader): contact too.
  if ((type == "AppendEntries" || type == "InstallSnapshot") && msg.term >= e.st.term &&
      !(e.st.role == Role::Leader && msg.term == e.st.term)) {
    n.contact_t = last_t_;
    n.contact_term = msg.term;
  }
  // Thesis §6.4.1 (read_mode = "lease"): answering a leader's confirmation round is a promise
  // to elect no one else until the node's election timer fires.
  if (lease_ && std::string_view(msg.type) == "ReadConfirm" && msg.term >= e.st.term &&
      !(e.st.role == Role::Leader && msg.term == e.st.term)) {
    n.promise_t = last_t_;
  }
  if (e.st.role == Role::Leader && msg.term == e.st.term && from != 0 && from != e.id &&
      from < static_cast<int>(n.heard_t.size())) {
    n.heard_t[static_cast<size_t>(from)] = last_t_;
  }
}

// Evidence from the trace that node e.id has a live leader as the receiver of e's message: it is
// the leader, or it had contact with the leader of its current term at most one election timeout
// (election_timeout_max_ms, the longest a follower's timer runs) ago, with no election timeout
// since (note_leader_contact; a timeout clears contact_term).
bool TraceChecker::has_live_leader(const NodeEvent& e) const {
  if (e.st.role == Role::Leader) return true;
  const NodeTrack& n = *e.node;
  // A timer of election_timeout_max_ms on the node's clock, which may run slow.
  int64_t longest = timing_.stretched(timing_.election_timeout_max_ms);
  if (lease_ && n.promise_t >= 0 && (!timing_.known || last_t_ - n.promise_t <= longest)) {
    return true;
  }
  if (n.contact_term == 0 || n.contact_term != e.st.term) return false;
  return !timing_.known || last_t_ - n.contact_t <= longest;
}

// CheckQuorum (thesis §6.2, [raft] check_quorum): a leader that has not heard from a majority
// within an election timeout steps down. A leader checks once per minimum election timeout E
// whether a majority (itself included) reached it since its previous check, so a leader that is
// still leader at time t, more than E after its election, heard from a majority within [t - 2E,
// t]. Judged at each input event of a leader (its heartbeat timer fires every heartbeat
// interval, so a leader cut off from everyone is judged too) and at the end.
void TraceChecker::check_quorum_contact(int node, int64_t seq) {
  NodeTrack& n = nodes_[static_cast<size_t>(node)];
  if (n.down || n.role != Role::Leader || !timing_.known || n.heard_t.empty()) return;
  // The leader's check timer runs on its own clock, which may run slow.
  int64_t period = timing_.stretched(timing_.election_timeout_min_ms);
  int64_t window = 2 * period;
  if (last_t_ - n.leader_since_t <= period) return;
  // The voters of its configuration (thesis §4.1), itself included if it is one.
  const Membership& conf = config_of(n);
  int heard = 0;
  for (int64_t p : conf.voters) {
    if (p == node) {
      ++heard;
      continue;
    }
    if (p < 1 || p > max_id_) continue;
    int64_t h = n.heard_t[static_cast<size_t>(p)];
    if (h >= 0 && h >= last_t_ - window) ++heard;
  }
  count("quorum_checks_judged");
  if (heard >= conf.majority()) return;
  fail(kCheckQuorum, {seq}, {node},
       cat("Node ", node, " is still leader of term ", n.term, " at t=", last_t_, " ms (seq ", seq,
           "), elected at t=", n.leader_since_t, ", but heard from only ", heard, " of the ",
           conf.voters.size(),
           " voters of its configuration (itself included if a voter) in the "
           "last ",
           window,
           " ms (twice election_timeout_min_ms). Raft thesis §6.2 ([raft] check_quorum): a "
           "leader that has not heard from a majority within an election timeout steps down."));
}

// Thesis §9.6: a pre-vote, asked or answered, changes no term and no vote. The receiver of a
// PreVote ends its step with the term and vote it had. The receiver of a PreVoteResponse may
// only go on to a real election of its own: term + 1, voting for itself, as candidate (or
// leader); it never takes a term from the answer.
void TraceChecker::check_prevote_step() {
  if (!prevote_step_) return;
  PreVoteStep p = *prevote_step_;
  prevote_step_.reset();
  const NodeTrack& n = nodes_[static_cast<size_t>(p.node)];
  if (n.term == p.term && n.vote == p.vote) return;
  bool own_election = p.type == "PreVoteResponse" && n.term == p.term + 1 && n.vote == p.node &&
                      (n.role == Role::Candidate || n.role == Role::Leader);
  if (own_election) return;
  fail(kTermAdoption, {p.seq}, {p.node},
       cat("Node ", p.node, " received a ", p.type, " at seq ", p.seq, " in term ", p.term,
           " with vote ", p.vote, " and ended that step in term ", n.term, " with vote ", n.vote,
           ". Raft thesis §9.6: a pre-vote asks whether a server would vote, without changing "
           "anyone's term or vote; only a majority of pre-votes starts a real election (term + 1, "
           "a vote for itself)."));
}

void TraceChecker::check_term_adopted() {
  if (!higher_term_) return;
  HigherTerm h = *higher_term_;
  higher_term_.reset();
  const NodeTrack& n = nodes_[static_cast<size_t>(h.node)];
  if (n.term >= h.term && (n.role == Role::Follower || n.role == Role::Down)) return;
  if (h.candidate_hears_leader) {
    if (n.term > h.term) return;  // the step went on to a later term (never within one step)
    fail(kTermAdoption, {h.seq}, {h.node},
         cat("Node ", h.node, " was a candidate in term ", h.term,
             " and received an AppendEntries "
             "of that term at seq ",
             h.seq, ", but ended that step as ", role_name(n.role),
             ". Raft Figure 2 (candidates) and §5.2: a candidate that hears from the leader of "
             "its term recognizes it as legitimate and returns to follower."));
    return;
  }
  if (n.term >= h.term) {
    fail(kTermAdoption, {h.seq}, {h.node},
         cat("Node ", h.node, " received a ", h.type, " of term ", h.term, " at seq ", h.seq,
             " and adopted the term, but ended that step as ", role_name(n.role),
             ". Raft Figure 2 (all servers) and §5.1: a server that sees a higher term converts "
             "to follower; a leader that keeps its role in the new term is a second leader."));
  }
  fail(kTermAdoption, {h.seq}, {h.node},
       cat("Node ", h.node, " received a ", h.type, " of term ", h.term, " at seq ", h.seq,
           " but ended that step still in term ", n.term,
           ". Raft Figure 2 (all servers) and "
           "§5.1: a server that sees a higher term in any RPC request or response adopts it and "
           "becomes a follower at once; a stale leader that keeps its term can go on acting as "
           "leader."));
}

// The run follows its configuration: with leader_noop on (the trace header's config), a node
// that becomes leader appends a no-op entry of its term in that same step (Raft §8: a leader
// commits a blank entry at the start of its term to learn which entries are committed; without
// it, entries of earlier terms can stay uncommitted until a client writes).
void TraceChecker::check_leader_noop() {
  if (!awaiting_noop_) return;
  NewLeader l = *awaiting_noop_;
  awaiting_noop_.reset();
  fail(kWellFormed, {l.seq}, {l.node},
       cat("Node ", l.node, " became leader of term ", l.term, " at seq ", l.seq,
           " but did not append a no-op entry of that term in the same step, though the run's "
           "config has leader_noop = true (Raft §8: a new leader commits a blank no-op entry at "
           "the start of its term)."));
}

// ---------------------------------------------------------------------------------------------
// Runtime events

void TraceChecker::runtime_event(Ev kind, const Obj& ev, int64_t seq) {
  switch (kind) {
    case Ev::Drop: {
      SentMessage& m = sent_message(ev.object("msg"), seq, "drop");
      ev.one_of("reason", {"node_down", "loss", "partition", "cut", "test"});
      if (--m.copies < 0) {
        fail(kWellFormed, {m.seq, seq}, {},
             cat("Message sent at seq ", m.seq, " is dropped at seq ", seq,
                 " after all its "
                 "copies were already delivered or dropped."));
      }
      count("drops");
      release(m);
      break;
    }
    case Ev::Duplicate: ++sent_message(ev.object("msg"), seq, "duplicate").copies; break;
    case Ev::Inject: {
      // A message made by hand (a scenario): on the network as if its `from` had sent it.
      Obj msg = ev.object("msg");
      int64_t from = msg.integer("from");
      check_node_id(from, seq, "an injected message's sender");
      record_send(msg, seq, static_cast<int>(from));
      if (msg.str("type") == "ClientRequest") on_scenario_request(msg, seq);
      count("injected");
      break;
    }
    case Ev::ClientInvoke: on_client_invoke(ev, seq); break;
    case Ev::ClientSend: {
      // Client 0 with client_seq 0 is a request injected by the runtime (no client waits).
      int64_t client = ev.integer("client");
      if (client != 0) check_client_id(client, seq);
      int64_t request = ev.integer("client_seq");
      check_node_id(ev.integer("to"), seq, "the client's target");
      record_send(ev.object("msg"), seq, 0);
      if (requests_.count(client_key(client, request)) == 0) {
        on_scenario_request(ev.object("msg"), seq);
      }
      break;
    }
    case Ev::ClientReceive: on_client_receive(ev, seq); break;
    case Ev::ClientComplete: on_client_complete(ev, seq); break;
    case Ev::ClientRetry:
      check_client_id(ev.integer("client"), seq);
      ev.integer("client_seq");
      ev.one_of("reason", {"not_leader", "timeout"});
      check_node_id(ev.integer("to"), seq, "the client's target");
      break;
    case Ev::Partition: {
      int group_no = 0;
      for (element group : ev.array("groups")) {
        if (!group.is(LineType::Array)) {
          throw FormatIssue("field 'groups' must be an array of arrays");
        }
        ++group_no;
        for (element id : group) {
          if (!id.is(LineType::Int)) throw FormatIssue("field 'groups' must hold node ids");
          int64_t node = id.integer();
          check_node_id(node, seq, "a partition member");
          group_of_[static_cast<size_t>(node)] = group_no;
        }
      }
      note_fault();
      break;
    }
    case Ev::Heal:
      std::fill(group_of_.begin(), group_of_.end(), 0);
      cuts_.clear();
      note_fault();
      break;
    case Ev::Cut:
    case Ev::Uncut: {
      int64_t from = ev.integer("from");
      int64_t to = ev.integer("to");
      check_node_id(from, seq, "a link's source");
      check_node_id(to, seq, "a link's destination");
      if (kind == Ev::Cut)
        cuts_.insert({from, to});
      else
        cuts_.erase({from, to});
      note_fault();
      break;
    }
    case Ev::Network: {
      // From now on the network runs with these settings: the timing assumption of the liveness
      // bounds is judged with the ones in effect after the last fault.
      std::string loss(ev.str("loss"));
      std::string duplicate(ev.str("duplicate"));
      char* end = nullptr;
      double p = std::strtod(loss.c_str(), &end);
      if (loss.empty() || *end != '\0' || !(p >= 0 && p < 1)) {
        throw FormatIssue("field 'loss' must be a probability in [0, 1) as a string");
      }
      double d = std::strtod(duplicate.c_str(), &end);
      if (duplicate.empty() || *end != '\0' || !(d >= 0 && d < 1)) {
        throw FormatIssue("field 'duplicate' must be a probability in [0, 1) as a string");
      }
      int64_t min = ev.integer("network_latency_min_ms");
      int64_t max = ev.integer("network_latency_max_ms");
      if (min > max) {
        throw FormatIssue("field 'network_latency_min_ms' must be <= 'network_latency_max_ms'");
      }
      timing_.loss = p;
      timing_.network_latency_min_ms = min;
      timing_.network_latency_max_ms = max;
      note_fault();
      break;
    }
    case Ev::FaultSkipped:
      ev.one_of("action", {"crash", "restart", "transfer_leader"});
      // A transfer_leader acts on the leader only (thesis §3.10): skipped when there is none.
      if (ev.str("action") == "transfer_leader") {
        ev.one_of("target", {"leader"});
      } else {
        ev.one_of("target", {"leader", "follower"});
      }
      break;
    case Ev::End: on_end(ev, seq); break;
    default: break;
  }
}

KvOpKind op_kind(const std::string& op) {
  return op == "put" ? KvOpKind::Put : op == "get" ? KvOpKind::Get : KvOpKind::Delete;
}

// A reply's status as the history's outcome: unknown for what is no result (not_leader, stale,
// unknown).
KvOutcome outcome_of(const std::string& status) {
  return status == "ok"           ? KvOutcome::Ok
         : status == "key_exists" ? KvOutcome::KeyExists
         : status == "not_found"  ? KvOutcome::NotFound
                                  : KvOutcome::Unknown;
}

// The history's operation for a command, invoked at `position`.
KvOperation operation_of(const Command& cmd, int64_t client, int64_t request, int64_t position) {
  KvOperation op;
  op.client = static_cast<int>(client);
  op.request_seq = request;
  op.kind = op_kind(cmd.op);
  op.key = cmd.key;
  op.value = cmd.value;
  op.invoke = position;
  return op;
}

// The network hands a ClientReply to its client: like a deliver, it uses up one sent copy.
void TraceChecker::on_client_receive(const Obj& ev, int64_t seq) {
  int64_t client = ev.integer("client");
  Obj msg = ev.object("msg");
  SentMessage& m = sent_message(msg, seq, "client_receive");
  if (msg.str("type") != "ClientReply" || msg.integer("client") != client) {
    fail(kWellFormed, {m.seq, seq}, {},
         cat("client_receive at seq ", seq, " hands client ", client, " a ", msg.str("type"),
             " for client ", msg.integer("client"),
             "; clients receive only their own "
             "ClientReply messages."));
  }
  if (--m.copies < 0) {
    fail(kWellFormed, {m.seq, seq}, {},
         cat("Message sent at seq ", m.seq, " reaches its client at seq ", seq,
             " more often than "
             "it was sent and duplicated."));
  }
  last_reply_[client] = {msg.integer("seq"), parse_result(msg.object("result"))};
  count("deliveries");
  release(m);
}

void TraceChecker::on_client_invoke(const Obj& ev, int64_t seq) {
  int64_t client = ev.integer("client");
  int64_t request = ev.integer("client_seq");
  Command cmd = parse_command(ev.object("cmd"));
  check_client_id(client, seq);
  check_node_id(ev.integer("to"), seq, "the client's target", true);
  if (cmd.client != client || cmd.seq != request) {
    fail(kWellFormed, {seq}, {},
         cat("client_invoke at seq ", seq, " is for client ", client, " request ", request,
             " but its command carries client ", cmd.client, " seq ", cmd.seq, "."));
  }
  int64_t first = completed_.invoke_seq(client, request);
  if (auto open = requests_.find(client_key(client, request)); open != requests_.end()) {
    first = open->second.invoke_seq;
  }
  if (first != 0) {
    fail(kWellFormed, {first, seq}, {},
         cat("Client ", client, " invokes request ", request, " at seq ", seq,
             " a second time (first at seq ", first, ")."));
  }
  ClientRequestTrack track{cmd, seq, 0};
  if (cmd.op != "noop" && options_.linearizability) {
    // A hand-made trace may send a request before its client_invoke: the send made it an
    // operation already (on_scenario_request); it is the client's, invoked here.
    auto sent = scenario_requests_.find(client_key(client, request));
    if (sent != scenario_requests_.end() && client != 0) {
      for (LinearizabilityMonitor::Handle h : sent->second.history) history_.withdraw(h);
      scenario_requests_.erase(sent);
    }
    track.history = history_.invoke(operation_of(cmd, client, request, seq));
  }
  invoked_at_[client_key(client, request)] = last_t_;
  requests_.emplace(client_key(client, request), std::move(track));
  if (meter_) meter_->client_invoked(static_cast<int>(client), request);
  count("client_ops");
}

void TraceChecker::on_scenario_request(const Obj& msg, int64_t seq) {
  if (!options_.linearizability) return;
  Command cmd = parse_command(msg.object("cmd"));
  if (cmd.op != "put" && cmd.op != "get" && cmd.op != "delete") return;
  ScenarioRequest& r = scenario_requests_[client_key(cmd.client, cmd.seq)];
  bool first = r.history.empty() && !r.replied;
  if (!first && cmd.client != 0 && r.cmd == cmd) return;  // a retry: the same operation
  r.cmd = cmd;
  r.history.push_back(history_.invoke(operation_of(cmd, cmd.client, cmd.seq, seq)));
  count("scenario_ops");
}

void TraceChecker::on_scenario_reply(const Obj& msg, int64_t seq, int node) {
  auto it = scenario_requests_.find(client_key(msg.integer("client"), msg.integer("seq")));
  if (it == scenario_requests_.end()) return;
  ScenarioRequest& r = it->second;
  Result result = parse_result(msg.object("result"));
  KvOutcome outcome = outcome_of(result.status);
  // not_leader, stale and unknown are no result: the operation stays open.
  if (outcome == KvOutcome::Unknown || r.history.size() != 1) return;
  history_.complete(r.history.front(), seq, outcome, result.value, node);
  r.history.clear();
  r.replied = true;
}

// KVSemantics, client side: a reply the client accepted as final (ok / key_exists / not_found)
// must be the result the state machine produced for the entry carrying that (client, seq).
// unknown (deadline passed) and not_leader are legitimate answers and are not compared.
void TraceChecker::on_client_complete(const Obj& ev, int64_t seq) {
  int64_t client = ev.integer("client");
  int64_t request = ev.integer("client_seq");
  Result result = parse_result(ev.object("result"));
  int64_t from = ev.integer("from");
  check_client_id(client, seq);
  check_node_id(from, seq, "the replying node", true);
  auto it = requests_.find(client_key(client, request));
  if (it == requests_.end()) {
    fail(kWellFormed, {seq}, {},
         cat("client_complete at seq ", seq, " for client ", client, " request ", request,
             completed_.invoke_seq(client, request) == 0 ? ", which was never invoked."
                                                         : ", which already completed."));
  }
  ClientRequestTrack& track = it->second;
  // Once judged, the request keeps only its invoke seq (CompletedRequests).
  auto retire = [&] {
    completed_.add(client, request, track.invoke_seq);
    results_.erase(client_key(client, request));
    read_results_.erase(client_key(client, request));
    requests_.erase(it);
  };
  // Liveness: an operation ends (with a result or unknown) by its deadline.
  auto open = invoked_at_.find(client_key(client, request));
  if (open != invoked_at_.end()) {
    int64_t took = last_t_ - open->second;
    int64_t bound = client_bound();
    if (options_.liveness && timing_.known && took > bound) {
      fail(
          kLiveness, {track.invoke_seq, seq}, {},
          cat("Client ", client, "'s request ", request, " (", describe(track.cmd),
              ") completes at seq ", seq, " ", took, " ms after its invocation, past the bound of ",
              bound, " ms (client_deadline_ms): a client answers its caller by the deadline, ",
              "with unknown if it has no result."));
    }
    invoked_at_.erase(open);
  }
  if (meter_) {
    meter_->client_completed(static_cast<int>(client), request, result.status == "unknown",
                             result.status == "ok");
  }
  bool definite =
      result.status == "ok" || result.status == "key_exists" || result.status == "not_found";
  if (result.status == "stale") {
    fail(kKVSemantics, {track.invoke_seq, seq},
         from != 0 ? std::vector<int>{static_cast<int>(from)} : std::vector<int>{},
         cat("Client ", client, " accepted the outcome stale for request ", request, " (",
             describe(track.cmd), ") at seq ", seq,
             ". stale is the outcome of a request older than one its client already had take "
             "effect, which no client is still waiting for; a client completes only its current "
             "request."));
  }
  if (result.status == "not_leader") {
    fail(kKVSemantics, {track.invoke_seq, seq},
         from != 0 ? std::vector<int>{static_cast<int>(from)} : std::vector<int>{},
         cat("Client ", client, " accepted not_leader as the outcome of request ", request, " (",
             describe(track.cmd), ") at seq ", seq,
             ". not_leader is a redirect, not an outcome: the request did not take effect there, "
             "and a client retries at another server until the leader answers or its deadline "
             "passes (§8); its caller gets ok, key_exists, not_found or unknown."));
  }
  if (track.history != 0) {
    history_.complete(track.history, seq, outcome_of(result.status), result.value,
                      static_cast<int>(from));
  }
  if (!definite) {
    retire();
    return;
  }
  std::vector<int> nodes;
  if (from != 0) nodes.push_back(static_cast<int>(from));
  // A client accepts only a reply to its own current request: the last ClientReply it was
  // handed must be for this (client, seq) and carry this result.
  auto reply = last_reply_.find(client);
  if (reply == last_reply_.end() || reply->second.first != request ||
      reply->second.second != result) {
    fail(kKVSemantics, {track.invoke_seq, seq}, nodes,
         cat("Client ", client, " accepts ", describe(result), " for request ", request, " at seq ",
             seq, ", but ",
             reply == last_reply_.end()
                 ? std::string("it never received a reply")
                 : cat("the last reply it received was for request ", reply->second.first, " with ",
                       describe(reply->second.second)),
             ". A client completes a request only with the reply to that request (Raft §8: "
             "clients match replies to their requests by serial number)."));
  }
  // A get answered outside the log ([raft] read_mode = "read_index"): the client's result must
  // be one a node answered this request with; whether that answer was up to date is
  // Linearizability's to judge, from the client history alone.
  auto read = read_results_.find(client_key(client, request));
  if (read != read_results_.end() && track.cmd.op == "get") {
    if (std::find(read->second.begin(), read->second.end(), result) != read->second.end()) {
      count("client_reads_compared");
      retire();
      return;
    }
    fail(
        kKVSemantics, {track.invoke_seq, seq}, nodes,
        cat("Client ", client, " accepted result ", describe(result), " for request ", request,
            " (", describe(track.cmd), ") at seq ", seq, ", but no node answered that read with it",
            ". A client reply must report what the leader read for the client's own command."));
  }
  auto applied = results_.find(client_key(client, request));
  if (applied == results_.end()) {
    fail(kKVSemantics, {track.invoke_seq, seq}, nodes,
         cat("Client ", client, " accepted result ", describe(result), " for request ", request,
             " (", describe(track.cmd), ") at seq ", seq,
             ", but no node has applied an entry "
             "for that request. A leader replies only after the entry is committed and applied "
             "(§5.3, §8), so this acknowledgement is not backed by the state machine."));
  }
  const AppliedResult& a = applied->second;
  count("client_results_compared");
  if (a.cmd == track.cmd && a.result == result) {
    retire();
    return;
  }
  nodes.push_back(a.node);
  fail(kKVSemantics, {a.seq, seq}, nodes,
       cat("Client ", client, " accepted result ", describe(result), " for request ", request, " (",
           describe(track.cmd), ") at seq ", seq,
           ", but the entry for that request, "
           "applied by node ",
           a.node, " at seq ", a.seq, ", is ", describe(a.cmd), " with result ", describe(a.result),
           ". A client reply must report the result "
           "the state machine produced for the client's own command."));
}

// The final state of every node: the usual post-state checks, and KVSemantics on the store
// digest of every running node (its replayed KV model must hold exactly that store).
void TraceChecker::on_end(const Obj& ev, int64_t seq) {
  std::vector<bool> listed(nodes_.size(), false);
  for (element item : ev.array("nodes")) {
    Obj final_state(item, &ev, "nodes", Obj::kAnyIndex);
    int64_t id = final_state.integer("node");
    NodeState st = parse_state(final_state.object("state"));
    std::string_view digest = final_state.str("store_digest");
    int64_t size = final_state.integer("store_size");
    check_node_id(id, seq, "a final node");
    if (listed[static_cast<size_t>(id)]) {
      fail(kWellFormed, {seq}, {static_cast<int>(id)},
           cat("The end event lists node ", id, " twice."));
    }
    listed[static_cast<size_t>(id)] = true;
    NodeEvent e{Ev::End, seq, static_cast<int>(id), &nodes_[static_cast<size_t>(id)], st};
    check_term(e);
    check_post_state(e);
    if (e.node->down) continue;
    if (check_quorum_) check_quorum_contact(e.id, seq);
    if (digest != e.node->kv.digest() || size != e.node->kv.size()) {
      fail(kKVSemantics, {seq}, {e.id},
           cat("Node ", e.id, "'s final store has ", size, " keys and digest ", digest,
               ", but replaying its applied entries through the sequential KV model gives ",
               e.node->kv.size(), " keys and digest ", e.node->kv.digest(), "."));
    }
  }
  for (int id = 1; id <= max_id_; ++id) {
    if (!listed[static_cast<size_t>(id)] && nodes_[static_cast<size_t>(id)].joined) {
      fail(kWellFormed, {seq}, {id},
           cat("The end event does not list node ", id,
               "; it gives the final state of every "
               "node."));
    }
  }
  ended_ = true;
}

// ---------------------------------------------------------------------------------------------
// Liveness, with stated bounds. Safety says nothing bad happens; a cluster that elects no leader,
// or a follower that never catches up, is safe and useless. With B the bound (CheckOptions, by
// default 10 x election_timeout_max_ms) and the last fault the last crash, restart, partition,
// heal, cut, uncut or network change, if after it a majority of nodes is up and connected (one
// partition group, no cut between them), the trace goes on for at least B and the config meets the
// timing assumption below:
//  - one of them is leader within B of the last fault;
//  - every entry committed B before the end has been applied by every one of them;
// and, whatever the timing, every client operation ends (with a result or unknown) within
// client_deadline_ms of its invocation (checked at its completion, and at the end for
// operations still open then).

// Raft promises a leader only under its timing requirement (§5.6: broadcastTime << electionTimeout
// << MTBF) and with election timeouts randomized wider than a vote takes (§5.2). The leader and
// convergence bounds are judged only for a run whose config meets it (spec/checks.md, Liveness):
//  T1 a round trip fits in the shortest election timeout: 2 x latency max < election min, or a
//     candidate's timer fires again before any vote can come back;
//  T2 a leader's heartbeats reach a follower closer together than its shortest timeout:
//     heartbeat + (latency max - latency min) < election min, or followers depose a live leader;
//  T3 the election window is wider than a vote round trip: election max - election min >
//     2 x latency max (timeouts are drawn from [min, max)), or two timers firing within a round
//     trip of each other split the vote, again and again;
//  T4 loss <= 0.3: a round trip then arrives with probability >= 0.49; above it elections missed
//     the bound in 6 of 121 satisfying runs (0 of 398 at or below it; README, "Testing").
//  T5 with snapshots sent in chunks ([raft] snapshot_chunk_bytes), sending the run's largest
//     snapshot, one chunk per round trip, fits in the shortest election timeout: catching a
//     follower up is part of broadcastTime. Otherwise the follower times out and disrupts the
//     leaders whose snapshot it is fetching, each new leader's snapshot starts over, and
//     catching up has no bound (seen: a 4-node run with 1-byte chunks that had not converged
//     after 120 s).
// Every break is listed with the config values that cause it; empty when the run meets all four.
std::vector<std::string> TraceChecker::timing_assumption_breaks() const {
  const Timing& t = timing_;
  std::vector<std::string> out;
  if (2 * t.network_latency_max_ms >= t.election_timeout_min_ms) {
    out.push_back(cat("a round trip 2 x network_latency_max_ms = ", 2 * t.network_latency_max_ms,
                      " is not below election_timeout_min_ms = ", t.election_timeout_min_ms));
  }
  int64_t gap = t.heartbeat_interval_ms + t.network_latency_max_ms - t.network_latency_min_ms;
  if (gap >= t.election_timeout_min_ms) {
    out.push_back(cat("heartbeats may arrive ", gap, " ms apart (heartbeat_interval_ms ",
                      t.heartbeat_interval_ms, " + latency spread ",
                      t.network_latency_max_ms - t.network_latency_min_ms,
                      "), not below election_timeout_min_ms = ", t.election_timeout_min_ms));
  }
  int64_t window = t.election_timeout_max_ms - t.election_timeout_min_ms;
  if (window <= 2 * t.network_latency_max_ms) {
    out.push_back(cat("the election window ", t.election_timeout_min_ms, "..",
                      t.election_timeout_max_ms, " ms is ", window,
                      " ms wide, not wider than a round trip 2 x network_latency_max_ms = ",
                      2 * t.network_latency_max_ms));
  }
  if (snapshot_chunk_bytes_ > 0 && largest_snapshot_bytes_ > 0) {
    int64_t chunks = (largest_snapshot_bytes_ + snapshot_chunk_bytes_ - 1) / snapshot_chunk_bytes_;
    if (chunks * 2 * t.network_latency_max_ms >= t.election_timeout_min_ms) {
      out.push_back(cat("a snapshot of ", largest_snapshot_bytes_, " bytes goes in ", chunks,
                        " chunks of snapshot_chunk_bytes = ", snapshot_chunk_bytes_,
                        ", one per round trip: ", chunks * 2 * t.network_latency_max_ms,
                        " ms, not below election_timeout_min_ms = ", t.election_timeout_min_ms));
    }
  }
  if (t.loss > kMaxJudgedLoss) {
    std::ostringstream loss;
    loss << "network.loss " << t.loss << " is above " << kMaxJudgedLoss;
    out.push_back(loss.str());
  }
  return out;
}

void TraceChecker::note_fault() {
  last_fault_t_ = last_t_;
  for (NodeTrack& n : nodes_) n.leader_since_fault_t = -1;
}

void TraceChecker::check_liveness(int64_t seq) {
  if (!options_.liveness) return;
  if (!timing_.known && options_.liveness_bound_ms <= 0) {
    report_.liveness_skipped.push_back("no timing in the trace's config to derive bounds from");
    return;
  }
  int64_t bound = options_.liveness_bound_ms > 0 ? options_.liveness_bound_ms
                                                 : 10 * timing_.election_timeout_max_ms;
  report_.counts["liveness_bound_ms"] = bound;
  int64_t end_t = last_t_;

  // Client operations still open at the end.
  if (timing_.known) {
    for (const auto& [key, invoked] : invoked_at_) {
      if (end_t - invoked <= client_bound()) continue;
      const ClientRequestTrack& track = requests_.at(key);
      fail(kLiveness, {track.invoke_seq, seq}, {},
           cat("Client ", track.cmd.client, "'s request ", track.cmd.seq, " (", describe(track.cmd),
               "), invoked at seq ", track.invoke_seq, ", has not ended when the trace ends ",
               end_t - invoked, " ms later, past the bound of ", client_bound(),
               " ms: a client gives up on a request at its deadline."));
    }
  }

  // A leader and convergence are promised only under Raft's timing assumption; a run that breaks
  // it says so, with the values, instead of passing or failing.
  if (timing_.known) {
    std::vector<std::string> breaks = timing_assumption_breaks();
    if (!breaks.empty()) {
      std::string why;
      for (const std::string& b : breaks) why += (why.empty() ? "" : "; ") + b;
      report_.liveness_skipped.push_back(
          "leader and convergence bounds: the timing breaks Raft's timing assumption "
          "(spec/checks.md, Liveness): " +
          why);
      return;
    }
  }

  // The nodes that can make progress after the last fault: up, in one group, no cut among them.
  std::map<int, std::vector<int>> groups;
  for (int id = 1; id <= max_id_; ++id) {
    if (!nodes_[static_cast<size_t>(id)].down)
      groups[group_of_[static_cast<size_t>(id)]].push_back(id);
  }
  std::vector<int> healthy;
  for (const auto& [g, ids] : groups) {
    if (ids.size() > healthy.size()) healthy = ids;
  }
  for (const auto& [from, to] : cuts_) {
    bool inside = std::count(healthy.begin(), healthy.end(), from) &&
                  std::count(healthy.begin(), healthy.end(), to);
    if (inside) healthy.clear();
  }
  // A majority of the voters of the latest committed configuration (thesis §4.1).
  const Membership& conf =
      configs_[static_cast<size_t>(committed_.empty() ? 0 : committed_.back().config)];
  int healthy_voters = 0;
  for (int id : healthy) healthy_voters += conf.is_voter(id) ? 1 : 0;
  if (healthy_voters < conf.majority()) {
    report_.liveness_skipped.push_back(
        "after the last fault no majority of nodes is up and connected");
    return;
  }
  bool long_enough = end_t - last_fault_t_ >= bound;
  std::vector<int64_t> names(healthy.begin(), healthy.end());
  int64_t first_leader = -1;
  for (int id : healthy) {
    int64_t t = nodes_[static_cast<size_t>(id)].leader_since_fault_t;
    if (t >= 0 && (first_leader < 0 || t < first_leader)) first_leader = t;
  }
  bool leader_ok = first_leader >= 0 && first_leader <= last_fault_t_ + bound;
  if (!leader_ok && !long_enough) {
    report_.liveness_skipped.push_back(
        cat("no leader yet when the trace ends ", end_t - last_fault_t_,
            " ms after the last fault, within the bound of ", bound, " ms"));
    return;
  }
  if (!leader_ok) {
    fail(kLiveness, {seq}, {},
         cat("After the last fault (at ", last_fault_t_, " ms) nodes {", join(names),
             "} are up and connected, a majority of the voters of ", conf.describe(), ", yet ",
             first_leader < 0
                 ? std::string("none of them became leader")
                 : cat("the first of them to lead did so only at ", first_leader, " ms"),
             " within the bound of ", bound, " ms (the trace goes on to ", end_t,
             " ms). With a majority up and connected, randomized election timeouts elect a "
             "leader within a few timeouts (§5.2)."));
  }
  report_.counts["liveness_leader_after_ms"] = first_leader - last_fault_t_;
  if (!leader_noop_) {
    // Without the no-op a new leader cannot commit earlier-term entries until it commits one of
    // its own term (§5.4.2, §8): with no more client commands, a commit index can stay behind.
    report_.liveness_skipped.push_back(
        "replicas' convergence not judged: leader_noop is off, so a new leader learns the commit "
        "index only with its first entry of its term (Raft §8)");
    return;
  }
  // Convergence: everything committed at least `bound` before the end (everything committed,
  // if the trace is shorter) is applied by every healthy node.
  int64_t all = commit_history_.empty() ? 0 : commit_history_.back().second;
  int64_t target = long_enough ? 0 : all;
  if (long_enough) {
    for (const auto& [t, c] : commit_history_) {
      if (t <= end_t - bound) target = c;
    }
  }
  for (int id : healthy) {
    const NodeTrack& n = nodes_[static_cast<size_t>(id)];
    if (n.applied >= target) continue;
    if (!long_enough) {
      report_.liveness_skipped.push_back(
          cat("replicas still converging when the trace ends ", end_t - last_fault_t_,
              " ms after the last fault, within the bound of ", bound, " ms (node ", id,
              " has applied ", n.applied, " of ", target, " committed entries)"));
      return;
    }
    fail(kLiveness, {seq}, {id},
         cat("Node ", id, " is up and connected to a majority but has applied only through index ",
             n.applied, " at the end (", end_t, " ms), though index ", target,
             " was committed more than ", bound,
             " ms earlier. A connected follower learns every committed entry from the leader's "
             "AppendEntries within a few heartbeats (§5.3)."));
  }
}

// ---------------------------------------------------------------------------------------------
// Linearizability of the client-visible history (see check/linearizability.h).

void TraceChecker::check_linearizability() {
  if (!options_.linearizability) return;
  LinearizabilityResult r = history_.finish();
  report_.counts["linearizability_ops"] = r.operations;
  report_.counts["linearizability_keys"] = r.keys;
  report_.counts["linearizability_steps"] = r.steps;
  report_.counts["linearizability_inconclusive_keys"] = r.inconclusive_keys;
  report_.linearizability_inconclusive = r.inconclusive_keys > 0;
  if (r.verdict != LinearizabilityVerdict::NotLinearizable) return;
  const KvOperation& stuck = r.stuck_operation;
  std::vector<int64_t> seqs{stuck.invoke};
  if (stuck.complete) seqs.push_back(stuck.complete);
  std::vector<int> nodes;
  if (stuck.reply_node) nodes.push_back(stuck.reply_node);
  if (r.last_writer_operation) {
    const KvOperation& w = *r.last_writer_operation;
    seqs.push_back(w.invoke);
    if (w.complete) seqs.push_back(w.complete);
    if (w.reply_node) nodes.push_back(w.reply_node);
  }
  fail(kLinearizability, seqs, nodes,
       r.explanation +
           " Linearizability: every operation must appear to take effect at one "
           "instant between its invocation and its completion (Raft §8: read and write requests "
           "are answered by the leader only after committing them).");
}

// ---------------------------------------------------------------------------------------------
// Driving

void TraceChecker::event(element j, size_t index) {
  Obj ev(j);
  int64_t seq = ev.integer("seq");
  int64_t t = ev.integer("t");
  event_name_ = event_names()[index];
  const std::optional<Ev>& kind = events_by_index()[index];
  if (!kind) throw FormatIssue("unknown event " + quote(std::string(event_name_)));
  auto it = &*kind;
  if (ended_) throw FormatIssue("event after the 'end' event");
  check_order(seq, t);
  if (meter_) meter_->advance(t);
  ++report_.events;
  if (is_input(*it) || *it == Ev::End) {  // a step ended
    check_removed_leader(step_node_, step_seq_);
    check_term_adopted();
    check_prevote_step();
    check_leader_noop();
  }
  if (is_node_event(*it))
    node_event(*it, ev, seq);
  else
    runtime_event(*it, ev, seq);
}

void TraceChecker::finish() {
  if (!ended_) throw FormatIssue("the trace stops without an 'end' event (truncated?)");
  check_liveness(last_seq_);
  check_linearizability();
  if (meter_) report_.liveness_figures = meter_->finish(last_t_);
}

}  // namespace

Report check_trace(std::istream& in, const std::string& name, const CheckOptions& options) {
  return check_trace(in, name, options, nullptr);
}

Report check_trace(std::istream& in, const std::string& name, const CheckOptions& options,
                   const std::function<std::unique_ptr<std::istream>()>& reopen) {
  Report report;
  report.trace_name = name;
  TraceChecker checker(options, report);
  // The reader (trace/fast_reader.h) checks the encoding and validates every
  // line against the contract, with the same verdicts and messages as the
  // shared reader of replay and export-tla; what it lets through, the checks
  // below judge.
  FastTraceReader r(in, name);
  checker.set_source(reopen, name, &r);
  try {
    json header;
    r.read_header(header);
    try {
      checker.header(header);
    } catch (const FormatIssue& issue) {
      r.fail(issue.what());
    }
    LineValue event;
    while (r.next(event)) {
      try {
        checker.event(event, r.event_index());
      } catch (const FormatIssue& issue) {
        r.fail(issue.what());
      }
    }
    r.finish();
    try {
      checker.finish();
    } catch (const FormatIssue& issue) {
      r.fail_at_end(issue.what());
    }
  } catch (const Stop& stop) {
    report.violation = stop.violation;
  }
  return report;
}

Report check_trace_file(const std::string& path, const CheckOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TraceFormatError(path, 0, "cannot open the trace file");
  return check_trace(in, path, options, [path]() -> std::unique_ptr<std::istream> {
    return std::make_unique<std::ifstream>(path, std::ios::binary);
  });
}

std::string format_report(const Report& r) {
  auto c = [&r](const char* name) {
    auto it = r.counts.find(name);
    return it == r.counts.end() ? int64_t{0} : it->second;
  };
  std::ostringstream out;
  if (r.violation) {
    const Violation& v = *r.violation;
    out << "VIOLATION " << r.trace_name << ": " << v.check;
    if (!v.seqs.empty()) out << " at seq " << join(v.seqs);
    if (!v.nodes.empty()) {
      out << " on node" << (v.nodes.size() > 1 ? "s " : " ")
          << join(std::vector<int64_t>(v.nodes.begin(), v.nodes.end()));
    }
    out << "\n  " << v.explanation;
    return out.str();
  }
  // One check per line, so a reader can scan it; the first line keeps the
  // verdict and the file name, which is what scripts read.
  std::string bugs;
  for (const std::string& b : r.planted_bugs) bugs += (bugs.empty() ? "" : ", ") + b;
  out << "OK " << r.trace_name << ": " << r.events << " events";
  if (!bugs.empty()) out << " [planted bugs: " << bugs << "]";
  out << "\n  WellFormed ok (" << c("messages") << " messages, " << c("crashes") << " crashes)"
      << "\n  ElectionSafety ok (" << c("leaders") << " leaders in " << c("terms") << " terms)"
      << "\n  LeaderAppendOnly ok"
      << "\n  TermAdoption ok (" << c("higher_terms_seen") << " higher terms seen)"
      << "\n  LogMatching ok (" << c("log_entries") << " distinct entries)"
      << "\n  LeaderCompleteness ok (" << c("committed_entries") << " committed entries, "
      << c("leaders_checked") << " leaders checked)"
      << "\n  StateMachineSafety ok (" << c("applies") << " applies)"
      << "\n  KVSemantics ok (" << c("client_results_compared") << " client results compared)"
      << "\n  Durability ok (" << c("persists") << " persists)"
      << "\n  Replication ok\n  ";
  // Only for runs with membership changes: the other summaries stay as they were.
  if (r.counts.count("config_entries")) {
    out << "MembershipChange ok (" << c("config_entries") << " configuration entries, "
        << c("joins") << " joins, " << c("leaves") << " leaves)\n  ";
  }
  if (!r.liveness_skipped.empty()) {
    out << "Liveness not judged (" << r.liveness_skipped.front() << ")";
  } else if (r.counts.count("liveness_bound_ms")) {
    out << "Liveness ok (bound " << c("liveness_bound_ms") << " ms)";
  } else {
    out << "Liveness not checked";
  }
  out << "\n  ";
  if (r.linearizability_inconclusive) {
    out << "Linearizability: inconclusive (budget) on " << c("linearizability_inconclusive_keys")
        << " of " << c("linearizability_keys") << " keys";
  } else if (r.counts.count("linearizability_ops")) {
    out << "Linearizability ok (" << c("linearizability_ops") << " ops on "
        << c("linearizability_keys") << " keys)";
  } else {
    out << "Linearizability not checked";
  }
  return out.str();
}

}  // namespace raftkv::check
