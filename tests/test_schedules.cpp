// Issue 13's config schedules, run: [[faults]] action "network". Each test reads the outcome
// from the trace or the cluster, and every trace must pass the checker and replay.
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
