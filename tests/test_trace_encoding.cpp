// The two ways the runtime writes a trace line -- through json objects
// (trace/codec.h, when a sink wants parsed events) and straight from typed
// values (trace/line_encoder.h, when every sink takes lines) -- must give
// the same bytes, or a narrated run and a quiet one would write different
// traces of the same run.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>

#include "support.h"
#include "trace/codec.h"
#include "trace/event_table.h"
#include "trace/json_writer.h"
#include "trace/line_encoder.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

class LineSink : public TraceSink {
 public:
  bool lines_only() const override { return true; }
  void write(const json& event) override {
    std::string line;
    append_json(event, line);
    write_line(line);
  }
  void write_line(const std::string& line) override { text += line + "\n"; }
  std::string text;
};

// A sink that lends its text as the buffer the runtime appends lines to
// (TraceSink::line_buffer), as FileSink does: the bytes must be the same.
class LendingSink : public LineSink {
 public:
  // Lines handed over (the rare ones, built as json) go to the same buffer.
  void write_line(const std::string& line) override {
    lent.append(line);
    lent.push_back('\n');
  }
  LineBuffer* line_buffer() override { return &lent; }
  bool line_appended(size_t bytes) override {
    lent.push_back('\n');
    appended += bytes + 1;
    return takes_deferred();
  }
  std::string all() const { return lent.str(); }
  LineBuffer lent;
  size_t appended = 0;
};

// A lending sink that also takes deferred lines (trace/line_encoder.h), as
// FileSink does; its text is expanded at the end, as FileSink's writer thread
// expands each block.
class DeferringSink : public LendingSink {
 public:
  bool takes_deferred() const override { return true; }
};

std::string json_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  std::string text;
  for (const json& e : sink.raw) {
    append_json(e, text);
    text += '\n';
  }
  return text;
}

std::string line_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  LineSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  return sink.text;
}

std::string lending_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  LendingSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  CHECK(sink.appended > sink.all().size() / 2);  // most lines went straight into its buffer
  return sink.all();
}

std::string deferred_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  DeferringSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  // Records were made (delivers at least), and expanding them is the text.
  std::string raw = sink.all();
  CHECK(std::count(raw.begin(), raw.end(), kDeferredMark) > 10);
  std::string text;
  expand_deferred(raw, text);
  CHECK(text.find(kDeferredMark) == std::string::npos);
  return text;
}

}  // namespace

namespace {
// A configuration entry's command (thesis §4.1).
Command config_command(std::vector<int> voters, std::vector<int> learners) {
  Command c;
  c.op = Op::Config;
  c.conf = Membership{std::move(voters), std::move(learners)};
  return c;
}
}  // namespace

