#include "trace/narrate.h"

#include <algorithm>
#include <cstdio>
#include <functional>

namespace raftkv {
namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return s;
}

std::string range(int64_t first, size_t count) {
  int64_t last = first + static_cast<int64_t>(count) - 1;
  return count == 1 ? std::to_string(first) : std::to_string(first) + ".." + std::to_string(last);
}

std::string n(int64_t v) { return std::to_string(v); }

// "msg 12": a message by its trace id (`msg.id`, a deliver's `msg_id`).
std::string msg_id(const json& m) { return "msg " + n(num(m, "id")); }

// "3/1": a log position as index/term.
std::string pos(int64_t index, int64_t term) { return n(index) + "/" + n(term); }

// What an InstallSnapshot carries: "snapshot through 40/2, bytes 0..311 of it
// (last chunk)". The data itself (keys and values) is left to the trace.
std::string snapshot_chunk(const json& m) {
  int64_t offset = num(m, "offset");
  int64_t len = static_cast<int64_t>(str(m, "data").size());
  return "snapshot through " + pos(num(m, "last_included_index"), num(m, "last_included_term")) +
         ", " +
         (len == 0 ? "no bytes at offset " + n(offset)
                   : "bytes " + n(offset) + ".." + n(offset + len - 1) + " of it") +
         (m.value("done", false) ? " (last chunk)" : " (more to come)");
}

std::string describe_message(const json& m) {
  std::string type = str(m, "type");
  return type + " " + msg_id(m) + " (" +
         (type == "ClientRequest" ? "client " + std::to_string(num(m, "client"))
                                  : "node " + std::to_string(num(m, "from"))) +
         " -> " +
         (type == "ClientReply" ? "client " + std::to_string(num(m, "client"))
                                : "node " + std::to_string(num(m, "to"))) +
         ")";
}

}  // namespace

std::string describe_command(const json& cmd) {
  std::string op = str(cmd, "op");
  if (op == "noop") return "NOOP";
  if (op == "config") {
    // Thesis §4.1: a configuration entry, in effect once in a log.
    auto ids = [&](const char* key) {
      std::string list;
      if (cmd.contains(key) && cmd[key].is_array()) {
        for (const json& v : cmd[key]) list += (list.empty() ? "" : ",") + v.dump();
      }
      return list.empty() ? std::string("none") : list;
    };
    return "CONFIG voters " + ids("voters") + ", learners " + ids("learners");
  }
  std::string s = upper(op) + " \"" + str(cmd, "key") + "\"";
  if (op == "put") s += " = \"" + str(cmd, "value") + "\"";
  return s;
}

std::string describe_result(const json& result) {
  std::string status = str(result, "status");
  if (status == "ok" && !str(result, "value").empty()) return "\"" + str(result, "value") + "\"";
  if (status == "ok") return "OK";
  if (status == "key_exists") return "REJECTED (key exists)";
  if (status == "not_found") return "NOT FOUND";
  if (status == "stale") return "SKIPPED (stale: its client already had a later request applied)";
  return upper(status);
}

void Narrator::note_message(const std::string& event, const json& ev) {
  if (event == "send" || event == "client_send" || event == "inject") {
    const json& msg = ev.contains("msg") ? ev["msg"] : json::object();
    pending_[num(msg, "id")] = Pending{msg};
    return;
  }
  int64_t id = event == "deliver"   ? num(ev, "msg_id")
               : ev.contains("msg") ? num(ev["msg"], "id")
                                    : 0;
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    // A copy of a message already delivered (or dropped) as often as it was
    // sent: the duplicate brings it back, and carries it whole.
    if (event == "duplicate" && ev.contains("msg")) pending_[id] = Pending{ev["msg"]};
    return;
  }
  if (event == "duplicate") {
    ++it->second.copies;
  } else if ((event == "deliver" || event == "drop" || event == "client_receive") &&
             --it->second.copies <= 0) {
    pending_.erase(it);
  }
}

const json& Narrator::delivered_message(const json& ev) const {
  static const json empty = json::object();
  auto it = pending_.find(num(ev, "msg_id"));
  return it == pending_.end() ? empty : it->second.msg;
}

void Narrator::header(const json& header) {
  // A trace header keeps the switches in config.raft, a scenario's in config.
  if (header.contains("config") && header["config"].is_object()) {
    const json& cfg = header["config"];
    const json& raft = cfg.contains("raft") ? cfg["raft"] : cfg;
    lease_ = raft.is_object() && raft.value("read_mode", std::string()) == "lease";
  }
  auto it = header.find("initial_state");
  if (it == header.end() || !it->is_array()) return;
  for (const json& s : *it) {
    std::vector<int64_t>& log = log_terms_[static_cast<int>(num(s, "node"))];
    log.clear();
    if (s.contains("log") && s["log"].is_array()) {
      for (const json& e : s["log"]) log.push_back(num(e, "term"));
    }
  }
}

