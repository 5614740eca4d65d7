// Tests of the trace checker (src/check): a valid hand-built run passes, and for every check a
// hand-written or mutated trace that violates it is rejected with that check's name. Plus
// malformed input (TraceFormatError with the line number) and the linearizability search alone.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "check/checker.h"
#include "check/linearizability.h"
#include "trace/event_table.h"

namespace {

using json = nlohmann::json;
using namespace raftkv::check;

// ---------------------------------------------------------------------------------------------
// Building traces

json command(const std::string& op, int client, int64_t seq, const std::string& key,
             const std::string& value = "") {
  return json{{"op", op}, {"key", key}, {"value", value}, {"client", client}, {"seq", seq}};
}
json put(int client, int64_t seq, const std::string& key, const std::string& value) {
  return command("put", client, seq, key, value);
}
json get(int client, int64_t seq, const std::string& key) {
  return command("get", client, seq, key);
}
json del(int client, int64_t seq, const std::string& key) {
  return command("delete", client, seq, key);
}
json noop() { return command("noop", 0, 0, ""); }
json entry(int64_t term, const json& cmd) { return json{{"term", term}, {"cmd", cmd}}; }
json result(const std::string& status, const std::string& value = "") {
  return json{{"status", status}, {"value", value}};
}

// FNV-1a 64 of the sorted "key=value\n" lines (trace-schema `end`), written independently of
// the checker's own implementation.
std::string store_digest(const std::map<std::string, std::string>& store) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
  for (const auto& [k, v] : store) {
    for (char c : k + "=" + v + "\n") {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// What the builder knows about a node, so every event gets its correct post-state.
struct SimNode {
  int64_t term = 0;
  int64_t vote = 0;
  std::string role = "follower";
  int64_t commit = 0;
  int64_t applied = 0;
  std::vector<json> log;
  std::map<std::string, std::string> store;
  std::map<int64_t, std::pair<int64_t, json>> sessions;  // client -> (seq, result)

  // The KV semantics of src/raft/kv.h, for building results.
  json execute(const json& cmd) {
    const std::string op = cmd["op"];
    const std::string key = cmd["key"];
    if (op == "put")
      return store.emplace(key, cmd["value"]).second ? result("ok") : result("key_exists");
    if (op == "get") return store.count(key) ? result("ok", store[key]) : result("not_found");
    if (op == "delete") return store.erase(key) ? result("ok") : result("not_found");
    return result("ok");
  }
  json apply(const json& cmd) {
    int64_t client = cmd["client"];
    int64_t seq = cmd["seq"];
    if (cmd["op"] == "noop" || client == 0) return execute(cmd);
    auto it = sessions.find(client);
    if (it != sessions.end() && it->second.first == seq) return it->second.second;
    if (it != sessions.end() && seq < it->second.first) return result("stale");
    json r = execute(cmd);
    if (it == sessions.end() || seq > it->second.first) sessions[client] = {seq, r};
    return r;
  }
};

class TraceBuilder {
 public:
  explicit TraceBuilder(int num_nodes = 3, int num_clients = 2)
      : nodes(static_cast<size_t>(num_nodes) + 1) {
    header =
        json{{"format", "raftkv-trace"},
             {"version", raftkv::trace::kTraceVersion},
             {"seed", 7},
             {"planted_bugs", json::array()},
             {"config", {{"num_nodes", num_nodes}, {"num_clients", num_clients}, {"seed", 7}}}};
  }

  json header;
  std::vector<json> events;
  std::vector<SimNode> nodes;  // nodes[id], id >= 1
  int64_t t = 0;
  int64_t next_id = 1;
  std::map<std::pair<int64_t, int64_t>, json> results;  // (client, seq) -> leader's apply result

  json state(int n) const {
    const SimNode& s = nodes[static_cast<size_t>(n)];
    return json{{"term", s.term},
                {"vote", s.vote},
                {"role", s.role},
                {"commit", s.commit},
                {"applied", s.applied},
                {"last_index", s.log.size()},
                {"last_term", s.log.empty() ? 0 : int64_t{s.log.back()["term"]}}};
  }
  SimNode& node(int n) { return nodes[static_cast<size_t>(n)]; }

  json& emit(json ev) {
    ev["seq"] = static_cast<int64_t>(events.size()) + 1;
    ev["t"] = t;
    events.push_back(std::move(ev));
    return events.back();
  }
  json& node_event(int n, const char* name, json fields = json::object()) {
    fields["event"] = name;
    fields["node"] = n;
    fields["state"] = state(n);
    return emit(std::move(fields));
  }
  json& runtime_event(const char* name, json fields = json::object()) {
    fields["event"] = name;
    return emit(std::move(fields));
  }
  void tick(int64_t ms = 1) { t += ms; }

  // Input events.
  void start(int n) { node_event(n, "start"); }
  void timeout(int n, const char* timer = "election") {
    node_event(n, "timeout", {{"timer", timer}});
  }
  // Schema v2: a deliver names the message by the id its send carried.
  void deliver(int n, const json& msg) { node_event(n, "deliver", {{"msg_id", msg["id"]}}); }
  void crash(int n) {
    node(n).role = "down";
    node_event(n, "crash");
  }
  void restart(int n) {
    SimNode& s = node(n);
    s.role = "follower";
    s.commit = s.applied = 0;
    s.store.clear();
    s.sessions.clear();
    node_event(n, "restart");
  }

  // Effect events.
  void term_update(int n, int64_t term) {
    SimNode& s = node(n);
    int64_t old = s.term;
    s.term = term;
    s.vote = 0;
    s.role = "follower";
    node_event(n, "term_update", {{"old_term", old}});
  }
  void become_candidate(int n) {
    SimNode& s = node(n);
    ++s.term;
    s.vote = n;
    s.role = "candidate";
    node_event(n, "become_candidate");
  }
  void become_leader(int n, const std::vector<int>& votes) {
    node(n).role = "leader";
    node_event(n, "become_leader", {{"votes", votes}});
  }
  void vote(int n, int candidate, bool granted) {
    if (granted) node(n).vote = candidate;
    node_event(n, "vote", {{"candidate", candidate}, {"granted", granted}, {"reason", ""}});
  }
  void truncate(int n, int64_t from) {
    SimNode& s = node(n);
    auto removed = static_cast<int64_t>(s.log.size()) - from + 1;
    s.log.resize(static_cast<size_t>(from - 1));
    node_event(n, "truncate", {{"from_index", from}, {"removed", removed}});
  }
  // Writes entries from `first` on, in place where the log already has entries.
  void append(int n, int64_t first, const std::vector<json>& entries) {
    SimNode& s = node(n);
    auto at = static_cast<size_t>(first - 1);
    for (const json& e : entries) {
      if (at < s.log.size())
        s.log[at] = e;
      else
        s.log.push_back(e);
      ++at;
    }
    node_event(n, "append", {{"first_index", first}, {"entries", entries}});
    // Thesis §4.1: a configuration entry takes effect once appended (the latest one wins).
    for (size_t i = s.log.size(); i > 0; --i) {
      const json& e = s.log[i - 1];
      if (e["cmd"]["op"] != "config") continue;
      if (i >= static_cast<size_t>(first)) {
        node_event(
            n, "membership",
            {{"index", i}, {"voters", e["cmd"]["voters"]}, {"learners", e["cmd"]["learners"]}});
      }
      break;
    }
  }
  void leader_append(int n, const json& cmd) {
    append(n, static_cast<int64_t>(node(n).log.size()) + 1, {entry(node(n).term, cmd)});
  }
  void commit(int n, int64_t c) {
    SimNode& s = node(n);
    int64_t old = s.commit;
    s.commit = c;
    node_event(n, "commit", {{"old_commit", old}});
  }
  // Applies the next entry; `forced` replaces the model's result (to plant a wrong one).
  void apply(int n, std::optional<json> forced = std::nullopt) {
    SimNode& s = node(n);
    ++s.applied;
    const json& e = s.log[static_cast<size_t>(s.applied - 1)];
    json r = s.apply(e["cmd"]);
    if (forced) r = *forced;
    if (e["cmd"]["client"] != 0) results.try_emplace({e["cmd"]["client"], e["cmd"]["seq"]}, r);
    node_event(n, "apply", {{"index", s.applied}, {"entry", e}, {"result", r}});
  }
  void apply_committed(int n) {
    while (node(n).applied < node(n).commit) apply(n);
  }
  void persist(int n) {
    const SimNode& s = node(n);
    node_event(n, "persist", {{"term", s.term}, {"vote", s.vote}, {"log_len", s.log.size()}});
  }
  json send(int n, json msg) {
    msg["id"] = next_id++;
    msg["from"] = n;
    node_event(n, "send", {{"msg", msg}});
    return msg;
  }

  // Runtime events.
  void invoke(int client, const json& cmd, int to = 1) {
    runtime_event("client_invoke",
                  {{"client", client}, {"client_seq", cmd["seq"]}, {"cmd", cmd}, {"to", to}});
  }
  json client_send(int client, const json& cmd, int to) {
    json msg{{"id", next_id++}, {"type", "ClientRequest"}, {"from", 0},
             {"to", to},        {"client", client},        {"cmd", cmd}};
    runtime_event("client_send",
                  {{"client", client}, {"client_seq", cmd["seq"]}, {"to", to}, {"msg", msg}});
    return msg;
  }
  void complete(int client, int64_t seq, const json& r, int from) {
    runtime_event("client_complete",
                  {{"client", client}, {"client_seq", seq}, {"result", r}, {"from", from}});
  }
  void drop(const json& msg, const char* reason = "loss") {
    runtime_event("drop", {{"msg", msg}, {"reason", reason}});
  }
  void end() {
    json list = json::array();
    for (int n = 1; n < static_cast<int>(nodes.size()); ++n) {
      list.push_back({{"node", n},
                      {"state", state(n)},
                      {"store_digest", store_digest(node(n).store)},
                      {"store_size", node(n).store.size()}});
    }
    runtime_event("end", {{"nodes", list}});
  }

  // Scenario steps, with the messages a real run would carry.
  void start_all() {
    for (int n = 1; n < static_cast<int>(nodes.size()); ++n) start(n);
  }

  // n times out, wins the votes of `voters`, becomes leader and appends its no-op.
  void elect(int n, const std::vector<int>& voters) {
    tick();
    timeout(n);
    become_candidate(n);
    persist(n);
    SimNode& c = node(n);
    std::vector<json> requests;
    for (int v : voters) {
      requests.push_back(
          send(n, {{"type", "RequestVote"},
                   {"to", v},
                   {"term", c.term},
                   {"last_log_index", c.log.size()},
                   {"last_log_term", c.log.empty() ? 0 : int64_t{c.log.back()["term"]}}}));
    }
    std::vector<int> votes{n};
    for (size_t i = 0; i < voters.size(); ++i) {
      int v = voters[i];
      tick();
      deliver(v, requests[i]);
      if (node(v).term < c.term) term_update(v, c.term);
      vote(v, n, true);
      persist(v);
      json reply = send(v, {{"type", "RequestVoteResponse"},
                            {"to", n},
                            {"term", c.term},
                            {"granted", true},
                            {"reason", ""}});
      tick();
      deliver(n, reply);
      votes.push_back(v);
    }
    become_leader(n, votes);
    leader_append(n, noop());
    persist(n);
  }

  // n times out and campaigns without winning (its term goes up by one).
  void lose_election(int n) {
    tick();
    timeout(n);
    become_candidate(n);
    persist(n);
  }

  // A client request reaching the leader: client_send, deliver, append.
  void request(int leader, int client, const json& cmd) {
    json msg = client_send(client, cmd, leader);
    tick();
    deliver(leader, msg);
    leader_append(leader, cmd);
    persist(leader);
  }

  // Leader heartbeat to `f` carrying what f lacks; f's step; the leader's step handling the
  // acknowledgement is left open so the caller can commit in it.
  void replicate(int leader, int f) {
    SimNode& l = node(leader);
    SimNode& s = node(f);
    // The last index where both logs agree (scanning back from the shorter end; by Log
    // Matching everything before it agrees too).
    size_t prev = std::min(s.log.size(), l.log.size());
    while (prev > 0 && s.log[prev - 1] != l.log[prev - 1]) --prev;
    std::vector<json> entries(l.log.begin() + static_cast<long>(prev), l.log.end());
    tick();
    timeout(leader, "heartbeat");
    json ae = send(leader, {{"type", "AppendEntries"},
                            {"to", f},
                            {"term", l.term},
                            {"prev_log_index", prev},
                            {"prev_log_term", prev ? int64_t{l.log[prev - 1]["term"]} : 0},
                            {"entries", entries},
                            {"leader_commit", l.commit}});
    tick();
    deliver(f, ae);
    if (s.term < l.term) term_update(f, l.term);
    if (!entries.empty()) {
      if (s.log.size() > prev) truncate(f, static_cast<int64_t>(prev) + 1);
      append(f, static_cast<int64_t>(prev) + 1, entries);
    }
    int64_t last_new = static_cast<int64_t>(prev + entries.size());
    int64_t c = std::min(l.commit, last_new);
    if (c > s.commit) {
      commit(f, c);
      apply_committed(f);
    }
    persist(f);
    json ack = send(f, {{"type", "AppendEntriesResponse"},
                        {"to", leader},
                        {"term", l.term},
                        {"success", true},
                        {"prev_log_index", prev},
                        {"match_index", last_new},
                        {"conflict_index", 0},
                        {"conflict_term", 0},
                        {"reason", ""}});
    tick();
    deliver(leader, ack);
    node_event(leader, "progress",
               {{"peer", f},
                {"next_index", last_new + 1},
                {"match_index", last_new},
                {"mode", "replicate"}});
  }

  // Inside the leader's current step: commit through c and apply.
  void commit_and_apply(int leader, int64_t c) {
    commit(leader, c);
    apply_committed(leader);
  }

  // The leader answers the client with its apply result; the client accepts it.
  void reply(int leader, int client, int64_t seq) {
    json r = results.at({client, seq});
    json msg = send(leader, {{"type", "ClientReply"},
                             {"to", 0},
                             {"client", client},
                             {"seq", seq},
                             {"result", r},
                             {"leader_hint", leader}});
    tick();
    runtime_event("client_receive", {{"client", client}, {"msg", msg}});
    complete(client, seq, r, leader);
  }

  // A complete client operation on a leader that has follower `f` for its majority.
  void client_op(int leader, int f, int client, const json& cmd) {
    tick();
    invoke(client, cmd, leader);
    request(leader, client, cmd);
    replicate(leader, f);
    commit_and_apply(leader, static_cast<int64_t>(node(leader).log.size()));
    reply(leader, client, cmd["seq"]);
  }

  std::string text() const {
    std::string out = header.dump() + "\n";
    for (const json& ev : events) out += ev.dump() + "\n";
    return out;
  }

  // Checked twice: keeping every sent message, and (as check_trace_file does) keeping only those
  // in flight and reading the trace again for one named after its last copy was used up. Both
  // must give the same report.
  Report check(const CheckOptions& options = {}) const {
    std::string t = text();
    std::istringstream in(t);
    Report r = check_trace(in, "test", options, [t]() -> std::unique_ptr<std::istream> {
      return std::make_unique<std::istringstream>(t);
    });
    std::istringstream again(t);
    Report kept = check_trace(again, "test", options);
    CHECK(format_report(kept) == format_report(r));
    CHECK(kept.counts == r.counts);
    return r;
  }

  // The n-th event (0-based) matching a predicate.
  json& find(const std::function<bool(const json&)>& pred, int nth = 0) {
    for (json& ev : events) {
      if (pred(ev) && nth-- == 0) return ev;
    }
    FAIL("no such event");
    throw std::logic_error("unreachable");
  }
};

std::function<bool(const json&)> is_event(const std::string& name) {
  return [name](const json& ev) { return ev["event"] == name; };
}

// A 3-node run: node 1 is elected in term 1, commits its no-op, serves put x=a (client 1) and
// get x (client 2), and both followers end up with the whole log applied.
TraceBuilder normal_run() {
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  tb.client_op(1, 2, 1, put(1, 1, "x", "a"));
  tb.client_op(1, 3, 2, get(2, 1, "x"));
  tb.replicate(1, 2);
  tb.replicate(1, 3);
  tb.tick(5);
  tb.end();
  return tb;
}

std::string violated(const Report& r) { return r.violation ? r.violation->check : "none"; }

bool contains(const std::vector<int64_t>& xs, int64_t x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// A valid run passes

TEST_CASE("a normal election, replication, apply and client ops pass every check", "[checker]") {
  TraceBuilder tb = normal_run();
  Report r = tb.check();
  INFO(format_report(r));
  REQUIRE(r.ok());
  CHECK(r.events == static_cast<int64_t>(tb.events.size()));
  CHECK(r.counts["leaders"] == 1);
  CHECK(r.counts["terms"] == 1);
  CHECK(r.counts["committed_entries"] == 3);
  CHECK(r.counts["applies"] == 9);
  CHECK(r.counts["client_ops"] == 2);
  CHECK(r.counts["client_results_compared"] == 2);
  CHECK(r.counts["linearizability_ops"] == 2);
  CHECK_FALSE(r.linearizability_inconclusive);
  std::string summary = format_report(r);
  CHECK(summary.rfind("OK test: ", 0) == 0);
  CHECK(summary.find("ElectionSafety ok (1 leaders in 1 terms)") != std::string::npos);
  CHECK(summary.find("Linearizability ok (2 ops on 1 keys)") != std::string::npos);
}

TEST_CASE("a leader change, crash, restart, retries and dedup pass", "[checker]") {
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  tb.client_op(1, 2, 1, put(1, 1, "x", "a"));
  // Client 2's put reaches node 1, which crashes before replicating it: outcome unknown.
  tb.invoke(2, put(2, 1, "y", "b"));
  tb.request(1, 2, put(2, 1, "y", "b"));
  tb.tick();
  tb.crash(1);
  // Node 2 is elected in term 2 (its log holds everything committed), overwrites node 1's
  // uncommitted entry later, and serves the client's retry of the same request.
  tb.elect(2, {3});
  tb.replicate(2, 3);
  tb.commit_and_apply(2, 3);
  tb.tick();
  tb.request(2, 2, put(2, 1, "y", "b"));
  tb.replicate(2, 3);
  tb.commit_and_apply(2, 4);
  tb.reply(2, 2, 1);
  tb.tick();
  tb.restart(1);
  tb.replicate(2, 1);  // node 1 truncates its stale entry 3 and catches up
  // A duplicate of client 1's first put committed again returns the remembered ok.
  tb.request(2, 1, put(1, 1, "x", "a"));
  tb.replicate(2, 3);
  tb.commit_and_apply(2, 5);
  tb.replicate(2, 1);
  tb.tick(3);
  tb.end();
  Report r = tb.check();
  INFO(format_report(r));
  REQUIRE(r.ok());
  CHECK(r.counts["leaders"] == 2);
  CHECK(r.counts["terms"] == 2);
  CHECK(r.counts["crashes"] == 1);
  CHECK(r.counts["restarts"] == 1);
  CHECK(r.counts["leaders_checked"] == 2);
}

// The checker's reader (trace/fast_reader.h) parses lines with its own parser; a line the nlohmann
// reader of replay and export-tla accepts must pass here too, meaning the same: keys in another
// order (also between a message's send and its delivery), a repeated key, -0, escaped strings.
std::string dump_keys_reversed(const json& j) {
  if (j.is_object()) {
    std::string out = "{";
    for (auto it = j.rbegin(); it != j.rend(); ++it) {
      if (out.size() > 1) out += ",";
      out += json(it.key()).dump() + ":" + dump_keys_reversed(it.value());
    }
    return out + "}";
  }
  if (j.is_array()) {
    std::string out = "[";
    for (const json& v : j) out += (out.size() > 1 ? "," : "") + dump_keys_reversed(v);
    return out + "]";
  }
  return j.dump();
}

TEST_CASE("the checker reads every line the nlohmann reader accepts, with its meaning",
          "[checker][format]") {
  TraceBuilder tb = normal_run();
  Report plain = tb.check();
  REQUIRE(plain.ok());
  std::vector<std::string> lines;
  lines.push_back(tb.header.dump());
  bool reversed_deliver = false, minus_zero = false, repeated = false, escaped = false;
  for (const json& ev : tb.events) {
    std::string line = ev.dump();
    if (ev["event"] == "deliver" && !reversed_deliver) {
      line = dump_keys_reversed(ev);  // the same message as sent, keys in another order
      reversed_deliver = true;
    } else if (ev["event"] == "persist" && ev["vote"] == 0 && !minus_zero) {
      line.replace(line.find("\"vote\":0"), 8, "\"vote\":-0");
      minus_zero = true;
    } else if (ev["event"] == "commit" && !repeated) {
      line = "{\"t\":" + ev["t"].dump() + "," + line.substr(1);
      repeated = true;
    } else if (ev["event"] == "apply" && !escaped) {
      line.replace(line.find("\"apply\""), 7, "\"\\u0061pply\"");
      escaped = true;
    }
    lines.push_back(line);
  }
  REQUIRE((reversed_deliver && minus_zero && repeated && escaped));
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  std::istringstream in(text);
  Report r = check_trace(in, "test");
  INFO(format_report(r));
  REQUIRE(r.ok());
  CHECK(r.events == plain.events);
  CHECK(r.counts == plain.counts);
}

TEST_CASE("check_trace_file reads a file and reports a missing one at line 0", "[checker]") {
  std::string path = "/tmp/raftkv_test_checker_trace.jsonl";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::string text = normal_run().text();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  CHECK(check_trace_file(path).ok());
  std::remove(path.c_str());
  try {
    check_trace_file("/nonexistent/trace.jsonl");
    FAIL("expected TraceFormatError");
  } catch (const TraceFormatError& e) {
    CHECK(e.line() == 0);
    CHECK(std::string(e.what()).rfind("/nonexistent/trace.jsonl:0: ", 0) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// WellFormed

// Time and seq are the trace's framing: every reader rejects a file that breaks
// them as malformed (exit 2), with the same line (trace/reader.h).
TEST_CASE("Framing: time going backwards is malformed input", "[checker][format]") {
  TraceBuilder tb = normal_run();
  json& ev = tb.find(is_event("become_leader"));
  ev["t"] = 0;
  std::istringstream in(tb.text());
  try {
    check_trace(in, "bad");
    FAIL("expected TraceFormatError");
  } catch (const TraceFormatError& e) {
    CHECK(e.line() == ev["seq"].get<int64_t>() + 1);
    CHECK(std::string(e.what()).find("time goes back") != std::string::npos);
  }
}

TEST_CASE("Framing: a seq gap is malformed input", "[checker][format]") {
  TraceBuilder tb = normal_run();
  tb.events.erase(tb.events.begin() + 10);
  std::istringstream in(tb.text());
  try {
    check_trace(in, "bad");
    FAIL("expected TraceFormatError");
  } catch (const TraceFormatError& e) {
    CHECK(e.line() == 12);  // line 12 holds seq 12 where seq 11 was due
    CHECK(std::string(e.what()).find("expected seq 11") != std::string::npos);
  }
}

TEST_CASE("WellFormed: deliver of a never-sent message id", "[checker][WellFormed]") {
  TraceBuilder tb = normal_run();
  json& ev = tb.find(is_event("deliver"), 2);
  ev["msg_id"] = 999;
  Report r = tb.check();
  REQUIRE(violated(r) == "WellFormed");
  CHECK(r.violation->seqs == std::vector<int64_t>{ev["seq"]});
  CHECK(r.violation->explanation.find("message id 999") != std::string::npos);
}

// A deliver names its message by id (schema v2), so only the network events that still carry
// the message (drop, duplicate, client_receive) can show one altered in flight.
TEST_CASE("WellFormed: a message altered in flight", "[checker][WellFormed]") {
  TraceBuilder tb = normal_run();
  json& ev = tb.find(is_event("client_receive"));
  ev["msg"]["leader_hint"] = 3;
  Report r = tb.check();
  REQUIRE(violated(r) == "WellFormed");
  CHECK(r.violation->seqs.size() == 2);
}

TEST_CASE("WellFormed: a message delivered more often than sent", "[checker][WellFormed]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.timeout(1, "heartbeat");
  json msg = tb.send(
      1, json{{"type", "CommitNotification"}, {"to", 2}, {"term", 0}, {"leader_commit", 0}});
  tb.deliver(2, msg);
  tb.drop(msg);
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "WellFormed");
  CHECK(r.violation->explanation.find("after all its copies") != std::string::npos);
}

// The checker forgets a message once its last copy is used up (sends and duplicates minus
// delivers, drops and client_receives). A copy still in flight must keep it: here the duplicate
// comes before either delivery, as the runtime writes it, and forgetting the message at the first
// delivery would make the second look like one too many.
TEST_CASE("WellFormed: a duplicated message is kept until its last copy is used up",
          "[checker][WellFormed]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.timeout(1, "heartbeat");
  json msg = tb.send(
      1, json{{"type", "CommitNotification"}, {"to", 2}, {"term", 0}, {"leader_commit", 0}});
  tb.runtime_event("duplicate", {{"msg", msg}});
  tb.deliver(2, msg);
  tb.deliver(2, msg);
  tb.end();
  Report r = tb.check();
  INFO(format_report(r));
  CHECK(r.ok());
  CHECK(r.counts["deliveries"] == 2);
}

// A scenario writes a duplicate just before the extra delivery, after the first delivery used up
// the only copy: the message has been forgotten by then and is found again in the trace.
TEST_CASE("WellFormed: a duplicate after the last copy was used up finds its message again",
          "[checker][WellFormed]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.timeout(1, "heartbeat");
  json msg = tb.send(
      1, json{{"type", "CommitNotification"}, {"to", 2}, {"term", 0}, {"leader_commit", 0}});
  tb.deliver(2, msg);
  tb.runtime_event("duplicate", {{"msg", msg}});
  tb.deliver(2, msg);
  tb.end();
  Report r = tb.check();
  INFO(format_report(r));
  CHECK(r.ok());

  // A forgotten message altered in flight is still told apart from the one sent.
  TraceBuilder bad = tb;
  bad.find(is_event("duplicate"))["msg"]["leader_commit"] = 1;
  Report altered = bad.check();
  REQUIRE(violated(altered) == "WellFormed");
  CHECK(altered.violation->explanation.find("different contents") != std::string::npos);

  // And a message id below the last one sent that no send carried is still never-sent.
  TraceBuilder gap = tb;
  gap.find(is_event("deliver"), 1)["msg_id"] = 0;
  Report never = gap.check();
  REQUIRE(violated(never) == "WellFormed");
  CHECK(never.violation->explanation.find("no earlier send") != std::string::npos);
}

// A file's check keeps only the messages in flight, so its memory does not grow with the trace;
// a file whose events name a forgotten message reads the file again, with the same verdict.
TEST_CASE("check_trace_file: a forgotten message is found again in the file", "[checker]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.timeout(1, "heartbeat");
  json msg = tb.send(
      1, json{{"type", "CommitNotification"}, {"to", 2}, {"term", 0}, {"leader_commit", 0}});
  tb.deliver(2, msg);
  tb.drop(msg);
  tb.end();
  std::string path = "/tmp/raftkv_test_checker_forgotten.jsonl";
  {
    std::ofstream f(path, std::ios::binary);
    f << tb.text();
  }
  Report r = check_trace_file(path);
  std::remove(path.c_str());
  REQUIRE(violated(r) == "WellFormed");
  CHECK(r.violation->explanation.find("after all its copies") != std::string::npos);
  CHECK(r.violation->seqs == std::vector<int64_t>{tb.find(is_event("send"))["seq"].get<int64_t>(),
                                                  tb.find(is_event("drop"))["seq"].get<int64_t>()});
}

// The checker's reader parses lines a batch (256 KB) ahead on a thread of its own
// (trace/fast_reader.h). Across batches it must keep the sequential reader's order: a malformed
// line is reported with its own line number, and only once every line before it was checked, so
// a violation on an earlier line is the verdict.
TEST_CASE("the read-ahead keeps the order of verdicts across batches", "[checker][format]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  for (int i = 0; i < 6000; ++i) {  // ~1 MB of lines: several batches
    tb.tick();
    tb.timeout(2, "heartbeat");
  }
  tb.end();
  REQUIRE(tb.check().ok());
  std::vector<std::string> lines;
  {
    std::istringstream split(tb.text());
    for (std::string l; std::getline(split, l);) lines.push_back(l);
  }
  REQUIRE(lines.size() > 6000);
  auto text_of = [](const std::vector<std::string>& ls) {
    std::string out;
    for (const std::string& l : ls) out += l + "\n";
    return out;
  };
  // A line near the end that is not JSON: the error names it.
  size_t bad = lines.size() - 3;
  std::vector<std::string> broken = lines;
  broken[bad] = "{\"event\":";
  {
    std::istringstream in(text_of(broken));
    try {
      check_trace(in, "bad");
      FAIL("expected TraceFormatError");
    } catch (const TraceFormatError& e) {
      CHECK(e.line() == static_cast<int64_t>(bad) + 1);
    }
  }
  // A violation on a line of the first batch comes before that error.
  json early = json::parse(broken[20]);
  REQUIRE(early["event"] == "timeout");
  early["state"]["term"] = 0;
  broken[20] = early.dump();
  std::istringstream in(text_of(broken));
  Report r = check_trace(in, "bad");
  REQUIRE(violated(r) == "WellFormed");
  CHECK(r.violation->seqs == std::vector<int64_t>{early["seq"].get<int64_t>()});
}

TEST_CASE("WellFormed: a node's term decreases", "[checker][WellFormed]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.timeout(2);
  tb.end();
  json& ev = tb.events[tb.events.size() - 2];  // node 2's timeout, in term 1
  REQUIRE(ev["event"] == "timeout");
  ev["state"]["term"] = 0;
  Report r = tb.check();
  REQUIRE(violated(r) == "WellFormed");
  CHECK(r.violation->nodes == std::vector<int>{2});
  CHECK(r.violation->explanation.find("term goes down from 1 to 0") != std::string::npos);
}

TEST_CASE("Durability: a restart must bring back the persisted term, vote and log",
          "[checker][Durability]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.crash(2);
  tb.restart(2);
  tb.end();
  json& ev = tb.find(is_event("restart"));
  ev["state"]["term"] = 0;
  Report r = tb.check();
  REQUIRE(violated(r) == "Durability");
  CHECK(r.violation->nodes == std::vector<int>{2});
  CHECK_THAT(r.violation->explanation, Catch::Contains("restarts at seq"));
}

// ---------------------------------------------------------------------------------------------
// ElectionSafety

TEST_CASE("ElectionSafety: two leaders in the same term", "[checker][ElectionSafety]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  // Node 3 also campaigns in term 1 and claims node 2's vote too (a double vote).
  tb.timeout(3);
  tb.become_candidate(3);
  tb.become_leader(3, {3, 2});
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "ElectionSafety");
  CHECK(r.violation->nodes == std::vector<int>{1, 3});
  CHECK(r.violation->seqs.size() == 2);
  std::string text = format_report(r);
  CHECK(text.rfind("VIOLATION test: ElectionSafety at seq ", 0) == 0);
  CHECK(text.find("on nodes 1, 3") != std::string::npos);
}

TEST_CASE("ElectionSafety: a leader without a majority of votes", "[checker][ElectionSafety]") {
  TraceBuilder tb(5, 1);
  tb.start_all();
  tb.timeout(1);
  tb.become_candidate(1);
  tb.become_leader(1, {1, 2});
  tb.end();
  REQUIRE(violated(tb.check()) == "ElectionSafety");
}

// ---------------------------------------------------------------------------------------------
// LeaderAppendOnly

TEST_CASE("LeaderAppendOnly: a leader truncates its log", "[checker][LeaderAppendOnly]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.timeout(1, "heartbeat");
  tb.truncate(1, 1);
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "LeaderAppendOnly");
  CHECK(r.violation->nodes == std::vector<int>{1});
}

TEST_CASE("LeaderAppendOnly: a leader overwrites an entry", "[checker][LeaderAppendOnly]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.leader_append(1, put(1, 1, "x", "a"));
  tb.append(1, 2, {entry(1, put(1, 1, "x", "b"))});
  tb.end();
  REQUIRE(violated(tb.check()) == "LeaderAppendOnly");
}

// ---------------------------------------------------------------------------------------------
// LogMatching

TEST_CASE("LogMatching: same index and term, different earlier entries", "[checker][LogMatching]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});  // node 1: [(1, term 1)]
  tb.lose_election(3);
  tb.elect(3, {2});                          // node 3: [(1, term 2)]
  tb.leader_append(3, put(1, 1, "x", "a"));  // node 3: [(1, term 2), (2, term 2)]
  // Node 1 accepts (2, term 2) without the prev-log check: prevLogTerm 2 != its term 1.
  json ae = tb.send(3, {{"type", "AppendEntries"},
                        {"to", 1},
                        {"term", 2},
                        {"prev_log_index", 1},
                        {"prev_log_term", 2},
                        {"entries", {entry(2, put(1, 1, "x", "a"))}},
                        {"leader_commit", 0}});
  tb.deliver(1, ae);
  tb.term_update(1, 2);
  tb.append(1, 2, {entry(2, put(1, 1, "x", "a"))});
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "LogMatching");
  CHECK(r.violation->nodes == std::vector<int>{1, 3});
  CHECK(r.violation->explanation.find("(index 2, term 2)") != std::string::npos);
  CHECK(r.violation->explanation.find("at index 1 (node 1 has term 1, node 3 has term 2)") !=
        std::string::npos);
}

TEST_CASE("LogMatching: an in-place overwrite that keeps a stale suffix",
          "[checker][LogMatching]") {
  // The skip_truncate bug: a follower replaces entry 2 but keeps entry 3 behind it.
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.leader_append(1, put(1, 1, "x", "a"));
  tb.leader_append(1, put(1, 2, "y", "b"));
  tb.replicate(1, 2);  // node 2: 1..3 of term 1
  tb.crash(1);
  tb.lose_election(3);
  tb.elect(3, {2});  // term 2; node 3 holds only its no-op at index 1
  tb.timeout(2);
  tb.append(2, 1, {entry(2, noop())});  // overwrite index 1 in place, keep 2..3
  tb.end();
  REQUIRE(violated(tb.check()) == "LogMatching");
}

// ---------------------------------------------------------------------------------------------
// LeaderCompleteness

TEST_CASE("LeaderCompleteness: a committed entry missing from a later leader",
          "[checker][LeaderCompleteness]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  tb.client_op(1, 2, 1, put(1, 1, "x", "a"));  // committed at index 2 on nodes 1 and 2
  // Node 3 has an empty log but is elected in term 2 (votes granted without the §5.4.1 check).
  tb.lose_election(3);
  tb.elect(3, {2});
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "LeaderCompleteness");
  CHECK(r.violation->nodes == std::vector<int>{1, 3});
  CHECK(r.violation->explanation.find("(index 1, term 1)") != std::string::npos);
}

TEST_CASE(
    "LeaderCompleteness: an entry committed after a higher-term leader was elected without it",
    "[checker][LeaderCompleteness]") {
  // The other order: node 3 is elected for term 4 (node 2's vote, given without the §5.4.1
  // check) while node 1, still leader of term 1, has its no-op on node 2 but not yet committed;
  // node 1 then commits it. At node 3's election nothing was committed, so only the commit can
  // show that a leader of a higher term lacks a committed entry (Figure 8's loss, as TLC's
  // counterexample of commit_old_term found with one worker has it).
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);  // node 2 holds index 1 (term 1)
  tb.lose_election(3);
  tb.lose_election(3);
  tb.lose_election(3);
  tb.elect(3, {2});  // term 4; node 3 holds only its own no-op
  tb.tick();
  tb.timeout(1, "heartbeat");
  tb.commit(1, 1);  // node 1, leader of term 1, commits index 1 (on nodes 1 and 2)
  tb.end();
  Report r = tb.check();
  INFO((r.violation ? r.violation->explanation : std::string()));
  REQUIRE(violated(r) == "LeaderCompleteness");
  CHECK(r.violation->nodes == std::vector<int>{1, 3});
  CHECK(r.violation->explanation.find("node 3, leader of term 4, lacks the entry at index 1") !=
        std::string::npos);
}

