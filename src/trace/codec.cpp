#include "trace/codec.h"

namespace raftkv {
namespace {

// Reads a required field of the given JSON type, or throws CodecError.
const json& field(const json& j, const char* name) {
  if (!j.is_object()) throw CodecError(std::string("expected an object holding '") + name + "'");
  auto it = j.find(name);
  if (it == j.end()) throw CodecError(std::string("missing field '") + name + "'");
  return *it;
}

int64_t int_field(const json& j, const char* name) {
  const json& v = field(j, name);
  if (!v.is_number_integer())
    throw CodecError(std::string("field '") + name + "' must be an integer");
  return v.get<int64_t>();
}

std::string str_field(const json& j, const char* name) {
  const json& v = field(j, name);
  if (!v.is_string()) throw CodecError(std::string("field '") + name + "' must be a string");
  return v.get<std::string>();
}

bool bool_field(const json& j, const char* name) {
  const json& v = field(j, name);
  if (!v.is_boolean()) throw CodecError(std::string("field '") + name + "' must be a boolean");
  return v.get<bool>();
}

}  // namespace

Op op_from_string(const std::string& s) {
  if (s == "put") return Op::Put;
  if (s == "get") return Op::Get;
  if (s == "delete") return Op::Delete;
  if (s == "noop") return Op::Noop;
  if (s == "config") return Op::Config;
  throw CodecError("unknown op '" + s + "'");
}

Status status_from_string(const std::string& s) {
  if (s == "ok") return Status::Ok;
  if (s == "key_exists") return Status::KeyExists;
  if (s == "not_found") return Status::NotFound;
  if (s == "not_leader") return Status::NotLeader;
  if (s == "unknown") return Status::Unknown;
  if (s == "stale") return Status::Stale;
  throw CodecError("unknown result status '" + s + "'");
}

MsgType msg_type_from_string(const std::string& s) {
  for (MsgType t :
       {MsgType::RequestVote, MsgType::RequestVoteResponse, MsgType::AppendEntries,
        MsgType::AppendEntriesResponse, MsgType::CommitNotification, MsgType::ClientRequest,
        MsgType::ClientReply, MsgType::PreVote, MsgType::PreVoteResponse, MsgType::ReadConfirm,
        MsgType::ReadConfirmResponse, MsgType::TimeoutNow, MsgType::InstallSnapshot,
        MsgType::InstallSnapshotResponse}) {
    if (s == to_string(t)) return t;
  }
  throw CodecError("unknown message type '" + s + "'");
}

json to_json(const Command& cmd) {
  json j{{"op", to_string(cmd.op)},
         {"key", cmd.key},
         {"value", cmd.value},
         {"client", cmd.client},
         {"seq", cmd.seq}};
  if (cmd.op == Op::Config) {
    j["voters"] = cmd.conf.get().voters;
    j["learners"] = cmd.conf.get().learners;
  }
  return j;
}

json to_json(const Entry& entry) { return json{{"term", entry.term}, {"cmd", to_json(entry.cmd)}}; }

json to_json(const std::vector<Entry>& entries) {
  json arr = json::array();
  for (const Entry& e : entries) arr.push_back(to_json(e));
  return arr;
}

json to_json(const Result& result) {
  return json{{"status", to_string(result.status)}, {"value", result.value}};
}

json to_json(const Message& m) {
  json j{{"id", m.id}, {"type", to_string(m.type)}, {"from", m.from}, {"to", m.to}};
  switch (m.type) {
    case MsgType::RequestVote:
    case MsgType::PreVote:
      j["term"] = m.term;
      j["last_log_index"] = m.last_log_index;
      j["last_log_term"] = m.last_log_term;
      // Written only when true, so traces without a transfer keep their bytes.
      if (m.transfer) j["transfer"] = true;
      break;
    case MsgType::TimeoutNow: j["term"] = m.term; break;
    case MsgType::RequestVoteResponse:
    case MsgType::PreVoteResponse:
      j["term"] = m.term;
      j["granted"] = m.granted;
      j["reason"] = m.reason;
      break;
    case MsgType::ReadConfirm:
    case MsgType::ReadConfirmResponse:
      j["term"] = m.term;
      j["round"] = m.round;
      break;
    case MsgType::AppendEntries:
      j["term"] = m.term;
      j["prev_log_index"] = m.prev_log_index;
      j["prev_log_term"] = m.prev_log_term;
      j["entries"] = to_json(m.entries);
      j["leader_commit"] = m.leader_commit;
      break;
    case MsgType::AppendEntriesResponse:
      j["term"] = m.term;
      j["success"] = m.success;
      j["prev_log_index"] = m.prev_log_index;
      j["match_index"] = m.match_index;
      j["conflict_index"] = m.conflict_index;
      j["conflict_term"] = m.conflict_term;
      j["reason"] = m.reason;
      break;
    case MsgType::CommitNotification:
      j["term"] = m.term;
      j["leader_commit"] = m.leader_commit;
      break;
    case MsgType::ClientRequest:
      j["client"] = m.client;
      j["cmd"] = to_json(m.cmd);
      break;
    case MsgType::ClientReply:
      j["client"] = m.client;
      j["seq"] = m.seq;
      j["result"] = to_json(m.result);
      j["leader_hint"] = m.leader_hint;
      break;
    // The trace spells snap_index / snap_term as the paper's
    // lastIncludedIndex / lastIncludedTerm (§7, Figure 13).
    case MsgType::InstallSnapshot:
      j["term"] = m.term;
      j["last_included_index"] = m.snap_index;
      j["last_included_term"] = m.snap_term;
      j["offset"] = m.offset;
      j["data"] = m.data;
      j["done"] = m.done;
      break;
    case MsgType::InstallSnapshotResponse:
      j["term"] = m.term;
      j["last_included_index"] = m.snap_index;
      j["offset"] = m.offset;
      j["done"] = m.done;
      break;
  }
  return j;
}

Command command_from_json(const json& j) {
  Command c;
  c.op = op_from_string(str_field(j, "op"));
  c.key = str_field(j, "key");
  c.value = str_field(j, "value");
  c.client = static_cast<int>(int_field(j, "client"));
  c.seq = int_field(j, "seq");
  if (c.op == Op::Config) {
    for (const char* key : {"voters", "learners"}) {
      const json& ids = field(j, key);
      if (!ids.is_array()) throw CodecError(std::string("field '") + key + "' must be an array");
      std::vector<int>& out =
          key[0] == 'v' ? c.conf.mutable_get().voters : c.conf.mutable_get().learners;
      for (const json& v : ids) {
        if (!v.is_number_integer()) {
          throw CodecError(std::string("field '") + key + "' must hold node ids");
        }
        out.push_back(v.get<int>());
      }
    }
  }
  return c;
}

Entry entry_from_json(const json& j) {
  return Entry{int_field(j, "term"), command_from_json(field(j, "cmd"))};
}

Result result_from_json(const json& j) {
  return Result{status_from_string(str_field(j, "status")), str_field(j, "value")};
}

std::vector<InitialNodeState> initial_state_from_header(const json& header) {
  std::vector<InitialNodeState> out;
  auto it = header.find("initial_state");
  if (it == header.end()) return out;
  if (!it->is_array()) throw CodecError("field 'initial_state' must be an array");
  for (const json& s : *it) {
    InitialNodeState n;
    n.node = static_cast<int>(int_field(s, "node"));
    n.term = int_field(s, "term");
    n.vote = static_cast<int>(int_field(s, "vote"));
    const json& log = field(s, "log");
    if (!log.is_array()) throw CodecError("field 'log' must be an array");
    for (const json& e : log) n.log.push_back(entry_from_json(e));
    out.push_back(std::move(n));
  }
  return out;
}

json to_json(const std::vector<InitialNodeState>& states) {
  json arr = json::array();
  for (const InitialNodeState& n : states) {
    arr.push_back(
        json{{"node", n.node}, {"term", n.term}, {"vote", n.vote}, {"log", to_json(n.log)}});
  }
  return arr;
}

Message message_from_json(const json& j) {
  Message m;
  m.id = int_field(j, "id");
  m.type = msg_type_from_string(str_field(j, "type"));
  m.from = static_cast<int>(int_field(j, "from"));
  m.to = static_cast<int>(int_field(j, "to"));
  switch (m.type) {
    case MsgType::RequestVote:
    case MsgType::PreVote:
      m.term = int_field(j, "term");
      m.last_log_index = int_field(j, "last_log_index");
      m.last_log_term = int_field(j, "last_log_term");
      if (m.type == MsgType::RequestVote && j.contains("transfer")) {
        m.transfer = bool_field(j, "transfer");
      }
      break;
    case MsgType::TimeoutNow: m.term = int_field(j, "term"); break;
    case MsgType::RequestVoteResponse:
    case MsgType::PreVoteResponse:
      m.term = int_field(j, "term");
      m.granted = bool_field(j, "granted");
      m.reason = str_field(j, "reason");
      break;
    case MsgType::ReadConfirm:
    case MsgType::ReadConfirmResponse:
      m.term = int_field(j, "term");
      m.round = int_field(j, "round");
      break;
    case MsgType::AppendEntries: {
      m.term = int_field(j, "term");
      m.prev_log_index = int_field(j, "prev_log_index");
      m.prev_log_term = int_field(j, "prev_log_term");
      const json& entries = field(j, "entries");
      if (!entries.is_array()) throw CodecError("field 'entries' must be an array");
      for (const json& e : entries) m.entries.push_back(entry_from_json(e));
      m.leader_commit = int_field(j, "leader_commit");
      break;
    }
    case MsgType::AppendEntriesResponse:
      m.term = int_field(j, "term");
      m.success = bool_field(j, "success");
      m.prev_log_index = int_field(j, "prev_log_index");
      m.match_index = int_field(j, "match_index");
      m.conflict_index = int_field(j, "conflict_index");
      m.conflict_term = int_field(j, "conflict_term");
      m.reason = str_field(j, "reason");
      break;
    case MsgType::CommitNotification:
      m.term = int_field(j, "term");
      m.leader_commit = int_field(j, "leader_commit");
      break;
    case MsgType::ClientRequest:
      m.client = static_cast<int>(int_field(j, "client"));
      m.cmd = command_from_json(field(j, "cmd"));
      break;
    case MsgType::ClientReply:
      m.client = static_cast<int>(int_field(j, "client"));
      m.seq = int_field(j, "seq");
      m.result = result_from_json(field(j, "result"));
      m.leader_hint = static_cast<int>(int_field(j, "leader_hint"));
      break;
    case MsgType::InstallSnapshot:
      m.term = int_field(j, "term");
      m.snap_index = int_field(j, "last_included_index");
      m.snap_term = int_field(j, "last_included_term");
      m.offset = int_field(j, "offset");
      m.data = str_field(j, "data");
      m.done = bool_field(j, "done");
      break;
    case MsgType::InstallSnapshotResponse:
      m.term = int_field(j, "term");
      m.snap_index = int_field(j, "last_included_index");
      m.offset = int_field(j, "offset");
      m.done = bool_field(j, "done");
      break;
  }
  return m;
}

bool keep_changed_state(json& state, json& last) {
  if (!last.is_object()) {
    last = state;
    return true;
  }
  json whole = last;
  for (auto it = state.begin(); it != state.end(); ++it) whole[it.key()] = it.value();
  json changed = json::object();
  for (auto it = whole.begin(); it != whole.end(); ++it) {
    auto before = last.find(it.key());
    if (before == last.end() || *before != it.value()) changed[it.key()] = it.value();
  }
  last = std::move(whole);
  state = std::move(changed);
  return !state.empty();
}

json to_json(const NodeState& s, bool up) {
  return json{
      {"term", s.term},          {"vote", s.vote},       {"role", up ? to_string(s.role) : "down"},
      {"commit", s.commit},      {"applied", s.applied}, {"last_index", s.last_index},
      {"last_term", s.last_term}};
}

namespace {

// The fields of each effect event, as spec/trace-schema.md's "Effect events" table lists them.
void add_fields(const ev::TermUpdate& e, json& j) { j["old_term"] = e.old_term; }
void add_fields(const ev::BecomeCandidate&, json&) {}
void add_fields(const ev::BecomeLeader& e, json& j) { j["votes"] = e.votes; }
void add_fields(const ev::BecomeFollower& e, json& j) { j["leader"] = e.leader; }
void add_fields(const ev::StepDown& e, json& j) {
  j["heard_from"] = e.heard_from;
  if (e.removed) j["removed"] = true;
}
void add_fields(const ev::Membership& e, json& j) {
  j["index"] = e.index;
  j["voters"] = e.voters;
  j["learners"] = e.learners;
}
void add_fields(const ev::RejectChange& e, json& j) {
  j["action"] = to_string(e.action);
  j["target"] = e.target;
  j["reason"] = e.reason;
}
void add_fields(const ev::TransferAbort& e, json& j) { j["to"] = e.to; }
void add_fields(const ev::Vote& e, json& j) {
  j["candidate"] = e.candidate;
  j["granted"] = e.granted;
  j["reason"] = e.reason;
}
void add_fields(const ev::Truncate& e, json& j) {
  j["from_index"] = e.from_index;
  j["removed"] = e.removed;
}
void add_fields(const ev::Append& e, json& j) {
  j["first_index"] = e.first_index;
  j["entries"] = to_json(e.entries);
}
void add_fields(const ev::Progress& e, json& j) {
  j["peer"] = e.peer;
  j["next_index"] = e.next_index;
  j["match_index"] = e.match_index;
  j["mode"] = e.probing ? "probe" : "replicate";
}
void add_fields(const ev::Commit& e, json& j) { j["old_commit"] = e.old_commit; }
void add_fields(const ev::Apply& e, json& j) {
  j["index"] = e.index;
  j["entry"] = to_json(e.entry);
  j["result"] = to_json(e.result);
}
void add_fields(const ev::Persist& e, json& j) {
  j["term"] = e.term;
  j["vote"] = e.vote;
  j["log_len"] = e.log_len;
}
void add_fields(const ev::Read& e, json& j) {
  j["client"] = e.client;
  j["client_seq"] = e.client_seq;
  j["key"] = e.key;
  j["read_index"] = e.read_index;
  j["result"] = to_json(e.result);
  if (e.lease) j["lease"] = *e.lease;  // read_mode = "lease" only
}
void add_fields(const ev::Snapshot& e, json& j) {
  j["index"] = e.index;
  j["term"] = e.term;
  j["store_digest"] = e.store_digest;
  j["store_size"] = e.store_size;
  j["bytes"] = e.bytes;
}
void add_fields(const ev::InstallSnapshot& e, json& j) {
  j["index"] = e.index;
  j["term"] = e.term;
  j["store_digest"] = e.store_digest;
  j["store_size"] = e.store_size;
  j["kept"] = e.kept;
}
void add_fields(const ev::RejectClient& e, json& j) {
  j["client"] = e.client;
  j["client_seq"] = e.client_seq;
  j["leader_hint"] = e.leader_hint;
}

struct Name {
  const char* operator()(const ev::TermUpdate&) const { return "term_update"; }
  const char* operator()(const ev::BecomeCandidate& e) const {
    return e.pre ? "become_precandidate" : "become_candidate";
  }
  const char* operator()(const ev::BecomeLeader&) const { return "become_leader"; }
  const char* operator()(const ev::BecomeFollower&) const { return "become_follower"; }
  const char* operator()(const ev::StepDown&) const { return "step_down"; }
  const char* operator()(const ev::TransferAbort&) const { return "transfer_abort"; }
  const char* operator()(const ev::Membership&) const { return "membership"; }
  const char* operator()(const ev::RejectChange&) const { return "reject_change"; }
  const char* operator()(const ev::Vote& e) const { return e.pre ? "prevote" : "vote"; }
  const char* operator()(const ev::Truncate&) const { return "truncate"; }
  const char* operator()(const ev::Append&) const { return "append"; }
  const char* operator()(const ev::Progress&) const { return "progress"; }
  const char* operator()(const ev::Commit&) const { return "commit"; }
  const char* operator()(const ev::Apply&) const { return "apply"; }
  const char* operator()(const ev::Persist&) const { return "persist"; }
  const char* operator()(const ev::Read&) const { return "read"; }
  const char* operator()(const ev::RejectClient&) const { return "reject_client"; }
  const char* operator()(const ev::Snapshot&) const { return "snapshot"; }
  const char* operator()(const ev::InstallSnapshot&) const { return "install_snapshot"; }
};

}  // namespace

const char* event_name(const NodeEventBody& body) { return std::visit(Name{}, body); }

json to_json(const NodeEvent& event, int node) {
  json j = json::object();
  std::visit([&j](const auto& e) { add_fields(e, j); }, event.body);
  j["event"] = event_name(event.body);
  j["node"] = node;
  j["state"] = to_json(event.state);
  return j;
}

NodeState node_state_from_json(const json& j, bool* up) {
  if (!j.is_object()) throw CodecError("field 'state' must be an object");
  NodeState s;
  s.term = int_field(j, "term");
  s.vote = static_cast<int>(int_field(j, "vote"));
  std::string role = str_field(j, "role");
  *up = role != "down";
  if (role == "follower" || role == "down") {
    s.role = Role::Follower;  // a crashed node's role is not traced
  } else if (role == "candidate") {
    s.role = Role::Candidate;
  } else if (role == "leader") {
    s.role = Role::Leader;
  } else {
    throw CodecError("field 'role' has unknown value \"" + role + "\"");
  }
  s.commit = int_field(j, "commit");
  s.applied = int_field(j, "applied");
  s.last_index = int_field(j, "last_index");
  s.last_term = int_field(j, "last_term");
  return s;
}

namespace {
// An array field of node ids (become_leader's votes, step_down's heard_from).
std::vector<int> node_ids(const json& j, const char* key) {
  const json& ids = field(j, key);
  if (!ids.is_array()) throw CodecError(std::string("field '") + key + "' must be an array");
  std::vector<int> out;
  for (const json& v : ids) {
    if (!v.is_number_integer()) {
      throw CodecError(std::string("field '") + key + "' must hold node ids");
    }
    out.push_back(v.get<int>());
  }
  return out;
}
}  // namespace

NodeEvent node_event_from_json(const json& j, int* node) {
  NodeEvent e;
  *node = static_cast<int>(int_field(j, "node"));
  bool up = true;
  e.state = node_state_from_json(field(j, "state"), &up);
  std::string name = str_field(j, "event");
  auto int_of = [&](const char* key) { return static_cast<int>(int_field(j, key)); };
  if (name == "term_update") {
    e.body = ev::TermUpdate{int_field(j, "old_term")};
  } else if (name == "become_candidate") {
    e.body = ev::BecomeCandidate{};
  } else if (name == "become_precandidate") {
    e.body = ev::BecomeCandidate{true};
  } else if (name == "become_leader") {
    e.body = ev::BecomeLeader{node_ids(j, "votes")};
  } else if (name == "become_follower") {
    e.body = ev::BecomeFollower{int_of("leader")};
  } else if (name == "step_down") {
    e.body =
        ev::StepDown{node_ids(j, "heard_from"), j.contains("removed") && bool_field(j, "removed")};
  } else if (name == "membership") {
    e.body = ev::Membership{int_field(j, "index"), node_ids(j, "voters"), node_ids(j, "learners")};
  } else if (name == "reject_change") {
    std::string action = str_field(j, "action");
    if (action != "add" && action != "remove") {
      throw CodecError("field 'action' has unknown value \"" + action + "\"");
    }
    e.body = ev::RejectChange{action == "add" ? ChangeAction::Add : ChangeAction::Remove,
                              int_of("target"), str_field(j, "reason")};
  } else if (name == "transfer_abort") {
    e.body = ev::TransferAbort{int_of("to")};
  } else if (name == "vote") {
    e.body = ev::Vote{int_of("candidate"), bool_field(j, "granted"), str_field(j, "reason")};
  } else if (name == "prevote") {
    e.body = ev::Vote{int_of("candidate"), bool_field(j, "granted"), str_field(j, "reason"), true};
  } else if (name == "truncate") {
    e.body = ev::Truncate{int_field(j, "from_index"), int_field(j, "removed")};
  } else if (name == "append") {
    const json& entries = field(j, "entries");
    if (!entries.is_array()) throw CodecError("field 'entries' must be an array");
    ev::Append a;
    a.first_index = int_field(j, "first_index");
    for (const json& x : entries) a.entries.push_back(entry_from_json(x));
    e.body = std::move(a);
  } else if (name == "progress") {
    std::string mode = str_field(j, "mode");
    if (mode != "probe" && mode != "replicate") {
      throw CodecError("field 'mode' has unknown value \"" + mode + "\"");
    }
    e.body = ev::Progress{int_of("peer"), int_field(j, "next_index"), int_field(j, "match_index"),
                          mode == "probe"};
  } else if (name == "commit") {
    e.body = ev::Commit{int_field(j, "old_commit")};
  } else if (name == "apply") {
    e.body = ev::Apply{int_field(j, "index"), entry_from_json(field(j, "entry")),
                       result_from_json(field(j, "result"))};
  } else if (name == "persist") {
    e.body = ev::Persist{int_field(j, "term"), int_of("vote"), int_field(j, "log_len")};
  } else if (name == "read") {
    ev::Read read{
        int_of("client"),           int_field(j, "client_seq"),           str_field(j, "key"),
        int_field(j, "read_index"), result_from_json(field(j, "result")), std::nullopt};
    if (j.contains("lease")) read.lease = bool_field(j, "lease");
    e.body = std::move(read);
  } else if (name == "reject_client") {
    e.body = ev::RejectClient{int_of("client"), int_field(j, "client_seq"), int_of("leader_hint")};
  } else if (name == "snapshot") {
    e.body = ev::Snapshot{int_field(j, "index"), int_field(j, "term"), str_field(j, "store_digest"),
                          int_field(j, "store_size"), int_field(j, "bytes")};
  } else if (name == "install_snapshot") {
    e.body = ev::InstallSnapshot{int_field(j, "index"), int_field(j, "term"),
                                 str_field(j, "store_digest"), int_field(j, "store_size"),
                                 int_field(j, "kept")};
  } else {
    throw CodecError("\"" + name + "\" is not an effect event of a node");
  }
  return e;
}

namespace {

struct RuntimeJson {
  json operator()(const rt::Inject& e) const {
    return json{{"event", "inject"}, {"msg", to_json(*e.msg)}};
  }
  json operator()(const rt::Drop& e) const {
    return json{{"event", "drop"}, {"msg", to_json(*e.msg)}, {"reason", e.reason}};
  }
  json operator()(const rt::Duplicate& e) const {
    return json{{"event", "duplicate"}, {"msg", to_json(*e.msg)}};
  }
  json operator()(const rt::ClientInvoke& e) const {
    return json{{"event", "client_invoke"},
                {"client", e.client},
                {"client_seq", e.client_seq},
                {"cmd", to_json(*e.cmd)},
                {"to", e.to}};
  }
  json operator()(const rt::ClientSend& e) const {
    return json{{"event", "client_send"},
                {"client", e.client},
                {"client_seq", e.client_seq},
                {"to", e.to},
                {"msg", to_json(*e.msg)}};
  }
  json operator()(const rt::ClientReceive& e) const {
    return json{{"event", "client_receive"}, {"client", e.client}, {"msg", to_json(*e.msg)}};
  }
  json operator()(const rt::ClientRetry& e) const {
    return json{{"event", "client_retry"},
                {"client", e.client},
                {"client_seq", e.client_seq},
                {"reason", e.reason},
                {"to", e.to}};
  }
  json operator()(const rt::ClientComplete& e) const {
    return json{{"event", "client_complete"},
                {"client", e.client},
                {"client_seq", e.client_seq},
                {"result", to_json(*e.result)},
                {"from", e.from}};
  }
};

}  // namespace

json to_json(const RuntimeEvent& event) { return std::visit(RuntimeJson{}, event); }

}  // namespace raftkv
