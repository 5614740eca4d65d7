// export-shiviz: the vector clocks order events as the trace's causality does.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "replay/export_shiviz.h"
#include "replay/replay.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;
using nlohmann::json;

namespace {

struct Line {
  std::string host;
  std::map<std::string, int64_t> clock;
  std::string text;
};

// The ShiViz log of a trace, parsed with the regex its first line gives
// (std::regex has no named groups: the same groups, unnamed).
std::vector<Line> shiviz_lines(const std::string& trace) {
  std::istringstream in(trace);
  std::ostringstream out;
  export_shiviz(in, "trace", out);
  std::vector<std::string> lines = lines_of(out.str());
  REQUIRE(lines.size() > 2);
  CHECK(lines[0] == kShivizRegex);
  CHECK(lines[1].empty());  // no multiple-executions delimiter
  std::string plain = std::regex_replace(lines[0], std::regex(R"(\?<\w+>)"), "");
  std::regex re(plain);
  std::vector<Line> out_lines;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::smatch m;
    REQUIRE(std::regex_match(lines[i], m, re));
    Line l{m[1], {}, m[3]};
    json clock = json::parse(m[2].str());  // kept alive: items() refers into it
    for (const auto& [h, n] : clock.items()) l.clock[h] = n.get<int64_t>();
    out_lines.push_back(l);
  }
  return out_lines;
}

bool leq(const std::map<std::string, int64_t>& a, const std::map<std::string, int64_t>& b) {
  for (const auto& [h, n] : a) {
    auto it = b.find(h);
    if (n > (it == b.end() ? 0 : it->second)) return false;
  }
  return true;
}

// Checks the log of `trace` against the trace itself: every host's own entry
// counts its events 1, 2, 3, ...; every delivery's clock is above its send's
// (the send happened before it) and not below or equal (it is later); an
// event never goes back on anything its host knew.
void check_causality(const std::string& trace) {
  std::vector<Line> log = shiviz_lines(trace);
  std::vector<std::string> events = lines_of(trace);
  std::map<std::string, std::map<std::string, int64_t>> last;  // host -> its last clock
  std::map<int64_t, std::map<std::string, int64_t>> sent;      // msg id -> clock at the send
  size_t k = 0;
  int64_t deliveries = 0;
  for (size_t i = 1; i < events.size(); ++i) {
    json ev = json::parse(events[i]);
    std::string name = ev["event"];
    std::string host = ev.contains("node") ? "node" + std::to_string(ev["node"].get<int>())
                       : name.rfind("client_", 0) == 0
                           ? "client" + std::to_string(ev["client"].get<int>())
                           : "";
    if (name == "inject") sent[ev["msg"]["id"]] = {};
    if (host.empty()) continue;
    REQUIRE(k < log.size());
    const Line& l = log[k++];
    INFO("trace line " << i + 1 << ": " << events[i] << "\nshiviz: " << l.host);
    CHECK(l.host == host);
    CHECK(l.clock.at(host) == last[host][host] + 1);
    CHECK(leq(last[host], l.clock));
    last[host] = l.clock;
    if (name == "send" || name == "client_send") sent[ev["msg"]["id"]] = l.clock;
    int64_t delivered = name == "deliver"          ? ev["msg_id"].get<int64_t>()
                        : name == "client_receive" ? ev["msg"]["id"].get<int64_t>()
                                                   : 0;
    if (delivered != 0) {
      REQUIRE(sent.count(delivered) == 1);
      CHECK(leq(sent[delivered], l.clock));
      CHECK_FALSE(leq(l.clock, sent[delivered]));
      ++deliveries;
    }
  }
  CHECK(k == log.size());
  CHECK(deliveries > 0);
}

}  // namespace

TEST_CASE("export-shiviz's vector clocks follow every message from send to delivery", "[shiviz]") {
  Config cfg = test_config(5, 3, 10, 4);
  cfg.network.loss = 0.1;
  cfg.network.duplicate = 0.1;
  cfg.nemesis.enabled = true;
  cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
  cfg.nemesis.mean_interval_ms = 100;
  check_causality(trace_text(cfg));
  // A scenario's hand-made messages (traces/figure7.jsonl injects one) carry no clock.
  std::ifstream f(std::string(RAFTKV_SOURCE_DIR) + "/traces/figure7.jsonl");
  std::stringstream ss;
  ss << f.rdbuf();
  check_causality(ss.str());
}

TEST_CASE("export-shiviz tells each event in the narrative's words", "[shiviz]") {
  std::vector<Line> log = shiviz_lines(trace_text(test_config(3, 1, 2, 1)));
  bool elected = false;
  for (const Line& l : log) elected |= l.text.rfind("Became LEADER for term", 0) == 0;
  CHECK(elected);
  CHECK(log.front().text.rfind("Starting as follower", 0) == 0);
}

TEST_CASE("export-shiviz rejects a malformed trace with its line", "[shiviz][bad-input]") {
  std::string trace = trace_text(test_config(3, 1, 2, 1));
  std::vector<std::string> lines = lines_of(trace);
  json ev = json::parse(lines[3]);
  ev["node"] = "x";
  lines[3] = ev.dump();
  std::istringstream in(join(lines));
  std::ostringstream out;
  CHECK_THROWS_AS(export_shiviz(in, "trace", out), ReplayInputError);
}