TEST_CASE("LeaderCompleteness: a stale-term leader need not hold later commits",
          "[checker][LeaderCompleteness]") {
  // Node 2 commits in term 2; afterwards node 1, still in term 1, completes a term-1 election
  // (late vote responses). Only leaders of higher terms than the commit must hold the entry,
  // so this is allowed (the stale leader can commit nothing) and must pass.
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.timeout(2);
  tb.become_candidate(2);  // term 1, loses
  tb.persist(2);
  tb.timeout(2);
  tb.become_candidate(2);  // term 2
  tb.persist(2);
  tb.become_leader(2, {2, 3});
  tb.leader_append(2, noop());
  tb.replicate(2, 3);
  tb.commit_and_apply(2, 1);
  tb.timeout(1);
  tb.become_candidate(1);  // term 1
  tb.persist(1);
  tb.become_leader(1, {1, 3});
  tb.leader_append(1, noop());  // leader_noop is on
  tb.persist(1);
  tb.end();
  Report r = tb.check();
  INFO(format_report(r));
  REQUIRE(r.ok());
  CHECK(r.counts["leaders_checked"] == 2);
}

// ---------------------------------------------------------------------------------------------
// StateMachineSafety

TEST_CASE("StateMachineSafety: two nodes apply different entries at index 3",
          "[checker][StateMachineSafety]") {
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 3);  // node 3 holds (1, term 1)
  tb.leader_append(1, put(1, 1, "x", "a"));
  tb.leader_append(1, put(1, 2, "x", "b"));
  tb.persist(1);
  tb.replicate(1, 2);  // node 2 holds 1..3 of term 1
  tb.crash(1);
  tb.elect(3, {2});                          // node 3, term 2: [(1, t1), (2, t2 no-op)]
  tb.leader_append(3, put(2, 1, "w", "c"));  // index 3 (term 2) on node 3
  tb.timeout(2);
  tb.commit_and_apply(2, 3);  // node 2 applies index 3 of term 1 (held by nodes 1 and 2) ...
  tb.timeout(3, "heartbeat");
  tb.commit_and_apply(3, 3);  // ... and node 3 a different index 3
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "StateMachineSafety");
  CHECK(r.violation->nodes == std::vector<int>{2, 3});
}

