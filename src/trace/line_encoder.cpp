#include "trace/line_encoder.h"

#include <charconv>
#include <cstring>

#include "trace/codec.h"

namespace raftkv {
namespace {

// Writes one object's fields in the order given, which every caller below
// lists sorted by key (std::map order, as nlohmann::json writes them).
// Keys are string literals, so their length is known at compile time: a key
// and its punctuation go out in one append (this encoder writes most of a
// traced run's time, so the per-character checks of operator+= matter).
class Obj {
 public:
  explicit Obj(std::string& out) : out_(out) { out_.push_back('{'); }
  ~Obj() { out_.push_back('}'); }
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;

  template <size_t N>
  std::string& key(const char (&k)[N]) {
    char buf[N + 3];
    size_t n = put_key(buf, k);
    out_.append(buf, n);
    return out_;
  }
  template <size_t N>
  void num(const char (&k)[N], int64_t v) {
    char buf[N + 3 + 24];
    size_t n = put_key(buf, k);
    auto [end, ec] = std::to_chars(buf + n, buf + sizeof buf, v);
    (void)ec;  // 24 bytes hold any 64-bit integer
    out_.append(buf, static_cast<size_t>(end - buf));
  }
  template <size_t N>
  void boolean(const char (&k)[N], bool v) {
    key(k).append(v ? "true" : "false", v ? 4 : 5);
  }
  // A string the schema fixes (an event, role or type name): never escaped.
  template <size_t N>
  void name(const char (&k)[N], const char* v) {
    key(k).push_back('"');
    out_.append(v);
    out_.push_back('"');
  }
  template <size_t N>
  void str(const char (&k)[N], const std::string& v) {
    key(k);
    append_string(v);
  }

 private:
  // Writes `,"k":` (no comma before the first key) into buf; returns its length.
  template <size_t N>
  size_t put_key(char* buf, const char (&k)[N]) {
    size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    buf[n++] = '"';
    std::memcpy(buf + n, k, N - 1);
    n += N - 1;
    buf[n++] = '"';
    buf[n++] = ':';
    return n;
  }

  void append_string(const std::string& s) {
    for (unsigned char c : s) {
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        out_ += json(s).dump();  // nlohmann's own escaping and UTF-8 handling
        return;
      }
    }
    out_.push_back('"');
    out_.append(s);
    out_.push_back('"');
  }

  std::string& out_;
  bool first_ = true;
};

void append_state(std::string& out, const NodeState& s, bool up) {
  Obj o(out);
  o.num("applied", s.applied);
  o.num("commit", s.commit);
  o.num("last_index", s.last_index);
  o.num("last_term", s.last_term);
  o.name("role", up ? to_string(s.role) : "down");
  o.num("term", s.term);
  o.num("vote", s.vote);
}

void append_command(std::string& out, const Command& c) {
  Obj o(out);
  o.num("client", c.client);
  o.str("key", c.key);
  o.name("op", to_string(c.op));
  o.num("seq", c.seq);
  o.str("value", c.value);
}

void append_entry(std::string& out, const Entry& e) {
  Obj o(out);
  append_command(o.key("cmd"), e.cmd);
  o.num("term", e.term);
}

void append_entries(std::string& out, const std::vector<Entry>& entries) {
  out += '[';
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += ',';
    append_entry(out, entries[i]);
  }
  out += ']';
}

void append_result(std::string& out, const Result& r) {
  Obj o(out);
  o.name("status", to_string(r.status));
  o.str("value", r.value);
}

}  // namespace

void append_message(std::string& out, const Message& m) {
  Obj o(out);
  switch (m.type) {
    case MsgType::RequestVote:
      o.num("from", m.from);
      o.num("id", m.id);
      o.num("last_log_index", m.last_log_index);
      o.num("last_log_term", m.last_log_term);
      o.num("term", m.term);
      break;
    case MsgType::RequestVoteResponse:
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
  }
  // "to" and "type" sort after every other key of every message type.
  o.num("to", m.to);
  o.name("type", to_string(m.type));
}

const std::string* StateCache::changed(int node, const NodeState& s, bool up) {
  if (static_cast<size_t>(node) >= slots_.size()) slots_.resize(static_cast<size_t>(node) + 1);
  Slot& slot = slots_[static_cast<size_t>(node)];
  // A crashed node's role is "down" whatever its volatile state says, so up
  // is part of the state compared.
  if (slot.valid && slot.up == up && slot.state == s) return nullptr;
  slot.valid = true;
  slot.up = up;
  slot.state = s;
  slot.text.clear();
  append_state(slot.text, s, up);
  return &slot.text;
}

void append_node_input(std::string& out, StateCache& states, const char* event, int node,
                       const NodeState& state, bool up, const Message* msg, const char* timer,
                       int64_t seq, int64_t t) {
  Obj o(out);
  o.name("event", event);
  if (msg != nullptr) {
    // A deliver names the message its send already wrote out in full (schema
    // version 2): repeating it was a fifth of a trace's bytes.
    if (std::strcmp(event, "deliver") == 0) {
      o.num("msg_id", msg->id);
    } else {
      append_message(o.key("msg"), *msg);
    }
  }
  o.num("node", node);
  o.num("seq", seq);
  if (const std::string* text = states.changed(node, state, up)) o.key("state").append(*text);
  o.num("t", t);
  if (timer != nullptr) o.name("timer", timer);
}

