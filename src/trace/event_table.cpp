#include "trace/event_table.h"

#include <algorithm>
#include <unordered_map>

namespace raftkv::trace {
namespace {

constexpr int64_t kIntLimit = int64_t{1} << 31;  // every traced integer is in [0, 2^31)
constexpr int kMaxDepth = 32;                    // the schema nests at most ~6 levels

using T = FieldType;

// Array elements' specs, made once (a FieldSpec holds vectors).
const FieldSpec kIntElement{"", FieldType::Int};
const FieldSpec kStringElement{"", FieldType::String};
const FieldSpec kIntArrayElement{"", FieldType::IntArray};
const FieldSpec kEntryElement{"", FieldType::Entry};

// A header `faults` entry of action add_node with an integer node (the
// validator has checked the types of a header it passes on; max_node_id may
// see one it has not).
bool is_add_node(const json& f) {
  return f.is_object() && f.contains("action") && f["action"].is_string() &&
         f["action"] == "add_node" && f.contains("node") && f["node"].is_number_integer();
}

}  // namespace

const std::vector<EventSpec>& event_table() {
  static const std::vector<EventSpec> table = {
      // Input events: each begins a step of `node`.
      {"start", EventKind::Input, {}},
      {"deliver", EventKind::Input, {{"msg_id", T::Int}}},
      {"timeout",
       EventKind::Input,
       {{"timer",
         T::String,
         {"election", "heartbeat", "start_election", "check_quorum", "transfer"}}}},
      {"crash", EventKind::Input, {}},
      {"restart", EventKind::Input, {}},
      {"transfer", EventKind::Input, {{"to", T::Int}}},
      // Membership change (thesis §4.1; fault actions add_node, remove_node):
      // a new, empty server boots; a removed server is shut down for good; the
      // runtime asks a node (meant: the leader) to add or remove a server.
      {"join", EventKind::Input, {}},
      {"leave", EventKind::Input, {}},
      {"change", EventKind::Input, {{"action", T::String, {"add", "remove"}}, {"target", T::Int}}},
      // Effect events: what the node did inside the step.
      {"term_update", EventKind::Effect, {{"old_term", T::Int}}},
      {"become_candidate", EventKind::Effect, {}},
      {"become_precandidate", EventKind::Effect, {}},
      {"become_leader", EventKind::Effect, {{"votes", T::IntArray}}},
      {"become_follower", EventKind::Effect, {{"leader", T::Int}}},
      {"step_down",
       EventKind::Effect,
       {{"heard_from", T::IntArray}, {"removed", T::Bool, {}, {}, /*required=*/false}}},
      {"membership",
       EventKind::Effect,
       {{"index", T::Int}, {"voters", T::IntArray}, {"learners", T::IntArray}}},
      {"reject_change",
       EventKind::Effect,
       {{"action", T::String, {"add", "remove"}},
        {"target", T::Int},
        {"reason",
         T::String,
         {"not_leader", "transfer", "change_pending", "term_not_committed", "already_member",
          "not_member", "last_voter", "invalid_target"}}}},
      {"transfer_abort", EventKind::Effect, {{"to", T::Int}}},
      {"vote",
       EventKind::Effect,
       {{"candidate", T::Int},
        {"granted", T::Bool},
        {"reason",
         T::String,
         {"", "stale_term", "already_voted", "log_not_up_to_date", "leader_live"}}}},
      {"prevote",
       EventKind::Effect,
       {{"candidate", T::Int},
        {"granted", T::Bool},
        {"reason", T::String, {"", "stale_term", "leader_live", "log_not_up_to_date"}}}},
      {"truncate", EventKind::Effect, {{"from_index", T::Int}, {"removed", T::Int}}},
      {"append", EventKind::Effect, {{"first_index", T::Int}, {"entries", T::Entries}}},
      {"progress",
       EventKind::Effect,
       {{"peer", T::Int},
        {"next_index", T::Int},
        {"match_index", T::Int},
        {"mode", T::String, {"probe", "replicate"}}}},
      {"commit", EventKind::Effect, {{"old_commit", T::Int}}},
      {"apply", EventKind::Effect, {{"index", T::Int}, {"entry", T::Entry}, {"result", T::Result}}},
      {"persist", EventKind::Effect, {{"term", T::Int}, {"vote", T::Int}, {"log_len", T::Int}}},
      {"send", EventKind::Effect, {{"msg", T::Message}}},
      {"read",
       EventKind::Effect,
       {{"client", T::Int},
        {"client_seq", T::Int},
        {"key", T::String},
        {"read_index", T::Int},
        {"result", T::Result},
        // read_mode = "lease" only: answered on the leader's lease (true) or
        // after a confirmation round (false).
        {"lease", T::Bool, {}, {}, /*required=*/false}}},
      {"reject_client",
       EventKind::Effect,
       {{"client", T::Int}, {"client_seq", T::Int}, {"leader_hint", T::Int}}},
      // Log compaction (Raft paper §7, [raft] snapshot_every): written only by
      // runs with snapshots on, so older traces never hold them.
      {"snapshot",
       EventKind::Effect,
       {{"index", T::Int},
        {"term", T::Int},
        {"store_digest", T::String},
        {"store_size", T::Int},
        {"bytes", T::Int}}},
      {"install_snapshot",
       EventKind::Effect,
       {{"index", T::Int},
        {"term", T::Int},
        {"store_digest", T::String},
        {"store_size", T::Int},
        {"kept", T::Int}}},
      // Runtime events: the network, the clients, the faults, the end.
      {"inject", EventKind::Runtime, {{"msg", T::Message}}},
      {"drop",
       EventKind::Runtime,
       {{"msg", T::Message},
        {"reason", T::String, {"node_down", "loss", "partition", "cut", "test"}}}},
      {"duplicate", EventKind::Runtime, {{"msg", T::Message}}},
      {"client_invoke",
       EventKind::Runtime,
       {{"client", T::Int}, {"client_seq", T::Int}, {"cmd", T::Command}, {"to", T::Int}}},
      {"client_send",
       EventKind::Runtime,
       {{"client", T::Int}, {"client_seq", T::Int}, {"to", T::Int}, {"msg", T::Message}}},
      {"client_complete",
       EventKind::Runtime,
       {{"client", T::Int}, {"client_seq", T::Int}, {"result", T::Result}, {"from", T::Int}}},
      {"client_receive", EventKind::Runtime, {{"client", T::Int}, {"msg", T::Message}}},
      {"client_retry",
       EventKind::Runtime,
       {{"client", T::Int},
        {"client_seq", T::Int},
        {"reason", T::String, {"not_leader", "timeout"}},
        {"to", T::Int}}},
      {"partition", EventKind::Runtime, {{"groups", T::Groups}}},
      {"heal", EventKind::Runtime, {}},
      {"cut", EventKind::Runtime, {{"from", T::Int}, {"to", T::Int}}},
      {"uncut", EventKind::Runtime, {{"from", T::Int}, {"to", T::Int}}},
      {"network",
       EventKind::Runtime,
       {{"loss", T::String},
        {"duplicate", T::String},
        {"network_latency_min_ms", T::Int},
        {"network_latency_max_ms", T::Int}}},
      {"fault_skipped",
       EventKind::Runtime,
       {{"action", T::String, {"crash", "restart", "transfer_leader"}},
        {"target", T::String, {"leader", "follower"}}}},
      {"end", EventKind::Runtime, {{"nodes", T::EndNodes}}},
  };
  return table;
}

const std::vector<MessageSpec>& message_table() {
  static const std::vector<MessageSpec> table = {
      // `transfer` is written only when true (a leadership transfer's election,
      // thesis §3.10), so traces without one keep their bytes.
      {"RequestVote",
       {{"term", T::Int},
        {"last_log_index", T::Int},
        {"last_log_term", T::Int},
        {"transfer", T::Bool, {}, {}, /*required=*/false}}},
      {"RequestVoteResponse",
       {{"term", T::Int},
        {"granted", T::Bool},
        {"reason",
         T::String,
         {"", "stale_term", "already_voted", "log_not_up_to_date", "leader_live"}}}},
      {"AppendEntries",
       {{"term", T::Int},
        {"prev_log_index", T::Int},
        {"prev_log_term", T::Int},
        {"entries", T::Entries},
        {"leader_commit", T::Int}}},
      {"AppendEntriesResponse",
       {{"term", T::Int},
        {"success", T::Bool},
        {"prev_log_index", T::Int},
        {"match_index", T::Int},
        {"conflict_index", T::Int},
        {"conflict_term", T::Int},
        {"reason", T::String, {"", "stale_term", "log_mismatch"}}}},
      {"CommitNotification", {{"term", T::Int}, {"leader_commit", T::Int}}},
      {"ClientRequest", {{"client", T::Int}, {"cmd", T::Command}}},
      {"ClientReply",
       {{"client", T::Int}, {"seq", T::Int}, {"result", T::Result}, {"leader_hint", T::Int}}},
      {"PreVote", {{"term", T::Int}, {"last_log_index", T::Int}, {"last_log_term", T::Int}}},
      {"ReadConfirm", {{"term", T::Int}, {"round", T::Int}}},
      {"ReadConfirmResponse", {{"term", T::Int}, {"round", T::Int}}},
      {"PreVoteResponse",
       {{"term", T::Int},
        {"granted", T::Bool},
        {"reason", T::String, {"", "stale_term", "leader_live", "log_not_up_to_date"}}}},
      {"TimeoutNow", {{"term", T::Int}}},
      // Raft paper §7: a snapshot (or one chunk of it) and its acknowledgement.
      // `data` is a piece of the snapshot's text encoding (kv.h), cut only
      // between UTF-8 characters, so it is always a valid JSON string.
      {"InstallSnapshot",
       {{"term", T::Int},
        {"last_included_index", T::Int},
        {"last_included_term", T::Int},
        {"offset", T::Int},
        {"data", T::String},
        {"done", T::Bool}}},
      {"InstallSnapshotResponse",
       {{"term", T::Int}, {"last_included_index", T::Int}, {"offset", T::Int}, {"done", T::Bool}}},
  };
  return table;
}

const std::vector<std::string>& planted_bug_vocabulary() {
  static const std::vector<std::string> names = {"vote_without_log_check",
                                                 "vote_twice",
                                                 "commit_old_term",
                                                 "skip_truncate",
                                                 "skip_prev_log_check",
                                                 "apply_before_commit",
                                                 "leader_ignores_higher_term",
                                                 "no_client_dedup",
                                                 "dedup_last_seq_only",
                                                 "prevote_raises_term",
                                                 "leader_ignores_quorum",
                                                 "read_index_without_confirm",
                                                 "transfer_before_caught_up",
                                                 "lease_ignores_drift",
                                                 "snapshot_uncommitted",
                                                 "install_discards_log",
                                                 "change_before_term_commit"};
  return names;
}

const std::vector<FieldSpec>& event_common_fields(const EventSpec& event) {
  static const std::vector<FieldSpec> runtime_common = {
      {"seq", T::Int}, {"t", T::Int}, {"event", T::String}};
  // `state` is optional for the tables: absent, it is the state of the node's
  // previous line, which only a reader that keeps that state can tell
  // (TraceFraming, the checker), so they reject a first line without it.
  static const std::vector<FieldSpec> node_common = {{"seq", T::Int},
                                                     {"t", T::Int},
                                                     {"event", T::String},
                                                     {"node", T::Int},
                                                     {"state", T::StateChange, {}, {}, false}};
  return is_node_event(event) ? node_common : runtime_common;
}

const std::vector<FieldSpec>& message_common_fields() {
  static const std::vector<FieldSpec> common = {
      {"id", T::Int}, {"type", T::String}, {"from", T::Int}, {"to", T::Int}};
  return common;
}

const std::vector<FieldSpec>& state_fields() {
  static const std::vector<FieldSpec> state = {
      {"term", T::Int},
      {"vote", T::Int},
      {"role", T::String, {"follower", "candidate", "leader", "down"}},
      {"commit", T::Int},
      {"applied", T::Int},
      {"last_index", T::Int},
      {"last_term", T::Int}};
  return state;
}

const std::vector<FieldSpec>& state_change_fields() {
  // Any of the state's fields: those the line's event changed (a node's first
  // state must have all; TraceFraming and the checker hold it to that).
  static const std::vector<FieldSpec> change = [] {
    std::vector<FieldSpec> fields = state_fields();
    for (FieldSpec& f : fields) f.required = false;
    return fields;
  }();
  return change;
}

const std::vector<FieldSpec>& command_fields() {
  // voters and learners: a configuration entry's members (op "config" only).
  static const std::vector<FieldSpec> cmd = {
      {"op", T::String, {"put", "get", "delete", "noop", "config"}},
      {"key", T::String},
      {"value", T::String},
      {"client", T::Int},
      {"seq", T::Int},
      {"voters", T::IntArray, {}, {}, /*required=*/false},
      {"learners", T::IntArray, {}, {}, /*required=*/false}};
  return cmd;
}

const std::vector<FieldSpec>& entry_fields() {
  static const std::vector<FieldSpec> entry = {{"term", T::Int}, {"cmd", T::Command}};
  return entry;
}

const std::vector<FieldSpec>& result_fields() {
  static const std::vector<FieldSpec> result = {
      {"status", T::String, {"ok", "key_exists", "not_found", "not_leader", "unknown", "stale"}},
      {"value", T::String}};
  return result;
}

const std::vector<FieldSpec>& end_node_fields() {
  static const std::vector<FieldSpec> node = {
      {"node", T::Int}, {"state", T::State}, {"store_digest", T::String}, {"store_size", T::Int}};
  return node;
}

std::string version_mismatch(int64_t version) {
  return "version is " + std::to_string(version) + "; this raftkv reads version " +
         std::to_string(kOldestReadVersion) + " and " + std::to_string(kTraceVersion) +
         " traces (regenerate the trace with this raftkv: raftkv run --trace, or "
         "tools/make-sample-traces for the samples)";
}

std::string missing_state(int64_t node) {
  return "missing field 'state' (node " + std::to_string(node) +
         " has no earlier line with a state, so this line's state is unknown)";
}

std::string incomplete_state(int64_t node, std::string_view field) {
  return "missing field 'state." + std::string(field) + "' (node " + std::to_string(node) +
         " has no earlier line with a state, so its first state must have every field)";
}

const EventSpec* find_event(std::string_view name) {
  static const std::unordered_map<std::string_view, const EventSpec*> by_name = [] {
    std::unordered_map<std::string_view, const EventSpec*> m;
    for (const EventSpec& e : event_table()) m[e.name] = &e;
    return m;
  }();
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

void check_encoding(const json& root) {
  struct Item {
    const json* value;
    int depth;
    std::string_view key;
  };
  auto issue = [](const Item& item, const std::string& what) {
    std::string where = item.key.empty() ? "" : " in field '" + std::string(item.key) + "'";
    return SchemaError(what + where);
  };
  std::vector<Item> stack{{&root, 1, ""}};
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    const json& v = *item.value;
    if (item.depth > kMaxDepth) {
      throw issue(item, "nesting deeper than " + std::to_string(kMaxDepth));
    }
    switch (v.type()) {
      case json::value_t::null: throw issue(item, "null value (the schema has no null)");
      case json::value_t::number_float: throw issue(item, "non-integer number " + v.dump());
      case json::value_t::number_integer:
        if (v.get<int64_t>() < 0 || v.get<int64_t>() >= kIntLimit) {
          throw issue(item, "integer " + v.dump() + " outside [0, 2^31)");
        }
        break;
      case json::value_t::number_unsigned:
        if (v.get<uint64_t>() >= static_cast<uint64_t>(kIntLimit)) {
          throw issue(item, "integer " + v.dump() + " outside [0, 2^31)");
        }
        break;
      case json::value_t::object:
        for (auto it = v.begin(); it != v.end(); ++it) {
          stack.push_back(Item{&it.value(), item.depth + 1, it.key()});
        }
        break;
      case json::value_t::array:
        for (const json& child : v) stack.push_back(Item{&child, item.depth + 1, item.key});
        break;
      case json::value_t::string:
      case json::value_t::boolean: break;
      default: throw issue(item, "unsupported JSON value");
    }
  }
}

namespace {

// Where a value sits in the line, e.g. msg.entries[0].cmd.op: a chain of
// stack frames, spelled out only when a message needs it (validation runs on
// every line, and building strings for every field cost more than the rest).
struct Path {
  const Path* parent = nullptr;
  const char* name = nullptr;  // a field, or null for an array element
  size_t index = 0;

