#include "trace/narrate.h"

#include <cstdio>

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

std::string describe_message(const json& m) {
  std::string type = str(m, "type");
  return type + " #" + std::to_string(num(m, "id")) + " (" +
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

namespace {
// The messages whose delivery Narrator::line prints.
bool narrated_on_delivery(const json& msg) {
  std::string type = str(msg, "type");
  return type == "RequestVoteResponse" || type == "ClientRequest" ||
         (type == "AppendEntriesResponse" && !msg.value("success", false));
}
}  // namespace

void Narrator::note_message(const std::string& event, const json& ev) {
  if (event == "send" || event == "client_send") {
    const json& msg = ev.contains("msg") ? ev["msg"] : json::object();
    if (narrated_on_delivery(msg)) pending_[num(msg, "id")] = Pending{msg};
    return;
  }
  int64_t id = event == "deliver"   ? num(ev, "msg_id")
               : ev.contains("msg") ? num(ev["msg"], "id")
                                    : 0;
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (event == "duplicate") {
    ++it->second.copies;
  } else if ((event == "deliver" || event == "drop") && --it->second.copies <= 0) {
    pending_.erase(it);
  }
}

const json& Narrator::delivered_message(const json& ev) const {
  static const json empty = json::object();
  auto it = pending_.find(num(ev, "msg_id"));
  return it == pending_.end() ? empty : it->second.msg;
}

std::optional<std::string> Narrator::line(const json& ev) {
  const std::string event = str(ev, "event");
  const json empty = json::object();
  const json& st = ev.contains("state") ? ev["state"] : empty;
  // Looked up before note_message, which forgets a message at its last delivery.
  const json msg = event == "deliver"   ? delivered_message(ev)
                   : ev.contains("msg") ? ev["msg"]
                                        : empty;
  note_message(event, ev);
  int64_t term = num(st, "term");
  std::string who;
  if (ev.contains("node"))
    who = "[node " + std::to_string(num(ev, "node")) + "] ";
  else if (ev.contains("client"))
    who = "[client " + std::to_string(num(ev, "client")) + "] ";
  else
    who = "[net] ";
  std::string text;

  if (event == "start") {
    text = "Starting as follower (term " + std::to_string(term) + ", log length " +
           std::to_string(num(st, "last_index")) + ")";
  } else if (event == "timeout") {
    std::string timer = str(ev, "timer");
    if (timer == "heartbeat") {
      text = "Heartbeat: AppendEntries to every follower (commit " +
             std::to_string(num(st, "commit")) + ")";
    } else if (timer == "start_election") {
      text = "StartElection from the runtime";
    } else {
      text = "Election timeout in term " + std::to_string(term);
    }
  } else if (event == "become_candidate") {
    text = "Starting election for term " + std::to_string(term) + " (voted for self)";
  } else if (event == "become_leader") {
    std::string votes;
    for (const json& v : ev["votes"]) votes += (votes.empty() ? "" : ",") + v.dump();
    text = "Became LEADER for term " + std::to_string(term) + " with votes from nodes " + votes;
  } else if (event == "become_follower") {
    text = "Node " + std::to_string(num(ev, "leader")) + " is leader of term " +
           std::to_string(term) + "; back to follower";
  } else if (event == "term_update") {
    text = "Saw term " + std::to_string(term) + " (was " + std::to_string(num(ev, "old_term")) +
           "): stepping down to follower";
  } else if (event == "vote") {
    std::string cand = std::to_string(num(ev, "candidate"));
    text = ev.value("granted", false)
               ? "Granting vote to node " + cand + " for term " + std::to_string(term)
               : "Denying vote to node " + cand + " for term " + std::to_string(term) + " (" +
                     str(ev, "reason") + ")";
  } else if (event == "truncate") {
    text = "Log conflict: deleting " + std::to_string(num(ev, "removed")) + " entries from index " +
           std::to_string(num(ev, "from_index"));
  } else if (event == "append") {
    const json& entries = ev["entries"];
    int64_t first = num(ev, "first_index");
    if (str(st, "role") == "leader" && entries.size() == 1) {
      const json& cmd = entries[0]["cmd"];
      text = "Appending " + describe_command(cmd) +
             (num(cmd, "client") ? " (client " + std::to_string(num(cmd, "client")) + " #" +
                                       std::to_string(num(cmd, "seq")) + ")"
                                 : "") +
             " at index " + std::to_string(first) + " (term " + std::to_string(term) + ")";
    } else {
      text = "Appended entries " + range(first, entries.size()) + " to log";
    }
  } else if (event == "progress") {
    text = "Node " + std::to_string(num(ev, "peer")) +
           ": match_index=" + std::to_string(num(ev, "match_index")) +
           " next_index=" + std::to_string(num(ev, "next_index")) + " (" + str(ev, "mode") + ")";
  } else if (event == "commit") {
    text = "Commit index " + std::to_string(num(ev, "old_commit")) + " -> " +
           std::to_string(num(st, "commit")) +
           (str(st, "role") == "leader" ? " (majority replicated)" : "");
  } else if (event == "apply") {
    text = "slot " + std::to_string(num(ev, "index")) + ": " +
           describe_command(ev["entry"]["cmd"]) + " -> " + describe_result(ev["result"]);
  } else if (event == "reject_client") {
    text = "Not leader: rejecting client " + std::to_string(num(ev, "client")) + " #" +
           std::to_string(num(ev, "client_seq")) + " (hint: node " +
           std::to_string(num(ev, "leader_hint")) + ")";
  } else if (event == "send") {
    std::string type = str(msg, "type");
    std::string to = std::to_string(num(msg, "to"));
    if (type == "RequestVote") {
      text = "RequestVote -> node " + to + " (term " + std::to_string(num(msg, "term")) +
             ", last log " + std::to_string(num(msg, "last_log_index")) + "/" +
             std::to_string(num(msg, "last_log_term")) + ")";
    } else if (type == "AppendEntries" && !msg["entries"].empty()) {
      text = "AppendEntries -> node " + to + ": entries " +
             range(num(msg, "prev_log_index") + 1, msg["entries"].size()) + " (prev " +
             std::to_string(num(msg, "prev_log_index")) + "/" +
             std::to_string(num(msg, "prev_log_term")) + ", commit " +
             std::to_string(num(msg, "leader_commit")) + ")";
    } else if (type == "CommitNotification") {
      text = "CommitNotification -> node " + to + " (commit " +
             std::to_string(num(msg, "leader_commit")) + ")";
    } else if (type == "ClientReply") {
      text = "Reply to client " + std::to_string(num(msg, "client")) + " #" +
             std::to_string(num(msg, "seq")) + ": " + describe_result(msg["result"]);
    } else {
      return std::nullopt;
    }
  } else if (event == "deliver") {
    std::string type = str(msg, "type");
    std::string from = std::to_string(num(msg, "from"));
    if (type == "RequestVoteResponse") {
      text = msg.value("granted", false)
                 ? "Received vote from node " + from
                 : "Vote denied by node " + from + " (" + str(msg, "reason") + ")";
    } else if (type == "AppendEntriesResponse" && !msg.value("success", false)) {
      text = "AppendEntries NACK from node " + from + " for prev " +
             std::to_string(num(msg, "prev_log_index")) + " (" + str(msg, "reason") +
             (str(msg, "reason") == "log_mismatch"
                  ? ", conflict term " + std::to_string(num(msg, "conflict_term")) +
                        " from index " + std::to_string(num(msg, "conflict_index"))
                  : "") +
             ")";
    } else if (type == "ClientRequest") {
      text = "Client " + std::to_string(num(msg, "client")) + " request #" +
             std::to_string(num(msg["cmd"], "seq")) + ": " + describe_command(msg["cmd"]);
    } else {
      return std::nullopt;
    }
  } else if (event == "client_invoke") {
    invoked_at_[{num(ev, "client"), num(ev, "client_seq")}] = num(ev, "t");
    text = "#" + std::to_string(num(ev, "client_seq")) + " " + describe_command(ev["cmd"]) +
           " -> node " + std::to_string(num(ev, "to"));
  } else if (event == "client_complete") {
    auto key = std::make_pair(num(ev, "client"), num(ev, "client_seq"));
    int64_t latency = num(ev, "t") - (invoked_at_.count(key) ? invoked_at_[key] : num(ev, "t"));
    invoked_at_.erase(key);
    text = "#" + std::to_string(num(ev, "client_seq")) + " -> " + describe_result(ev["result"]) +
           " (" + std::to_string(latency) + " ms)";
    if (str(ev["result"], "status") == "unknown") {
      text += ": deadline passed, outcome unknown (it may or may not have taken effect)";
    }
  } else if (event == "client_retry") {
    text = "#" + std::to_string(num(ev, "client_seq")) + " retrying at node " +
           std::to_string(num(ev, "to")) + " (" + str(ev, "reason") + ")";
  } else if (event == "drop") {
    text = describe_message(msg) + " dropped (" + str(ev, "reason") + ")";
  } else if (event == "duplicate") {
    text = describe_message(msg) + " duplicated";
  } else if (event == "crash") {
    text = "CRASHED (term, vote and log survive on disk)";
  } else if (event == "restart") {
    text = "Restarted from disk: term " + std::to_string(term) + ", vote " +
           std::to_string(num(st, "vote")) + ", log length " +
           std::to_string(num(st, "last_index"));
  } else if (event == "partition") {
    text = "Partition: " + ev["groups"].dump();
  } else if (event == "heal") {
    text = "Network healed";
  } else if (event == "cut" || event == "uncut") {
    text = "Link " + std::to_string(num(ev, "from")) + " -> " + std::to_string(num(ev, "to")) +
           (event == "cut" ? " cut" : " restored");
  } else {
    return std::nullopt;
  }
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%7lld ms] ", static_cast<long long>(num(ev, "t")));
  return std::string(stamp) + who + text;
}

}  // namespace raftkv
