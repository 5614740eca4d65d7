#include "trace/line_encoder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "trace/codec.h"
#include "trace/event_table.h"

namespace raftkv {
namespace {

// "00" "01" ... "99": a traced run writes some twenty integers per line,
// nearly all small (ids, terms, indices, milliseconds), and two digits at a
// time from a table is several times faster than std::to_chars' general path.
constexpr auto kDigitPairs = [] {
  std::array<char, 200> d{};
  for (int i = 0; i < 100; ++i) {
    d[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
    d[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
  }
  return d;
}();

// Writes v in decimal at p, as nlohmann::json::dump() writes an integer (a
// minus sign for a negative one, though the schema has none); returns the end.
inline char* put_int(char* p, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  if (v < 0) {
    *p++ = '-';
    u = 0 - u;
  }
  if (u < 10) {
    *p++ = static_cast<char>('0' + u);
    return p;
  }
  if (u < 100) {
    std::memcpy(p, &kDigitPairs[2 * u], 2);
    return p + 2;
  }
  // Digits counted first, then written from the last pair back, in place:
  // copying them from a scratch buffer was a call to memmove per integer.
  int n = 3;
  for (uint64_t limit = 1000; n < 20 && u >= limit; limit *= 10) ++n;
  char* end = p + n;
  char* b = end;
  while (u >= 100) {
    uint64_t q = u / 100;
    b -= 2;
    std::memcpy(b, &kDigitPairs[2 * (u - q * 100)], 2);
    u = q;
  }
  if (u < 10) {
    *--b = static_cast<char>('0' + u);
  } else {
    b -= 2;
    std::memcpy(b, &kDigitPairs[2 * u], 2);
  }
  return end;
}

// The names the schema fixes, with their lengths known without strlen.
std::string_view role_name(Role r) {
  switch (r) {
    case Role::Follower: return "follower";
    case Role::Candidate: return "candidate";
    case Role::Leader: return "leader";
  }
  return to_string(r);
}
std::string_view op_name(Op op) {
  switch (op) {
    case Op::Put: return "put";
    case Op::Get: return "get";
    case Op::Delete: return "delete";
    case Op::Noop: return "noop";
    case Op::Config: return "config";
  }
  return to_string(op);
}
std::string_view status_name(Status st) {
  switch (st) {
    case Status::Ok: return "ok";
    case Status::KeyExists: return "key_exists";
    case Status::NotFound: return "not_found";
    case Status::NotLeader: return "not_leader";
    case Status::Unknown: return "unknown";
    case Status::Stale: return "stale";
  }
  return to_string(st);
}
std::string_view type_name(MsgType t) {
  switch (t) {
    case MsgType::RequestVote: return "RequestVote";
    case MsgType::RequestVoteResponse: return "RequestVoteResponse";
    case MsgType::AppendEntries: return "AppendEntries";
    case MsgType::AppendEntriesResponse: return "AppendEntriesResponse";
    case MsgType::CommitNotification: return "CommitNotification";
    case MsgType::ClientRequest: return "ClientRequest";
    case MsgType::ClientReply: return "ClientReply";
    case MsgType::PreVote: return "PreVote";
    case MsgType::PreVoteResponse: return "PreVoteResponse";
    case MsgType::ReadConfirm: return "ReadConfirm";
    case MsgType::ReadConfirmResponse: return "ReadConfirmResponse";
    case MsgType::TimeoutNow: return "TimeoutNow";
    case MsgType::InstallSnapshot: return "InstallSnapshot";
    case MsgType::InstallSnapshotResponse: return "InstallSnapshotResponse";
  }
  return to_string(t);
}

// A line being appended to a LineBuffer, straight into its room, or to a
// std::string, through a per-thread scratch LineBuffer and one copy at the end
// (writing into a string's room needs it resized, which zero-fills the room:
// that was a third of the encoder's own time). Writers check only that there
// is room; appending piece by piece to a string was worse: a call to memmove
// of a few bytes plus a capacity check, twenty-odd times per line. An Out on
// a string made while another is open on the same thread takes the next
// scratch buffer, so the two never write over each other.
class Out {
 public:
  explicit Out(LineBuffer& b) : s_(nullptr), b_(b) { open(); }
  explicit Out(std::string& s) : s_(&s), b_(scratch()) {
    b_.clear();
    open();
  }
  ~Out() {
    b_.commit(p_);
    if (s_ != nullptr) {
      s_->append(b_.data(), b_.size());
      --depth();
    }
  }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;

  // A pointer to room for n more bytes; advance() past what was put there.
  char* room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
    return p_;
  }
  void advance(char* end) { p_ = end; }
  void put(char c) { *room(1) = c, ++p_; }
  void put(const char* p, size_t n) {
    std::memcpy(room(n), p, n);
    p_ += n;
  }
  void put(std::string_view v) { put(v.data(), v.size()); }
  // Where the next byte goes, as an offset that stays valid when the room
  // grows, and what was written from such an offset on.
  size_t offset() const { return static_cast<size_t>(p_ - b_.data()); }
  std::string_view since(size_t offset) const {
    return {b_.data() + offset, static_cast<size_t>(p_ - b_.data()) - offset};
  }

 private:
  static constexpr size_t kSlack = 4096;  // most lines fit, and any key with its value

  void open() {
    p_ = b_.room(kSlack);
    end_ = b_.limit();
  }
  [[gnu::noinline]] void grow(size_t n) {
    b_.commit(p_);
    p_ = b_.room(n + kSlack);
    end_ = b_.limit();
  }

  static constexpr int kMaxDepth = 4;
  static int& depth() {
    thread_local int open = 0;  // Outs on strings open on this thread
    return open;
  }
  static LineBuffer& scratch() {
    thread_local LineBuffer s[kMaxDepth];
    int& d = depth();
    if (d == kMaxDepth) throw std::logic_error("trace line encoder: Outs nested too deep");
    return s[d++];
  }

  std::string* s_;  // the string the line goes to, or null: it is written into b_
  LineBuffer& b_;   // where the line is written
  char* p_;         // the end of what was written
  char* end_;       // the end of the room
};

// The decimal text of the value last written for one field on this thread.
class CounterText {
 public:
  // Writes v at p; returns the end.
  char* put(char* p, int64_t v) {
    if (v != value_) {
      if (v == value_ + 1 && value_ >= 0) {
        increment();
      } else {
        length_ = static_cast<size_t>(put_int(digits_, v) - digits_);
      }
      value_ = v;
    }
    std::memcpy(p, digits_, length_);
    return p + length_;
  }

 private:
  void increment() {
    size_t i = length_;
    while (i > 0 && digits_[i - 1] == '9') digits_[--i] = '0';
    if (i > 0) {
      ++digits_[i - 1];
      return;
    }
    std::memmove(digits_ + 1, digits_, length_++);  // 99 -> 100
    digits_[0] = '1';
  }
  int64_t value_ = -1;  // none yet
  size_t length_ = 0;
  char digits_[24];
};

CounterText& seq_text() {
  thread_local CounterText text;
  return text;
}
CounterText& t_text() {
  thread_local CounterText text;
  return text;
}

// Writes one object's fields in the order given, which every caller below
// lists sorted by key (std::map order, as nlohmann::json writes them).
// Keys are string literals, so their length is known at compile time: a key
// and its punctuation are copied by fixed-size moves the compiler inlines.
class Obj {
 public:
  explicit Obj(Out& out) : out_(out) { out_.put('{'); }
  ~Obj() { out_.put('}'); }
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;

  template <size_t N>
  Out& key(const char (&k)[N]) {
    char* p = out_.room(N + 3);
    out_.advance(put_key(p, k));
    return out_;
  }
  template <size_t N>
  void num(const char (&k)[N], int64_t v) {
    char* p = out_.room(N + 3 + 24);  // 24 bytes hold any 64-bit integer
    out_.advance(put_int(put_key(p, k), v));
  }
  template <size_t N>
  void boolean(const char (&k)[N], bool v) {
    char* p = put_key(out_.room(N + 3 + 5), k);
    if (v) {
      std::memcpy(p, "true", 4);
      p += 4;
    } else {
      std::memcpy(p, "false", 5);
      p += 5;
    }
    out_.advance(p);
  }
  // A line's seq or t, from `text`, the thread's copy of the value last written
  // there: seq is one more than the last line's nearly always, and t the same
  // as it, so their digits are mostly copied (put_int was the encoder's
  // largest cost).
  template <size_t N>
  void counter(const char (&k)[N], int64_t v, CounterText& text) {
    char* p = put_key(out_.room(N + 3 + 24), k);
    out_.advance(text.put(p, v));
  }
  // A string the schema fixes (an event, role or type name): never escaped.
  template <size_t N>
  void name(const char (&k)[N], std::string_view v) {
    char* p = put_key(out_.room(N + 5 + v.size()), k);
    *p++ = '"';
    std::memcpy(p, v.data(), v.size());
    p += v.size();
    *p++ = '"';
    out_.advance(p);
  }
  template <size_t N>
  void str(const char (&k)[N], const std::string& v) {
    key(k);
    append_string(v);
  }

 private:
  // Writes `,"k":` (no comma before the first key) at p; returns its end.
  template <size_t N>
  char* put_key(char* p, const char (&k)[N]) {
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    std::memcpy(p, k, N - 1);
    p += N - 1;
    *p++ = '"';
    *p++ = ':';
    return p;
  }

  void append_string(const std::string& s) {
    for (unsigned char c : s) {
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        out_.put(json(s).dump());  // nlohmann's own escaping and UTF-8 handling
        return;
      }
    }
    char* p = out_.room(s.size() + 2);
    *p++ = '"';
    std::memcpy(p, s.data(), s.size());
    p += s.size();
    *p++ = '"';
    out_.advance(p);
  }

  Out& out_;
  bool first_ = true;
};

// The fields of `s` whose bits are set in `mask` (trace::kStateFields' order).
void append_state(Out& out, const NodeState& s, bool up, uint8_t mask) {
  Obj o(out);
  if (mask & 1) o.num("applied", s.applied);
  if (mask & 2) o.num("commit", s.commit);
  if (mask & 4) o.num("last_index", s.last_index);
  if (mask & 8) o.num("last_term", s.last_term);
  if (mask & 16) o.name("role", up ? role_name(s.role) : std::string_view("down"));
  if (mask & 32) o.num("term", s.term);
  if (mask & 64) o.num("vote", s.vote);
}

// What a node line writes of its state: the fields in `mask` (none: no
// `state` key), as StateCache::changed decided.
struct StateOut {
  const NodeState* state;
  uint8_t mask;
};

void append_ids(Out& s, const std::vector<int>& ids);

void append_command(Out& out, const Command& c) {
  Obj o(out);
  o.num("client", c.client);
  o.str("key", c.key);
  // A configuration entry's members (thesis §4.1), only on one.
  if (c.op == Op::Config) append_ids(o.key("learners"), c.conf.get().learners);
  o.name("op", op_name(c.op));
  o.num("seq", c.seq);
  o.str("value", c.value);
  if (c.op == Op::Config) append_ids(o.key("voters"), c.conf.get().voters);
}

void write_entry(Out& out, const Entry& e) {
  Obj o(out);
  append_command(o.key("cmd"), e.cmd);
  o.num("term", e.term);
}

// The text of recently written entries, per thread. One entry is written
// many times over: in its leader's append, in each AppendEntries that
// carries it, in every follower's append and in every replica's apply (14
// times per operation at 5x3, over 150 at 51x16), and copying its text is
// several times cheaper than writing it again. An entry is looked up by its
// term, client and seq and matched on every field, so a hit is always the
// same text.
class EntryTextCache {
 public:
  // The cached text of `e`, or empty.
  std::string_view find(const Entry& e) const {
    const Slot& s = slots_[slot_of(e)];
    if (s.length == 0 || s.term != e.term || s.client != e.cmd.client || s.seq != e.cmd.seq ||
        s.op != e.cmd.op || s.key != e.cmd.key || s.value != e.cmd.value) {
      return {};
    }
    return {s.text, s.length};
  }
  void store(const Entry& e, std::string_view text) {
    Slot& s = slots_[slot_of(e)];
    s.length = 0;
    if (text.size() > kMaxText || e.cmd.op == Op::Config) return;
    s.term = e.term;
    s.client = e.cmd.client;
    s.seq = e.cmd.seq;
    s.op = e.cmd.op;
    s.key = e.cmd.key;
    s.value = e.cmd.value;
    std::memcpy(s.text, text.data(), text.size());
    s.length = static_cast<uint8_t>(text.size());
  }