TEST_CASE("StateMachineSafety: apply rules of Figure 2", "[checker][StateMachineSafety]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.leader_append(1, put(1, 1, "x", "a"));
  SECTION("apply before commit") {
    tb.apply(1);
    tb.end();
    Report r = tb.check();
    REQUIRE(violated(r) == "StateMachineSafety");
    CHECK(r.violation->explanation.find("commit index was 0") != std::string::npos);
  }
  SECTION("apply with a gap") {
    tb.replicate(1, 2);
    tb.commit(1, 2);
    tb.node(1).applied = 1;  // skip index 1
    tb.apply(1);
    tb.end();
    Report r = tb.check();
    REQUIRE(violated(r) == "StateMachineSafety");
    CHECK(r.violation->explanation.find("applied index 2 at seq") != std::string::npos);
  }
  SECTION("a committed entry is deleted") {
    tb.replicate(1, 2);
    tb.commit_and_apply(1, 2);
    tb.replicate(1, 2);  // node 2 learns commit 2
    tb.timeout(2);
    tb.truncate(2, 2);
    tb.end();
    Report r = tb.check();
    REQUIRE(violated(r) == "StateMachineSafety");
    CHECK(r.violation->explanation.find("deleted its entry at index 2") != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// TermAdoption

TEST_CASE("TermAdoption: a leader ignores a higher term", "[checker][TermAdoption]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});     // node 1 leads term 1
  tb.lose_election(3);  // node 3: term 1
  json rv = [&] {
    tb.lose_election(3);  // node 3: term 2
    return tb.send(3, {{"type", "RequestVote"},
                       {"to", 1},
                       {"term", 2},
                       {"last_log_index", 0},
                       {"last_log_term", 0}});
  }();
  tb.tick();
  tb.deliver(1, rv);  // the leader refuses without adopting term 2
  tb.node_event(1, "vote", {{"candidate", 3}, {"granted", false}, {"reason", "stale_term"}});
  tb.tick();
  tb.timeout(1, "heartbeat");
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "TermAdoption");
  CHECK(r.violation->nodes == std::vector<int>{1});
  CHECK(r.violation->seqs == std::vector<int64_t>{tb.find(is_event("deliver"), 2)["seq"]});
}

// Schema v2: the checker judges a deliver by the message its msg_id names, found among the sends.
// Node 3 sends a RequestVote to node 2 and then one to node 1; node 1 gets the second. Resolved
// right, node 1 saw term 2 and ignored it (TermAdoption); resolved to the neighbouring id, the
// message would be node 2's (WellFormed: delivered to the wrong node).
TEST_CASE("deliver: msg_id resolves to the message sent under that id", "[checker][TermAdoption]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.lose_election(3);
  tb.lose_election(3);  // node 3: term 2
  json rv = json{{"type", "RequestVote"}, {"term", 2}, {"last_log_index", 0}, {"last_log_term", 0}};
  rv["to"] = 2;
  tb.send(3, rv);
  rv["to"] = 1;
  json to_leader = tb.send(3, rv);
  tb.tick();
  tb.deliver(1, to_leader);
  tb.node_event(1, "vote", {{"candidate", 3}, {"granted", false}, {"reason", "stale_term"}});
  tb.tick();
  tb.timeout(1, "heartbeat");
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "TermAdoption");
  CHECK(r.violation->nodes == std::vector<int>{1});
}

TEST_CASE("TermAdoption: adopting the higher term passes", "[checker][TermAdoption]") {
  Report r = normal_run().check();
  REQUIRE(r.ok());
  CHECK(r.counts["higher_terms_seen"] == 2);  // node 2's RequestVote, node 3's first AE
}

// ---------------------------------------------------------------------------------------------
// KVSemantics

TEST_CASE("KVSemantics: a wrong get result", "[checker][KVSemantics]") {
  TraceBuilder tb = normal_run();
  json& ev = tb.find(
      [](const json& e) { return e["event"] == "apply" && e["entry"]["cmd"]["op"] == "get"; });
  ev["result"] = result("ok", "zzz");
  Report r = tb.check();
  REQUIRE(violated(r) == "KVSemantics");
  CHECK(r.violation->seqs == std::vector<int64_t>{ev["seq"]});
  CHECK(r.violation->explanation.find("ok \"a\"") != std::string::npos);
}

TEST_CASE("KVSemantics: a client reply that differs from its entry's result",
          "[checker][KVSemantics]") {
  TraceBuilder tb = normal_run();
  json& ev = tb.find(is_event("client_complete"));
  ev["result"] = result("key_exists");
  Report r = tb.check();
  REQUIRE(violated(r) == "KVSemantics");
  CHECK(contains(r.violation->seqs, ev["seq"]));
}

TEST_CASE("KVSemantics: an acknowledgement no apply backs", "[checker][KVSemantics]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.invoke(1, put(1, 1, "x", "a"));
  tb.complete(1, 1, result("ok"), 1);
  tb.end();
  REQUIRE(violated(tb.check()) == "KVSemantics");
}

TEST_CASE("KVSemantics: a retried command executed twice (dedup off)", "[checker][KVSemantics]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.leader_append(1, put(1, 1, "x", "a"));
  tb.leader_append(1, put(1, 1, "x", "a"));  // the client's retry, appended again
  tb.replicate(1, 2);
  tb.commit(1, 3);
  tb.apply(1);
  tb.apply(1);
  tb.apply(1, result("key_exists"));  // the model says: remembered result ok
  tb.end();
  REQUIRE(violated(tb.check()) == "KVSemantics");
}

// Issue 9: the network duplicates a request, both copies commit, and a later request of the same
// client commits between them. The old copy must not take effect again (exactly-once, in client
// order), even though it is not a repeat of the client's last request.
TraceBuilder stale_retry_run(const json& stale_result) {
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  tb.leader_append(1, put(1, 1, "x", "a"));
  tb.leader_append(1, del(1, 2, "x"));
  tb.leader_append(1, put(1, 1, "x", "a"));  // the stale duplicate of request 1
  tb.replicate(1, 2);
  tb.commit(1, 4);
  tb.apply(1);  // the no-op
  tb.apply(1);
  tb.apply(1);
  tb.apply(1, stale_result);
  tb.end();
  return tb;
}

TEST_CASE("KVSemantics: a stale retry applied after a later request must not take effect",
          "[checker][KVSemantics]") {
  // The correct outcome passes...
  TraceBuilder good = stale_retry_run(result("stale"));
  Report ok = good.check();
  INFO(format_report(ok));
  CHECK(ok.ok());
  // ...executing it again (what the last-seq-only dedup did) is a KVSemantics violation that
  // names the guarantee.
  TraceBuilder tb = stale_retry_run(result("ok"));
  Report r = tb.check();
  REQUIRE(violated(r) == "KVSemantics");
  CHECK(r.violation->seqs == std::vector<int64_t>{tb.find(is_event("apply"), 3)["seq"]});
  CHECK_THAT(r.violation->explanation, Catch::Contains("at most once"));
  CHECK_THAT(r.violation->explanation, Catch::Contains("request #2"));
}

TEST_CASE("KVSemantics: a client never accepts the outcome stale", "[checker][KVSemantics]") {
  TraceBuilder tb = normal_run();
  json& ev = tb.find(is_event("client_complete"));
  ev["result"] = result("stale");
  Report r = tb.check();
  REQUIRE(violated(r) == "KVSemantics");
  CHECK_THAT(r.violation->explanation, Catch::Contains("stale"));
}

TEST_CASE("KVSemantics: a final store that differs from the replay", "[checker][KVSemantics]") {
  TraceBuilder tb = normal_run();
  tb.events.back()["nodes"][1]["store_size"] = 2;
  REQUIRE(violated(tb.check()) == "KVSemantics");
}

// ---------------------------------------------------------------------------------------------
// Checks judged from state (issue 10): Durability, Replication, and ElectionSafety, TermAdoption
// and KVSemantics beyond their first form. Each is shown to fail on a bad trace.

namespace {

// The index in tb.events of the n-th event matching a predicate.
size_t index_of(TraceBuilder& tb, const std::function<bool(const json&)>& pred, int nth = 0) {
  for (size_t i = 0; i < tb.events.size(); ++i) {
    if (pred(tb.events[i]) && nth-- == 0) return i;
  }
  FAIL("no such event");
  return 0;
}

// Removes one event and renumbers the rest.
void erase_event(TraceBuilder& tb, size_t i) {
  tb.events.erase(tb.events.begin() + static_cast<long>(i));
  for (size_t k = 0; k < tb.events.size(); ++k) tb.events[k]["seq"] = static_cast<int64_t>(k) + 1;
}

bool is_success_ack(const json& e) {
  return e["event"] == "send" && e["msg"]["type"] == "AppendEntriesResponse" &&
         e["msg"]["success"] == true && e["msg"]["match_index"] > 0;
}

}  // namespace

TEST_CASE("Durability: an acknowledgement sent before its entries are persisted",
          "[checker][Durability]") {
  TraceBuilder tb = normal_run();
  size_t ack = index_of(tb, is_success_ack);
  // The follower's persist comes right before its acknowledgement: drop it.
  REQUIRE(tb.events[ack - 1]["event"] == "persist");
  erase_event(tb, ack - 1);
  Report r = tb.check();
  REQUIRE(violated(r) == "Durability");
  CHECK_THAT(r.violation->explanation, Catch::Contains("entries of it are persisted"));
}

TEST_CASE("Durability: a vote granted before it is persisted", "[checker][Durability]") {
  TraceBuilder tb = normal_run();
  size_t vote = index_of(tb, [](const json& e) {
    return e["event"] == "send" && e["msg"]["type"] == "RequestVoteResponse";
  });
  REQUIRE(tb.events[vote - 1]["event"] == "persist");
  erase_event(tb, vote - 1);
  Report r = tb.check();
  REQUIRE(violated(r) == "Durability");
  CHECK_THAT(r.violation->explanation, Catch::Contains("persisted"));
}

TEST_CASE("Durability: a term never persisted is lost in a crash", "[checker][Durability]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.timeout(3);
  tb.become_candidate(3);  // term 2, not persisted (and nothing sent, so no earlier report)
  tb.crash(3);
  tb.node(3).term = 0;  // the restarted node has its persisted term, 0
  tb.node(3).vote = 0;
  tb.restart(3);
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "Durability");
  CHECK_THAT(r.violation->explanation, Catch::Contains("never persisted its current term"));
}

