// Issue 13's config schedules, run: [[faults]] action "network", fault
// targets node = "leader" / "follower" resolved when the fault fires, and
// [[clients]] schedules. Each test reads the outcome from the trace or the
// cluster, and every trace must pass the checker and replay.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "app/summary.h"
#include "check/checker.h"
#include "replay/replay.h"
#include "support.h"
#include "trace/event_table.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

const std::string kName = "schedules.toml";

// Runs the config to its end and returns the trace as a file would hold it,
// after checking that the header validates and that the checker and replay
// accept it.
std::string checked_trace(const Config& cfg) {
  std::string text = trace_text(cfg);
  Cluster cluster(cfg);
  CHECK_NOTHROW(trace::validate_header(cluster.header()));
  std::istringstream in(text);
  check::Report report = check::check_trace(in, "schedules");
  INFO(check::format_report(report));
  CHECK(report.ok());
  std::istringstream again(text);
  ReplayOptions opts;
  ReplayResult replayed = replay(again, "schedules", opts);
  INFO(replayed.divergence);
  CHECK(replayed.identical);
  return text;
}

std::vector<json> events_named(const std::string& text, const std::string& name) {
  std::vector<json> out;
  for (const std::string& line : lines_of(text)) {
    json ev = json::parse(line);
    if (ev.value("event", "") == name) out.push_back(ev);
  }
  return out;
}

std::string summary_of(const Config& cfg) {
  Cluster cluster(cfg);
  cluster.run();
  std::ostringstream out;
  print_summary(cluster, out);
  return out.str();
}

// The up leader of the highest term, and the lowest-id up follower in its
// term: what the role targets must resolve to (written here independently).
int leader_now(const Cluster& c) {
  int best = 0;
  for (int id = 1; id <= c.num_nodes(); ++id) {
    if (!c.is_up(id) || c.node(id).role() != Role::Leader) continue;
    if (best == 0 || c.node(id).term() > c.node(best).term()) best = id;
  }
  return best;
}

int follower_now(const Cluster& c) {
  int leader = leader_now(c);
  if (leader == 0) return 0;
  for (int id = 1; id <= c.num_nodes(); ++id) {
    if (c.is_up(id) && c.node(id).role() == Role::Follower &&
        c.node(id).term() == c.node(leader).term()) {
      return id;
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("A network fault changes latency and loss from its time on", "[config][schedules]") {
  Config cfg = parse_config(R"(num_nodes = 3
num_clients = 2
requests_per_client = 30
[[faults]]
at_ms = 100
action = "network"
network_latency_min_ms = 20
network_latency_max_ms = 20
[[faults]]
at_ms = 400
action = "network"
loss = 0.25
)",
                            kName);
  std::string text = checked_trace(cfg);
  std::vector<json> changes = events_named(text, "network");
  REQUIRE(changes.size() == 2);
  CHECK(changes[0]["t"] == 100);
  CHECK(changes[0]["loss"] == "0");
  CHECK(changes[0]["duplicate"] == "0");
  CHECK(changes[0]["network_latency_min_ms"] == 20);
  CHECK(changes[0]["network_latency_max_ms"] == 20);
  // The second change keeps the latency the first one set.
  CHECK(changes[1]["t"] == 400);
  CHECK(changes[1]["loss"] == "0.25");
  CHECK(changes[1]["network_latency_min_ms"] == 20);

  // Every message sent from 100 ms on takes exactly 20 ms; before, 1..5 ms.
  std::map<int64_t, int64_t> sent_at;
  int64_t before = 0, after = 0;
  for (const std::string& line : lines_of(text)) {
    json ev = json::parse(line);
    std::string name = ev.value("event", "");
    if (name == "send" || name == "client_send") sent_at[ev["msg"]["id"]] = ev["t"];
    if (name != "deliver") continue;
    int64_t sent = sent_at.at(ev["msg_id"]);
    int64_t took = ev["t"].get<int64_t>() - sent;
    INFO("message " << ev["msg_id"] << " sent at " << sent);
    if (sent >= 100) {
      CHECK(took == 20);
      ++after;
    } else {
      CHECK(took <= 5);
      ++before;
    }
  }
  CHECK(before > 0);
  CHECK(after > 0);
  // Loss only from 400 ms on.
  int64_t lost = 0;
  for (const json& drop : events_named(text, "drop")) {
    if (drop["reason"] != "loss") continue;
    CHECK(drop["t"] >= 400);
    ++lost;
  }
  CHECK(lost > 0);
  CHECK_THAT(summary_of(cfg), Catch::Matchers::Contains("Faults injected: schedule 2 (network 2)"));
}

TEST_CASE("Fault targets leader and follower resolve when the fault fires", "[config][schedules]") {
  // The first leader is node 3, so neither the lowest nor the highest id
  // stands in for "the leader".
  Config cfg = parse_config(R"(num_nodes = 5
num_clients = 2
requests_per_client = 40
initial_leader = 3
[[faults]]
at_ms = 300
action = "crash"
node = "leader"
[[faults]]
at_ms = 700
action = "crash"
node = "follower"
[[faults]]
at_ms = 900
action = "restart"
node = "leader"
[[faults]]
at_ms = 950
action = "restart"
node = "follower"
)",
                            kName);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    cfg.seed = seed;
    INFO("seed " << seed);
    // The nodes the targets must name, read off the cluster just before each fault.
    Cluster cluster(cfg);
    VectorSink sink;
    cluster.add_sink(&sink);
    cluster.run_until(299);
    int leader = leader_now(cluster);
    REQUIRE(leader != 0);
    CHECK(leader == 3);
    cluster.run_until(300);
    CHECK_FALSE(cluster.is_up(leader));
    cluster.run_until(699);
    int follower = follower_now(cluster);
    REQUIRE(follower != 0);
    cluster.run_until(700);
    CHECK_FALSE(cluster.is_up(follower));
    cluster.run_until(1000);
    CHECK(cluster.is_up(leader));
    CHECK(cluster.is_up(follower));

    // The trace names the resolved ids, never a role.
    std::vector<json> crashes = sink.named("crash");
    REQUIRE(crashes.size() == 2);
    CHECK(crashes[0]["node"] == leader);
    CHECK(crashes[0]["t"] == 300);
    CHECK(crashes[1]["node"] == follower);
    std::vector<json> restarts = sink.named("restart");
    REQUIRE(restarts.size() == 2);
    CHECK(restarts[0]["node"] == leader);
    CHECK(restarts[1]["node"] == follower);
    CHECK(sink.named("fault_skipped").empty());

    // The header keeps node 0 and says the role in `target`.
    json faults = cluster.header()["config"]["faults"];
    CHECK(faults[0]["node"] == 0);
    CHECK(faults[0]["target"] == "leader");
    CHECK(faults[1]["target"] == "follower");
    checked_trace(cfg);
  }
}

