#include "replay/export_tla.h"

#include <istream>
#include <map>
#include <ostream>
#include <set>

#include "replay/replay.h"
#include "trace/codec.h"

namespace raftkv {
namespace {

const std::set<std::string> kInputs = {"start", "deliver", "timeout", "crash", "restart"};

// The TLA+ action a step maps to (spec/README.md, "Trace validation").
std::string action_of(const json& input) {
  const std::string event = input["event"];
  if (event == "start") return "Start";
  if (event == "crash") return "Crash";
  if (event == "restart") return "Restart";
  if (event == "timeout") return input.value("timer", "") == "heartbeat" ? "Heartbeat" : "Timeout";
  const json& msg = input["msg"];
  if (msg.value("type", "") == "ClientRequest") return "ClientRequest";
  return "Receive";
}

}  // namespace

int64_t export_tla(std::istream& in, const std::string& name, std::ostream& out) {
  int64_t line_no = 0;
  auto fail = [&](const std::string& msg) { throw ReplayInputError(name, line_no, msg); };
  auto parse = [&](const std::string& text) {
    try {
      json j = json::parse(text);
      if (!j.is_object()) fail("expected a JSON object");
      return j;
    } catch (const json::parse_error& e) {
      fail(std::string("invalid JSON: ") + e.what());
    }
    return json();
  };

  std::string text;
  if (!std::getline(in, text)) {
    line_no = 1;
    fail("empty file (expected a raftkv-trace header)");
  }
  ++line_no;
  json header = parse(text);
  if (header.value("format", "") != "raftkv-trace" || header.value("version", 0) != 1) {
    fail("not a raftkv-trace version 1 file");
  }
  if (!header.contains("config") || !header["config"].contains("num_nodes")) {
    fail("header has no config.num_nodes");
  }
  int n = header["config"]["num_nodes"].get<int>();
  std::map<int, json> logs;  // node -> array of entries
  for (int id = 1; id <= n; ++id) logs[id] = json::array();

  int64_t steps = 0;
  json step;  // the open step, or null
  auto flush = [&]() {
    if (step.is_null()) return;
    int id = step["node"];
    step["log"] = logs[id];
    out << step.dump() << '\n';
    ++steps;
    step = json();
  };

  while (std::getline(in, text)) {
    ++line_no;
    json ev = parse(text);
    if (!ev.contains("event") || !ev["event"].is_string()) fail("event without a name");
    const std::string event = ev["event"];
    if (kInputs.count(event)) {
      flush();
      if (!ev.contains("node") || !ev.contains("state")) fail("input event without node/state");
      int id = ev["node"];
      if (id < 1 || id > n) fail("node " + std::to_string(id) + " does not exist");
      step = json{{"step", steps + 1},
                  {"seq", ev.value("seq", 0)},
                  {"t", ev.value("t", 0)},
                  {"action", action_of(ev)},
                  {"node", id},
                  {"pre", ev["state"]},
                  {"post", ev["state"]},
                  {"msg", ev.contains("msg") ? ev["msg"] : json::object()},
                  {"sent", json::array()},
                  {"applied", json::array()}};
      continue;
    }
    if (!ev.contains("node") || step.is_null() || ev["node"] != step["node"]) continue;
    // An effect event of the open step.
    int id = ev["node"];
    if (ev.contains("state")) step["post"] = ev["state"];
    if (event == "send") step["sent"].push_back(ev["msg"]);
    if (event == "apply") {
      step["applied"].push_back(
          json{{"index", ev["index"]}, {"entry", ev["entry"]}, {"result", ev["result"]}});
    }
    if (event == "truncate") {
      int64_t from = ev["from_index"];
      json& log = logs[id];
      while (static_cast<int64_t>(log.size()) >= from && !log.empty()) log.erase(log.end() - 1);
    }
    if (event == "append") {
      int64_t first = ev["first_index"];
      json& log = logs[id];
      int64_t k = first;
      for (const json& e : ev["entries"]) {
        if (k <= static_cast<int64_t>(log.size()))
          log[static_cast<size_t>(k - 1)] = e;
        else
          log.push_back(e);
        ++k;
      }
    }
  }
  flush();
  return steps;
}

}  // namespace raftkv
