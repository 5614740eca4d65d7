// The spec's view of a cluster (issue 17): what RaftKV.tla's variables say
// about each node and about the network, in one canonical form for the code
// and for TLC's states. `raftkv import-tla` matches TLC's error trace against
// it step by step; `raftkv explore --compare-tlc` compares the set of views
// TLC reached with the set the code reaches.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "raft/node_set.h"
#include "raft/types.h"

namespace raftkv {

// A file that is not what it should be: "NAME: where: what is wrong".
class ImportInputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One node as Figure 2's variables give it. A crashed node ("down") keeps
// only what it persisted (term, vote, log): RaftKV's Crash resets the rest,
// and the code's crashed node is what its storage holds, so commit and
// applied are not compared for it.
struct ViewNode {
  std::string role;
  int64_t term = 0;
  int64_t vote = 0;
  std::string log;  // canonical JSON of [{term, cmd}]
  int64_t commit = 0;
  int64_t applied = 0;
  std::string store;  // canonical JSON of the KV store, {key: value}
  // A running node's `verified`, and what its role keeps: a candidate's
  // `votes`, a leader's `next`, `match`, `probe` and `csent` for each other
  // server (indexed by id, [0] unused). RaftKV resets these at every change
  // of term; only the role that reads them is compared, as the code
  // reinitializes them when it takes the role. `explore --compare-tlc`
  // compares them; import-tla does not.
  bool has_role_state = false;  // false: the source lacks them
  std::string sessions;         // canonical JSON {client: [seq, status, value]}
  int64_t verified = 0;
  std::vector<int> votes;  // sorted
  std::vector<int64_t> next, match, csent;
  std::vector<bool> probe;
};

// A message of the view with its servers apart, so that a renaming of the
// servers (symmetry) renames them: `rest` is its record without from and to.
struct ViewMsg {
  int from = 0, to = 0;
  std::string rest;
};

struct View {
  std::vector<ViewNode> nodes;    // [id - 1]
  std::set<std::string> msgs;     // canonical JSON of every message ever sent
  std::vector<ViewMsg> msg_list;  // the same messages, servers apart
  // MCRaftKV's history variables and crash count, which `explore
  // --compare-tlc` compares (has_history): every (term, leader) elected,
  // every (index, entry's term, term it was committed in) known committed
  // (RaftKV keeps the least such term per entry), and the crashes so far.
  bool has_history = false;
  std::set<std::pair<int64_t, int>> elected;
  std::set<std::tuple<int64_t, int64_t, int64_t>> committed;
  int64_t crashes = 0;
  // CheckQuorum: the spec's history `lapsed`, the (term, leader) of every
  // quorum check that found fewer than a majority. Not compared (the code
  // keeps no history): a record new in a step says which input the step was,
  // since with the planted bug leader_ignores_quorum that check changes
  // nothing else the spec shows.
  std::set<std::pair<int64_t, int64_t>> lapsed;
};

// The view as one string, equal for equal views (a line of
// `explore --compare-tlc`'s report), with the servers renamed by `perm`
// (perm[old id] = new id, [0] = 0) if given.
std::string canonical(const View& v, const std::vector<int>* perm = nullptr);

// The least of canonical(v, perm) over every renaming of the servers: equal
// for views that are the same up to the servers' names, as TLC's SYMMETRY
// Permutations(Server) takes them.
std::string canonical_up_to_symmetry(const View& v);

// Splits a message's record (JSON) into a ViewMsg.
ViewMsg view_msg(nlohmann::json m);

// A message of the code as RaftKV.tla's record of its type: RaftKV's ...Msg
// operators name the fields the trace writes (trace/codec.h, the contract),
// without the runtime's id; a RequestVote's `transfer`, which the trace
// writes only when true, is always in the record. Client requests and
// replies are not in the spec's msgs (it has no clients): nullopt.
std::optional<nlohmann::json> message_view(const Message& m);

// The code's nodes and the messages sent so far (client requests and
// replies among them are left out, as the spec has no clients).
View code_view(const NodeSet& nodes, const std::vector<Message>& sent);

// ---------------------------------------------------------------------------
// Reading TLC's JSON: states as `[number, {variable: value}]`, model values
// (servers, Nil) as strings, sets and sequences as arrays, records and
// functions over servers as objects.

class SpecReader {
 public:
  using json = nlohmann::json;

