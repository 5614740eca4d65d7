// raftkv view: the page holds the trace and the checker's verdict, bad input
// is refused as `raftkv check` refuses it, and the page lands where the README
// says. What the page draws is tested in a browser (tools/view/browser-test).
#include <sys/wait.h>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "app/commands.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

namespace fs = std::filesystem;

// A fresh directory of its own for each test.
fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(std::string(RAFTKV_BINARY) + ".view-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string kSource = RAFTKV_SOURCE_DIR;

}  // namespace

TEST_CASE("view: the page holds every line of the trace and the verdict", "[view]") {
  fs::path dir = scratch("ok");
  ViewOptions opts;
  opts.trace_path = kSource + "/traces/default.jsonl";
  opts.out_path = (dir / "default.html").string();
  std::ostringstream out, err;
  REQUIRE(view_command(opts, out, err) == 0);
  CHECK(err.str().empty());
  CHECK_THAT(out.str(), Catch::Contains("wrote " + opts.out_path + " (875 events, verdict: ok)"));
  std::string html = read_file(opts.out_path);
  // Every line of the trace, as written (the sample has no "<" to escape).
  for (const std::string& line : lines_of(read_file(opts.trace_path))) {
    INFO(line);
    REQUIRE(html.find(line) != std::string::npos);
  }
  CHECK_THAT(html, Catch::Contains("\"ok\":true"));
  CHECK_THAT(html, Catch::Contains("\"events\":875"));
  // Self-contained: every marker filled, nothing fetched from anywhere.
  CHECK(html.find("/*@") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  // uPlot, vendored from npm by the build, is inside.
  CHECK_THAT(html, Catch::Contains("uPlot (v1.6.32)"));
  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>"));
}

TEST_CASE("view: a violating trace gives the check, its events and exit 1", "[view]") {
  fs::path dir = scratch("bug");
  ViewOptions opts;
  opts.trace_path = kSource + "/traces/bug-commit_old_term.jsonl";
  opts.out_path = (dir / "bug.html").string();
  std::ostringstream out, err;
  REQUIRE(view_command(opts, out, err) == 1);
  CHECK_THAT(out.str(), Catch::Contains("verdict: LeaderCompleteness"));
  std::string html = read_file(opts.out_path);
  CHECK_THAT(html, Catch::Contains("\"check\":\"LeaderCompleteness\""));
  CHECK_THAT(html, Catch::Contains("\"seqs\":[152,220]"));
  CHECK_THAT(html, Catch::Contains("\"nodes\":[1,5]"));
  CHECK_THAT(html, Catch::Contains("\"explanation\":\"Node 5 became leader of term 4"));
  CHECK_THAT(html, Catch::Contains("\"ok\":false"));
}

TEST_CASE("view: the default page is the trace's path with .html", "[view]") {
  CHECK(default_view_path("traces/default.jsonl") == "traces/default.html");
  CHECK(default_view_path("run.trace.jsonl") == "run.trace.html");
  CHECK(default_view_path("dir.d/trace") == "dir.d/trace.html");
  CHECK(default_view_path(".hidden") == ".hidden.html");
  fs::path dir = scratch("default-path");
  fs::copy_file(kSource + "/traces/figure8.jsonl", dir / "f8.jsonl");
  ShellResult r =
      run_shell(std::string("'") + RAFTKV_BINARY + "' view '" + (dir / "f8.jsonl").string() + "'");
  INFO(r.out);
  CHECK((r.code == 0 || r.code == 1));
  CHECK(fs::exists(dir / "f8.html"));
}

TEST_CASE("view: bad input exits 2 with the message check gives, and writes nothing", "[view]") {
  fs::path dir = scratch("bad");
  const std::string bin = std::string("'") + RAFTKV_BINARY + "'";
  ShellResult missing =
      run_shell(bin + " view /nonexistent/missing.jsonl -o '" + (dir / "m.html").string() + "'");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.out, Catch::Contains("raftkv view: cannot open '/nonexistent/missing.jsonl'"));
  // A trace cut short: the same FILE:LINE message as `raftkv check`.
  std::vector<std::string> lines = lines_of(read_file(kSource + "/traces/default.jsonl"));
  lines.resize(40);
  fs::path cut = dir / "cut.jsonl";
  std::ofstream(cut, std::ios::binary) << join(lines);
  ShellResult check = run_shell(bin + " check '" + cut.string() + "'");
  ShellResult view = run_shell(bin + " view '" + cut.string() + "'");
  CHECK(check.code == 2);
  CHECK(view.code == 2);
  std::string what = check.out.substr(check.out.find("malformed trace: "));
  CHECK_THAT(what, Catch::Contains(cut.string() + ":"));
  CHECK(view.out == "raftkv view: " + what);
  CHECK_FALSE(fs::exists(dir / "cut.html"));
  // Refuses to overwrite its input.
  ShellResult self = run_shell(bin + " view '" + cut.string() + "' -o '" + cut.string() + "'");
  CHECK(self.code == 2);
  CHECK_THAT(self.out, Catch::Contains("it is the input trace"));
}