TEST_CASE("Replication: acknowledging more than the AppendEntries carried",
          "[checker][Replication]") {
  TraceBuilder tb = normal_run();
  json& ack = tb.events[index_of(tb, is_success_ack)];
  ack["msg"]["match_index"] = ack["msg"]["match_index"].get<int64_t>() + 1;
  // The leader's delivery of it names it by id (schema v2), so it delivers the edited send.
  Report r = tb.check();
  REQUIRE(violated(r) == "Replication");
  CHECK_THAT(r.violation->explanation, Catch::Contains("acknowledges"));
}

TEST_CASE("Replication: a leader commits an entry only it holds", "[checker][Replication]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.commit_and_apply(1, 1);  // the no-op, before any follower has it
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "Replication");
  CHECK_THAT(r.violation->explanation, Catch::Contains("not a majority"));
}

TEST_CASE("Replication: a committed entry must stay on a majority", "[checker][Replication]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);  // (1, term 1) on nodes 1 and 2: committed
  tb.tick();
  tb.timeout(2);
  tb.truncate(2, 1);  // node 2 (its commit index still 0) drops it: one holder left
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "Replication");
  CHECK_THAT(r.violation->explanation, Catch::Contains("after node 2 truncated its log"));
}

TEST_CASE("ElectionSafety: judged from states, not only from elections",
          "[checker][ElectionSafety]") {
  TraceBuilder tb = normal_run();
  // Node 3 acts as leader of term 1 (say, a node that kept its role) without electing itself.
  size_t i = index_of(tb, [](const json& e) {
    return e.contains("state") && e["node"] == 3 && e["state"]["term"] == 1;
  });
  tb.events[i]["state"]["role"] = "leader";
  Report r = tb.check();
  REQUIRE(violated(r) == "ElectionSafety");
  CHECK(r.violation->nodes == std::vector<int>{1, 3});
}

// The trace as schema version 3 writes it: a node line leaves its state out when it repeats
// the state of that node's previous line. With fields_only, as version 4 writes it: a state
// that changed keeps only the fields that changed.
std::string omitted_states_text(const TraceBuilder& tb, bool fields_only = false) {
  std::string out = tb.header.dump() + "\n";
  std::map<int64_t, json> last;
  for (json ev : tb.events) {
    if (ev.contains("node") && ev.contains("state")) {
      json& prev = last[ev["node"].get<int64_t>()];
      json whole = ev["state"];
      if (prev == whole) {
        ev.erase("state");
      } else if (fields_only && prev.is_object()) {
        for (const auto& [field, value] : whole.items()) {
          if (prev[field] == value) ev["state"].erase(field);
        }
      }
      prev = whole;
    }
    out += ev.dump() + "\n";
  }
  return out;
}

namespace {
int64_t format_error_line(const std::string& text, std::string* message);  // below
}  // namespace

// Version 3 leaves out a state equal to its node's previous one; version 4 also writes only the
// fields of a state that changed. Both read as the whole states would.
TEST_CASE("v3, v4: a node line's state, or fields of it, not written are its node's previous ones",
          "[checker][format]") {
  for (bool fields_only : {false, true}) {
    CAPTURE(fields_only);
    TraceBuilder tb = normal_run();
    std::string full = tb.text(), omitted = omitted_states_text(tb, fields_only);
    REQUIRE(omitted.size() < full.size());
    if (fields_only) REQUIRE(omitted.size() < omitted_states_text(tb).size());
    std::istringstream in_full(full), in_omitted(omitted);
    Report a = check_trace(in_full, "test"), b = check_trace(in_omitted, "test");
    REQUIRE(a.ok());
    CHECK(format_report(b) == format_report(a));
    CHECK(b.counts == a.counts);

    // A violation shown by a state is still seen on the lines that repeat it (or leave the
    // changed field out): a follower made leader in term 1 is a second leader on them too.
    size_t i = index_of(tb, [](const json& e) {
      return e.contains("state") && e["node"] == 3 && e["state"]["term"] == 1;
    });
    tb.events[i]["state"]["role"] = "leader";
    std::istringstream in_bad(omitted_states_text(tb, fields_only));
    Report r = check_trace(in_bad, "test");
    REQUIRE(violated(r) == "ElectionSafety");
    CHECK(r.violation->nodes == std::vector<int>{1, 3});
  }

  // A node's first state must have every field: nothing before it gives the others.
  TraceBuilder first = normal_run();
  size_t s = index_of(first, [](const json& e) { return e.contains("node"); });
  first.events[s]["state"].erase("vote");
  std::string msg;
  CHECK(format_error_line(first.text(), &msg) == static_cast<int64_t>(s) + 2);
  CHECK_THAT(msg, Catch::Contains("missing field 'state.vote'"));
}

TEST_CASE("TermAdoption: a leader that adopts a higher term must step down",
          "[checker][TermAdoption]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.lose_election(3);  // node 3 in term 2
  json rv = tb.send(3, {{"type", "RequestVote"},
                        {"to", 1},
                        {"term", 2},
                        {"last_log_index", 0},
                        {"last_log_term", 0}});
  tb.tick();
  tb.deliver(1, rv);
  tb.term_update(1, 2);
  tb.node(1).role = "leader";  // the mutant: adopted the term, kept the role
  tb.persist(1);
  tb.tick();
  tb.timeout(2);
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "TermAdoption");
  CHECK_THAT(r.violation->explanation, Catch::Contains("ended that step as leader"));
}