  Path field(const char* n) const { return Path{this, n, 0}; }
  Path element(size_t i) const { return Path{this, nullptr, i}; }
  std::string str() const {
    if (parent == nullptr) return name ? name : "";
    std::string head = parent->str();
    if (name == nullptr) return head + "[" + std::to_string(index) + "]";
    return head.empty() ? name : head + "." + name;
  }
};

// Validates one object against a list of field specs, naming fields by path.
class Validator {
 public:
  // `fixed`: fields every object of this kind has besides `fields`.
  void object(const json& j, const Path& path, const std::vector<FieldSpec>& fixed,
              const std::vector<FieldSpec>& fields) {
    if (!j.is_object()) fail(path, "an object");
    size_t found = 0;
    for (const auto* list : {&fixed, &fields}) {
      for (const FieldSpec& f : *list) {
        auto it = j.find(f.name);
        Path p = path.field(f.name);
        if (it == j.end()) {
          if (!f.required) continue;
          throw SchemaError("missing field '" + p.str() + "'");
        }
        value(*it, p, f);
        ++found;
      }
    }
    if (j.size() == found) return;  // every key is a named field
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!named(it.key(), fixed) && !named(it.key(), fields)) {
        throw SchemaError("unknown field '" + path.field(it.key().c_str()).str() + "'");
      }
    }
  }

