#include "app/spec_view.h"

#include <algorithm>

#include "trace/codec.h"

namespace raftkv {

using json = nlohmann::json;

std::optional<json> message_view(const Message& m) {
  if (m.type == MsgType::ClientRequest || m.type == MsgType::ClientReply) return std::nullopt;
  json j = to_json(m);
  j.erase("id");
  if (m.type == MsgType::RequestVote) j["transfer"] = m.transfer;
  return j;
}

View code_view(const NodeSet& nodes, const std::vector<Message>& sent) {
  View v;
  v.nodes.resize(static_cast<size_t>(nodes.size()));
  for (int id = 1; id <= nodes.size(); ++id) {
    const Node& node = nodes.node(id);
    ViewNode& n = v.nodes[static_cast<size_t>(id - 1)];
    bool up = nodes.is_up(id);
    n.role = up ? to_string(node.role()) : "down";
    n.term = node.term();
    n.vote = node.vote();
    n.log = to_json(node.log()).dump();
    if (up) {
      n.commit = node.commit_index();
      n.applied = node.last_applied();
      json store = json::object();
      for (const auto& [key, value] : node.store().data()) store[key] = value;
      n.store = store.dump();
      n.votes.assign(node.votes_granted().begin(), node.votes_granted().end());
      auto slots = static_cast<size_t>(nodes.size()) + 1;
      n.next.assign(slots, 0);
      n.match.assign(slots, 0);
      n.csent.assign(slots, 0);
      n.probe.assign(slots, false);
      for (int j = 1; j <= nodes.size(); ++j) {
        auto k = static_cast<size_t>(j);
        n.next[k] = node.next_index(j);
        n.match[k] = node.match_index(j);
        n.probe[k] = node.probing(j);
        n.csent[k] = node.commit_sent(j);
      }
      n.verified = node.verified_index();
      n.has_role_state = true;
      json sessions = json::object();
      for (const auto& [client, last] : node.store().sessions()) {
        sessions[std::to_string(client)] =
            json::array({last.first, to_string(last.second.status), last.second.value});
      }
      n.sessions = sessions.dump();
    }
  }
  for (const Message& m : sent) {
    if (auto j = message_view(m)) {
      v.msgs.insert(j->dump());
      v.msg_list.push_back(view_msg(std::move(*j)));
    }
  }
  return v;
}

ViewMsg view_msg(json m) {
  ViewMsg out;
  out.from = m.value("from", 0);
  out.to = m.value("to", 0);
  m.erase("from");
  m.erase("to");
  out.rest = m.dump();
  return out;
}

// Built as a string from the view's parts (log, store and sessions are
// canonical JSON already): --compare-tlc computes it for every state of both
// sides, six times each under symmetry.
std::string canonical(const View& v, const std::vector<int>* perm) {
  const int n = static_cast<int>(v.nodes.size());
  auto name = [&](int64_t id) {
    return perm != nullptr && id > 0 ? (*perm)[static_cast<size_t>(id)] : static_cast<int>(id);
  };
  auto num = [](std::string& out, const char* key, int64_t x) {
    out += key;
    out += std::to_string(x);
  };
  std::vector<int> old_of(static_cast<size_t>(n) + 1);  // new id -> old id
  for (int id = 1; id <= n; ++id) old_of[static_cast<size_t>(name(id))] = id;
  std::string out;
  out.reserve(1024);
  for (int k = 1; k <= n; ++k) {
    const ViewNode& x = v.nodes[static_cast<size_t>(old_of[static_cast<size_t>(k)] - 1)];
    out += "{";
    out += x.role;
    num(out, " term ", x.term);
    num(out, " vote ", name(x.vote));
    out += " log ";
    out += x.log;
    if (x.role != "down") {
      num(out, " commit ", x.commit);
      num(out, " applied ", x.applied);
      out += " store ";
      out += x.store;
    }
    if (x.role != "down" && x.has_role_state) {
      out += " sessions ";
      out += x.sessions;
      num(out, " verified ", x.verified);
      if (x.role == "candidate" || x.role == "leader") {
        std::vector<int> votes;
        for (int id : x.votes) votes.push_back(name(id));
        std::sort(votes.begin(), votes.end());
        out += " votes";
        for (int id : votes) num(out, " ", id);
      }
      if (x.role == "leader") {
        // Per other server, in the order of their new names.
        for (int p = 1; p <= n; ++p) {
          if (p == k) continue;
          auto o = static_cast<size_t>(old_of[static_cast<size_t>(p)]);
          num(out, " to ", p);
          num(out, " next ", x.next[o]);
          num(out, " match ", x.match[o]);
          out += x.probe[o] ? " probe" : " replicate";
          num(out, " csent ", x.csent[o]);
        }
      }
    }
    out += "}";
  }
  std::vector<std::string> msgs;
  msgs.reserve(v.msg_list.size());
  for (const ViewMsg& m : v.msg_list) {
    msgs.push_back(std::to_string(name(m.from)) + ">" + std::to_string(name(m.to)) + " " + m.rest);
  }
  std::sort(msgs.begin(), msgs.end());
  out += " msgs";
  for (const std::string& m : msgs) {
    out += " ";
    out += m;
  }
  if (v.has_history) {
    std::set<std::pair<int64_t, int>> elected;
    for (const auto& [term, leader] : v.elected) elected.insert({term, name(leader)});
    out += " elected";
    for (const auto& [term, leader] : elected) {
      num(out, " ", term);
      num(out, ":", leader);
    }
    out += " committed";
    for (const auto& [index, term, in] : v.committed) {
      num(out, " ", index);
      num(out, ":", term);
      num(out, "@", in);
    }
    num(out, " crashes ", v.crashes);
  }
  return out;
}

std::string canonical_up_to_symmetry(const View& v) {
  std::vector<int> perm(v.nodes.size() + 1);
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  std::string best;
  do {
    std::string c = canonical(v, &perm);
    if (best.empty() || c < best) best = std::move(c);
  } while (std::next_permutation(perm.begin() + 1, perm.end()));
  return best;
}

}  // namespace raftkv