TEST_CASE("KVSemantics: a client accepts a reply to another of its requests",
          "[checker][KVSemantics]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  tb.client_op(1, 2, 1, put(1, 1, "x", "a"));
  // Request 2 (a get) is invoked; the client then hears again the reply to request 1 (ok) and
  // takes it as request 2's answer, though the get's own result would be ok "a".
  tb.tick();
  tb.invoke(1, get(1, 2, "x"));
  tb.request(1, 1, get(1, 2, "x"));
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 3);
  tb.tick();
  tb.complete(1, 2, result("ok", "a"), 1);  // its last reply was for request 1
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "KVSemantics");
  CHECK_THAT(r.violation->explanation,
             Catch::Contains("the last reply it received was for request 1"));
}

// A follower redirects the request (not_leader); the client must retry elsewhere, not take the
// redirect as its outcome (the mutant client-accepts-not-leader of tools/mutants.tsv).
TEST_CASE("KVSemantics: a client accepts not_leader as its request's outcome",
          "[checker][KVSemantics]") {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.elect(1, {2});
  json cmd = put(1, 1, "x", "a");
  tb.tick();
  tb.invoke(1, cmd, 2);
  json request = tb.client_send(1, cmd, 2);
  tb.tick();
  tb.deliver(2, request);
  tb.node_event(2, "reject_client", {{"client", 1}, {"client_seq", 1}, {"leader_hint", 1}});
  json redirect = tb.send(2, {{"type", "ClientReply"},
                              {"to", 0},
                              {"client", 1},
                              {"seq", 1},
                              {"result", result("not_leader", "")},
                              {"leader_hint", 1}});
  tb.tick();
  tb.runtime_event("client_receive", {{"client", 1}, {"msg", redirect}});
  tb.complete(1, 1, result("not_leader", ""), 2);
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "KVSemantics");
  CHECK_THAT(r.violation->explanation, Catch::Contains("not_leader is a redirect"));
}

// A completed request keeps only its invoke seq (CompletedRequests): a second invoke or complete
// of it is still malformed, named as before.
TEST_CASE("WellFormed: a completed request invoked or completed again", "[checker][WellFormed]") {
  for (int variant = 0; variant < 3; ++variant) {
    TraceBuilder tb(3, 1);
    tb.start_all();
    tb.elect(1, {2});
    tb.client_op(1, 2, 1, put(1, 1, "x", "a"));
    int64_t first = tb.find(is_event("client_invoke"))["seq"].get<int64_t>();
    tb.client_op(1, 2, 1, put(1, 2, "y", "b"));
    tb.tick();
    if (variant == 0) tb.invoke(1, put(1, 1, "x", "a"));
    if (variant == 1) tb.complete(1, 1, result("ok", ""), 1);
    if (variant == 2) tb.complete(1, 7, result("ok", ""), 1);
    tb.end();
    Report r = tb.check();
    INFO("variant " << variant << ": " << format_report(r));
    REQUIRE(violated(r) == "WellFormed");
    if (variant == 0) {
      CHECK_THAT(r.violation->explanation,
                 Catch::Contains("a second time (first at seq " + std::to_string(first) + ")"));
      CHECK(r.violation->seqs.front() == first);
    }
    if (variant == 1) CHECK_THAT(r.violation->explanation, Catch::Contains("already completed"));
    if (variant == 2) CHECK_THAT(r.violation->explanation, Catch::Contains("never invoked"));
  }
}

// ---------------------------------------------------------------------------------------------
// Linearizability (through the trace)

// Node 1 commits client 2's get x (index 2) before client 1's put x=a (index 3), but the
// clients see the put complete before the get is even invoked: a stale read. Every node-level
// check passes; only the client-visible history is wrong.
TEST_CASE("Linearizability: a stale read after an acknowledged put", "[checker][Linearizability]") {
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  tb.invoke(1, put(1, 1, "x", "a"));
  tb.request(1, 2, get(2, 1, "x"));  // the get's entry is appended first
  tb.request(1, 1, put(1, 1, "x", "a"));
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 3);
  tb.reply(1, 1, 1);  // put x=a -> ok
  tb.tick();
  tb.invoke(2, get(2, 1, "x"));  // invoked after the put completed ...
  tb.reply(1, 2, 1);             // ... yet answered not_found
  tb.end();
  Report r = tb.check();
  INFO(format_report(r));
  REQUIRE(violated(r) == "Linearizability");
  CHECK(r.violation->explanation.find("client 2 get x -> not_found") != std::string::npos);
  CHECK(r.violation->explanation.find("written by client 1 put x=\"a\"") != std::string::npos);
  CHECK(r.violation->seqs.size() == 4);
  CHECK(r.violation->nodes == std::vector<int>{1});
}

// A scenario's requests have no client_invoke or client_complete: the send is the invocation,
// the first ClientReply with a result a node sends is the completion.
json node_reply(TraceBuilder& tb, int leader, int client, int64_t seq, const json& result) {
  return tb.send(leader, {{"type", "ClientReply"},
                          {"to", 0},
                          {"client", client},
                          {"seq", seq},
                          {"result", result},
                          {"leader_hint", leader}});
}

TEST_CASE("Linearizability: requests with no client are operations from their send to the reply",
          "[checker][Linearizability]") {
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  tb.request(1, 1, put(1, 1, "x", "a"));  // a scenario's: client_send, no client_invoke
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 2);
  node_reply(tb, 1, 1, 1, {{"status", "ok"}, {"value", ""}});
  tb.tick();
  tb.request(1, 2, get(2, 1, "x"));  // sent after the put was answered
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 3);
  SECTION("answered with the put's value: linearizable") {
    node_reply(tb, 1, 2, 1, {{"status", "ok"}, {"value", "a"}});
    tb.end();
    Report r = tb.check();
    INFO(format_report(r));
    CHECK_FALSE(r.violation.has_value());
    CHECK(format_report(r).find("Linearizability ok (2 ops on 1 keys)") != std::string::npos);
  }
  SECTION("answered not_found (a stale read): not linearizable") {
    node_reply(tb, 1, 2, 1, {{"status", "not_found"}, {"value", ""}});
    tb.end();
    Report r = tb.check();
    INFO(format_report(r));
    REQUIRE(r.violation.has_value());
    CHECK(r.violation->check == "Linearizability");
    CHECK(r.violation->explanation.find("client 2 get x -> not_found") != std::string::npos);
  }
}

TEST_CASE("Linearizability: replies to client 0, which numbers every request 0, are not guessed",
          "[checker][Linearizability]") {
  // Two sessionless requests on x are open at once; the log has the delete first (not_found)
  // and then the put (ok). Matching the first reply to (0, 0) with the first request sent
  // would make "put x=a -> not_found", which no order explains: both stay open instead.
  TraceBuilder tb(3, 2);
  tb.start_all();
  tb.elect(1, {2});
  json p = tb.client_send(0, put(0, 0, "x", "a"), 1);
  json d = tb.client_send(0, del(0, 0, "x"), 1);
  tb.tick();
  tb.deliver(1, d);
  tb.leader_append(1, del(0, 0, "x"));
  tb.persist(1);
  tb.tick();
  tb.deliver(1, p);
  tb.leader_append(1, put(0, 0, "x", "a"));
  tb.persist(1);
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 3);
  node_reply(tb, 1, 0, 0, {{"status", "not_found"}, {"value", ""}});
  node_reply(tb, 1, 0, 0, {{"status", "ok"}, {"value", ""}});
  tb.end();
  Report r = tb.check();
  INFO(format_report(r));
  CHECK_FALSE(r.violation.has_value());
  CHECK(format_report(r).find("Linearizability ok (2 ops on 1 keys)") != std::string::npos);
}

TEST_CASE("Linearizability: a lost acknowledged write", "[checker][Linearizability]") {
  // Log order: put x=b (client 2), delete x (client 3), put x=a (client 1) -- all ok. Real time:
  // client 1's put x=a completes first, then client 2's put x=b is invoked and answered ok
  // (so x=a was lost), then client 3's delete.
  TraceBuilder tb(3, 3);
  tb.start_all();
  tb.elect(1, {2});
  tb.invoke(1, put(1, 1, "x", "a"));
  tb.request(1, 2, put(2, 1, "x", "b"));
  tb.request(1, 3, del(3, 1, "x"));
  tb.request(1, 1, put(1, 1, "x", "a"));
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 4);
  tb.reply(1, 1, 1);
  tb.invoke(2, put(2, 1, "x", "b"));
  tb.reply(1, 2, 1);
  tb.invoke(3, del(3, 1, "x"));
  tb.reply(1, 3, 1);
  tb.end();
  Report r = tb.check();
  REQUIRE(violated(r) == "Linearizability");
  CHECK(r.violation->explanation.find("client 2 put x=\"b\" -> ok") != std::string::npos);
}