 private:
  static constexpr size_t kSlots = 256;
  static constexpr size_t kMaxText = 160;
  struct Slot {
    int64_t term = 0;
    int64_t seq = 0;
    int client = 0;
    Op op = Op::Noop;
    uint8_t length = 0;  // 0: empty
    std::string key;
    std::string value;
    char text[kMaxText];
  };
  static size_t slot_of(const Entry& e) {
    uint64_t h = static_cast<uint64_t>(e.cmd.seq) * 0x9E3779B97F4A7C15ull ^
                 static_cast<uint64_t>(e.cmd.client) * 0xC2B2AE3D27D4EB4Full ^
                 static_cast<uint64_t>(e.term);
    return static_cast<size_t>(h >> 56) % kSlots;
  }
  Slot slots_[kSlots];
};

void append_entry(Out& out, const Entry& e) {
  thread_local EntryTextCache cache;
  std::string_view text = cache.find(e);
  if (!text.empty()) {
    out.put(text);
    return;
  }
  size_t start = out.offset();
  write_entry(out, e);
  cache.store(e, out.since(start));
}

void append_entries(Out& out, const std::vector<Entry>& entries) {
  out.put('[');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.put(',');
    append_entry(out, entries[i]);
  }
  out.put(']');
}

void append_result(Out& out, const Result& r) {
  Obj o(out);
  o.name("status", status_name(r.status));
  o.str("value", r.value);
}

// A JSON array of node ids, e.g. [1,2,5].
void append_ids(Out& s, const std::vector<int>& ids) {
  s.put('[');
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s.put(',');
    s.advance(put_int(s.room(24), ids[i]));
  }
  s.put(']');
}

