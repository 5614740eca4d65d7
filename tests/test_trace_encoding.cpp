// The two ways the runtime writes a trace line -- through json objects
// (trace/codec.h, when a sink wants parsed events) and straight from typed
// values (trace/line_encoder.h, when every sink takes lines) -- must give
// the same bytes, or a narrated run and a quiet one would write different
// traces of the same run.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "support.h"
#include "trace/event_table.h"
#include "trace/json_writer.h"

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

std::string json_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  std::string text;
  for (const json& e : sink.events) {
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

}  // namespace

TEST_CASE("The fast line encoder writes the bytes the json path writes", "[trace]") {
  std::map<std::string, int> kinds;
  int runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (int variant = 0; variant < 3; ++variant) {
      Config cfg = test_config(variant == 2 ? 1 : 3 + variant * 2, 2, 5, seed);
      if (variant == 1) {
        cfg.network.loss = 0.15;
        cfg.network.duplicate = 0.2;
        cfg.nemesis.enabled = true;
        cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
        cfg.nemesis.mean_interval_ms = 60;
        cfg.timing.client_timeout_ms = 60;
      }
      cfg.keys = 3;  // get, put and delete meet existing and missing keys
      std::string slow = json_path_text(cfg), fast = line_path_text(cfg);
      INFO("seed " << seed << " variant " << variant);
      REQUIRE(fast == slow);
      for (const std::string& line : lines_of(fast)) kinds[json::parse(line)["event"]]++;
      ++runs;
    }
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
      ev::Vote{3, false, "log_not_up_to_date"},
      ev::Truncate{5, 2},
      ev::Append{9, {entry, noop}},
      ev::Progress{3, 11, 10, false},
      ev::Progress{2, 4, 0, true},
      ev::Commit{7},
      ev::Apply{8, entry, Result{Status::KeyExists, ""}},
      ev::Persist{4, 2, 10},
      ev::RejectClient{1, 6, 3},
  };
  REQUIRE(bodies.size() == std::variant_size_v<NodeEventBody> + 1);
  StateCache states;
  int64_t seq = 1;
  for (const NodeEventBody& body : bodies) {
    NodeEvent event{body, state};
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

  std::vector<Message> msgs(7);
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
  for (const Message& m : msgs) {
    std::string line;
    append_message(line, m);
    INFO(line);
    CHECK(message_from_json(json::parse(line)) == m);
  }

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