TEST_CASE("Linearizability: a tiny budget gives inconclusive, not a violation",
          "[checker][Linearizability]") {
  TraceBuilder tb = normal_run();
  CheckOptions options;
  options.linearizability_steps_per_key = 1;
  Report r = tb.check(options);
  REQUIRE(r.ok());
  CHECK(r.linearizability_inconclusive);
  CHECK(r.counts["linearizability_inconclusive_keys"] == 1);
  CHECK(format_report(r).find("Linearizability: inconclusive (budget)") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Malformed input

namespace {

// Runs the checker on text and returns the TraceFormatError's line (or -1 if none was thrown).
int64_t format_error_line(const std::string& text, std::string* message = nullptr) {
  std::istringstream in(text);
  try {
    check_trace(in, "bad");
  } catch (const TraceFormatError& e) {
    if (message) *message = e.what();
    return e.line();
  }
  return -1;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

}  // namespace

TEST_CASE("TraceFormatError: bad JSON on line 3", "[checker][format]") {
  auto lines = split_lines(normal_run().text());
  lines[2] = "{\"seq\":2,\"t\":0,\"event\":\"start\",";
  std::string msg;
  CHECK(format_error_line(join_lines(lines), &msg) == 3);
  CHECK(msg.rfind("bad:3: invalid JSON", 0) == 0);
}

TEST_CASE("TraceFormatError: truncated file", "[checker][format]") {
  std::string text = normal_run().text();
  auto lines = split_lines(text);
  SECTION("cut in the middle of the last line") {
    std::string cut = text.substr(0, text.size() - 20);
    CHECK(format_error_line(cut) == static_cast<int64_t>(lines.size()));
  }
  SECTION("last line without its newline") {
    CHECK(format_error_line(text.substr(0, text.size() - 1)) == static_cast<int64_t>(lines.size()));
  }
  SECTION("cut at a line boundary: no end event") {
    lines.resize(lines.size() - 3);
    std::string msg;
    CHECK(format_error_line(join_lines(lines), &msg) == static_cast<int64_t>(lines.size()) + 1);
    CHECK(msg.find("without an 'end' event") != std::string::npos);
  }
  SECTION("empty file") { CHECK(format_error_line("") == 1); }
}

TEST_CASE("TraceFormatError: wrong header", "[checker][format]") {
  TraceBuilder tb = normal_run();
  SECTION("format name") {
    tb.header["format"] = "raft-trace";
    std::string msg;
    CHECK(format_error_line(tb.text(), &msg) == 1);
    CHECK(msg.find("expected \"raftkv-trace\"") != std::string::npos);
  }
  SECTION("version") {
    tb.header["version"] = 2;
    std::string msg;
    CHECK(format_error_line(tb.text(), &msg) == 1);
    CHECK(msg.find("version is 2; this raftkv reads version 3 and 4 traces") != std::string::npos);
  }
  SECTION("missing config") {
    tb.header.erase("config");
    CHECK(format_error_line(tb.text()) == 1);
  }
  SECTION("an absurd cluster size") {
    tb.header["config"]["num_nodes"] = 2000000000;
    CHECK(format_error_line(tb.text()) == 1);
  }
}

TEST_CASE("TraceFormatError: fields", "[checker][format]") {
  TraceBuilder tb = normal_run();
  std::string msg;
  SECTION("a null value") {
    tb.events[4]["state"]["vote"] = nullptr;
    CHECK(format_error_line(tb.text(), &msg) == 6);
    CHECK(msg.find("null") != std::string::npos);
  }
  SECTION("a missing field") {
    tb.find(is_event("append")).erase("first_index");
    int64_t line = tb.find(is_event("append"))["seq"].get<int64_t>() + 1;
    CHECK(format_error_line(tb.text(), &msg) == line);
    CHECK(msg.find("missing field 'first_index'") != std::string::npos);
  }
  SECTION("a missing nested field") {
    tb.find(is_event("send"))["msg"].erase("term");
    CHECK(format_error_line(tb.text(), &msg) > 1);
    CHECK(msg.find("missing field 'msg.term'") != std::string::npos);
  }
  SECTION("a wrong type") {
    tb.events[7]["t"] = "soon";
    CHECK(format_error_line(tb.text(), &msg) == 9);
    CHECK(msg.find("must be an integer") != std::string::npos);
  }
  SECTION("a negative or fractional number") {
    tb.events[7]["t"] = -1;
    CHECK(format_error_line(tb.text()) == 9);
    tb.events[7]["t"] = 1.5;
    CHECK(format_error_line(tb.text()) == 9);
  }
  SECTION("an unknown event name") {
    tb.events[3]["event"] = "explode";
    CHECK(format_error_line(tb.text(), &msg) == 5);
    CHECK(msg.find("unknown event \"explode\"") != std::string::npos);
  }
  SECTION("an unknown enum value") {
    tb.find(is_event("send"))["msg"]["type"] = "Gossip";
    CHECK(format_error_line(tb.text()) > 1);
  }
  SECTION("a line that is not an object") {
    auto lines = split_lines(tb.text());
    lines[1] = "[1,2,3]";
    CHECK(format_error_line(join_lines(lines)) == 2);
  }
  SECTION("deep nesting and a blank line") {
    auto lines = split_lines(tb.text());
    lines[1] = std::string(100000, '[') + std::string(100000, ']');
    CHECK(format_error_line(join_lines(lines)) == 2);
    lines[1] = "";
    CHECK(format_error_line(join_lines(lines)) == 2);
  }
  SECTION("an event after end") {
    tb.tick();
    tb.start(1);
    CHECK(format_error_line(tb.text()) == static_cast<int64_t>(tb.events.size()) + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// The linearizability search on its own

namespace {

KvOperation op(int client, KvOpKind kind, const std::string& key, const std::string& value,
               int64_t invoke, int64_t complete, KvOutcome outcome, const std::string& read = "") {
  KvOperation o;
  o.client = client;
  o.request_seq = invoke;
  o.kind = kind;
  o.key = key;
  o.value = value;
  o.invoke = invoke;
  o.complete = complete;
  o.outcome = outcome;
  o.read_value = read;
  return o;
}

constexpr auto kPut = KvOpKind::Put;
constexpr auto kGet = KvOpKind::Get;
constexpr auto kDel = KvOpKind::Delete;
constexpr auto kOk = KvOutcome::Ok;
constexpr auto kExists = KvOutcome::KeyExists;
constexpr auto kNotFound = KvOutcome::NotFound;
constexpr auto kUnknown = KvOutcome::Unknown;

LinearizabilityVerdict verdict(const std::vector<KvOperation>& h) {
  return check_linearizability(h).verdict;
}

}  // namespace

TEST_CASE("linearizability: concurrent ops linearizable in one order only", "[linearizability]") {
  // put x=1 spans [1,10]; a get returning not_found [2,9] must go before it, a get returning 1
  // [3,8] after it: the only order is get(nf), put, get(1).
  std::vector<KvOperation> h{op(1, kPut, "x", "1", 1, 10, kOk),
                             op(2, kGet, "x", "", 2, 9, kNotFound),
                             op(3, kGet, "x", "", 3, 8, kOk, "1")};
  CHECK(verdict(h) == LinearizabilityVerdict::Linearizable);
  // Make the not_found get start after the ok get ended: now no order works.
  h[1].invoke = 8;
  h[1].complete = 9;
  h[2].invoke = 3;
  h[2].complete = 7;
  LinearizabilityResult r = check_linearizability(h);
  REQUIRE(r.verdict == LinearizabilityVerdict::NotLinearizable);
  CHECK(r.key == "x");
  CHECK(r.stuck_op == 1);
}

TEST_CASE("linearizability: two concurrent puts, one key_exists", "[linearizability]") {
  std::vector<KvOperation> h{op(1, kPut, "x", "a", 1, 5, kExists), op(2, kPut, "x", "b", 2, 4, kOk),
                             op(3, kGet, "x", "", 6, 7, kOk, "b")};
  CHECK(verdict(h) == LinearizabilityVerdict::Linearizable);
  h[2].read_value = "a";
  CHECK(verdict(h) == LinearizabilityVerdict::NotLinearizable);
}

TEST_CASE("linearizability: sequential stale read names the writer", "[linearizability]") {
  std::vector<KvOperation> h{op(1, kPut, "x", "a", 1, 2, kOk),
                             op(2, kGet, "x", "", 3, 4, kNotFound)};
  LinearizabilityResult r = check_linearizability(h);
  REQUIRE(r.verdict == LinearizabilityVerdict::NotLinearizable);
  CHECK(r.stuck_op == 1);
  REQUIRE(r.last_writer);
  CHECK(*r.last_writer == 0);
  CHECK(r.prefix_length == 1);
  CHECK(r.prefix_value == std::optional<std::string>("a"));
}

TEST_CASE("linearizability: unknown ops that took effect", "[linearizability]") {
  // An unknown put (deadline passed) is read later: it took effect.
  std::vector<KvOperation> h{op(1, kPut, "x", "a", 1, 3, kUnknown),
                             op(2, kGet, "x", "", 5, 6, kOk, "a")};
  CHECK(verdict(h) == LinearizabilityVerdict::Linearizable);
  // Never completed at all, and it takes effect between two reads.
  std::vector<KvOperation> h2{
      op(1, kDel, "x", "", 1, 0, kUnknown), op(2, kPut, "x", "a", 2, 3, kOk),
      op(2, kGet, "x", "", 4, 5, kOk, "a"), op(2, kGet, "x", "", 6, 7, kNotFound)};
  CHECK(verdict(h2) == LinearizabilityVerdict::Linearizable);
}

TEST_CASE("linearizability: unknown ops that never took effect", "[linearizability]") {
  std::vector<KvOperation> h{
      op(1, kPut, "x", "a", 1, 3, kUnknown), op(2, kGet, "x", "", 5, 6, kNotFound),
      op(2, kPut, "x", "b", 7, 8, kOk), op(2, kGet, "x", "", 9, 10, kOk, "b")};
  CHECK(verdict(h) == LinearizabilityVerdict::Linearizable);
}

TEST_CASE("linearizability: an unknown op cannot act before its invocation", "[linearizability]") {
  std::vector<KvOperation> h{op(2, kGet, "x", "", 1, 2, kOk, "a"),
                             op(1, kPut, "x", "a", 3, 0, kUnknown)};
  CHECK(verdict(h) == LinearizabilityVerdict::NotLinearizable);
}

TEST_CASE("linearizability: keys are independent", "[linearizability]") {
  std::vector<KvOperation> h{op(1, kPut, "x", "a", 1, 2, kOk), op(1, kPut, "y", "a", 3, 4, kOk),
                             op(2, kGet, "x", "", 5, 6, kOk, "a"),
                             op(2, kGet, "y", "", 7, 8, kNotFound)};
  LinearizabilityResult r = check_linearizability(h);
  REQUIRE(r.verdict == LinearizabilityVerdict::NotLinearizable);
  CHECK(r.key == "y");
  CHECK(r.keys == 2);
}

TEST_CASE("linearizability: the budget makes a hard key inconclusive", "[linearizability]") {
  // 14 fully concurrent writes (7 puts, 7 deletes, all ok) and then a read of a value nobody
  // wrote: proving it impossible means trying the interleavings of the writes.
  std::vector<KvOperation> h;
  for (int i = 0; i < 14; ++i) {
    bool is_put = i % 2 == 0;
    h.push_back(op(i + 1, is_put ? kPut : kDel, "x", std::to_string(i), i + 1, 100 + i, kOk));
  }
  h.push_back(op(20, kGet, "x", "", 200, 201, kOk, "nobody"));
  h.push_back(op(21, kGet, "y", "", 202, 203, kNotFound));
  LinearizabilityOptions small;
  small.max_steps_per_key = 50;
  LinearizabilityResult r = check_linearizability(h, small);
  CHECK(r.verdict == LinearizabilityVerdict::Inconclusive);
  CHECK(r.inconclusive_keys == 1);
  CHECK(r.inconclusive_key_names == std::vector<std::string>{"x"});
  // With the default budget the search finishes and finds the violation.
  LinearizabilityResult full = check_linearizability(h);
  CHECK(full.verdict == LinearizabilityVerdict::NotLinearizable);
  CHECK(full.steps > 50);
}

namespace {

// The definition, by brute force: some order of all known ops and any subset of the unknown
// ones respects real time (an op cannot go before a known op that returned before it was
// invoked) and the sequential model.
bool brute_force_linearizable(const std::vector<KvOperation>& h, std::vector<bool>& used,
                              std::map<std::string, std::string>& store) {
  bool all_known_used = true;
  for (size_t i = 0; i < h.size(); ++i) {
    if (!used[i] && h[i].outcome != KvOutcome::Unknown) all_known_used = false;
  }
  if (all_known_used) return true;
  for (size_t i = 0; i < h.size(); ++i) {
    if (used[i]) continue;
    bool blocked = false;
    for (size_t j = 0; j < h.size(); ++j) {
      if (!used[j] && j != i && h[j].outcome != KvOutcome::Unknown && h[j].complete < h[i].invoke) {
        blocked = true;
      }
    }
    if (blocked) continue;
    const KvOperation& o = h[i];
    auto saved = store;
    auto it = store.find(o.key);
    KvOutcome got = KvOutcome::Ok;
    std::string read;
    if (o.kind == KvOpKind::Put) {
      if (it == store.end())
        store[o.key] = o.value;
      else
        got = KvOutcome::KeyExists;
    } else if (o.kind == KvOpKind::Get) {
      if (it == store.end())
        got = KvOutcome::NotFound;
      else
        read = it->second;
    } else if (it != store.end()) {
      store.erase(it);
    } else {
      got = KvOutcome::NotFound;
    }
    bool fits = o.outcome == KvOutcome::Unknown ||
                (got == o.outcome &&
                 (o.kind != KvOpKind::Get || got != KvOutcome::Ok || read == o.read_value));
    used[i] = true;
    if (fits && brute_force_linearizable(h, used, store)) return true;
    used[i] = false;
    store = saved;
  }
  return false;
}

std::vector<KvOperation> random_small_history(std::mt19937& rng) {
  const char* values[] = {"a", "b", "c"};
  int n = 1 + static_cast<int>(rng() % 7);
  std::vector<KvOperation> h;
  int64_t position = 1;
  for (int i = 0; i < n; ++i) {
    KvOperation o;
    o.client = i + 1;
    o.request_seq = 1;
    o.kind = static_cast<KvOpKind>(rng() % 3);
    o.key = rng() % 4 == 0 ? "y" : "x";
    o.value = values[rng() % 3];
    o.invoke = position;
    position += 1 + static_cast<int64_t>(rng() % 3);
    h.push_back(o);
  }
  for (KvOperation& o : h) {
    switch (rng() % 5) {
      case 0: o.outcome = KvOutcome::Unknown; break;
      case 1:
        o.outcome = o.kind == KvOpKind::Put ? KvOutcome::KeyExists : KvOutcome::NotFound;
        break;
      default: o.outcome = KvOutcome::Ok; break;
    }
    if (o.kind == KvOpKind::Get && o.outcome == KvOutcome::Ok) o.read_value = values[rng() % 3];
    bool never = o.outcome == KvOutcome::Unknown && rng() % 2 == 0;
    o.complete = never ? 0 : o.invoke + 1 + static_cast<int64_t>(rng() % 12);
  }
  // Distinct positions: spread completions onto odd numbers, invocations onto even ones.
  for (KvOperation& o : h) {
    o.invoke *= 2;
    if (o.complete) o.complete = o.complete * 2 + 1;
  }
  return h;
}

}  // namespace

TEST_CASE("linearizability agrees with a brute-force search on random small histories",
          "[linearizability]") {
  std::mt19937 rng(2024);
  int agree_yes = 0;
  int agree_no = 0;
  for (int round = 0; round < 4000; ++round) {
    std::vector<KvOperation> h = random_small_history(rng);
    bool expected = true;
    for (const char* key : {"x", "y"}) {
      std::vector<KvOperation> part;
      for (const KvOperation& o : h) {
        if (o.key == key) part.push_back(o);
      }
      std::vector<bool> used(part.size(), false);
      std::map<std::string, std::string> store;
      if (!brute_force_linearizable(part, used, store)) expected = false;
    }
    LinearizabilityResult r = check_linearizability(h);
    INFO("round " << round);
    REQUIRE(r.verdict != LinearizabilityVerdict::Inconclusive);
    REQUIRE((r.verdict == LinearizabilityVerdict::Linearizable) == expected);
    (expected ? agree_yes : agree_no)++;
  }
  CHECK(agree_yes > 500);
  CHECK(agree_no > 500);
}

TEST_CASE("linearizability: ill-formed histories are rejected", "[linearizability]") {
  CHECK_THROWS_AS(check_linearizability({op(1, kGet, "x", "", 0, 2, kNotFound)}),
                  std::invalid_argument);
  CHECK_THROWS_AS(check_linearizability({op(1, kGet, "x", "", 3, 2, kNotFound)}),
                  std::invalid_argument);
  CHECK_THROWS_AS(check_linearizability({op(1, kGet, "x", "", 3, 0, kNotFound)}),
                  std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Benchmarks (hidden: run with `chktest [.bench]`)

namespace {

// A linearizable history by construction: each op takes effect at a random instant inside its
// interval, on a model register per key. unknown_per_mille of the ops end unknown and stay
// pending forever (half of those took effect).
std::vector<KvOperation> random_history(int ops, int clients, int keys, uint32_t seed,
                                        int unknown_per_mille) {
  std::mt19937 rng(seed);
  std::map<std::string, std::string> store;
  std::vector<KvOperation> h;
  struct Pending {
    int index = -1;
    bool applied = false;
  };
  std::vector<Pending> pending(static_cast<size_t>(clients));
  int64_t clock = 0;
  int started = 0;
  int64_t next_seq = 1;
  while (started < ops || std::any_of(pending.begin(), pending.end(),
                                      [](const Pending& p) { return p.index >= 0; })) {
    auto c = static_cast<size_t>(rng() % static_cast<uint32_t>(clients));
    Pending& p = pending[c];
    ++clock;
    if (p.index < 0) {
      if (started == ops) continue;
      ++started;
      KvOperation o;
      o.client = static_cast<int>(c) + 1;
      o.request_seq = next_seq++;
      o.kind = static_cast<KvOpKind>(rng() % 3);
      o.key = "k" + std::to_string(rng() % static_cast<uint32_t>(keys));
      o.value = "v" + std::to_string(rng() % 1000);
      o.invoke = clock;
      p.index = static_cast<int>(h.size());
      p.applied = false;
      h.push_back(o);
    } else if (!p.applied) {
      KvOperation& o = h[static_cast<size_t>(p.index)];
      bool unknown = static_cast<int>(rng() % 1000) < unknown_per_mille;
      bool takes_effect = !unknown || rng() % 2 == 0;
      if (takes_effect) {
        auto it = store.find(o.key);
        switch (o.kind) {
          case KvOpKind::Put:
            o.outcome = it == store.end() ? KvOutcome::Ok : KvOutcome::KeyExists;
            if (it == store.end()) store[o.key] = o.value;
            break;
          case KvOpKind::Get:
            o.outcome = it == store.end() ? KvOutcome::NotFound : KvOutcome::Ok;
            if (it != store.end()) o.read_value = it->second;
            break;
          case KvOpKind::Delete:
            o.outcome = it == store.end() ? KvOutcome::NotFound : KvOutcome::Ok;
            if (it != store.end()) store.erase(it);
            break;
        }
      }
      if (unknown) o.outcome = KvOutcome::Unknown;
      p.applied = true;
    } else {
      h[static_cast<size_t>(p.index)].complete = clock;
      p.index = -1;
    }
  }
  return h;
}

// A long valid run for throughput: 3 nodes, node 1 leader, one client request after another,
// each replicated to both followers with CommitNotifications (~30 events per request).
std::string synthetic_trace(int requests) {
  TraceBuilder tb(3, 4);
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  tb.replicate(1, 3);
  for (int i = 1; i <= requests; ++i) {
    int client = 1 + i % 4;
    std::string key = "k" + std::to_string(i % 97);
    json cmd = i % 3 == 0   ? put(client, i, key, "v" + std::to_string(i))
               : i % 3 == 1 ? get(client, i, key)
                            : del(client, i, key);
    tb.client_op(1, 2, client, cmd);
    tb.replicate(1, 3);
    if (i % 50 == 0) tb.replicate(1, 2);
  }
  tb.end();
  return tb.text();
}

}  // namespace

TEST_CASE("benchmark: checker throughput on ~1M events", "[.bench]") {
  std::string text = synthetic_trace(28000);
  auto events = std::count(text.begin(), text.end(), '\n') - 1;
  auto t0 = std::chrono::steady_clock::now();
  std::istringstream in(text);
  Report r = check_trace(in, "synthetic");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(format_report(r));
  REQUIRE(r.ok());
  std::printf("checker: %ld events, %.1f MB in %.2f s = %.0f events/s (linearizability %ld ops)\n",
              static_cast<long>(events), static_cast<double>(text.size()) / 1e6, s,
              static_cast<double>(events) / s, static_cast<long>(r.counts["linearizability_ops"]));
  CheckOptions no_lin;
  no_lin.linearizability = false;
  t0 = std::chrono::steady_clock::now();
  std::istringstream in2(text);
  check_trace(in2, "synthetic", no_lin);
  s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("checker without linearizability: %.2f s = %.0f events/s\n", s,
              static_cast<double>(events) / s);
}

TEST_CASE("benchmark: linearizability of a 100k-operation history", "[.bench]") {
  struct Shape {
    int clients;
    int keys;
    int unknown_per_mille;
  };
  for (Shape shape :
       {Shape{8, 100, 5}, Shape{8, 10, 5}, Shape{16, 1, 0}, Shape{8, 10, 50}, Shape{16, 1, 10}}) {
    std::vector<KvOperation> h =
        random_history(100000, shape.clients, shape.keys, 42, shape.unknown_per_mille);
    auto t0 = std::chrono::steady_clock::now();
    LinearizabilityResult r = check_linearizability(h);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(r.verdict != LinearizabilityVerdict::NotLinearizable);
    const char* verdict =
        r.verdict == LinearizabilityVerdict::Linearizable ? "linearizable" : "inconclusive";
    std::printf(
        "linearizability: 100k ops, %d clients, %d keys, %d/1000 unknown: %.3f s, "
        "%ld steps, %s\n",
        shape.clients, shape.keys, shape.unknown_per_mille, s, static_cast<long>(r.steps), verdict);
  }
}

// Figure 2 (candidates): a candidate that receives AppendEntries from the leader of its own term
// returns to follower. Node 3 stands in term 1 and loses; node 1 wins term 1 and its first
// AppendEntries reaches node 3.
static TraceBuilder candidate_hears_leader(bool steps_down) {
  TraceBuilder tb(3, 1);
  tb.start_all();
  tb.lose_election(3);
  tb.elect(1, {2});
  json ae = tb.send(1, {{"type", "AppendEntries"},
                        {"to", 3},
                        {"term", 1},
                        {"prev_log_index", 0},
                        {"prev_log_term", 0},
                        {"entries", json::array()},
                        {"leader_commit", 0}});
  tb.tick();
  tb.deliver(3, ae);
  if (steps_down) {
    tb.node(3).role = "follower";
    tb.node_event(3, "become_follower", {{"leader", 1}});
  }
  tb.tick();
  tb.timeout(2);
  tb.end();
  return tb;
}

TEST_CASE("TermAdoption: a candidate that hears from its term's leader must become follower",
          "[checker][TermAdoption]") {
  Report good = candidate_hears_leader(true).check();
  INFO(format_report(good));
  CHECK(good.ok());
  Report bad = candidate_hears_leader(false).check();
  REQUIRE(violated(bad) == "TermAdoption");
  CHECK_THAT(bad.violation->explanation, Catch::Contains("ended that step as candidate"));
}

// The run follows its config: with leader_noop on, a new leader appends a no-op of its term in
// the step it is elected (the mutant no-leader-noop of tools/mutants.tsv skipped it unseen).
TEST_CASE("WellFormed: a leader elected with leader_noop on appends its no-op",
          "[checker][WellFormed]") {
  for (bool noop : {true, false}) {
    TraceBuilder tb(3, 1);
    tb.start_all();
    tb.elect(1, {2});
    tb.tick();
    tb.timeout(3);
    tb.end();
    if (!noop) {
      // The leader's first append carries a client's put instead of the no-op.
      for (json& e : tb.events) {
        if (e["event"] == "append" && e["node"] == 1) {
          e["entries"][0]["cmd"] = put(1, 1, "x", "a");
          break;
        }
      }
    }
    Report r = tb.check();
    INFO(format_report(r));
    if (noop) {
      CHECK(r.ok());
    } else {
      REQUIRE(violated(r) == "WellFormed");
      CHECK_THAT(r.violation->explanation, Catch::Contains("did not append a no-op"));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The streaming linearizability check (LinearizabilityMonitor) against the whole-history search

namespace {

// Feeds a history to a monitor in trace order, as the checker does; `max_held` gets the most
// operations the monitor held at once.
LinearizabilityResult stream_history(const std::vector<KvOperation>& h, int64_t& max_held) {
  struct Call {
    int64_t position;
    size_t op;
    bool invoke;
  };
  std::vector<Call> calls;
  for (size_t i = 0; i < h.size(); ++i) {
    calls.push_back({h[i].invoke, i, true});
    if (h[i].complete > 0) calls.push_back({h[i].complete, i, false});
  }
  std::sort(calls.begin(), calls.end(),
            [](const Call& a, const Call& b) { return a.position < b.position; });
  LinearizabilityMonitor monitor;
  std::vector<LinearizabilityMonitor::Handle> handles(h.size());
  max_held = 0;
  for (const Call& c : calls) {
    const KvOperation& o = h[c.op];
    if (c.invoke) {
      KvOperation start = o;
      start.complete = 0;
      start.outcome = KvOutcome::Unknown;
      start.read_value.clear();
      start.reply_node = 0;
      handles[c.op] = monitor.invoke(start);
    } else {
      monitor.complete(handles[c.op], o.complete, o.outcome, o.read_value, o.reply_node);
    }
    max_held = std::max(max_held, monitor.held());
  }
  return monitor.finish();
}

// A history with a few of its answers changed, which usually makes it not linearizable
// somewhere in its middle.
std::vector<KvOperation> perturbed(std::vector<KvOperation> h, std::mt19937& rng, int changes) {
  for (int i = 0; i < changes && !h.empty(); ++i) {
    KvOperation& o = h[rng() % h.size()];
    if (o.complete == 0) continue;
    switch (rng() % 3) {
      case 0:
        o.outcome = o.outcome == KvOutcome::Ok ? KvOutcome::NotFound : KvOutcome::Ok;
        if (o.kind == KvOpKind::Put && o.outcome == KvOutcome::NotFound) {
          o.outcome = KvOutcome::KeyExists;
        }
        break;
      case 1:
        if (o.kind == KvOpKind::Get) {
          o.outcome = KvOutcome::Ok;
          o.read_value = "v" + std::to_string(rng() % 1000);
        }
        break;
      default: o.outcome = KvOutcome::Unknown; break;
    }
    if (o.outcome != KvOutcome::Ok) o.read_value.clear();
  }
  return h;
}

void require_same_result(const LinearizabilityResult& whole, const LinearizabilityResult& stream) {
  REQUIRE(stream.verdict == whole.verdict);
  CHECK(stream.operations == whole.operations);
  CHECK(stream.keys == whole.keys);
  CHECK(stream.inconclusive_keys == whole.inconclusive_keys);
  if (whole.verdict != LinearizabilityVerdict::NotLinearizable) return;
  CHECK(stream.key == whole.key);
  CHECK(stream.prefix_length == whole.prefix_length);
  CHECK(stream.prefix_value == whole.prefix_value);
  CHECK(stream.stuck_operation.invoke == whole.stuck_operation.invoke);
  REQUIRE(stream.last_writer_operation.has_value() == whole.last_writer_operation.has_value());
  if (whole.last_writer_operation) {
    CHECK(stream.last_writer_operation->invoke == whole.last_writer_operation->invoke);
  }
  CHECK(stream.explanation == whole.explanation);
}

}  // namespace

TEST_CASE("streaming linearizability gives the whole-history search's verdict and report",
          "[linearizability]") {
  std::mt19937 rng(7);
  int violations = 0;
  int passes = 0;
  int64_t max_held = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<KvOperation> h =
        round % 2 == 0 ? random_small_history(rng)
                       : perturbed(random_history(40 + round % 60, 1 + round % 4, 1 + round % 3,
                                                  static_cast<uint32_t>(round), round % 5 * 40),
                                   rng, round % 4);
    INFO("round " << round);
    LinearizabilityResult whole = check_linearizability(h);
    LinearizabilityResult stream = stream_history(h, max_held);
    require_same_result(whole, stream);
    (whole.verdict == LinearizabilityVerdict::NotLinearizable ? violations : passes)++;
  }
  CHECK(violations > 500);
  CHECK(passes > 500);
}

TEST_CASE("streaming linearizability holds the open operations, not the history",
          "[linearizability]") {
  // 3 clients on 5 keys, no unknown outcomes: keys fall quiet again and again.
  std::vector<KvOperation> h = random_history(20000, 3, 5, 11, 0);
  int64_t max_held = 0;
  LinearizabilityResult stream = stream_history(h, max_held);
  require_same_result(check_linearizability(h), stream);
  CHECK(stream.verdict == LinearizabilityVerdict::Linearizable);
  CHECK(max_held < 100);
  // A lost write late in the history is still found, with the whole-history search's report.
  std::vector<KvOperation> bad = h;
  for (size_t i = bad.size() - 1; i > 0; --i) {
    if (bad[i].kind == KvOpKind::Get && bad[i].outcome == KvOutcome::Ok) {
      bad[i].read_value = "never written";
      break;
    }
  }
  LinearizabilityResult bad_stream = stream_history(bad, max_held);
  CHECK(bad_stream.verdict == LinearizabilityVerdict::NotLinearizable);
  require_same_result(check_linearizability(bad), bad_stream);
}

// ---------------------------------------------------------------------------------------------
// Membership change (thesis §4.1): configuration entries, join and leave, MembershipChange

namespace {

json config_cmd(const std::vector<int>& voters, const std::vector<int>& learners) {
  json c = command("config", 0, 0, "");
  c["voters"] = voters;
  c["learners"] = learners;
  return c;
}

json add_node_fault(int id) {
  return {{"at_ms", 1}, {"action", "add_node"},
          {"node", id}, {"groups", json::array()},
          {"from", 0},  {"to", 0}};
}

// A builder for `num_nodes` bootstrap servers whose header's faults add the servers `added`.
TraceBuilder membership_builder(int num_nodes, const std::vector<int>& added) {
  TraceBuilder tb(num_nodes, 1);
  json faults = json::array();
  for (int id : added) faults.push_back(add_node_fault(id));
  tb.header["config"]["faults"] = faults;
  return tb;
}

// Node n boots (the builder tracks it from here on, and `end` lists it).
void join(TraceBuilder& tb, int n) {
  if (tb.nodes.size() <= static_cast<size_t>(n)) tb.nodes.resize(static_cast<size_t>(n) + 1);
  tb.tick();
  tb.node_event(n, "join");
}

// Inside a new step of `leader` (a change input): it appends the configuration.
void change(TraceBuilder& tb, int leader, const char* action, int target,
            const std::vector<int>& voters, const std::vector<int>& learners) {
  tb.tick();
  tb.node_event(leader, "change", {{"action", action}, {"target", target}});
  tb.leader_append(leader, config_cmd(voters, learners));
  tb.persist(leader);
}

// 3 bootstrap servers: node 1 leads term 1, adds node 4 (a learner), promotes it, removes node 3
// (which leaves), then removes itself and steps down: every change committed before the next.
// Stops (when `until` says so) before the step named.
TraceBuilder membership_run(const std::string& until = "") {
  TraceBuilder tb = membership_builder(3, {4});
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  join(tb, 4);
  change(tb, 1, "add", 4, {1, 2, 3}, {4});  // index 2
  if (until == "add") return tb;
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 2);
  tb.replicate(1, 4);
  // Node 4 caught up: in the same step the leader promotes it (index 3).
  tb.leader_append(1, config_cmd({1, 2, 3, 4}, {}));
  tb.persist(1);
  tb.replicate(1, 2);
  tb.replicate(1, 4);
  tb.commit_and_apply(1, 3);
  if (until == "promote") return tb;
  change(tb, 1, "remove", 3, {1, 2, 4}, {});  // index 4
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 4);
  tb.tick();
  tb.node(3).role = "down";
  tb.node_event(3, "leave");
  if (until == "remove") return tb;
  change(tb, 1, "remove", 1, {2, 4}, {});  // index 5: the leader removes itself
  tb.replicate(1, 2);
  tb.replicate(1, 4);
  tb.commit_and_apply(1, 5);  // {2, 4} hold it: a majority of the new voters, the leader aside
  return tb;
}

TraceBuilder finished(TraceBuilder tb) {
  tb.tick(5);
  tb.end();
  return tb;
}

}  // namespace

TEST_CASE("Membership: add a learner, promote it, remove a voter and the leader itself: pass",
          "[checker][MembershipChange]") {
  TraceBuilder tb = membership_run("self");
  tb.node(1).role = "follower";
  tb.node_event(1, "step_down", {{"heard_from", json::array()}, {"removed", true}});
  tb = finished(tb);
  Report r = tb.check();
  INFO(format_report(r));
  REQUIRE(r.ok());
  CHECK(r.counts["joins"] == 1);
  CHECK(r.counts["leaves"] == 1);
  CHECK(r.counts["committed_entries"] == 5);
  CHECK(format_report(r).find("MembershipChange ok (4 configuration entries, 1 joins, 1 leaves)") !=
        std::string::npos);
  // A run without membership changes keeps its summary as it was.
  CHECK(format_report(normal_run().check()).find("MembershipChange") == std::string::npos);
}

TEST_CASE("Membership: a node id above num_nodes that no add_node fault names is malformed",
          "[checker][format]") {
  TraceBuilder tb = membership_run("add");
  tb.header["config"]["faults"] = json::array();
  tb = finished(tb);
  std::istringstream in(tb.text());
  CHECK_THROWS_AS(check_trace(in, "test"), TraceFormatError);
}

TEST_CASE("WellFormed: a membership event that disagrees with the node's log",
          "[checker][WellFormed][MembershipChange]") {
  TraceBuilder tb = membership_run("add");
  // Node 1's log sets voters {1, 2, 3} and learner 4; it reports 4 as a voter.
  tb.find(is_event("membership"))["voters"] = {1, 2, 3, 4};
  tb.find(is_event("membership"))["learners"] = json::array();
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "WellFormed");
  CHECK_THAT(r.violation->explanation, Catch::Contains("the one in effect by its log"));
}

TEST_CASE("MembershipChange: a leader's configuration entry that changes two servers",
          "[checker][MembershipChange]") {
  TraceBuilder tb = membership_builder(3, {4});
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  join(tb, 4);
  change(tb, 1, "add", 4, {1, 2}, {4});  // adds 4 and removes 3 at once
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "MembershipChange");
  CHECK_THAT(r.violation->explanation, Catch::Contains("one server at a time"));
}

TEST_CASE("MembershipChange: a second change before the first is committed",
          "[checker][MembershipChange]") {
  TraceBuilder tb = membership_run("add");  // index 2 (add 4) is not committed yet
  change(tb, 1, "remove", 3, {1, 2}, {4});
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "MembershipChange");
  CHECK_THAT(r.violation->explanation, Catch::Contains("is not committed"));
}

TEST_CASE("MembershipChange: a node that is not a voter stands for election",
          "[checker][MembershipChange]") {
  TraceBuilder tb = membership_run("add");
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 2);
  tb.replicate(1, 4);  // node 4, a learner, holds its configuration
  SECTION("candidate") { tb.lose_election(4); }
  SECTION("pre-candidate") {
    tb.tick();
    tb.timeout(4);
    tb.node_event(4, "become_precandidate");
  }
  SECTION("a joined node with the bootstrap configuration") {
    tb.header["config"]["faults"].push_back(add_node_fault(5));
    join(tb, 5);
    tb.lose_election(5);
  }
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "MembershipChange");
  CHECK_THAT(r.violation->explanation, Catch::Contains("not a voter of its configuration"));
}

TEST_CASE("MembershipChange: a removed leader whose removal is committed keeps leading",
          "[checker][MembershipChange]") {
  TraceBuilder tb = membership_run("self");
  SECTION("the step ends with it leader") {
    tb.tick();
    tb.timeout(1, "heartbeat");  // the next step: the removal's commit step ended without it
  }
  SECTION("the trace ends with it leader") {}
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "MembershipChange");
  CHECK_THAT(r.violation->explanation, Catch::Contains("steps down once that configuration"));
}

TEST_CASE("MembershipChange: a step_down for a removal that is not committed",
          "[checker][MembershipChange]") {
  TraceBuilder tb = membership_run("remove");
  change(tb, 1, "remove", 1, {2, 4}, {});  // not committed yet
  tb.node(1).role = "follower";
  tb.node_event(1, "step_down", {{"heard_from", json::array()}, {"removed", true}});
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "MembershipChange");
  CHECK_THAT(r.violation->explanation, Catch::Contains("is not committed at it"));
}

TEST_CASE("ElectionSafety: votes of a majority of num_nodes but not of the configuration",
          "[checker][ElectionSafety][MembershipChange]") {
  TraceBuilder tb = membership_builder(3, {4});
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  change(tb, 1, "remove", 3, {1, 2}, {});  // index 2
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 2);
  // Node 2 (configuration {1, 2}) wins the votes of 2 and 3: 2 of the 3 servers, but node 3 is
  // no voter, so 1 of the 2 voters.
  tb.elect(2, {3});
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "ElectionSafety");
  CHECK_THAT(r.violation->explanation, Catch::Contains("not a majority of the 2 voters"));
}