void write_message(Out& out, const Message& m) {
  Obj o(out);
  switch (m.type) {
    case MsgType::RequestVote:
    case MsgType::PreVote:
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("last_log_index", m.last_log_index);
      o.num("last_log_term", m.last_log_term);
      o.num("term", m.term);
      break;
    case MsgType::RequestVoteResponse:
    case MsgType::PreVoteResponse:
      o.num("from", m.from);
      o.boolean("granted", m.granted);
      o.num("id", m.id);
      o.str("reason", m.reason);
      o.num("term", m.term);
      break;
    case MsgType::AppendEntries:
      append_entries(o.key("entries"), m.entries);
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("leader_commit", m.leader_commit);
      o.num("prev_log_index", m.prev_log_index);
      o.num("prev_log_term", m.prev_log_term);
      o.num("term", m.term);
      break;
    case MsgType::AppendEntriesResponse:
      o.num("conflict_index", m.conflict_index);
      o.num("conflict_term", m.conflict_term);
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("match_index", m.match_index);
      o.num("prev_log_index", m.prev_log_index);
      o.str("reason", m.reason);
      o.boolean("success", m.success);
      o.num("term", m.term);
      break;
    case MsgType::CommitNotification:
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("leader_commit", m.leader_commit);
      o.num("term", m.term);
      break;
    case MsgType::TimeoutNow:
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("term", m.term);
      break;
    case MsgType::ClientRequest:
      o.num("client", m.client);
      append_command(o.key("cmd"), m.cmd);
      o.num("from", m.from);
      o.num("id", m.id);
      break;
    case MsgType::ClientReply:
      o.num("client", m.client);
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("leader_hint", m.leader_hint);
      append_result(o.key("result"), m.result);
      o.num("seq", m.seq);
      break;
    case MsgType::ReadConfirm:
    case MsgType::ReadConfirmResponse:
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("round", m.round);
      o.num("term", m.term);
      break;
    case MsgType::InstallSnapshot:
      o.str("data", m.data);  // escaped as nlohmann escapes it (newlines, quotes, UTF-8 as is)
      o.boolean("done", m.done);
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("last_included_index", m.snap_index);
      o.num("last_included_term", m.snap_term);
      o.num("offset", m.offset);
      o.num("term", m.term);
      break;
    case MsgType::InstallSnapshotResponse:
      o.boolean("done", m.done);
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("last_included_index", m.snap_index);
      o.num("offset", m.offset);
      o.num("term", m.term);
      break;
  }
  // "to" and "type" sort after every other key of every message type, and a
  // RequestVote's "transfer" (written only when true) between them.
  o.num("to", m.to);
  if (m.transfer && m.type == MsgType::RequestVote) o.boolean("transfer", true);
  o.name("type", type_name(m.type));
}

}  // namespace

void append_message(std::string& out, const Message& m) {
  Out o(out);
  write_message(o, m);
}

uint8_t StateCache::changed(int node, const NodeState& s, bool up) {
  if (static_cast<size_t>(node) >= slots_.size()) slots_.resize(static_cast<size_t>(node) + 1);
  Slot& slot = slots_[static_cast<size_t>(node)];
  // A crashed node's role is "down" whatever its volatile state says, so up
  // is part of the state compared.
  if (slot.valid && slot.up == up && slot.state == s) return 0;
  uint8_t mask = trace::kWholeState;  // a node's first state is whole
  if (slot.valid) {
    const NodeState& p = slot.state;
    // The written role: "down" whenever the node is down.
    bool role_changed = up != slot.up || (up && s.role != p.role);
    mask = static_cast<uint8_t>((s.applied != p.applied ? 1 : 0) | (s.commit != p.commit ? 2 : 0) |
                                (s.last_index != p.last_index ? 4 : 0) |
                                (s.last_term != p.last_term ? 8 : 0) | (role_changed ? 16 : 0) |
                                (s.term != p.term ? 32 : 0) | (s.vote != p.vote ? 64 : 0));
  }
  slot.valid = true;
  slot.up = up;
  slot.state = s;
  return mask;
}