namespace {

// The keys of every effect event, sorted: its own fields interleaved with
// event, node, seq, state and t. Each writer gets a callback for the common
// part at the right places.
struct EventWriter {
  std::string& out;
  StateCache& states;
  const NodeEvent& event;
  int node;
  int64_t seq;
  int64_t t;

  void event_name(Obj& o) const { o.name("event", event_name_of()); }
  const char* event_name_of() const { return raftkv::event_name(event.body); }
  void node_field(Obj& o) const { o.num("node", node); }
  // seq, state and t are adjacent in every effect event but persist's, where
  // term and vote follow t.
  void seq_state_t(Obj& o) const {
    o.num("seq", seq);
    if (const std::string* text = states.changed(node, event.state, true)) {
      o.key("state").append(*text);
    }
    o.num("t", t);
  }

  void operator()(const ev::TermUpdate& e) const {
    Obj o(out);
    event_name(o);
    node_field(o);
    o.num("old_term", e.old_term);
    seq_state_t(o);
  }
  void operator()(const ev::BecomeCandidate&) const {
    Obj o(out);
    event_name(o);
    node_field(o);
    seq_state_t(o);
  }
  void operator()(const ev::BecomeLeader& e) const {
    Obj o(out);
    event_name(o);
    node_field(o);
    seq_state_t(o);
    std::string& s = o.key("votes");
    s += '[';
    for (size_t i = 0; i < e.votes.size(); ++i) {
      if (i > 0) s += ',';
      s += std::to_string(e.votes[i]);
    }
    s += ']';
  }
  void operator()(const ev::BecomeFollower& e) const {
    Obj o(out);
    event_name(o);
    o.num("leader", e.leader);
    node_field(o);
    seq_state_t(o);
  }
  void operator()(const ev::Vote& e) const {
    Obj o(out);
    o.num("candidate", e.candidate);
    event_name(o);
    o.boolean("granted", e.granted);
    node_field(o);
    o.str("reason", e.reason);
    seq_state_t(o);
  }
  void operator()(const ev::Truncate& e) const {
    Obj o(out);
    event_name(o);
    o.num("from_index", e.from_index);
    node_field(o);
    o.num("removed", e.removed);
    seq_state_t(o);
  }
  void operator()(const ev::Append& e) const {
    Obj o(out);
    append_entries(o.key("entries"), e.entries);
    event_name(o);
    o.num("first_index", e.first_index);
    node_field(o);
    seq_state_t(o);
  }
  void operator()(const ev::Progress& e) const {
    Obj o(out);
    event_name(o);
    o.num("match_index", e.match_index);
    o.name("mode", e.probing ? "probe" : "replicate");
    o.num("next_index", e.next_index);
    node_field(o);
    o.num("peer", e.peer);
    seq_state_t(o);
  }
  void operator()(const ev::Commit& e) const {
    Obj o(out);
    event_name(o);
    node_field(o);
    o.num("old_commit", e.old_commit);
    seq_state_t(o);
  }
  void operator()(const ev::Apply& e) const {
    Obj o(out);
    append_entry(o.key("entry"), e.entry);
    event_name(o);
    o.num("index", e.index);
    node_field(o);
    append_result(o.key("result"), e.result);
    seq_state_t(o);
  }
  void operator()(const ev::Persist& e) const {
    Obj o(out);
    event_name(o);
    o.num("log_len", e.log_len);
    node_field(o);
    seq_state_t(o);
    o.num("term", e.term);
    o.num("vote", e.vote);
  }
  void operator()(const ev::RejectClient& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.num("client_seq", e.client_seq);
    event_name(o);
    o.num("leader_hint", e.leader_hint);
    node_field(o);
    seq_state_t(o);
  }
};

}  // namespace

void append_node_event(std::string& out, StateCache& states, const NodeEvent& event, int node,
                       int64_t seq, int64_t t) {
  std::visit(EventWriter{out, states, event, node, seq, t}, event.body);
}

namespace {

// The runtime events, keys sorted as in every other writer here.
struct RuntimeWriter {
  std::string& out;
  int64_t seq;
  int64_t t;

  void seq_t(Obj& o) const {
    o.num("seq", seq);
    o.num("t", t);
  }
  void operator()(const rt::Drop& e) const {
    Obj o(out);
    o.name("event", "drop");
    append_message(o.key("msg"), *e.msg);
    o.name("reason", e.reason);
    seq_t(o);
  }
  void operator()(const rt::Duplicate& e) const {
    Obj o(out);
    o.name("event", "duplicate");
    append_message(o.key("msg"), *e.msg);
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
    append_message(o.key("msg"), *e.msg);
    seq_t(o);
    o.num("to", e.to);
  }
  void operator()(const rt::ClientReceive& e) const {
    Obj o(out);
    o.num("client", e.client);
    o.name("event", "client_receive");
    append_message(o.key("msg"), *e.msg);
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

void append_runtime_event(std::string& out, const RuntimeEvent& event, int64_t seq, int64_t t) {
  std::visit(RuntimeWriter{out, seq, t}, event);
}

}  // namespace raftkv