TEST_CASE("A role fault that finds no node is skipped, traced and counted", "[config][schedules]") {
  // No initial leader: at 0 ms nobody has won an election yet.
  Config cfg = parse_config(R"(num_nodes = 3
initial_leader = 0
[[faults]]
at_ms = 0
action = "crash"
node = "leader"
[[faults]]
at_ms = 5
action = "restart"
node = "leader"
[[faults]]
at_ms = 6
action = "crash"
node = 2
)",
                            kName);
  std::string text = checked_trace(cfg);
  std::vector<json> skipped = events_named(text, "fault_skipped");
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0]["action"] == "crash");
  CHECK(skipped[0]["target"] == "leader");
  CHECK(skipped[1]["action"] == "restart");
  CHECK(events_named(text, "crash").size() == 1);  // the one by id
  Cluster cluster(cfg);
  cluster.run();
  CHECK(cluster.stats().faults_skipped == 2);
  CHECK(cluster.stats().faults_scheduled[static_cast<size_t>(FaultAction::Crash)] == 1);
  CHECK_THAT(summary_of(cfg),
             Catch::Matchers::Contains("Faults injected: schedule 1 (crash 1), 2 skipped (no "
                                       "leader or follower to act on when it fired)"));

  // One node is its own leader and has no follower.
  Config single = parse_config(R"(num_nodes = 1
[[faults]]
at_ms = 50
action = "crash"
node = "follower"
)",
                               kName);
  std::string alone = checked_trace(single);
  CHECK(events_named(alone, "fault_skipped").size() == 1);
  CHECK(events_named(alone, "crash").empty());
}

TEST_CASE("[[clients]] schedules: start, first node, commands, count and stop",
          "[config][schedules]") {
  // Client 1 uses key "z", which the random workload (keys "a".."e") never touches.
  Config c = parse_config(R"(num_nodes = 5
num_clients = 4
requests_per_client = 3
[[clients]]
id = 1
commands = ["put z 1", "get z", "delete z", "get z"]
[[clients]]
id = 2
start_ms = 400
node = 3
count = 2
[[clients]]
id = 3
count = 1000
stop_ms = 150
)",
                          kName);
  std::string text = checked_trace(c);
  Cluster cluster(c);
  cluster.run();
  std::map<int, std::vector<ClientOp>> ops;
  for (const ClientOp& op : cluster.history()) ops[op.client].push_back(op);

  // Client 1: its commands, in order, with their results.
  REQUIRE(ops[1].size() == 4);
  CHECK(ops[1][0].cmd.op == Op::Put);
  CHECK(ops[1][0].cmd.key == "z");
  CHECK(ops[1][0].cmd.value == "1");
  CHECK(ops[1][1].cmd.op == Op::Get);
  CHECK(ops[1][1].result.value == "1");
  CHECK(ops[1][2].cmd.op == Op::Delete);
  CHECK(ops[1][3].result.status == Status::NotFound);

  // Client 2: starts at 400 ms at node 3, sends 2 random requests.
  REQUIRE(ops[2].size() == 2);
  CHECK(ops[2][0].invoked_ms == 400);
  std::vector<json> invokes = events_named(text, "client_invoke");
  std::vector<json> of2;
  for (const json& e : invokes) {
    if (e["client"] == 2) of2.push_back(e);
  }
  REQUIRE_FALSE(of2.empty());
  CHECK(of2[0]["t"] == 400);
  CHECK(of2[0]["to"] == 3);

  // Client 3: starts with the first leader, sends nothing new after 150 ms.
  REQUIRE_FALSE(ops[3].empty());
  for (const ClientOp& op : ops[3]) CHECK(op.invoked_ms < 150);
  CHECK(ops[3].size() < 1000);

  // Client 4, not listed: as today.
  CHECK(ops[4].size() == 3);
  CHECK(ops[4][0].invoked_ms == cluster.stats().first_leader_ms);

  // The summary plans what the schedules say: 4 + 2 + what client 3 sent + 3.
  CHECK(cluster.stats().requests_planned == 4 + 2 + static_cast<int64_t>(ops[3].size()) + 3);
  CHECK(cluster.stats().requests_issued == cluster.stats().requests_planned);
}