namespace {

// The input and timer names the runtime passes (string literals), as views of
// literals, told apart by their first letters instead of measured per line.
std::string_view input_name(const char* e) {
  switch (e[0]) {
    case 'd': return "deliver";
    case 't': return e[1] == 'r' ? std::string_view("transfer") : std::string_view("timeout");
    case 'c': return e[1] == 'h' ? std::string_view("change") : std::string_view("crash");
    case 'r': return "restart";
    case 'j': return "join";
    case 'l': return "leave";
    case 's': return e[1] == 'e' ? std::string_view("send") : std::string_view("start");
  }
  return e;
}
std::string_view timer_name(const char* timer) {
  switch (timer[0]) {
    case 'e': return "election";
    case 'h': return "heartbeat";
    case 's': return "start_election";
    case 'c': return "check_quorum";
    case 't': return "transfer";
  }
  return timer;
}

}  // namespace

namespace {

// A node input or send line; its `state` as StateCache decided.
void write_node_input(Out& out, StateOut state, bool up, const char* event, int node,
                      const Message* msg, int64_t msg_id, const char* timer, int64_t seq, int64_t t,
                      int to, const char* action) {
  Obj o(out);
  std::string_view name = input_name(event);
  if (action != nullptr) o.name("action", action);  // change only
  o.name("event", name);
  if (name == "deliver") {
    // A deliver names the message its send already wrote out in full (schema
    // version 2): repeating it was a fifth of a trace's bytes.
    o.num("msg_id", msg_id);
  } else if (msg != nullptr) {
    write_message(o.key("msg"), *msg);
  }
  o.num("node", node);
  o.counter("seq", seq, seq_text());
  if (state.mask != 0) append_state(o.key("state"), *state.state, up, state.mask);
  o.counter("t", t, t_text());
  if (action != nullptr) o.num("target", to);  // change: its target
  if (timer != nullptr) o.name("timer", timer_name(timer));
  if (to != 0 && action == nullptr) o.num("to", to);  // transfer only
}

template <typename Buffer>
void node_input_line(Buffer& line, StateCache& states, const char* event, int node,
                     const NodeState& state, bool up, const Message* msg, const char* timer,
                     int64_t seq, int64_t t, int to, const char* action) {
  Out out(line);
  StateOut written{&state, states.changed(node, state, up)};
  write_node_input(out, written, up, event, node, msg, msg != nullptr ? msg->id : 0, timer, seq, t,
                   to, action);
}

}  // namespace

void append_node_input(std::string& line, StateCache& states, const char* event, int node,
                       const NodeState& state, bool up, const Message* msg, const char* timer,
                       int64_t seq, int64_t t, int to, const char* action) {
  node_input_line(line, states, event, node, state, up, msg, timer, seq, t, to, action);
}
void append_node_input(LineBuffer& line, StateCache& states, const char* event, int node,
                       const NodeState& state, bool up, const Message* msg, const char* timer,
                       int64_t seq, int64_t t, int to, const char* action) {
  node_input_line(line, states, event, node, state, up, msg, timer, seq, t, to, action);
}

namespace {

// The keys of every effect event, sorted: its own fields interleaved with
// event, node, seq, state and t. Each writer gets a callback for the common
// part at the right places.
struct EventWriter {
  Out& out;
  StateOut state;  // as StateCache decided
  const NodeEvent& event;
  int node;
  int64_t seq;
  int64_t t;

  // Each writer below names its event with a literal (test_trace_encoding
  // holds the names equal to codec's event_name through the json path).
  void node_field(Obj& o) const { o.num("node", node); }
  // seq, state and t are adjacent in every effect event but persist's, where
  // term and vote follow t, and the snapshot events', where store_digest and
  // store_size come between state and t.
  void seq_state(Obj& o) const {
    o.counter("seq", seq, seq_text());
    if (state.mask != 0) append_state(o.key("state"), *state.state, true, state.mask);
  }
  void seq_state_t(Obj& o) const {
    seq_state(o);
    o.counter("t", t, t_text());
  }