TEST_CASE("The fast line encoder writes the bytes the json path writes", "[trace]") {
  std::map<std::string, int> kinds;
  int runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (int variant = 0; variant < 3; ++variant) {
      Config cfg = test_config(variant == 2 ? 1 : 3 + variant * 2, 2, 5, seed);
      // [raft] pre_vote's messages and events go through both paths too.
      if (variant == 0 && seed % 2 == 0) cfg.raft.pre_vote = true;
      // [raft] check_quorum's quorum checks and step_downs too: both
      // followers of the 3-node cluster are down from 100 to 600 ms.
      if (variant == 0 && seed % 2 == 1) {
        cfg.raft.check_quorum = true;
        cfg.raft.read_mode = ReadMode::ReadIndex;
        cfg.faults = quorum_loss_faults(100, 600);
        // Leadership transfers (thesis §3.10): to followers that are up (TimeoutNow, the
        // transfer's RequestVotes) and, at 102 ms, to crashed ones (given up: transfer_abort).
        for (auto [at, to] : {std::pair{50, 2}, {70, 3}, {102, 2}, {103, 3}}) {
          FaultConfig transfer;
          transfer.at_ms = at;
          transfer.action = FaultAction::TransferLeader;
          transfer.to = to;
          cfg.faults.push_back(transfer);
        }
        std::stable_sort(
            cfg.faults.begin(), cfg.faults.end(),
            [](const FaultConfig& a, const FaultConfig& b) { return a.at_ms < b.at_ms; });
      }
      if (variant == 1) {
        cfg.network.loss = 0.15;
        cfg.network.duplicate = 0.2;
        cfg.nemesis.enabled = true;
        cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
        cfg.nemesis.mean_interval_ms = 60;
        cfg.timing.client_timeout_ms = 60;
        // The events only a schedule makes: a network change (to the same
        // settings, so the run stays the one this test was written for), and
        // a crash of the leader at 0 ms, before any node has won: skipped.
        FaultConfig network;
        network.at_ms = 30;
        network.action = FaultAction::Network;
        network.duplicate = 0.2;
        FaultConfig no_leader;
        no_leader.action = FaultAction::Crash;
        no_leader.target = FaultTarget::Leader;
        cfg.faults = {network, no_leader};
        // Log compaction (Raft §7): crashed nodes come back behind a leader
        // that has compacted, so snapshots are installed, in chunks for seed 4.
        if (seed >= 4) {
          cfg.raft.snapshot_every = 4;
          cfg.raft.snapshot_chunk_bytes = seed == 4 ? 16 : 0;
        }
        // Membership change (thesis §4.1): join, change, membership,
        // reject_change (the second add waits) and leave, through both paths.
        if (seed == 3) {
          for (auto [at, action, node] : {std::tuple{5, FaultAction::AddNode, 6},
                                          {5, FaultAction::AddNode, 7},
                                          {120, FaultAction::RemoveNode, 1}}) {
            FaultConfig f;
            f.at_ms = at;
            f.action = action;
            f.node = node;
            cfg.faults.push_back(f);
          }
        }
      }
      cfg.keys = 3;  // get, put and delete meet existing and missing keys
      std::string slow = json_path_text(cfg), fast = line_path_text(cfg);
      INFO("seed " << seed << " variant " << variant);
      REQUIRE(fast == slow);
      REQUIRE(lending_path_text(cfg) == slow);
      REQUIRE(deferred_path_text(cfg) == slow);
      for (const std::string& line : lines_of(fast)) kinds[json::parse(line)["event"]]++;
      ++runs;
    }
  }
  // An inject is written only by scenarios (a hand-made message): both
  // encoders still write it byte for byte alike.
  Message m;
  m.id = 9;
  m.type = MsgType::AppendEntries;
  m.from = 2;
  m.to = 3;
  m.term = 4;
  m.entries = {Entry{4, Command{Op::Put, "k", "v", 1, 2}}};
  json slow_inject = to_json(RuntimeEvent{rt::Inject{&m}});
  slow_inject["seq"] = 5;
  slow_inject["t"] = 6;
  std::string fast_inject;
  append_runtime_event(fast_inject, RuntimeEvent{rt::Inject{&m}}, 5, 6);
  CHECK(fast_inject == slow_inject.dump());
  kinds[json::parse(fast_inject)["event"]]++;
  // The snapshot events and messages (Raft §7), typed, through both
  // encoders: the runs above write them only once the nodes compact. `data`
  // holds what JSON must escape (a newline, a quote, a backslash) and a
  // multi-byte UTF-8 character, which the fast encoder hands to nlohmann.
  NodeState st{5, 1, Role::Follower, 12, 12, 14, 5};
  for (const NodeEventBody& body :
       {NodeEventBody{ev::Snapshot{12, 4, "cbf29ce484222325", 3, 57}},
        NodeEventBody{ev::InstallSnapshot{12, 4, "0123456789abcdef", 2, 0}},
        NodeEventBody{ev::InstallSnapshot{12, 4, "0123456789abcdef", 2, 3}},
        // Membership change (thesis §4.1), also only in runs that change it.
        NodeEventBody{ev::Membership{7, {1, 2, 4}, {6}}}, NodeEventBody{ev::Membership{0, {1}, {}}},
        NodeEventBody{ev::RejectChange{ChangeAction::Remove, 3, "change_pending"}},
        NodeEventBody{ev::StepDown{{}, true}},
        NodeEventBody{ev::Append{9, {Entry{2, config_command({1, 2}, {3})}}}}}) {
    StateCache cache;
    NodeEvent e{body, st};
    std::string fast_line;
    append_node_event(fast_line, cache, e, 2, 7, 8);
    json slow_line = to_json(e, 2);
    slow_line["seq"] = 7;
    slow_line["t"] = 8;
    CHECK(fast_line == slow_line.dump());
    kinds[json::parse(fast_line)["event"]]++;
  }
  Message snap;
  snap.id = 11, snap.type = MsgType::InstallSnapshot, snap.from = 1, snap.to = 3, snap.term = 5;
  snap.snap_index = 12, snap.snap_term = 4, snap.offset = 32, snap.done = false;
  snap.data = "2 k\"\n3 v\\\xc3\xa9 \xe2\x82\xac";
  Message snap_reply;
  snap_reply.id = 12, snap_reply.type = MsgType::InstallSnapshotResponse, snap_reply.from = 3;
  snap_reply.to = 1, snap_reply.term = 5, snap_reply.snap_index = 12, snap_reply.offset = 48;
  for (const Message* msg : {&snap, &snap_reply}) {
    StateCache cache;
    std::string fast_send;
    append_node_input(fast_send, cache, "send", 1, st, true, msg, nullptr, 9, 10);
    json slow_send{{"event", "send"},      {"node", 1}, {"state", to_json(st)},
                   {"msg", to_json(*msg)}, {"seq", 9},  {"t", 10}};
    CHECK(fast_send == slow_send.dump());
    CHECK_NOTHROW(trace::validate_event(json::parse(fast_send)));  // the schema's tables agree
    std::string fast_drop;
    append_runtime_event(fast_drop, RuntimeEvent{rt::Drop{msg, "loss"}}, 9, 10);
    json slow_drop = to_json(RuntimeEvent{rt::Drop{msg, "loss"}});
    slow_drop["seq"] = 9;
    slow_drop["t"] = 10;
    CHECK(fast_drop == slow_drop.dump());
  }
  // Every event kind of the schema went through both paths.
  for (const trace::EventSpec& e : trace::event_table()) {
    INFO(e.name);
    CHECK(kinds[e.name] > 0);
  }
  CHECK(runs == 18);
}