  SpecReader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw ImportInputError(name_ + ": " + where + ": " + what);
  }

  const json& field(const json& j, const char* key, const std::string& where) const {
    if (!j.is_object()) fail(where, "expected an object");
    auto it = j.find(key);
    if (it == j.end()) fail(where, std::string("no '") + key + "'");
    return *it;
  }
  int64_t integer(const json& j, const char* key, const std::string& where) const {
    const json& v = field(j, key, where);
    if (!v.is_number_integer()) fail(where + "." + key, "expected an integer");
    return v.get<int64_t>();
  }
  std::string string(const json& j, const char* key, const std::string& where) const {
    const json& v = field(j, key, where);
    if (!v.is_string()) fail(where + "." + key, "expected a string");
    return v.get<std::string>();
  }

  // The servers, from the first state's `node`. With servers numbered
  // (Server = {1, 2, 3}) `node` is a sequence and they keep their numbers;
  // with model values named s1, s2, ... (or 1, 2, ...) they keep theirs;
  // otherwise they are numbered in name order.
  void learn_servers(const json& node, const std::string& where) {
    if (node.is_array() && !node.empty()) {
      numbered_ = static_cast<int>(node.size());
      return;
    }
    if (!node.is_object() || node.empty()) fail(where, "expected one record per server");
    std::vector<std::string> names;
    for (auto it = node.begin(); it != node.end(); ++it) names.push_back(it.key());
    std::map<std::string, int> ids;
    bool numbered = true;
    for (const std::string& n : names) {
      size_t at = !n.empty() && (n[0] == 's' || n[0] == 'S') ? 1 : 0;
      if (at >= n.size() || n.size() - at > 3 ||
          !std::all_of(n.begin() + static_cast<std::ptrdiff_t>(at), n.end(),
                       [](unsigned char c) { return std::isdigit(c) != 0; })) {
        numbered = false;
        break;
      }
      ids[n] = std::stoi(n.substr(at));
    }
    std::set<int> seen;
    for (const auto& [n, id] : ids) seen.insert(id);
    if (!numbered || seen.size() != names.size() || *seen.begin() != 1 ||
        *seen.rbegin() != static_cast<int>(names.size())) {
      std::sort(names.begin(), names.end());
      ids.clear();
      for (size_t i = 0; i < names.size(); ++i) ids[names[i]] = static_cast<int>(i) + 1;
    }
    servers_ = ids;
  }
  int servers() const { return numbered_ > 0 ? numbered_ : static_cast<int>(servers_.size()); }

  std::string name_of(int id) const {
    for (const auto& [name, i] : servers_) {
      if (i == id) return name;
    }
    return std::to_string(id);
  }

  // A server (or Nil, 0): a number, or a model value.
  int64_t server(const json& v, const std::string& where) const {
    if (numbered_ > 0 && v.is_number_integer()) {
      int64_t id = v.get<int64_t>();
      if (id < 1 || id > numbered_)
        fail(where, std::to_string(id) + " is not a server of the trace");
      return id;
    }
    if (!v.is_string()) fail(where, "expected a server");
    const std::string s = v.get<std::string>();
    if (s == "Nil") return 0;
    auto it = servers_.find(s);
    if (numbered_ > 0) it = servers_.end();
    if (it == servers_.end()) fail(where, "'" + s + "' is not a server of the trace");
    return it->second;
  }

  json command(const json& c, const std::string& where) const {
    if (c.contains("voters") || c.contains("learners")) {
      fail(where, "a configuration entry: import-tla does not model membership changes");
    }
    return json{{"op", string(c, "op", where)},
                {"key", string(c, "key", where)},
                {"value", string(c, "value", where)},
                {"client", integer(c, "client", where)},
                {"seq", integer(c, "seq", where)}};
  }