void Narrator::note_log(const std::string& event, const json& ev) {
  int node = static_cast<int>(num(ev, "node"));
  if (event == "append" && ev.contains("entries") && ev["entries"].is_array()) {
    // An append may overwrite in place (a planted skip_truncate keeps the
    // entries after it), so it sets positions rather than only extending.
    std::vector<int64_t>& log = log_terms_[node];
    size_t first = static_cast<size_t>(std::max<int64_t>(num(ev, "first_index"), 1));
    size_t end = first - 1 + ev["entries"].size();
    if (log.size() < end) log.resize(end);
    for (size_t i = 0; i < ev["entries"].size(); ++i)
      log[first - 1 + i] = num(ev["entries"][i], "term");
  } else if (event == "truncate") {
    std::vector<int64_t>& log = log_terms_[node];
    int64_t from = std::max<int64_t>(num(ev, "from_index"), 1);
    if (static_cast<size_t>(from - 1) < log.size()) log.resize(static_cast<size_t>(from - 1));
  } else if (event == "install_snapshot") {
    // §7: the log becomes the snapshot (entries 1..index, committed, so the
    // sender's terms for them are everyone's) and the `kept` entries after
    // it. A `snapshot` changes nothing here: the narrator keeps the terms of
    // compacted entries, which are still the ones a leader must reason about.
    int64_t index = std::max<int64_t>(num(ev, "index"), 0);
    const json& from = last_delivered_.count(node) ? last_delivered_.at(node) : json::object();
    std::vector<int64_t> log;
    auto sender = log_terms_.find(static_cast<int>(num(from, "from")));
    if (sender != log_terms_.end()) {
      log.assign(sender->second.begin(),
                 sender->second.begin() +
                     std::min<int64_t>(index, static_cast<int64_t>(sender->second.size())));
    }
    log.resize(static_cast<size_t>(index), 0);
    if (index > 0) log[static_cast<size_t>(index - 1)] = num(ev, "term");
    std::vector<int64_t>& mine = log_terms_[node];
    for (int64_t i = index; i < index + num(ev, "kept") && i < static_cast<int64_t>(mine.size());
         ++i) {
      log.push_back(mine[static_cast<size_t>(i)]);
    }
    mine = std::move(log);
  }
}

int64_t Narrator::term_at(int node, int64_t index) const {
  auto it = log_terms_.find(node);
  if (it == log_terms_.end() || index < 1 || static_cast<size_t>(index) > it->second.size())
    return 0;
  return it->second[static_cast<size_t>(index - 1)];
}

// §5.4.2 (Figure 8): a leader commits an entry by counting replicas only if
// the entry is of its own term. When the highest index a majority holds is
// of an older term, the leader must wait; the narrative says so, once per
// (leader, term, index), because that wait is what Figure 8 is about.
std::optional<Narrator::Told> Narrator::restraint(const json& ev, const json& st) {
  int leader = static_cast<int>(num(ev, "node"));
  if (str(st, "role") != "leader" || nodes_seen_.empty()) return std::nullopt;
  std::map<int, int64_t>& match = match_[leader];
  match[static_cast<int>(num(ev, "peer"))] = num(ev, "match_index");
  std::vector<int64_t> held{num(st, "last_index")};  // the leader holds its own log
  for (int node : nodes_seen_) {
    if (node != leader) held.push_back(match.count(node) ? match[node] : 0);
  }
  std::sort(held.begin(), held.end(), std::greater<int64_t>());
  size_t majority = nodes_seen_.size() / 2 + 1;
  if (held.size() < majority) return std::nullopt;
  int64_t index = held[majority - 1];  // held by a majority
  int64_t term = num(st, "term");
  int64_t entry_term = term_at(leader, index);
  if (index <= num(st, "commit") || entry_term == 0 || entry_term >= term) return std::nullopt;
  if (!restraint_told_.insert({leader, term, index}).second) return std::nullopt;
  Told t;
  t.level = 1;
  t.text = "May not commit index " + n(index) + " yet: a majority holds it, but its term " +
           n(entry_term) + " is older than my term " + n(term) +
           " (§5.4.2, Figure 8); it commits with the first entry of term " + n(term);
  return t;
}

bool Narrator::shown(const Told& t) const {
  if (t.level > options_.verbosity) return false;
  auto has = [](const std::vector<int>& v, int x) {
    return x != 0 && std::find(v.begin(), v.end(), x) != v.end();
  };
  if (!options_.nodes.empty() && !t.network_wide && !has(options_.nodes, t.node) &&
      !has(options_.nodes, t.peer)) {
    return false;
  }
  if (!options_.clients.empty() && !has(options_.clients, t.client)) return false;
  return true;
}