  void operator()(const ev::TermUpdate& e) const {
    Obj o(out);
    o.name("event", "term_update");
    node_field(o);
    o.num("old_term", e.old_term);
    seq_state_t(o);
  }
  void operator()(const ev::BecomeCandidate& e) const {
    Obj o(out);
    o.name("event", e.pre ? "become_precandidate" : "become_candidate");
    node_field(o);
    seq_state_t(o);
  }
  void operator()(const ev::BecomeLeader& e) const {
    Obj o(out);
    o.name("event", "become_leader");
    node_field(o);
    seq_state_t(o);
    append_ids(o.key("votes"), e.votes);
  }
  void operator()(const ev::StepDown& e) const {
    Obj o(out);
    o.name("event", "step_down");
    append_ids(o.key("heard_from"), e.heard_from);
    node_field(o);
    if (e.removed) o.boolean("removed", true);  // only when true (thesis §4.2.2)
    seq_state_t(o);
  }
  void operator()(const ev::Membership& e) const {
    Obj o(out);
    o.name("event", "membership");
    o.num("index", e.index);
    append_ids(o.key("learners"), e.learners);
    node_field(o);
    seq_state_t(o);
    append_ids(o.key("voters"), e.voters);
  }
  void operator()(const ev::RejectChange& e) const {
    Obj o(out);
    o.name("action", to_string(e.action));
    o.name("event", "reject_change");
    node_field(o);
    o.str("reason", e.reason);
    seq_state_t(o);
    o.num("target", e.target);
  }
  void operator()(const ev::TransferAbort& e) const {
    Obj o(out);
    o.name("event", "transfer_abort");
    node_field(o);
    seq_state_t(o);
    o.num("to", e.to);
  }
  void operator()(const ev::BecomeFollower& e) const {
    Obj o(out);
    o.name("event", "become_follower");
    o.num("leader", e.leader);
    node_field(o);
    seq_state_t(o);
  }
  void operator()(const ev::Vote& e) const {
    Obj o(out);
    o.num("candidate", e.candidate);
    o.name("event", e.pre ? "prevote" : "vote");
    o.boolean("granted", e.granted);
    node_field(o);
    o.str("reason", e.reason);
    seq_state_t(o);
  }
  void operator()(const ev::Truncate& e) const {
    Obj o(out);
    o.name("event", "truncate");
    o.num("from_index", e.from_index);
    node_field(o);
    o.num("removed", e.removed);
    seq_state_t(o);
  }
  void operator()(const ev::Append& e) const {
    Obj o(out);
    append_entries(o.key("entries"), e.entries);
    o.name("event", "append");
    o.num("first_index", e.first_index);
    node_field(o);
    seq_state_t(o);
  }
  void operator()(const ev::Progress& e) const {
    Obj o(out);
    o.name("event", "progress");
    o.num("match_index", e.match_index);
    o.name("mode", e.probing ? "probe" : "replicate");
    o.num("next_index", e.next_index);
    node_field(o);
    o.num("peer", e.peer);
    seq_state_t(o);
  }
  void operator()(const ev::Commit& e) const {
    Obj o(out);
    o.name("event", "commit");
    node_field(o);
    o.num("old_commit", e.old_commit);
    seq_state_t(o);
  }
  void operator()(const ev::Apply& e) const {
    Obj o(out);
    append_entry(o.key("entry"), e.entry);
    o.name("event", "apply");
    o.num("index", e.index);
    node_field(o);
    append_result(o.key("result"), e.result);
    seq_state_t(o);
  }
  void operator()(const ev::Persist& e) const {
    Obj o(out);
    o.name("event", "persist");
    o.num("log_len", e.log_len);
    node_field(o);
    seq_state_t(o);
    o.num("term", e.term);
    o.num("vote", e.vote);
  }
  void operator()(const ev::Read& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    o.name("event", "read");
    o.str("key", e.key);
    if (e.lease) o.boolean("lease", *e.lease);
    node_field(o);
    o.num("read_index", e.read_index);
    append_result(o.key("result"), e.result);
    seq_state_t(o);
  }
  void operator()(const ev::Snapshot& e) const {
    Obj o(out);
    o.num("bytes", e.bytes);
    o.name("event", "snapshot");
    o.num("index", e.index);
    node_field(o);
    seq_state(o);
    o.str("store_digest", e.store_digest);
    o.num("store_size", e.store_size);
    o.num("t", t);
    o.num("term", e.term);
  }
  void operator()(const ev::InstallSnapshot& e) const {
    Obj o(out);
    o.name("event", "install_snapshot");
    o.num("index", e.index);
    o.num("kept", e.kept);
    node_field(o);
    seq_state(o);
    o.str("store_digest", e.store_digest);
    o.num("store_size", e.store_size);
    o.num("t", t);
    o.num("term", e.term);
  }
  void operator()(const ev::RejectClient& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    o.name("event", "reject_client");
    o.num("leader_hint", e.leader_hint);
    node_field(o);
    seq_state_t(o);
  }
};

template <typename Buffer>
void node_event_line(Buffer& line, StateCache& states, const NodeEvent& event, int node,
                     int64_t seq, int64_t t) {
  Out out(line);
  StateOut written{&event.state, states.changed(node, event.state, true)};
  std::visit(EventWriter{out, written, event, node, seq, t}, event.body);
}

}  // namespace

void append_node_event(std::string& line, StateCache& states, const NodeEvent& event, int node,
                       int64_t seq, int64_t t) {
  node_event_line(line, states, event, node, seq, t);
}
void append_node_event(LineBuffer& line, StateCache& states, const NodeEvent& event, int node,
                       int64_t seq, int64_t t) {
  node_event_line(line, states, event, node, seq, t);
}

namespace {

// The runtime events, keys sorted as in every other writer here.
struct RuntimeWriter {
  Out& out;
  int64_t seq;
  int64_t t;

  void seq_t(Obj& o) const {
    o.counter("seq", seq, seq_text());
    o.counter("t", t, t_text());
  }
  void operator()(const rt::Drop& e) const {
    Obj o(out);
    o.name("event", "drop");
    write_message(o.key("msg"), *e.msg);
    o.name("reason", e.reason);
    seq_t(o);
  }
  void operator()(const rt::Inject& e) const {
    Obj o(out);
    o.name("event", "inject");
    write_message(o.key("msg"), *e.msg);
    seq_t(o);
  }
  void operator()(const rt::Duplicate& e) const {
    Obj o(out);
    o.name("event", "duplicate");
    write_message(o.key("msg"), *e.msg);
    seq_t(o);
  }
  void operator()(const rt::ClientInvoke& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    append_command(o.key("cmd"), *e.cmd);
    o.name("event", "client_invoke");
    seq_t(o);
    o.num("to", e.to);
  }
  void operator()(const rt::ClientSend& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    o.name("event", "client_send");
    write_message(o.key("msg"), *e.msg);
    seq_t(o);
    o.num("to", e.to);
  }
  void operator()(const rt::ClientReceive& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.name("event", "client_receive");
    write_message(o.key("msg"), *e.msg);
    seq_t(o);
  }
  void operator()(const rt::ClientRetry& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    o.name("event", "client_retry");
    o.name("reason", e.reason);
    seq_t(o);
    o.num("to", e.to);
  }
  void operator()(const rt::ClientComplete& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    o.name("event", "client_complete");
    o.num("from", e.from);
    append_result(o.key("result"), *e.result);
    seq_t(o);
  }
};

}  // namespace

void append_runtime_event(std::string& line, const RuntimeEvent& event, int64_t seq, int64_t t) {
  Out out(line);
  std::visit(RuntimeWriter{out, seq, t}, event);
}
void append_runtime_event(LineBuffer& line, const RuntimeEvent& event, int64_t seq, int64_t t) {
  Out out(line);
  std::visit(RuntimeWriter{out, seq, t}, event);
}

// ---------------------------------------------------------------------------
// Deferred lines