// Typed -> line -> typed: every effect event kind and every message type,
// written by the fast encoder and read back by the decoder, is the value the
// node reported, so no field is lost or renamed on the way through a trace.
TEST_CASE("Every effect event and message round-trips through a trace line", "[trace]") {
  Command put{Op::Put, "k", "v\"1", 2, 7};
  Entry entry{3, put};
  Entry noop{3, Command{}};
  NodeState state{4, 2, Role::Leader, 9, 8, 10, 3};
  std::vector<NodeEventBody> bodies = {
      ev::TermUpdate{3},
      ev::BecomeCandidate{},
      ev::BecomeLeader{{1, 2, 5}},
      ev::BecomeFollower{2},
      ev::StepDown{{1, 3}},
      ev::TransferAbort{2},
      ev::Vote{3, false, "log_not_up_to_date"},
      ev::Truncate{5, 2},
      ev::Append{9, {entry, noop}},
      ev::Progress{3, 11, 10, false},
      ev::Progress{2, 4, 0, true},
      ev::Commit{7},
      ev::Apply{8, entry, Result{Status::KeyExists, ""}},
      ev::Persist{4, 2, 10},
      ev::Read{2, 7, "k\"", 9, Result{Status::Ok, "v"}, std::nullopt},
      ev::Read{2, 8, "k", 9, Result{Status::NotFound, ""}, true},  // read_mode = "lease"
      ev::RejectClient{1, 6, 3},
      ev::Snapshot{8, 3, "cbf29ce484222325", 4, 212},
      ev::InstallSnapshot{8, 3, "ade23bdc0cb4c78c", 4, 2},
      ev::Membership{12, {1, 3, 6}, {7}},
      ev::RejectChange{ChangeAction::Add, 6, "term_not_committed"},
      ev::StepDown{{}, true},
      ev::Append{11, {Entry{4, config_command({2, 3}, {})}, noop}},
  };
  REQUIRE(bodies.size() == std::variant_size_v<NodeEventBody> + 4);
  int64_t seq = 1;
  for (const NodeEventBody& body : bodies) {
    NodeEvent event{body, state};
    StateCache states;  // a node's first line: it carries its state
    std::string line;
    append_node_event(line, states, event, 3, seq++, 40);
    INFO(line);
    int node = 0;
    NodeEvent back = node_event_from_json(json::parse(line), &node);
    CHECK(node == 3);
    CHECK(back == event);
    // The json path gives the same typed value.
    CHECK(node_event_from_json(to_json(event, 3), &node) == event);
  }

  std::vector<Message> msgs(12);
  for (size_t k = 0; k < msgs.size(); ++k) msgs[k].id = static_cast<int64_t>(k) + 1;
  msgs[0].type = MsgType::RequestVote;
  msgs[0].from = 1, msgs[0].to = 2, msgs[0].term = 4;
  msgs[0].last_log_index = 9, msgs[0].last_log_term = 3;
  msgs[1].type = MsgType::RequestVoteResponse;
  msgs[1].from = 2, msgs[1].to = 1, msgs[1].term = 4, msgs[1].reason = "already_voted";
  msgs[2].type = MsgType::AppendEntries;
  msgs[2].from = 1, msgs[2].to = 3, msgs[2].term = 4, msgs[2].prev_log_index = 8;
  msgs[2].prev_log_term = 3, msgs[2].entries = {entry, noop}, msgs[2].leader_commit = 7;
  msgs[3].type = MsgType::AppendEntriesResponse;
  msgs[3].from = 3, msgs[3].to = 1, msgs[3].term = 4, msgs[3].reason = "log_mismatch";
  msgs[3].prev_log_index = 8, msgs[3].conflict_index = 6, msgs[3].conflict_term = 2;
  msgs[4].type = MsgType::CommitNotification;
  msgs[4].from = 1, msgs[4].to = 4, msgs[4].term = 4, msgs[4].leader_commit = 9;
  msgs[5].type = MsgType::ClientRequest;
  msgs[5].to = 1, msgs[5].client = 2, msgs[5].cmd = put;
  msgs[6].type = MsgType::ClientReply;
  msgs[6].from = 1, msgs[6].client = 2, msgs[6].seq = 7, msgs[6].leader_hint = 1;
  msgs[6].result = Result{Status::Ok, "v"};
  // A leadership transfer's RequestVote (`transfer` written only when true) and TimeoutNow.
  msgs[7] = msgs[0];
  msgs[7].transfer = true;
  msgs[8].type = MsgType::TimeoutNow;
  msgs[8].from = 1, msgs[8].to = 3, msgs[8].term = 4;
  // Raft §7: a snapshot chunk whose data JSON must escape (newline, quote,
  // backslash) and that holds a multi-byte UTF-8 character, and the reply.
  msgs[9].type = MsgType::InstallSnapshot;
  msgs[9].from = 1, msgs[9].to = 3, msgs[9].term = 4, msgs[9].snap_index = 8;
  msgs[9].snap_term = 3, msgs[9].offset = 16, msgs[9].done = true;
  msgs[9].data = "1 \"\n2 \\\xc3\xa9\nsessions 0\n";
  msgs[10].type = MsgType::InstallSnapshotResponse;
  msgs[10].from = 3, msgs[10].to = 1, msgs[10].term = 4, msgs[10].snap_index = 8;
  msgs[10].offset = 0, msgs[10].done = true;
  msgs[11] = msgs[10];
  msgs[11].offset = 16, msgs[11].done = false;
  for (const Message& m : msgs) {
    std::string line;
    append_message(line, m);
    INFO(line);
    CHECK(message_from_json(json::parse(line)) == m);
    // The fast encoder writes what nlohmann writes, escapes included.
    CHECK(line == to_json(m).dump());
    CHECK(message_from_json(to_json(m)) == m);
  }
  // The escapes themselves: the line holds the JSON escapes and the UTF-8
  // bytes as they are (nlohmann's default), and no raw newline.
  std::string snap_line;
  append_message(snap_line, msgs[9]);
  CHECK(snap_line.find(R"("data":"1 \"\n2 \\)"
                       "\xc3\xa9"
                       R"(\nsessions 0\n")") != std::string::npos);
  CHECK(snap_line.find('\n') == std::string::npos);

  // The state of a crashed node reads back as down, with its other fields
  // (the trace does not keep the role it had).
  bool up = true;
  NodeState down = state;
  down.role = Role::Follower;
  CHECK(node_state_from_json(to_json(state, false), &up) == down);
  CHECK_FALSE(up);

  // A field of the wrong type is named.
  json bad = to_json(NodeEvent{ev::Vote{3, true, ""}, state}, 3);
  bad["granted"] = "yes";
  int node = 0;
  CHECK_THROWS_WITH(node_event_from_json(bad, &node), Catch::Contains("granted"));
}

// Schema version 4: a node line carries of its `state` exactly the fields that
// differ from the state its node's previous line carried or implied (all of
// them on the node's first line, none and no `state` when nothing changed),
// and the reader puts the others back, so a consumer sees the lines the
// runtime knew.
TEST_CASE("A node line carries its state only when it changed, and the reader restores it",
          "[trace]") {
  Config cfg = test_config(3, 2, 5, 4);
  cfg.network.loss = 0.15;
  cfg.nemesis.enabled = true;
  cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition};
  cfg.nemesis.mean_interval_ms = 60;
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  REQUIRE(sink.raw.size() == sink.events.size());

  // The rule, written here from the schema: each field of a node's state keeps the value its
  // node's last line that wrote it gave. A line writes only fields whose value changes, and
  // every line's whole state is the one the reader hands on (sink.events, TraceFraming).
  std::map<int64_t, json> merged;
  std::vector<json> expected;  // every line whole, by the rule
  int64_t omitted = 0, partial = 0, whole = 0, downs = 0;
  for (size_t i = 0; i < sink.raw.size(); ++i) {
    const json& raw = sink.raw[i];
    INFO("line " << i + 2 << ": " << raw.dump());
    expected.push_back(raw);
    if (!raw.contains("node") || raw["event"] == "end") continue;
    int64_t node = raw["node"].get<int64_t>();
    auto prev = merged.find(node);
    if (!raw.contains("state")) {
      REQUIRE(prev != merged.end());  // a node's first line has a state
      ++omitted;
    } else if (prev == merged.end()) {
      CHECK(raw["state"].size() == 7);  // a node's first state is whole
      merged[node] = raw["state"];
      ++whole;
    } else {
      const json& st = raw["state"];
      CHECK_FALSE(st.empty());
      for (const auto& [field, value] : st.items()) {
        CHECK(prev->second.contains(field));
        CHECK(prev->second[field] != value);  // only the fields that changed
      }
      (st.size() == 7 ? whole : partial)++;
      if (st.value("role", "") == "down") ++downs;
      prev->second.update(st);
    }
    expected.back()["state"] = merged[node];
    CHECK(sink.events[i] == expected.back());
  }
  CHECK(omitted > partial + whole);  // most lines repeat their node's state
  CHECK(partial > whole);            // and a changed one changes in few fields
  CHECK(downs > 0);                  // a crash shows, though the volatile fields did not change
  // The runtime's own last states (the end event writes them whole) are the lines' last ones.
  const json& end = sink.raw.back();
  REQUIRE(end["event"] == "end");
  for (const json& n : end["nodes"]) CHECK(merged[n["node"].get<int64_t>()] == n["state"]);

  // The one reader gives every consumer the lines whole.
  std::string text = cluster.header().dump() + "\n";
  for (const json& e : sink.raw) text += e.dump() + "\n";
  std::istringstream in(text);
  LineReader r(in, "v4.jsonl");
  json header;
  read_trace_header(r, header);
  CHECK(header["version"] == 4);
  TraceFraming framing;
  size_t k = 0;
  for (json ev; r.next(ev); ++k) {
    framing.read(r, ev);
    REQUIRE(k < expected.size());
    INFO("line " << k + 2);
    CHECK(ev == expected[k]);
  }
  CHECK(k == expected.size());
}