TEST_CASE("view: --max-events keeps a window and the page says which", "[view]") {
  fs::path dir = scratch("window");
  ViewOptions opts;
  opts.trace_path = kSource + "/traces/default.jsonl";
  opts.out_path = (dir / "w.html").string();
  opts.max_events = 100;
  std::ostringstream out, err;
  REQUIRE(view_command(opts, out, err) == 0);
  CHECK_THAT(out.str(), Catch::Contains("(events 1..100 of 875 events, verdict: ok)"));
  std::string html = read_file(opts.out_path);
  CHECK_THAT(html, Catch::Contains("\"first\":1"));
  CHECK_THAT(html, Catch::Contains("\"last\":100"));
  CHECK_THAT(html, Catch::Contains("\"seq\":100,"));
  CHECK(html.find("\"seq\":101,") == std::string::npos);
}

TEST_CASE("view: run --view writes the page of the run it made", "[view]") {
  fs::path dir = scratch("run");
  fs::path page = dir / "run.html";
  ShellResult r = run_shell(std::string("'") + RAFTKV_BINARY +
                            "' run config.toml --quiet --view '" + page.string() + "'");
  INFO(r.out);
  CHECK(r.code == 0);
  std::string html = read_file(page);
  CHECK_THAT(html, Catch::Contains("\"trace\":\"this run\""));
  CHECK_THAT(html, Catch::Contains("\"ok\":true"));
  CHECK_THAT(html, Catch::Contains("\"format\":\"raftkv-trace\""));
}

TEST_CASE("view: a window that starts late carries each node's log at its start", "[view]") {
  // bug-commit_old_term's violation names seqs 152 and 220: 60 events around
  // them start well after every node has written entries.
  fs::path dir = scratch("window-logs");
  ViewOptions opts;
  opts.trace_path = kSource + "/traces/bug-commit_old_term.jsonl";
  opts.out_path = (dir / "w.html").string();
  opts.max_events = 60;
  std::ostringstream out, err;
  REQUIRE(view_command(opts, out, err) == 1);
  std::string html = read_file(opts.out_path);
  size_t at = html.find("\"window_logs\":");
  REQUIRE(at != std::string::npos);
  // The page's header (the first element of the embedded trace array).
  size_t start = html.rfind("[{", at);
  REQUIRE(start != std::string::npos);
  nlohmann::json header;
  std::istringstream page(html.substr(start + 1));
  page >> header;  // reads one JSON value: the header object
  REQUIRE(header.contains("window_logs"));
  // The window's first seq, as the page's verdict gives it.
  std::smatch m;
  REQUIRE(std::regex_search(html, m, std::regex("\"first\":([0-9]+)")));
  int64_t first = std::stoll(m[1].str());
  CHECK(first > 100);
  // Oracle: each node's own last state before the window says how long its log
  // is and the term of its last entry; the carried log must agree.
  std::map<int64_t, nlohmann::json> last_state;
  std::ifstream trace(opts.trace_path);
  std::string line;
  std::getline(trace, line);
  while (std::getline(trace, line)) {
    nlohmann::json ev = nlohmann::json::parse(line);
    if (ev["seq"].get<int64_t>() >= first) break;
    // A line writes the fields of its state that changed (schema v4).
    if (ev.contains("state")) last_state[ev["node"].get<int64_t>()].update(ev["state"]);
  }
  REQUIRE(last_state.size() == 5);
  int with_entries = 0;
  for (const nlohmann::json& w : header["window_logs"]) {
    const nlohmann::json& st = last_state[w["node"].get<int64_t>()];
    INFO("node " << w["node"]);
    CHECK(static_cast<int64_t>(w["log"].size()) == st["last_index"].get<int64_t>());
    if (!w["log"].empty()) {
      ++with_entries;
      CHECK(w["log"].back()["term"] == st["last_term"]);
    }
  }
  CHECK(with_entries >= 3);
}