TEST_CASE("Replication: a commit held by a majority of num_nodes but not of the configuration",
          "[checker][Replication][MembershipChange]") {
  TraceBuilder tb = membership_run("remove");  // voters {1, 2, 4}; node 3 left
  tb.tick();
  tb.invoke(1, put(1, 1, "x", "a"), 1);
  tb.request(1, 1, put(1, 1, "x", "a"));  // index 5, only on node 1
  // Node 3 would make 2 of the 3 bootstrap servers, but it is no voter: 1 of {1, 2, 4}.
  tb.commit_and_apply(1, 5);
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "Replication");
  CHECK_THAT(r.violation->explanation, Catch::Contains("voters"));
}

TEST_CASE("ElectionSafety: the single-server-change bug of 2015 (change_before_term_commit)",
          "[checker][ElectionSafety][MembershipChange]") {
  // 4 bootstrap voters. Leader 1 (term 1) adds node 5 and promotes it; the promotion reaches only
  // node 5. Leader 2 (term 2) removes node 4 before committing an entry of its term and commits
  // that with nodes 2 and 3. In term 3 node 2 is elected by {2, 3} (a majority of {1, 2, 3}) and
  // node 1 by {1, 4, 5} (a majority of {1, 2, 3, 4, 5}): two leaders in one term.
  TraceBuilder tb = membership_builder(4, {5});
  tb.header["planted_bugs"] = {"change_before_term_commit"};
  tb.start_all();
  tb.elect(1, {2, 3});
  tb.replicate(1, 2);
  tb.replicate(1, 3);
  tb.commit_and_apply(1, 1);
  tb.replicate(1, 4);
  join(tb, 5);
  change(tb, 1, "add", 5, {1, 2, 3, 4}, {5});  // index 2
  tb.replicate(1, 2);
  tb.replicate(1, 3);
  tb.commit_and_apply(1, 2);
  tb.replicate(1, 2);  // node 2 learns commit 2
  tb.replicate(1, 5);
  tb.leader_append(1, config_cmd({1, 2, 3, 4, 5}, {}));  // index 3: promote 5
  tb.persist(1);
  tb.replicate(1, 5);                          // only node 5 gets it
  tb.elect(2, {3, 4});                         // term 2, no-op at index 3
  change(tb, 2, "remove", 4, {1, 2, 3}, {5});  // index 4, at once
  tb.replicate(2, 3);
  tb.commit_and_apply(2, 4);  // {2, 3}: a majority of {1, 2, 3}
  tb.elect(2, {3});           // term 3
  tb.lose_election(1);        // node 1 to term 2
  tb.elect(1, {4, 5});        // term 3
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "ElectionSafety");
  CHECK(r.violation->nodes == std::vector<int>{1, 2});
}