  void value(const json& v, const Path& path, const FieldSpec& f) {
    switch (f.type) {
      case T::Int:
        if (!v.is_number_integer()) fail(path, "an integer");
        break;
      case T::Bool:
        if (!v.is_boolean()) fail(path, "a boolean");
        break;
      case T::String:
        if (!v.is_string()) fail(path, "a string");
        if (!f.allowed.empty() && std::find(f.allowed.begin(), f.allowed.end(),
                                            v.get_ref<const std::string&>()) == f.allowed.end()) {
          std::string list;
          for (const std::string& a : f.allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
          throw SchemaError("field '" + path.str() + "' is " + v.dump() + ", expected one of " +
                            list);
        }
        break;
      case T::IntArray: array_of(v, path, kIntElement); break;
      case T::StringArray: array_of(v, path, kStringElement); break;
      case T::Groups: array_of(v, path, kIntArrayElement); break;
      case T::State: object(v, path, {}, state_fields()); break;
      case T::StateChange: object(v, path, {}, state_change_fields()); break;
      case T::Message: message(v, path); break;
      case T::Command: object(v, path, {}, command_fields()); break;
      case T::Entry: object(v, path, {}, entry_fields()); break;
      case T::Entries: array_of(v, path, kEntryElement); break;
      case T::Result: object(v, path, {}, result_fields()); break;
      case T::Object: object(v, path, {}, f.fields); break;
      case T::ObjectArray:
        if (!v.is_array()) fail(path, "an array");
        for (size_t i = 0; i < v.size(); ++i) object(v[i], path.element(i), {}, f.fields);
        break;
      case T::EndNodes:
        if (!v.is_array()) fail(path, "an array");
        for (size_t i = 0; i < v.size(); ++i) object(v[i], path.element(i), {}, end_node_fields());
        break;
    }
  }

 private:
  void message(const json& v, const Path& path) {
    if (!v.is_object()) fail(path, "an object");
    auto type = v.find("type");
    if (type == v.end()) throw SchemaError("missing field '" + path.field("type").str() + "'");
    if (!type->is_string()) fail(path.field("type"), "a string");
    for (const MessageSpec& m : message_table()) {
      if (*type == m.type) return object(v, path, message_common_fields(), m.fields);
    }
    throw SchemaError("field '" + path.field("type").str() + "' is " + type->dump() +
                      ", not a message type of the schema");
  }

  void array_of(const json& v, const Path& path, const FieldSpec& element) {
    if (!v.is_array()) fail(path, "an array");
    for (size_t i = 0; i < v.size(); ++i) value(v[i], path.element(i), element);
  }

  static bool named(const std::string& key, const std::vector<FieldSpec>& fields) {
    for (const FieldSpec& f : fields) {
      if (key == f.name) return true;
    }
    return false;
  }
  [[noreturn]] static void fail(const Path& path, const char* what) {
    throw SchemaError("field '" + path.str() + "' must be " + what);
  }
};

}  // namespace