  json entries(const json& log, const std::string& where) const {
    if (!log.is_array()) fail(where, "expected a sequence of entries");
    json out = json::array();
    for (size_t k = 0; k < log.size(); ++k) {
      std::string at = where + "[" + std::to_string(k + 1) + "]";
      out.push_back(json{{"term", integer(log[k], "term", at)},
                         {"cmd", command(field(log[k], "cmd", at), at + ".cmd")}});
    }
    return out;
  }

  // A message record with servers as numbers and entries in canonical form.
  json message(const json& m, const std::string& where) const {
    if (!m.is_object()) fail(where, "expected a message record");
    json out = json::object();
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& k = it.key();
      if (k == "from" || k == "to") {
        out[k] = server(*it, where + "." + k);
      } else if (k == "entries") {
        out[k] = entries(*it, where + ".entries");
      } else if (it->is_number_integer() || it->is_boolean() || it->is_string()) {
        out[k] = *it;
      } else {
        fail(where + "." + k, "a field import-tla does not model (snapshots are not imported)");
      }
    }
    if (!out.contains("type")) fail(where, "a message without 'type'");
    return out;
  }

  // With `full`, also each running node's role state and sessions and the
  // history variables (what `explore --compare-tlc` compares).
  View view(const json& vars, const std::string& where, bool full = false) const {
    View v;
    const json& node = field(vars, "node", where);
    const size_t n = static_cast<size_t>(servers());
    if (numbered_ > 0 ? !node.is_array() || node.size() != n
                      : !node.is_object() || node.size() != n) {
      fail(where + ".node", "expected one record per server");
    }
    v.nodes.resize(n);
    for (int id = 1; id <= servers(); ++id) {
      std::string name = numbered_ > 0 ? std::to_string(id) : name_of(id);
      std::string at = where + ".node." + name;
      const json& s = numbered_ > 0 ? node[static_cast<size_t>(id - 1)]
                                    : field(node, name.c_str(), where + ".node");
      ViewNode& n = v.nodes[static_cast<size_t>(id - 1)];
      n.role = string(s, "role", at);
      n.term = integer(s, "term", at);
      n.vote = server(field(s, "vote", at), at + ".vote");
      if (s.contains("snap") && integer(field(s, "snap", at), "index", at + ".snap") != 0) {
        fail(at + ".snap", "a snapshot: import-tla does not model log compaction");
      }
      n.log = entries(field(s, "log", at), at + ".log").dump();
      if (n.role != "down") {
        n.commit = integer(s, "commit", at);
        n.applied = integer(s, "applied", at);
        // A function from the keys present to values; TLC writes the empty
        // function as an empty sequence.
        const json& store = field(s, "store", at);
        if (store.is_array() && store.empty()) {
          n.store = json::object().dump();
        } else if (store.is_object() && std::all_of(store.begin(), store.end(),
                                                    [](const json& x) { return x.is_string(); })) {
          n.store = store.dump();
        } else {
          fail(at + ".store", "expected a function from keys to values");
        }
        if (full) {
          spec_role_state(s, n, at);
          n.sessions = spec_sessions(field(s, "sessions", at), at + ".sessions");
        }
      }
    }
    if (vars.contains("lapsed") && vars["lapsed"].is_array()) {
      for (const json& l : vars["lapsed"]) {
        v.lapsed.insert({integer(l, "term", where + ".lapsed"),
                         server(field(l, "leader", where + ".lapsed"), where + ".lapsed.leader")});
      }
    }
    if (full) {
      for (const json& e : field(vars, "elected", where)) {
        v.elected.insert({integer(e, "term", where + ".elected"),
                          static_cast<int>(server(field(e, "leader", where + ".elected"),
                                                  where + ".elected.leader"))});
      }
      for (const json& c : field(vars, "committed", where)) {
        const json& entry = field(c, "entry", where + ".committed");
        v.committed.insert({integer(c, "index", where + ".committed"),
                            integer(entry, "term", where + ".committed.entry"),
                            integer(c, "term", where + ".committed")});
      }
      v.crashes = integer(vars, "crashes", where);
      v.has_history = true;
    }
    const json& msgs = field(vars, "msgs", where);
    if (!msgs.is_array()) fail(where + ".msgs", "expected a set of messages");
    for (size_t k = 0; k < msgs.size(); ++k) {
      json m = message(msgs[k], where + ".msgs[" + std::to_string(k + 1) + "]");
      if (m["type"] == "ClientRequest" || m["type"] == "ClientReply") continue;
      v.msgs.insert(m.dump());
      v.msg_list.push_back(view_msg(std::move(m)));
    }
    return v;
  }

 private:
  // A function over the servers as values indexed by id ([0] unused): TLC
  // writes it as an array with servers numbered, as an object otherwise.
  std::vector<json> per_server(const json& f, const std::string& where) const {
    std::vector<json> out(static_cast<size_t>(servers()) + 1);
    for (int id = 1; id <= servers(); ++id) {
      if (numbered_ > 0) {
        if (!f.is_array() || f.size() != static_cast<size_t>(servers())) {
          fail(where, "expected one value per server");
        }
        out[static_cast<size_t>(id)] = f[static_cast<size_t>(id - 1)];
      } else {
        out[static_cast<size_t>(id)] = field(f, name_of(id).c_str(), where);
      }
    }
    return out;
  }

  // RaftKV's sessions, a function from clients to [seq, result]: TLC writes
  // one over 1..n as an array, others as an object keyed by client.
  std::string spec_sessions(const json& f, const std::string& at) const {
    json out = json::object();
    auto add = [&](const std::string& client, const json& x) {
      const json& r = field(x, "result", at);
      out[client] =
          json::array({integer(x, "seq", at), string(r, "status", at), string(r, "value", at)});
    };
    if (f.is_array()) {
      for (size_t k = 0; k < f.size(); ++k) add(std::to_string(k + 1), f[k]);
    } else if (f.is_object()) {
      for (auto it = f.begin(); it != f.end(); ++it) add(it.key(), *it);
    } else {
      fail(at, "expected a function from clients to sessions");
    }
    return out.dump();
  }

  void spec_role_state(const json& s, ViewNode& n, const std::string& at) const {
    const json& vs = field(s, "votes", at);
    if (!vs.is_array()) fail(at + ".votes", "expected a set of servers");
    for (const json& v : vs) n.votes.push_back(static_cast<int>(server(v, at + ".votes")));
    std::sort(n.votes.begin(), n.votes.end());
    std::vector<json> nx = per_server(field(s, "next", at), at + ".next");
    std::vector<json> mt = per_server(field(s, "match", at), at + ".match");
    std::vector<json> pr = per_server(field(s, "probe", at), at + ".probe");
    std::vector<json> cs = per_server(field(s, "csent", at), at + ".csent");
    n.next.assign(nx.size(), 0);
    n.match.assign(nx.size(), 0);
    n.csent.assign(nx.size(), 0);
    n.probe.assign(nx.size(), false);
    for (int id = 1; id <= servers(); ++id) {
      auto k = static_cast<size_t>(id);
      if (!nx[k].is_number_integer() || !mt[k].is_number_integer() || !pr[k].is_boolean() ||
          !cs[k].is_number_integer()) {
        fail(at, "next, match, csent must map servers to integers, probe to booleans");
      }
      n.next[k] = nx[k].get<int64_t>();
      n.match[k] = mt[k].get<int64_t>();
      n.probe[k] = pr[k].get<bool>();
      n.csent[k] = cs[k].get<int64_t>();
    }
    n.verified = integer(s, "verified", at);
    n.has_role_state = true;
  }

  std::string name_;
  std::map<std::string, int> servers_;  // model value -> id
  int numbered_ = 0;                    // > 0: servers 1..numbered_, by number
};

}  // namespace raftkv