namespace {

enum class Deferred : uint8_t {
  Deliver,
  Progress,
  Persist,
  Commit,
  Append,
  Apply,
  SendEntries,   // AppendEntries
  SendResponse,  // AppendEntriesResponse
  SendNotify,    // CommitNotification
  SendReply,     // ClientReply
  // Runtime events (no node, no state): a client's, four lines of every
  // operation.
  ClientInvoke,
  ClientSend,
  ClientReceive,
  ClientComplete,
};

// Record flags.
constexpr uint8_t kUp = 2;    // the node is up (its state's role, else "down")
constexpr uint8_t kFlag = 4;  // progress: probing; AppendEntriesResponse: success

// A record: mark, kind, flags, state mask (StateCache::changed's), node
// (int32), seq, t, [state, if the mask is not 0], then the kind's
// fields: integers as int64, strings as a uint32 length and the bytes, an
// entry as term, op (one byte), client, seq, key and value, a list of entries
// as a uint32 count and the entries. Written and read with memcpy (no
// alignment). A configuration entry's members are not recorded: a line with
// one is written as text.
constexpr size_t kFixedRecord = 4 + 4 + 16 + sizeof(NodeState) + 8 * 8 + 4;

size_t command_bytes(const Command& c) { return 1 + 8 + 8 + 4 + c.key.size() + 4 + c.value.size(); }
size_t entry_bytes(const Entry& e) { return 8 + command_bytes(e.cmd); }
size_t result_bytes(const Result& r) { return 1 + 4 + r.value.size(); }
bool recordable(const Command& c) { return c.op != Op::Config; }
bool recordable(const Entry& e) { return recordable(e.cmd); }
// The room the entries take in a record, or SIZE_MAX if one is not recordable.
size_t entries_bytes(const std::vector<Entry>& entries) {
  size_t n = 4;
  for (const Entry& e : entries) {
    if (!recordable(e)) return SIZE_MAX;
    n += entry_bytes(e);
  }
  return n;
}

class RecordWriter {
 public:
  // `extra`: the room the record's strings and entries take beyond kFixedRecord.
  template <typename Buffer>
  RecordWriter(Buffer& s, Deferred kind, uint8_t flags, uint8_t mask, int node, int64_t seq,
               int64_t t, size_t extra = 0)
      : out_(s) {
    p_ = out_.room(kFixedRecord + extra);
    *p_++ = kDeferredMark;
    *p_++ = static_cast<char>(kind);
    *p_++ = static_cast<char>(flags);
    *p_++ = static_cast<char>(mask);
    int32_t n = node;
    put(&n, sizeof n);
    put(&seq, sizeof seq);
    put(&t, sizeof t);
  }
  ~RecordWriter() { out_.advance(p_); }
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void state(const NodeState& s) { put(&s, sizeof s); }
  void num(int64_t v) { put(&v, sizeof v); }
  void byte(uint8_t v) { *p_++ = static_cast<char>(v); }
  void text(const std::string& v) {
    auto n = static_cast<uint32_t>(v.size());
    put(&n, sizeof n);
    put(v.data(), v.size());
  }
  void command(const Command& c) {
    *p_++ = static_cast<char>(c.op);
    num(c.client);
    num(c.seq);
    text(c.key);
    text(c.value);
  }
  void entry(const Entry& e) {
    num(e.term);
    command(e.cmd);
  }
  void result(const Result& r) {
    byte(static_cast<uint8_t>(r.status));
    text(r.value);
  }
  void entries(const std::vector<Entry>& v) {
    auto n = static_cast<uint32_t>(v.size());
    put(&n, sizeof n);
    for (const Entry& e : v) entry(e);
  }