void validate_event(const json& ev) {
  if (!ev.is_object()) throw SchemaError("expected a JSON object");
  auto name = ev.find("event");
  if (name == ev.end()) throw SchemaError("missing field 'event'");
  if (!name->is_string()) throw SchemaError("field 'event' must be a string");
  const EventSpec* spec = find_event(name->get_ref<const std::string&>());
  if (spec == nullptr) throw SchemaError("unknown event " + name->dump());
  Validator().object(ev, Path{}, event_common_fields(*spec), spec->fields);
}

namespace {
// The header's initial_state: what some nodes hold on disk before they boot.
// Figure 2's persistent state must be one a server could have written: each
// node at most once, a vote for a node that exists, and a log whose terms never
// decrease and never pass the node's current term (a server only appends
// entries of its own or a leader's term, and adopts that term first).
void validate_initial_state(const json& h, int64_t num_nodes) {
  auto it = h.find("initial_state");
  if (it == h.end()) return;
  std::vector<bool> seen(static_cast<size_t>(num_nodes) + 1, false);
  for (size_t k = 0; k < it->size(); ++k) {
    const json& s = (*it)[k];
    std::string at = "field 'initial_state[" + std::to_string(k) + "]";
    int64_t node = s["node"].get<int64_t>();
    if (node < 1 || node > num_nodes) {
      throw SchemaError(at + ".node' is " + std::to_string(node) + ", expected 1.." +
                        std::to_string(num_nodes));
    }
    if (seen[static_cast<size_t>(node)]) {
      throw SchemaError(at + ".node' names node " + std::to_string(node) + " a second time");
    }
    seen[static_cast<size_t>(node)] = true;
    int64_t vote = s["vote"].get<int64_t>();
    if (vote > num_nodes) {
      throw SchemaError(at + ".vote' is " + std::to_string(vote) + ", expected 0.." +
                        std::to_string(num_nodes) + " (0: no vote)");
    }
    int64_t term = s["term"].get<int64_t>();
    int64_t last = 0;
    const json& log = s["log"];
    for (size_t i = 0; i < log.size(); ++i) {
      int64_t t = log[i]["term"].get<int64_t>();
      std::string where = at + ".log[" + std::to_string(i) + "].term' is " + std::to_string(t);
      if (t < 1) throw SchemaError(where + "; an entry's term is at least 1");
      if (t < last) {
        throw SchemaError(where + ", below the term " + std::to_string(last) +
                          " of the entry before it (a log's terms never decrease)");
      }
      if (t > term) {
        throw SchemaError(where + ", above the node's term " + std::to_string(term) +
                          " (a server adopts a term before it holds entries of it)");
      }
      last = t;
    }
  }
}
}  // namespace