std::optional<std::string> Narrator::line(const json& ev) {
  std::optional<Told> told = tell(ev);
  std::string event = str(ev, "event");
  std::optional<Told> extra;
  if (event == "progress") {
    const json empty = json::object();
    extra = restraint(ev, ev.contains("state") ? ev["state"] : empty);
  }
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%7lld ms] ", static_cast<long long>(num(ev, "t")));
  std::string who;
  if (ev.contains("node"))
    who = "[node " + n(num(ev, "node")) + "] ";
  else if (ev.contains("client"))
    who = "[client " + n(num(ev, "client")) + "] ";
  else
    who = "[net] ";
  std::string out;
  for (const std::optional<Told>* t : {&told, &extra}) {
    if (!*t || !shown(**t)) continue;
    if (!out.empty()) out += '\n';
    out += stamp + who + (*t)->text;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<Narrator::Told> Narrator::tell(const json& ev) {
  const std::string event = str(ev, "event");
  const json empty = json::object();
  const json& st = ev.contains("state") ? ev["state"] : empty;
  // Looked up before note_message, which forgets a message at its last delivery.
  const json msg = event == "deliver"   ? delivered_message(ev)
                   : ev.contains("msg") ? ev["msg"]
                                        : empty;
  note_message(event, ev);
  note_log(event, ev);
  int node = static_cast<int>(num(ev, "node"));
  if (event == "start") nodes_seen_.insert(node);
  if (event == "deliver" && ev.contains("node")) last_delivered_[node] = msg;
  int64_t term = num(st, "term");
  // The role before this event (its own state is the role after it).
  struct RoleAfter {
    std::map<int, std::string>& roles;
    int node;
    std::string role;
    ~RoleAfter() {
      if (!role.empty()) roles[node] = role;
    }
  } role_after{last_role_, node, ev.contains("node") ? str(st, "role") : std::string()};

  Told t;
  t.node = node;
  t.client = static_cast<int>(num(ev, "client"));
  // A message's other end, when it is a node.
  if (msg.is_object() && msg.contains("type")) {
    std::string type = str(msg, "type");
    int from = static_cast<int>(num(msg, "from")), to = static_cast<int>(num(msg, "to"));
    t.peer = from == node ? to : from;
    if (type == "ClientRequest" || type == "ClientReply")
      t.client = static_cast<int>(num(msg, "client"));
  }
  std::string& text = t.text;

  if (event == "start") {
    t.level = 1;
    text =
        "Starting as follower (term " + n(term) + ", log length " + n(num(st, "last_index")) + ")";
  } else if (event == "timeout") {
    std::string timer = str(ev, "timer");
    if (timer == "heartbeat") {
      text = "Heartbeat: AppendEntries to every follower (commit " + n(num(st, "commit")) + ")";
    } else if (timer == "start_election") {
      t.level = 1;
      text = "Told by the runtime to stand for election now (config initial_leader)";
    } else if (timer == "check_quorum") {
      // Thesis §6.2: a step_down follows in this step if fewer than a
      // majority answered since the last check.
      text = "Quorum check (check_quorum): have I heard from a majority since the last check?";
    } else if (timer == "transfer") {
      // Thesis §3.10: a transfer_abort follows in this step.
      t.level = 1;
      text =
          "Leadership transfer timer: the transfer did not complete within an election "
          "timeout";
    } else {
      t.level = 1;
      text = "Election timeout in term " + n(term) + ": no leader heard from";
    }
  } else if (event == "transfer") {
    t.level = 1;
    t.peer = static_cast<int>(num(ev, "to"));
    // Thesis §3.10: the core starts a transfer only as leader, to another node.
    if (str(st, "role") != "leader") {
      text = "Asked to transfer leadership to node " + n(num(ev, "to")) +
             ", but I am not leader: nothing to do";
    } else if (num(ev, "to") == node) {
      text = "Asked to transfer leadership to myself: nothing to do";
    } else {
      text = "Transferring leadership to node " + n(num(ev, "to")) +
             " (thesis §3.10): no new client commands until it is caught up and told to time out";
    }
  } else if (event == "join") {
    t.level = 1;
    text =
        "Joining the cluster as a new, empty server (add_node); not a voter until the leader "
        "makes me one";
  } else if (event == "leave") {
    t.level = 1;
    text = "Shut down for good: my removal from the cluster is committed (remove_node)";
  } else if (event == "change") {
    t.level = 1;
    t.peer = static_cast<int>(num(ev, "target"));
    std::string action = str(ev, "action");
    text = "Asked by the runtime to " + action + " node " + n(num(ev, "target")) +
           (action == "add" ? " (as a learner first; thesis §4.1)" : " (thesis §4.1)");
  } else if (event == "membership") {
    t.level = 1;
    auto ids = [&](const char* key) {
      std::string list;
      for (const json& v : ev[key]) list += (list.empty() ? "" : ",") + v.dump();
      return list.empty() ? std::string("none") : list;
    };
    text =
        "Configuration in effect now: voters " + ids("voters") + ", learners " + ids("learners") +
        (num(ev, "index") == 0
             ? std::string(" (the bootstrap configuration)")
             : " (entry " + n(num(ev, "index")) + ", in effect once in my log, committed or not)");
  } else if (event == "reject_change") {
    t.level = 1;
    std::string reason = str(ev, "reason");
    std::string why = reason == "not_leader"           ? "I am not the leader"
                      : reason == "change_pending"     ? "my previous configuration change is not "
                                                         "committed yet (one at a time)"
                      : reason == "term_not_committed" ? "no entry of my term is committed yet "
                                                         "(the 2015 single-server-change fix)"
                      : reason == "transfer"           ? "a leadership transfer is under way"
                      : reason == "already_member"     ? "it is already a member"
                      : reason == "not_member"         ? "it is not a member"
                      : reason == "last_voter"         ? "it is the only voter"
                                                       : reason;
    text = "Refusing to " + str(ev, "action") + " node " + n(num(ev, "target")) + ": " + why +
           " (" + reason + ")";
  } else if (event == "transfer_abort") {
    t.level = 1;
    t.peer = static_cast<int>(num(ev, "to"));
    text = "Giving up the leadership transfer to node " + n(num(ev, "to")) +
           " after an election timeout; taking client commands again (thesis §3.10)";
  } else if (event == "become_candidate") {
    t.level = 1;
    text = "Starting election for term " + n(term) + " (voted for self)";
  } else if (event == "become_precandidate") {
    t.level = 1;
    text = "Asking for pre-votes for term " + n(term + 1) + " (my term stays " + n(term) +
           "; thesis §9.6)";
  } else if (event == "prevote") {
    // A pre-vote changes nothing here: only the answer says what a vote would be.
    t.level = 1;
    int cand = static_cast<int>(num(ev, "candidate"));
    t.peer = cand;
    const json& pv = last_delivered_.count(node) ? last_delivered_[node] : empty;
    bool have_pv = str(pv, "type") == "PreVote";
    std::string head = "pre-vote to node " + n(cand) +
                       (have_pv ? " for term " + n(num(pv, "term")) : std::string());
    std::string reason = str(ev, "reason");
    if (ev.value("granted", false)) {
      text = "Granting " + head + " (no live leader, its log is up to date; my term stays " +
             n(term) + ")";
    } else if (reason == "stale_term") {
      text = "Denying " + head + ": I am already in term " + n(term) + " (stale_term)";
    } else if (reason == "leader_live") {
      text = "Denying " + head + ": I heard from a live leader (leader_live)";
    } else if (reason == "log_not_up_to_date") {
      text = "Denying " + head + ": its log is behind mine (log_not_up_to_date, §5.4.1)";
    } else {
      text = "Denying " + head + " (" + reason + ")";
    }
  } else if (event == "become_leader") {
    t.level = 1;
    // A new term's leader knows nothing of its followers' logs yet: what it
    // learnt as leader of an earlier term is no evidence now.
    match_.erase(node);
    std::string votes;
    for (const json& v : ev["votes"]) votes += (votes.empty() ? "" : ",") + v.dump();
    text = "Became LEADER for term " + n(term) + " with votes from nodes " + votes;
  } else if (event == "become_follower") {
    t.level = 1;
    text = "Node " + n(num(ev, "leader")) + " is leader of term " + n(term) + "; back to follower";
  } else if (event == "step_down") {
    t.level = 1;
    std::string heard;
    for (const json& v : ev["heard_from"]) heard += (heard.empty() ? "" : ",") + v.dump();
    if (ev.value("removed", false)) {
      text = "Stepping down as leader of term " + n(term) +
             ": my removal from the cluster is committed (thesis §4.2.2)";
    } else {
      text = "Stepping down as leader of term " + n(term) + ": heard from only nodes " + heard +
             " since the last quorum check, not a majority (check_quorum, thesis §6.2)";
    }
  } else if (event == "term_update") {
    t.level = 1;
    // §5.1: a higher term makes any node a follower; only a leader or a
    // candidate steps down.
    std::string was = last_role_.count(node) ? last_role_[node] : "follower";
    text = "Saw term " + n(term) + " (was " + n(num(ev, "old_term")) + "): " +
           (was == "leader" || was == "candidate" ? "stepping down from " + was + " to follower"
                                                  : "adopting it");
  } else if (event == "vote") {
    // Both sides of the decision (§5.2, §5.4.1): the request as delivered,
    // and this node's own term, vote and last log.
    t.level = 1;
    int cand = static_cast<int>(num(ev, "candidate"));
    t.peer = cand;
    const json& rv = last_delivered_.count(node) ? last_delivered_[node] : empty;
    bool have_rv = str(rv, "type") == "RequestVote";
    int64_t rv_term = have_rv ? num(rv, "term") : term;
    std::string theirs = have_rv ? pos(num(rv, "last_log_index"), num(rv, "last_log_term")) : "?";
    std::string mine = pos(num(st, "last_index"), num(st, "last_term"));
    std::string reason = str(ev, "reason");
    std::string head = "vote to node " + n(cand) + " for term " + n(rv_term);
    if (ev.value("granted", false)) {
      text = "Granting " + head + " (its last log " + theirs +
             " is at least as up to date as mine " + mine + ")";
    } else if (reason == "stale_term") {
      text = "Denying " + head + ": I am in term " + n(term) + " (stale_term)";
    } else if (reason == "leader_live") {
      text = "Disregarding node " + n(cand) + "'s RequestVote for term " + n(rv_term) +
             (lease_ ? ": I have a live leader, or answered a lease round of one within an "
                       "election timeout, so my term stays " +
                           n(term) + " (leader_live, thesis §4.2.3 and §6.4.1)"
                     : ": I have a live leader, so my term stays " + n(term) +
                           " (leader_live, check_quorum, thesis §4.2.3)");
    } else if (reason == "already_voted") {
      text = "Denying " + head + ": I already voted for node " + n(num(st, "vote")) +
             " in this term (already_voted)";
    } else if (reason == "log_not_up_to_date") {
      text = "Denying " + head + ": its last log " + theirs + " is behind mine " + mine +
             " (log_not_up_to_date, §5.4.1: a higher last term wins, then a longer log)";
    } else {
      text = "Denying " + head + " (" + reason + ")";
    }
  } else if (event == "truncate") {
    t.level = 1;
    text = "Log conflict: deleting " + n(num(ev, "removed")) + " entries from index " +
           n(num(ev, "from_index"));
  } else if (event == "append") {
    const json& entries = ev["entries"];
    int64_t first = num(ev, "first_index");
    if (str(st, "role") == "leader" && entries.size() == 1) {
      const json& cmd = entries[0]["cmd"];
      t.client = static_cast<int>(num(cmd, "client"));
      text = "Appending " + describe_command(cmd) +
             (num(cmd, "client")
                  ? " (client " + n(num(cmd, "client")) + " #" + n(num(cmd, "seq")) + ")"
                  : "") +
             " at index " + n(first) + " (term " + n(term) + ")";
    } else {
      text = "Appended entries " + range(first, entries.size()) + " to log";
    }
  } else if (event == "progress") {
    t.level = 3;
    t.peer = static_cast<int>(num(ev, "peer"));
    text = "Node " + n(num(ev, "peer")) + ": match_index=" + n(num(ev, "match_index")) +
           " next_index=" + n(num(ev, "next_index")) + " (" + str(ev, "mode") + ")";
  } else if (event == "commit") {
    bool leader = str(st, "role") == "leader";
    t.level = leader ? 1 : 2;
    int64_t commit = num(st, "commit");
    int64_t commit_term = term_at(node, commit);
    std::string why = !leader ? " (the leader's commit)"
                      : commit_term == term || commit_term == 0
                          ? " (a majority holds it, and it is of my term)"
                          : " (its term " + n(commit_term) + " is older than my term " + n(term) +
                                ": §5.4.2 forbids committing it by counting replicas)";
    text = "Commit index " + n(num(ev, "old_commit")) + " -> " + n(commit) + why;
  } else if (event == "apply") {
    t.client = static_cast<int>(num(ev["entry"]["cmd"], "client"));
    const json& cmd = ev["entry"]["cmd"];
    text =
        "Applied index " + n(num(ev, "index")) + ": " + describe_command(cmd) +
        (num(cmd, "client") ? " (client " + n(num(cmd, "client")) + " #" + n(num(cmd, "seq")) + ")"
                            : "") +
        " -> " + describe_result(ev["result"]);
  } else if (event == "persist") {
    t.level = 3;
    text = "Persisted term " + n(num(ev, "term")) + ", vote " + n(num(ev, "vote")) +
           ", log length " + n(num(ev, "log_len"));
  } else if (event == "read") {
    // Thesis §6.4: answered from the state machine, no log entry.
    t.client = static_cast<int>(num(ev, "client"));
    // §6.4.1: on a lease, no round was needed: no other leader can have been
    // elected yet (if the clocks kept within the drift bound).
    bool on_lease = ev.contains("lease") && ev["lease"].is_boolean() && ev["lease"].get<bool>();
    text = "Read GET \"" + str(ev, "key") + "\" (client " + n(num(ev, "client")) + " #" +
           n(num(ev, "client_seq")) + ") without a log entry: " +
           (on_lease ? std::string("on its lease (no other leader can be elected before it "
                                   "ends, if clocks drift no more than the bound)")
                     : std::string("leadership confirmed")) +
           ", applied through read index " + n(num(ev, "read_index")) + " -> " +
           describe_result(ev["result"]);
  } else if (event == "snapshot") {
    // §7: the applied state machine replaces the log's prefix.
    int64_t index = num(ev, "index");
    text = "Snapshot through index " + n(index) + " (term " + n(num(ev, "term")) +
           "): " + n(num(ev, "store_size")) + " keys, " + n(num(ev, "bytes")) +
           " bytes; log entries " + (index <= 1 ? n(index) : "1.." + n(index)) + " discarded";
  } else if (event == "install_snapshot") {
    t.level = 1;
    int64_t index = num(ev, "index");
    int64_t kept = num(ev, "kept");
    const json& is = last_delivered_.count(node) ? last_delivered_[node] : empty;
    bool have_is = str(is, "type") == "InstallSnapshot";
    if (have_is) t.peer = static_cast<int>(num(is, "from"));
    text = "Installed " + (have_is ? "node " + n(num(is, "from")) + "'s " : std::string("a ")) +
           "snapshot through index " + n(index) + " (term " + n(num(ev, "term")) +
           "): " + n(num(ev, "store_size")) + " keys; " +
           (kept > 0 ? "kept my " + n(kept) + " log entries after it (my entry at " + n(index) +
                           " has its term)"
                     : std::string("my log now ends there")) +
           "; commit " + n(num(st, "commit")) + ", applied " + n(num(st, "applied")) + " (§7)";
  } else if (event == "reject_client") {
    t.level = 1;
    // A leader refuses commands only while it transfers leadership (thesis §3.10).
    text = (str(st, "role") == "leader" ? std::string("Transferring leadership: rejecting client ")
                                        : std::string("Not leader: rejecting client ")) +
           n(num(ev, "client")) + " #" + n(num(ev, "client_seq")) + " (hint: node " +
           n(num(ev, "leader_hint")) + ")";
  } else if (event == "send") {
    std::string type = str(msg, "type");
    std::string to = n(num(msg, "to"));
    if (type == "RequestVote" || type == "PreVote") {
      text = type + " " + msg_id(msg) + " -> node " + to + " (term " + n(num(msg, "term")) +
             ", last log " + pos(num(msg, "last_log_index"), num(msg, "last_log_term")) +
             (msg.value("transfer", false) ? ", leadership transfer" : "") + ")";
    } else if (type == "TimeoutNow") {
      t.level = 1;
      text = "TimeoutNow " + msg_id(msg) + " -> node " + to + ": its log matches mine through " +
             n(num(st, "last_index")) + "; start an election now (thesis §3.10)";
    } else if (type == "AppendEntries") {
      size_t count = msg.contains("entries") ? msg["entries"].size() : 0;
      if (count == 0) t.level = 3;
      text = "AppendEntries " + msg_id(msg) + " -> node " + to + ": " +
             (count ? "entries " + range(num(msg, "prev_log_index") + 1, count) : "no entries") +
             " (prev " + pos(num(msg, "prev_log_index"), num(msg, "prev_log_term")) + ", commit " +
             n(num(msg, "leader_commit")) + ")";
    } else if (type == "CommitNotification") {
      text = "CommitNotification " + msg_id(msg) + " -> node " + to + " (commit " +
             n(num(msg, "leader_commit")) + ")";
    } else if (type == "ReadConfirm") {
      text = "ReadConfirm " + msg_id(msg) + " -> node " + to + " (round " + n(num(msg, "round")) +
             ": am I still your leader in term " + n(num(msg, "term")) + "?)";
    } else if (type == "ReadConfirmResponse") {
      t.level = 3;
      text = "ReadConfirmResponse " + msg_id(msg) + " -> node " + to + " (round " +
             n(num(msg, "round")) + ", my term " + n(num(msg, "term")) + ")";
    } else if (type == "InstallSnapshot") {
      text = "InstallSnapshot " + msg_id(msg) + " -> node " + to + ": " + snapshot_chunk(msg);
    } else if (type == "InstallSnapshotResponse") {
      t.level = 3;
      int64_t index = num(msg, "last_included_index");
      text = "InstallSnapshotResponse " + msg_id(msg) + " -> node " + to + ": " +
             (msg.value("done", false)
                  ? "I hold the state through index " + n(index)
                  : "I hold " + n(num(msg, "offset")) + " bytes of the snapshot through index " +
                        n(index) + "; send from byte " + n(num(msg, "offset"))) +
             " (my term " + n(num(msg, "term")) + ")";
    } else if (type == "ClientReply") {
      text = "Reply " + msg_id(msg) + " to client " + n(num(msg, "client")) + " #" +
             n(num(msg, "seq")) + ": " + describe_result(msg["result"]);
    } else if (type == "AppendEntriesResponse" && msg.value("success", false)) {
      t.level = 3;
      text = "AppendEntriesResponse " + msg_id(msg) + " -> node " + to + ": I hold up to index " +
             n(num(msg, "match_index"));
    } else if (type == "AppendEntriesResponse") {
      // A refusal, told from the follower's side with the request it answers.
      t.level = 1;
      const json& ae = last_delivered_.count(node) ? last_delivered_[node] : empty;
      bool have_ae = str(ae, "type") == "AppendEntries";
      std::string why;
      std::string reason = str(msg, "reason");
      int64_t prev = num(msg, "prev_log_index");
      if (reason == "stale_term") {
        why = have_ae ? "its term " + n(num(ae, "term")) + " is older than mine, " + n(term)
                      : "its term is older than mine, " + n(term);
      } else if (num(msg, "conflict_term") == 0) {
        why = "no entry at prev index " + n(prev) + ": my log ends at " +
              n(num(msg, "conflict_index") - 1);
      } else {
        why = "my entry at prev index " + n(prev) + " has term " + n(num(msg, "conflict_term")) +
              (have_ae ? ", the leader's has term " + n(num(ae, "prev_log_term")) : "") +
              "; I hold term " + n(num(msg, "conflict_term")) + " from index " +
              n(num(msg, "conflict_index"));
      }
      text = "Refusing AppendEntries" + (have_ae ? " " + msg_id(ae) : std::string()) +
             " from node " + to + " (" + reason + "): " + why + "; reply " + msg_id(msg);
    } else if (type == "RequestVoteResponse" || type == "PreVoteResponse") {
      t.level = 3;
      text = type + " " + msg_id(msg) + " -> node " + to + " (" +
             (msg.value("granted", false) ? "granted" : "denied") + ")";
    } else {
      t.level = 3;
      text = type + " " + msg_id(msg) + " -> node " + to;
    }
  } else if (event == "deliver") {
    std::string type = str(msg, "type");
    std::string from = n(num(msg, "from"));
    if (type == "PreVoteResponse") {
      text = std::string(msg.value("granted", false) ? "Received pre-vote " : "Pre-vote ") +
             msg_id(msg) + (msg.value("granted", false) ? " from node " : " denied by node ") +
             from + (msg.value("granted", false) ? "" : " (" + str(msg, "reason") + ")");
    } else if (type == "RequestVoteResponse") {
      if (msg.value("granted", false)) {
        text = "Received vote " + msg_id(msg) + " from node " + from;
      } else {
        t.level = 1;
        std::string reason = str(msg, "reason");
        std::string why =
            reason == "stale_term"           ? "it is in term " + n(num(msg, "term"))
            : reason == "already_voted"      ? "it already voted in term " + n(num(msg, "term"))
            : reason == "leader_live"        ? "it has a live leader in term " + n(num(msg, "term"))
            : reason == "log_not_up_to_date" ? "its log is more up to date than mine (§5.4.1)"
                                             : reason;
        text = "Vote " + msg_id(msg) + " denied by node " + from + " (" + reason + "): " + why;
      }
    } else if (type == "AppendEntriesResponse" && !msg.value("success", false)) {
      t.level = 1;
      std::string reason = str(msg, "reason");
      int64_t prev = num(msg, "prev_log_index");
      std::string why = reason == "stale_term" ? "it is in term " + n(num(msg, "term"))
                        : num(msg, "conflict_term") == 0
                            ? "its log ends at " + n(num(msg, "conflict_index") - 1) +
                                  ", before prev index " + n(prev)
                            : "its entry at prev index " + n(prev) + " has term " +
                                  n(num(msg, "conflict_term")) + ", held from index " +
                                  n(num(msg, "conflict_index"));
      text = "AppendEntries refused by node " + from + " (" + reason + ", " + msg_id(msg) +
             "): " + why;
    } else if (type == "ReadConfirmResponse") {
      t.level = 3;
      text = "Read round " + n(num(msg, "round")) + " confirmed by node " + from + " (" +
             msg_id(msg) + ", term " + n(num(msg, "term")) + ")";
    } else if (type == "TimeoutNow") {
      t.level = 1;
      text = "TimeoutNow " + msg_id(msg) + " from node " + from + " (term " + n(num(msg, "term")) +
             "): leader hands leadership to me" +
             (num(msg, "term") < term ? ", but from an older term: ignored" : "");
    } else if (type == "InstallSnapshot") {
      t.level = 3;
      text = "Received InstallSnapshot " + msg_id(msg) + " from node " + from + " (term " +
             n(num(msg, "term")) + "): " + snapshot_chunk(msg);
    } else if (type == "InstallSnapshotResponse") {
      t.level = 3;
      int64_t index = num(msg, "last_included_index");
      text = msg.value("done", false)
                 ? "Node " + from + " holds the state through index " + n(index) + " (" +
                       msg_id(msg) + ", term " + n(num(msg, "term")) + ")"
                 : "Node " + from + " holds " + n(num(msg, "offset")) +
                       " bytes of the snapshot through index " + n(index) + " (" + msg_id(msg) +
                       ", term " + n(num(msg, "term")) + "); it wants byte " +
                       n(num(msg, "offset")) + " on";
    } else if (type == "ClientRequest") {
      text = "Client " + n(num(msg, "client")) + " request #" + n(num(msg["cmd"], "seq")) + " (" +
             msg_id(msg) + "): " + describe_command(msg["cmd"]);
    } else {
      t.level = 3;
      text = "Received " + (type.empty() ? std::string("message") : type) + " msg " +
             n(num(ev, "msg_id")) + (type.empty() ? "" : " from node " + from);
    }
  } else if (event == "client_invoke") {
    t.level = 1;
    invoked_at_[{num(ev, "client"), num(ev, "client_seq")}] = num(ev, "t");
    text = "#" + n(num(ev, "client_seq")) + " " + describe_command(ev["cmd"]) + " -> node " +
           n(num(ev, "to"));
  } else if (event == "client_send") {
    t.level = 3;
    t.peer = static_cast<int>(num(ev, "to"));
    text =
        "#" + n(num(ev, "client_seq")) + " sent to node " + n(num(ev, "to")) + " as " + msg_id(msg);
  } else if (event == "client_receive") {
    t.level = 3;
    text = "#" + n(num(msg, "seq")) + " reply " + msg_id(msg) + " received from node " +
           n(num(msg, "from"));
  } else if (event == "client_complete") {
    t.level = 1;
    auto key = std::make_pair(num(ev, "client"), num(ev, "client_seq"));
    int64_t latency = num(ev, "t") - (invoked_at_.count(key) ? invoked_at_[key] : num(ev, "t"));
    invoked_at_.erase(key);
    text = "#" + n(num(ev, "client_seq")) + " -> " + describe_result(ev["result"]) + " (" +
           n(latency) + " ms)";
    if (str(ev["result"], "status") == "unknown") {
      text += ": deadline passed, outcome unknown (it may or may not have taken effect)";
    }
  } else if (event == "client_retry") {
    t.level = 1;
    text = "#" + n(num(ev, "client_seq")) + " retrying at node " + n(num(ev, "to")) + " (" +
           str(ev, "reason") + ")";
  } else if (event == "drop") {
    t.level = 1;
    t.node = static_cast<int>(num(msg, "from"));
    t.peer = static_cast<int>(num(msg, "to"));
    text = describe_message(msg) + " dropped (" + str(ev, "reason") + ")";
  } else if (event == "inject") {
    t.level = 1;
    t.node = static_cast<int>(num(msg, "from"));
    t.peer = static_cast<int>(num(msg, "to"));
    text = "Injected by hand: " + describe_message(msg) + " (no node sent it)";
  } else if (event == "duplicate") {
    t.node = static_cast<int>(num(msg, "from"));
    t.peer = static_cast<int>(num(msg, "to"));
    text = describe_message(msg) + " duplicated";
  } else if (event == "crash") {
    t.level = 1;
    text = "CRASHED (term, vote and log survive on disk)";
  } else if (event == "restart") {
    t.level = 1;
    text = "Restarted from disk: term " + n(term) + ", vote " + n(num(st, "vote")) +
           ", log length " + n(num(st, "last_index"));
    // §7: a node with a snapshot comes back with its state machine through
    // the snapshot's index (without one, commit is 0, as before snapshots).
    if (num(st, "commit") > 0) {
      text += ", snapshot through index " + n(num(st, "commit")) + " (commit and applied " +
              n(num(st, "commit")) + ")";
    }
  } else if (event == "partition") {
    t.level = 1;
    t.network_wide = true;
    text = "Partition: " + ev["groups"].dump();
  } else if (event == "heal") {
    t.level = 1;
    t.network_wide = true;
    text = "Network healed";
  } else if (event == "network") {
    t.level = 1;
    t.network_wide = true;
    text = "Network now: loss " + str(ev, "loss") + ", duplicate " + str(ev, "duplicate") +
           ", latency " + n(num(ev, "network_latency_min_ms")) + ".." +
           n(num(ev, "network_latency_max_ms")) + " ms";
  } else if (event == "fault_skipped") {
    t.level = 1;
    t.network_wide = true;
    text = "Scheduled " + str(ev, "action") + " of the " + str(ev, "target") +
           " skipped: no node is the " + str(ev, "target") + " now";
  } else if (event == "cut" || event == "uncut") {
    t.level = 1;
    t.node = static_cast<int>(num(ev, "from"));
    t.peer = static_cast<int>(num(ev, "to"));
    text = "Link " + n(num(ev, "from")) + " -> " + n(num(ev, "to")) +
           (event == "cut" ? " cut" : " restored");
  } else {
    return std::nullopt;
  }
  return t;
}

}  // namespace raftkv