 private:
  void put(const void* v, size_t n) {
    std::memcpy(p_, v, n);
    p_ += n;
  }
  Out out_;
  char* p_;
};

class RecordReader {
 public:
  explicit RecordReader(const char* p) : begin_(p), p_(p + 1) {}
  template <typename T>
  T get() {
    T v;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  uint8_t byte() { return static_cast<uint8_t>(*p_++); }
  std::string text() {
    auto n = get<uint32_t>();
    std::string v(p_, n);
    p_ += n;
    return v;
  }
  Command command() {
    Command c;
    c.op = static_cast<Op>(byte());
    c.client = static_cast<int>(get<int64_t>());
    c.seq = get<int64_t>();
    c.key = text();
    c.value = text();
    return c;
  }
  Entry entry() {
    Entry e;
    e.term = get<int64_t>();
    e.cmd = command();
    return e;
  }
  Result result() {
    Result r;
    r.status = static_cast<Status>(byte());
    r.value = text();
    return r;
  }
  std::vector<Entry> entries() {
    std::vector<Entry> v(get<uint32_t>());
    for (Entry& e : v) e = entry();
    return v;
  }
  size_t size() const { return static_cast<size_t>(p_ - begin_); }

 private:
  const char* begin_;
  const char* p_;
};

// Writes the text of the record at p (p[0] is the mark); returns its length.
size_t expand_record(const char* p, Out& out) {
  RecordReader r(p);
  auto kind = static_cast<Deferred>(r.byte());
  uint8_t flags = r.byte();
  uint8_t mask = r.byte();
  int node = r.get<int32_t>();
  int64_t seq = r.get<int64_t>();
  int64_t t = r.get<int64_t>();
  NodeState state;
  if (mask != 0) state = r.get<NodeState>();
  StateOut written{&state, mask};
  bool up = (flags & kUp) != 0;
  bool flag = (flags & kFlag) != 0;
  auto node_event = [&](NodeEventBody body) {
    NodeEvent event{std::move(body), state};
    std::visit(EventWriter{out, written, event, node, seq, t}, event.body);
  };
  switch (kind) {
    case Deferred::Deliver: {
      int64_t msg_id = r.get<int64_t>();
      write_node_input(out, written, up, "deliver", node, nullptr, msg_id, nullptr, seq, t, 0,
                       nullptr);
      break;
    }
    case Deferred::Progress: {
      ev::Progress e;
      e.peer = static_cast<int>(r.get<int64_t>());
      e.next_index = r.get<int64_t>();
      e.match_index = r.get<int64_t>();
      e.probing = flag;
      node_event(e);
      break;
    }
    case Deferred::Persist: {
      ev::Persist e;
      e.term = r.get<int64_t>();
      e.vote = static_cast<int>(r.get<int64_t>());
      e.log_len = r.get<int64_t>();
      node_event(e);
      break;
    }
    case Deferred::Commit: node_event(ev::Commit{r.get<int64_t>()}); break;
    case Deferred::Append: {
      ev::Append e;
      e.first_index = r.get<int64_t>();
      e.entries = r.entries();
      node_event(std::move(e));
      break;
    }
    case Deferred::Apply: {
      ev::Apply e;
      e.index = r.get<int64_t>();
      e.entry = r.entry();
      e.result = r.result();
      node_event(std::move(e));
      break;
    }
    case Deferred::SendEntries:
    case Deferred::SendResponse:
    case Deferred::SendNotify:
    case Deferred::SendReply: {
      Message m;
      m.type = kind == Deferred::SendEntries    ? MsgType::AppendEntries
               : kind == Deferred::SendResponse ? MsgType::AppendEntriesResponse
               : kind == Deferred::SendNotify   ? MsgType::CommitNotification
                                                : MsgType::ClientReply;
      m.from = static_cast<int>(r.get<int64_t>());
      m.to = static_cast<int>(r.get<int64_t>());
      m.id = r.get<int64_t>();
      m.term = r.get<int64_t>();
      if (kind == Deferred::SendEntries) {
        m.prev_log_index = r.get<int64_t>();
        m.prev_log_term = r.get<int64_t>();
        m.leader_commit = r.get<int64_t>();
        m.entries = r.entries();
      } else if (kind == Deferred::SendNotify) {
        m.leader_commit = r.get<int64_t>();
      } else if (kind == Deferred::SendReply) {
        m.client = static_cast<int>(r.get<int64_t>());
        m.seq = r.get<int64_t>();
        m.leader_hint = static_cast<int>(r.get<int64_t>());
        m.result = r.result();
      } else {
        m.prev_log_index = r.get<int64_t>();
        m.match_index = r.get<int64_t>();
        m.conflict_index = r.get<int64_t>();
        m.conflict_term = r.get<int64_t>();
        m.success = flag;
        m.reason = r.text();
      }
      write_node_input(out, written, up, "send", node, &m, 0, nullptr, seq, t, 0, nullptr);
      break;
    }
    case Deferred::ClientInvoke: {
      rt::ClientInvoke e;
      e.client = static_cast<int>(r.get<int64_t>());
      e.client_seq = r.get<int64_t>();
      e.to = static_cast<int>(r.get<int64_t>());
      Command cmd = r.command();
      e.cmd = &cmd;
      RuntimeWriter{out, seq, t}(e);
      break;
    }
    case Deferred::ClientSend: {
      rt::ClientSend e;
      e.client = static_cast<int>(r.get<int64_t>());
      e.client_seq = r.get<int64_t>();
      e.to = static_cast<int>(r.get<int64_t>());
      Message m;
      m.type = MsgType::ClientRequest;
      m.from = static_cast<int>(r.get<int64_t>());
      m.to = static_cast<int>(r.get<int64_t>());
      m.id = r.get<int64_t>();
      m.client = static_cast<int>(r.get<int64_t>());
      m.cmd = r.command();
      e.msg = &m;
      RuntimeWriter{out, seq, t}(e);
      break;
    }
    case Deferred::ClientReceive: {
      rt::ClientReceive e;
      e.client = static_cast<int>(r.get<int64_t>());
      Message m;
      m.type = MsgType::ClientReply;
      m.from = static_cast<int>(r.get<int64_t>());
      m.to = static_cast<int>(r.get<int64_t>());
      m.id = r.get<int64_t>();
      m.client = static_cast<int>(r.get<int64_t>());
      m.seq = r.get<int64_t>();
      m.leader_hint = static_cast<int>(r.get<int64_t>());
      m.result = r.result();
      e.msg = &m;
      RuntimeWriter{out, seq, t}(e);
      break;
    }
    case Deferred::ClientComplete: {
      rt::ClientComplete e;
      e.client = static_cast<int>(r.get<int64_t>());
      e.client_seq = r.get<int64_t>();
      e.from = static_cast<int>(r.get<int64_t>());
      Result result = r.result();
      e.result = &result;
      RuntimeWriter{out, seq, t}(e);
      break;
    }
  }
  return r.size();
}

template <typename Buffer>
bool defer_node_event_to(Buffer& out, StateCache& states, const NodeEvent& event, int node,
                         int64_t seq, int64_t t) {
  // The record, once its kind, size and flags are known; `fields` writes the kind's own fields.
  // (The state's mask is asked for only when the line is deferred: StateCache::changed is
  // asked exactly once per line.)
  auto record = [&](Deferred kind, size_t extra, uint8_t flags, auto fields) {
    if (extra == SIZE_MAX) return false;  // holds a configuration entry: written as text
    uint8_t mask = states.changed(node, event.state, true);
    RecordWriter w(out, kind, flags, mask, node, seq, t, extra);
    if (mask != 0) w.state(event.state);
    fields(w);
    return true;
  };
  if (const auto* p = std::get_if<ev::Progress>(&event.body)) {
    return record(Deferred::Progress, 0, p->probing ? kUp | kFlag : kUp, [p](RecordWriter& w) {
      w.num(p->peer);
      w.num(p->next_index);
      w.num(p->match_index);
    });
  }
  if (const auto* p = std::get_if<ev::Persist>(&event.body)) {
    return record(Deferred::Persist, 0, kUp, [p](RecordWriter& w) {
      w.num(p->term);
      w.num(p->vote);
      w.num(p->log_len);
    });
  }
  if (const auto* p = std::get_if<ev::Commit>(&event.body)) {
    return record(Deferred::Commit, 0, kUp, [p](RecordWriter& w) { w.num(p->old_commit); });
  }
  if (const auto* p = std::get_if<ev::Append>(&event.body)) {
    return record(Deferred::Append, entries_bytes(p->entries), kUp, [p](RecordWriter& w) {
      w.num(p->first_index);
      w.entries(p->entries);
    });
  }
  if (const auto* p = std::get_if<ev::Apply>(&event.body)) {
    size_t extra =
        recordable(p->entry) ? entry_bytes(p->entry) + result_bytes(p->result) : SIZE_MAX;
    return record(Deferred::Apply, extra, kUp, [p](RecordWriter& w) {
      w.num(p->index);
      w.entry(p->entry);
      w.result(p->result);
    });
  }
  return false;  // not a kind that is deferred
}

template <typename Buffer>
bool defer_deliver_to(Buffer& out, StateCache& states, int node, const NodeState& state, bool up,
                      int64_t msg_id, int64_t seq, int64_t t) {
  uint8_t mask = states.changed(node, state, up);
  RecordWriter w(out, Deferred::Deliver, up ? kUp : 0, mask, node, seq, t);
  if (mask != 0) w.state(state);
  w.num(msg_id);
  return true;
}

template <typename Buffer>
bool defer_send_to(Buffer& out, StateCache& states, int node, const NodeState& state,
                   const Message& m, int64_t seq, int64_t t) {
  Deferred kind;
  size_t extra = 0;
  switch (m.type) {
    case MsgType::AppendEntries:
      kind = Deferred::SendEntries;
      extra = entries_bytes(m.entries);
      if (extra == SIZE_MAX) return false;
      break;
    case MsgType::AppendEntriesResponse:
      kind = Deferred::SendResponse;
      extra = m.reason.size();
      break;
    case MsgType::CommitNotification: kind = Deferred::SendNotify; break;
    case MsgType::ClientReply:
      kind = Deferred::SendReply;
      extra = result_bytes(m.result);
      break;
    default: return false;
  }
  uint8_t mask = states.changed(node, state, true);
  uint8_t flags = kUp;
  if (kind == Deferred::SendResponse && m.success) flags |= kFlag;
  RecordWriter w(out, kind, flags, mask, node, seq, t, extra);
  if (mask != 0) w.state(state);
  w.num(m.from);
  w.num(m.to);
  w.num(m.id);
  w.num(m.term);
  if (kind == Deferred::SendEntries) {
    w.num(m.prev_log_index);
    w.num(m.prev_log_term);
    w.num(m.leader_commit);
    w.entries(m.entries);
  } else if (kind == Deferred::SendReply) {
    w.num(m.client);
    w.num(m.seq);
    w.num(m.leader_hint);
    w.result(m.result);
  } else if (kind == Deferred::SendResponse) {
    w.num(m.prev_log_index);
    w.num(m.match_index);
    w.num(m.conflict_index);
    w.num(m.conflict_term);
    w.text(m.reason);
  } else {
    w.num(m.leader_commit);
  }
  return true;
}

template <typename Buffer>
bool defer_runtime_event_to(Buffer& out, const RuntimeEvent& event, int64_t seq, int64_t t) {
  if (const auto* e = std::get_if<rt::ClientInvoke>(&event)) {
    if (!recordable(*e->cmd)) return false;
    RecordWriter w(out, Deferred::ClientInvoke, 0, 0, 0, seq, t, command_bytes(*e->cmd));
    w.num(e->client);
    w.num(e->client_seq);
    w.num(e->to);
    w.command(*e->cmd);
  } else if (const auto* e = std::get_if<rt::ClientSend>(&event)) {
    const Message& m = *e->msg;
    if (m.type != MsgType::ClientRequest || !recordable(m.cmd)) return false;
    RecordWriter w(out, Deferred::ClientSend, 0, 0, 0, seq, t, command_bytes(m.cmd));
    w.num(e->client);
    w.num(e->client_seq);
    w.num(e->to);
    w.num(m.from);
    w.num(m.to);
    w.num(m.id);
    w.num(m.client);
    w.command(m.cmd);
  } else if (const auto* e = std::get_if<rt::ClientReceive>(&event)) {
    const Message& m = *e->msg;
    if (m.type != MsgType::ClientReply) return false;
    RecordWriter w(out, Deferred::ClientReceive, 0, 0, 0, seq, t, result_bytes(m.result));
    w.num(e->client);
    w.num(m.from);
    w.num(m.to);
    w.num(m.id);
    w.num(m.client);
    w.num(m.seq);
    w.num(m.leader_hint);
    w.result(m.result);
  } else if (const auto* e = std::get_if<rt::ClientComplete>(&event)) {
    RecordWriter w(out, Deferred::ClientComplete, 0, 0, 0, seq, t, result_bytes(*e->result));
    w.num(e->client);
    w.num(e->client_seq);
    w.num(e->from);
    w.result(*e->result);
  } else {
    return false;
  }
  return true;
}

template <typename Buffer>
void expand_deferred_to(std::string_view block, Buffer& out) {
  // One Out for the whole block: its lines reach `out` in one copy.
  Out o(out);
  const char* p = block.data();
  const char* end = p + block.size();
  while (p < end) {
    const void* mark = std::memchr(p, kDeferredMark, static_cast<size_t>(end - p));
    const char* text_end = mark != nullptr ? static_cast<const char*>(mark) : end;
    o.put(p, static_cast<size_t>(text_end - p));
    if (mark == nullptr) break;
    p = text_end + expand_record(text_end, o);
  }
}

}  // namespace

bool defer_node_event(std::string& out, StateCache& states, const NodeEvent& event, int node,
                      int64_t seq, int64_t t) {
  return defer_node_event_to(out, states, event, node, seq, t);
}
bool defer_node_event(LineBuffer& out, StateCache& states, const NodeEvent& event, int node,
                      int64_t seq, int64_t t) {
  return defer_node_event_to(out, states, event, node, seq, t);
}
bool defer_deliver(std::string& out, StateCache& states, int node, const NodeState& state, bool up,
                   int64_t msg_id, int64_t seq, int64_t t) {
  return defer_deliver_to(out, states, node, state, up, msg_id, seq, t);
}
bool defer_deliver(LineBuffer& out, StateCache& states, int node, const NodeState& state, bool up,
                   int64_t msg_id, int64_t seq, int64_t t) {
  return defer_deliver_to(out, states, node, state, up, msg_id, seq, t);
}
bool defer_send(std::string& out, StateCache& states, int node, const NodeState& state,
                const Message& m, int64_t seq, int64_t t) {
  return defer_send_to(out, states, node, state, m, seq, t);
}
bool defer_send(LineBuffer& out, StateCache& states, int node, const NodeState& state,
                const Message& m, int64_t seq, int64_t t) {
  return defer_send_to(out, states, node, state, m, seq, t);
}
bool defer_runtime_event(std::string& out, const RuntimeEvent& event, int64_t seq, int64_t t) {
  return defer_runtime_event_to(out, event, seq, t);
}
bool defer_runtime_event(LineBuffer& out, const RuntimeEvent& event, int64_t seq, int64_t t) {
  return defer_runtime_event_to(out, event, seq, t);
}
void expand_deferred(std::string_view block, std::string& out) { expand_deferred_to(block, out); }
void expand_deferred(std::string_view block, LineBuffer& out) { expand_deferred_to(block, out); }

}  // namespace raftkv