void validate_header(const json& h) {
  if (!h.is_object()) throw SchemaError("expected a JSON object");
  auto format = h.find("format");
  if (format == h.end() || !format->is_string()) {
    throw SchemaError("field 'format' missing or not a string (expected \"raftkv-trace\")");
  }
  if (*format != "raftkv-trace") {
    throw SchemaError("format is " + format->dump() + ", expected \"raftkv-trace\"");
  }
  auto version = h.find("version");
  if (version == h.end() || !version->is_number_integer()) {
    throw SchemaError("field 'version' missing or not an integer");
  }
  if (!readable_version(version->get<int64_t>())) {
    throw SchemaError(version_mismatch(version->get<int64_t>()));
  }
  // The effective config as config_to_json writes it. Traces written by hand
  // (tests, TLC counterexamples) may leave out all but the cluster's size.
  auto optional = [](const char* name, FieldType type, std::vector<FieldSpec> fields = {}) {
    return FieldSpec{name, type, {}, std::move(fields), /*required=*/false};
  };
  static const std::vector<FieldSpec> header = {
      {"format", T::String},
      {"version", T::Int},
      {"seed", T::Int},
      {"planted_bugs", T::StringArray},
      optional("initial_state", T::ObjectArray,
               {{"node", T::Int}, {"term", T::Int}, {"vote", T::Int}, {"log", T::Entries}}),
      {"config",
       T::Object,
       {},
       {{"num_nodes", T::Int},
        {"num_clients", T::Int},
        optional("seed", T::Int),
        optional("requests_per_client", T::Int),
        optional("initial_leader", T::Int),
        optional("time_limit_ms", T::Int),
        optional("linger_ms", T::Int),
        optional("keys", T::Int),
        optional("leader_noop", T::Bool),
        optional("raft", T::Object,
                 {optional("pre_vote", T::Bool), optional("check_quorum", T::Bool),
                  optional("read_mode", T::String), optional("snapshot_every", T::Int),
                  optional("snapshot_chunk_bytes", T::Int)}),
        optional("timing", T::Object,
                 {{"heartbeat_interval_ms", T::Int},
                  {"election_timeout_min_ms", T::Int},
                  {"election_timeout_max_ms", T::Int},
                  {"network_latency_min_ms", T::Int},
                  {"network_latency_max_ms", T::Int},
                  {"client_timeout_ms", T::Int},
                  {"client_deadline_ms", T::Int},
                  optional("clock_drift_ppm", T::Int)}),
        optional("network", T::Object, {{"loss", T::String}, {"duplicate", T::String}}),
        optional("faults", T::ObjectArray,
                 {{"at_ms", T::Int},
                  {"action", T::String},
                  {"node", T::Int},
                  {"groups", T::Groups},
                  {"from", T::Int},
                  {"to", T::Int},
                  optional("target", T::String),
                  optional("loss", T::String),
                  optional("duplicate", T::String),
                  optional("network_latency_min_ms", T::Int),
                  optional("network_latency_max_ms", T::Int)}),
        optional("clients", T::ObjectArray,
                 {{"id", T::Int},
                  optional("start_ms", T::Int),
                  optional("stop_ms", T::Int),
                  optional("node", T::Int),
                  optional("count", T::Int),
                  optional("commands", T::StringArray)}),
        optional("nemesis", T::Object,
                 {{"enabled", T::Bool},
                  {"kinds", T::StringArray},
                  {"mean_interval_ms", T::Int},
                  {"max_down", T::Int}})}}};
  Validator().object(h, Path{}, {}, header);
  const json& nodes = h["config"]["num_nodes"];
  if (nodes < 1 || nodes > 1000) {
    throw SchemaError("field 'config.num_nodes' is " + nodes.dump() + ", expected 1..1000");
  }
  validate_initial_state(h, nodes.get<int64_t>());
  // A server an add_node fault brings has an id above num_nodes (thesis §4.1).
  if (h["config"].contains("faults")) {
    for (const json& f : h["config"]["faults"]) {
      if (!is_add_node(f)) continue;
      int64_t id = f["node"].get<int64_t>();
      if (id <= nodes.get<int64_t>() || id > 1000) {
        throw SchemaError("an add_node fault's node is " + std::to_string(id) + ", expected " +
                          std::to_string(nodes.get<int64_t>() + 1) + "..1000");
      }
    }
  }
  const std::vector<std::string>& known = planted_bug_vocabulary();
  for (const json& bug : h["planted_bugs"]) {
    if (std::find(known.begin(), known.end(), bug.get_ref<const std::string&>()) == known.end()) {
      throw SchemaError("field 'planted_bugs' names " + bug.dump() +
                        ", which is not a planted bug");
    }
  }
}

int64_t max_node_id(const json& header) {
  const json& cfg = header["config"];
  int64_t n = cfg["num_nodes"].get<int64_t>();
  if (cfg.contains("faults") && cfg["faults"].is_array()) {
    for (const json& f : cfg["faults"]) {
      if (is_add_node(f)) n = std::max(n, f["node"].get<int64_t>());
    }
  }
  return n;
}

}  // namespace raftkv::trace