TEST_CASE("WellFormed: join and leave as the membership faults allow them",
          "[checker][WellFormed][MembershipChange]") {
  std::string expect;
  TraceBuilder tb = membership_run("remove");  // node 3 left after its removal committed
  SECTION("a node that left restarts") {
    tb.tick();
    tb.node(3).role = "follower";
    tb.node_event(3, "restart");
    expect = "left the cluster";
  }
  SECTION("a node joins twice") {
    tb.tick();
    tb.node_event(4, "join");
    expect = "joined before";
  }
  SECTION("a bootstrap server joins") {
    tb.tick();
    tb.node_event(2, "join");
    expect = "bootstrap server";
  }
  SECTION("a node leaves while the committed configuration still has it") {
    tb.tick();
    tb.node(2).role = "down";
    tb.node_event(2, "leave");
    expect = "still has it";
  }
  tb = finished(tb);
  Report r = tb.check();
  REQUIRE(violated(r) == "WellFormed");
  CHECK_THAT(r.violation->explanation, Catch::Contains(expect));
}

TEST_CASE("WellFormed: a configuration entry lost in a crash no longer holds after the restart",
          "[checker][WellFormed][MembershipChange]") {
  TraceBuilder tb = membership_builder(3, {4});
  tb.start_all();
  tb.elect(1, {2});
  tb.replicate(1, 2);
  tb.commit_and_apply(1, 1);
  join(tb, 4);
  tb.tick();
  tb.node_event(1, "change", {{"action", "add"}, {"target", 4}});
  tb.leader_append(1, config_cmd({1, 2, 3}, {4}));  // index 2, in effect, never persisted
  tb.tick();
  tb.crash(1);
  tb.node(1).log.pop_back();  // a restart brings back what was persisted
  tb.tick();
  tb.restart(1);
  json& m = tb.node_event(1, "membership",
                          {{"index", 0}, {"voters", {1, 2, 3}}, {"learners", json::array()}});
  SECTION("the bootstrap configuration again: right") {}
  SECTION("the lost configuration: wrong") {
    m["index"] = 2;
    m["learners"] = {4};
  }
  bool wrong = m["index"] == 2;
  tb = finished(tb);
  Report r = tb.check();
  INFO(format_report(r));
  if (wrong) {
    REQUIRE(violated(r) == "WellFormed");
    CHECK_THAT(r.violation->explanation, Catch::Contains("the bootstrap configuration"));
  } else {
    REQUIRE(r.ok());
  }
}

TEST_CASE("WellFormed: an installed snapshot brings the configuration through its index",
          "[checker][WellFormed][MembershipChange]") {
  TraceBuilder tb = membership_run("promote");  // voters {1, 2, 3, 4} from index 3, committed
  std::string digest = store_digest({});
  tb.node_event(
      1, "snapshot",
      {{"index", 3}, {"term", 1}, {"store_digest", digest}, {"store_size", 0}, {"bytes", 40}});
  json msg = tb.send(1, {{"type", "InstallSnapshot"},
                         {"to", 3},
                         {"term", 1},
                         {"last_included_index", 3},
                         {"last_included_term", 1},
                         {"offset", 0},
                         {"data", "store 0\nsessions 0\ncounts 3 0 0\nconfig 3 4 0 1 2 3 4\n"},
                         {"done", true}});
  tb.tick();
  tb.deliver(3, msg);
  tb.term_update(3, 1);
  SimNode& s = tb.node(3);
  s.log.assign(tb.node(1).log.begin(), tb.node(1).log.begin() + 3);
  s.commit = s.applied = 3;
  tb.node_event(
      3, "install_snapshot",
      {{"index", 3}, {"term", 1}, {"store_digest", digest}, {"store_size", 0}, {"kept", 0}});
  json& m = tb.node_event(3, "membership",
                          {{"index", 3}, {"voters", {1, 2, 3, 4}}, {"learners", json::array()}});
  SECTION("the snapshot's configuration: right") {}
  SECTION("the bootstrap configuration: wrong") {
    m["index"] = 0;
    m["voters"] = {1, 2, 3};
  }
  bool wrong = m["index"] == 0;
  tb = finished(tb);
  Report r = tb.check();
  INFO(format_report(r));
  if (wrong) {
    REQUIRE(violated(r) == "WellFormed");
    CHECK_THAT(r.violation->explanation, Catch::Contains("the configuration entry at index 3"));
  } else {
    REQUIRE(r.ok());
  }
}