TEST_CASE("The line encoder leaves out a state equal to the node's previous one", "[trace]") {
  StateCache states;
  NodeState s{4, 2, Role::Leader, 9, 8, 10, 3};
  std::string line;
  append_node_input(line, states, "timeout", 1, s, true, nullptr, "heartbeat", 1, 5);
  CHECK(line.find("\"state\":") != std::string::npos);  // the node's first line
  line.clear();
  append_node_input(line, states, "timeout", 1, s, true, nullptr, "heartbeat", 2, 6);
  CHECK(line == R"({"event":"timeout","node":1,"seq":2,"t":6,"timer":"heartbeat"})");
  line.clear();
  append_node_input(line, states, "start", 2, s, true, nullptr, nullptr, 3, 6);
  CHECK(line.find("\"state\":") != std::string::npos);  // another node's first line
  line.clear();
  append_node_input(line, states, "crash", 1, s, false, nullptr, nullptr, 4, 7);
  CHECK(line.find("\"role\":\"down\"") != std::string::npos);  // down counts as a change
  line.clear();
  s.commit = 10;
  append_node_event(line, states, NodeEvent{ev::Commit{9}, s}, 2, 5, 7);
  // Only the field that changed (schema version 4).
  CHECK(line ==
        R"({"event":"commit","node":2,"old_commit":9,"seq":5,"state":{"commit":10},"t":7})");
  line.clear();
  append_node_input(line, states, "restart", 1, s, true, nullptr, nullptr, 6, 8);
  // Node 1 was last seen down with commit 9: role and commit.
  CHECK(line ==
        R"({"event":"restart","node":1,"seq":6,"state":{"commit":10,"role":"leader"},"t":8})");
}

#include "trace/fast_reader.h"

// The checker's reader parses the writer's encoding itself and hands any line
// with a JSON escape to the nlohmann path (trace/fast_reader.h): a snapshot
// chunk, whose data holds newlines, quotes and UTF-8, must come out of it as
// the bytes the leader sent.
TEST_CASE("The fast reader reads an InstallSnapshot's data back byte for byte", "[trace]") {
  NodeState st{1, 1, Role::Leader, 2, 2, 2, 1};
  Message m;
  m.id = 1, m.type = MsgType::InstallSnapshot, m.from = 1, m.to = 2, m.term = 1;
  m.snap_index = 2, m.snap_term = 1, m.done = true;
  m.data = "store 1\n1 \" 3 \\\xc3\xa9\nsessions 0\n";
  Message plain = m;  // no escapes: the fast parser's own path
  plain.id = 2, plain.data = "store 0 sessions 0 ";
  std::string text = json{{"format", "raftkv-trace"},
                          {"version", 3},
                          {"seed", 0},
                          {"planted_bugs", json::array()},
                          {"config", {{"num_nodes", 2}, {"num_clients", 0}}}}
                         .dump() +
                     "\n";
  StateCache states;
  append_node_input(text, states, "send", 1, st, true, &m, nullptr, 1, 0);
  text += "\n";
  append_node_input(text, states, "send", 1, st, true, &plain, nullptr, 2, 0);
  text += "\n";
  text += json{{"event", "end"},
               {"seq", 3},
               {"t", 0},
               {"nodes",
                {{{"node", 1},
                  {"state", to_json(st)},
                  {"store_digest", "cbf29ce484222325"},
                  {"store_size", 0}}}}}
              .dump() +
          "\n";
  std::istringstream in(text);
  FastTraceReader reader(in, "snap.jsonl");
  json header;
  reader.read_header(header);
  for (const Message* sent : {&m, &plain}) {
    LineValue line, msg, data, done;
    REQUIRE(reader.next(line));
    REQUIRE(line.find("msg", msg));
    REQUIRE(msg.find("data", data));
    CHECK(data.str() == sent->data);
    REQUIRE(msg.find("done", done));
    CHECK(done.boolean());
  }
  LineValue end;
  CHECK(reader.next(end));
  CHECK_FALSE(reader.next(end));
  reader.finish();
}
