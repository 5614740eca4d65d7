// The raftkv binary as a user meets it: exit codes and messages.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support.h"

using raftkv::testing::read_file;
using Result = raftkv::testing::ShellResult;

namespace {

// Runs a shell command from the source directory (where config.toml lives).
Result shell(const std::string& command) { return raftkv::testing::run_shell(command); }

// Runs `raftkv ARGS` from the source directory.
Result cli(const std::string& args) {
  return shell(std::string("'") + RAFTKV_BINARY + "' " + args);
}

std::string temp_path(const std::string& name) { return std::string(RAFTKV_BINARY) + "." + name; }

namespace fs = std::filesystem;

std::string sample(const std::string& name) {
  return read_file(std::string(RAFTKV_SOURCE_DIR) + "/" + name);
}

// A fresh, empty directory for one test, so that stray files show.
std::string fresh_dir(const std::string& name) {
  std::string dir = temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The names in a directory, sorted: a leftover temporary file shows here.
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("--help works for the binary and every subcommand", "[cli]") {
  for (std::string args : {"--help", "run --help", "check --help", "replay --help", "bench --help",
                           "export-tla --help"}) {
    Result r = cli(args);
    INFO(args << "\n" << r.out);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage") || Catch::Contains("usage"));
  }
}

TEST_CASE("Bad flags exit 2 with a message", "[cli]") {
  for (std::string args : {"", "frobnicate", "run --no-such-flag", "run --seed notanumber", "check",
                           "run --plant-bug no_such_bug"}) {
    Result r = cli(args);
    INFO("args: '" << args << "'\n" << r.out);
    CHECK(r.code == 2);
    CHECK_FALSE(r.out.empty());
  }
}

TEST_CASE("run: default config, trace file, summary, exit 0", "[cli]") {
  std::string trace = temp_path("cli-trace.jsonl");
  Result r = cli("run --seed 3 --trace '" + trace + "'");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("Became LEADER for term 1"));
  CHECK_THAT(r.out, Catch::Contains("Outcome: complete"));
  CHECK_THAT(r.out, Catch::Contains("Client latency"));
  std::ifstream in(trace);
  std::string header;
  REQUIRE(std::getline(in, header));
  CHECK_THAT(header, Catch::Contains("\"format\":\"raftkv-trace\""));
  CHECK_THAT(header, Catch::Contains("\"seed\":3"));
  // The positional config path works like --config, and --quiet drops the narrative.
  Result q = cli("run config.toml --quiet");
  CHECK(q.code == 0);
  CHECK_THAT(q.out, !Catch::Contains("Became LEADER"));
  CHECK_THAT(q.out, Catch::Contains("Outcome: complete"));
}

TEST_CASE("run: a bad config exits 2 naming the file, line and key", "[cli]") {
  std::string path = temp_path("bad.toml");
  std::ofstream(path) << "num_nodes = 5\n[timing]\nheartbeat_intervl_ms = 10\n";
  Result r = cli("run '" + path + "'");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("bad.toml:3:"));
  CHECK_THAT(r.out, Catch::Contains("heartbeat_interval_ms"));
  Result missing = cli("run --config /nonexistent/raftkv.toml");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.out, Catch::Contains("/nonexistent/raftkv.toml"));
}

TEST_CASE("check: exit 0 on a good trace, 1 on a violation, 2 on a malformed one", "[cli]") {
  Result ok = cli("check traces/default.jsonl");
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::StartsWith("OK"));
  Result bad = cli("check traces/bug-vote_twice.jsonl");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("ElectionSafety"));
  // A valid header, then a broken line 2.
  std::ifstream sample(std::string(RAFTKV_SOURCE_DIR) + "/traces/default.jsonl");
  std::string header;
  REQUIRE(std::getline(sample, header));
  std::string path = temp_path("malformed.jsonl");
  std::ofstream(path) << header << "\n{oops\n";
  Result malformed = cli("check '" + path + "'");
  CHECK(malformed.code == 2);
  CHECK_THAT(malformed.out, Catch::Contains(":2:"));
}

TEST_CASE("replay: identical, diverged, malformed", "[cli]") {
  Result ok = cli("replay traces/leader-crash.jsonl");
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("identical"));
  // Hand-edit one apply result: replay must point at that line.
  std::ifstream in(std::string(RAFTKV_SOURCE_DIR) + "/traces/default.jsonl");
  std::ostringstream edited;
  bool done = false;
  int number = 0, edited_line = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!done && line.find("\"event\":\"apply\"") != std::string::npos &&
        line.find("\"status\":\"ok\"") != std::string::npos &&
        line.find("\"op\":\"put\"") != std::string::npos) {
      line.replace(line.find("\"status\":\"ok\""), 13, "\"status\":\"key_exists\"");
      done = true;
      edited_line = number;
    }
    edited << line << '\n';
  }
  REQUIRE(done);
  std::string path = temp_path("edited.jsonl");
  std::ofstream(path) << edited.str();
  Result diverged = cli("replay '" + path + "'");
  CHECK(diverged.code == 1);
  // Line 1 is the header, so the event on line L has seq L - 1.
  CHECK_THAT(diverged.out,
             Catch::Contains("diverged at line " + std::to_string(edited_line) + " of " + path +
                             " (event " + std::to_string(edited_line - 1) + ","));
  // --narrate tells the whole edited trace, past the divergence, then reports it.
  Result told = cli("replay --narrate '" + path + "'");
  CHECK(told.code == 1);
  CHECK_THAT(told.out, Catch::Contains("[    556 ms] [node 1] Heartbeat"));
  CHECK_THAT(told.out, Catch::Contains("diverged at line"));
  // ... and marks the line where it diverged, in the narrative itself.
  CHECK_THAT(told.out, Catch::Contains(">>> replay diverged here (line " +
                                       std::to_string(edited_line) + "): "));
  Result scenario = cli("replay traces/scenarios/figure8.jsonl");
  CHECK(scenario.code == 0);
  CHECK_THAT(scenario.out, Catch::Contains("not written: give --trace FILE"));
  CHECK_THAT(scenario.out, !Catch::Contains("identical"));
  Result narrate = cli("replay --narrate traces/default.jsonl");
  CHECK(narrate.code == 0);
  CHECK_THAT(narrate.out, Catch::Contains("[node 1] Became LEADER for term 1"));
  Result missing = cli("replay /nonexistent.jsonl");
  CHECK(missing.code == 2);
}

TEST_CASE("run --check runs every check on the run just made", "[cli]") {
  // A correct run: the checker's summary, exit 0, no trace file needed.
  Result ok = cli("run traces/configs/stale-retry.toml --seed 1 --quiet --check");
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("Check: OK this run"));
  CHECK_THAT(ok.out, Catch::Contains("KVSemantics ok"));
  // The same run with the old dedup rule planted: the stale retry is caught, exit 1.
  Result bad =
      cli("run traces/configs/stale-retry.toml --seed 1 --quiet --check --plant-bug "
          "dedup_last_seq_only");
  INFO(bad.out);
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("Check: VIOLATION this run: KVSemantics"));
  CHECK_THAT(bad.out, Catch::Contains("at most once"));
  // With --trace the check reads the file written, and names it.
  std::string trace = temp_path("check-trace.jsonl");
  Result named = cli("run --quiet --check --trace '" + trace + "'");
  CHECK(named.code == 0);
  CHECK_THAT(named.out, Catch::Contains("Check: OK " + trace));
}

TEST_CASE("An output path that is an input file is refused and the input kept", "[cli]") {
  std::string dir = fresh_dir("same-file");
  std::string trace = dir + "/copy.jsonl";
  std::string original = sample("traces/default.jsonl");
  write_file(trace, original);
  fs::create_symlink("copy.jsonl", dir + "/link.jsonl");
  fs::create_hard_link(trace, dir + "/hard.jsonl");
  std::string config = dir + "/c.toml";
  std::string config_text = sample("config.toml");
  write_file(config, config_text);
  fs::create_symlink("c.toml", dir + "/c-link.toml");

  struct Case {
    std::string args, output, input;
  };
  std::vector<Case> cases = {
      {"replay '" + trace + "' --trace '" + trace + "'", trace, trace},
      {"replay '" + trace + "' --trace '" + dir + "/./copy.jsonl'", dir + "/./copy.jsonl", trace},
      {"replay '" + trace + "' --trace '" + dir + "/link.jsonl'", dir + "/link.jsonl", trace},
      {"export-tla '" + trace + "' '" + trace + "'", trace, trace},
      {"export-tla '" + trace + "' '" + dir + "/link.jsonl'", dir + "/link.jsonl", trace},
      {"export-tla '" + trace + "' '" + dir + "/hard.jsonl'", dir + "/hard.jsonl", trace},
      {"run '" + config + "' --quiet --trace '" + config + "'", config, config},
      {"run --config '" + config + "' --quiet --trace '" + dir + "/c-link.toml'",
       dir + "/c-link.toml", config},
  };
  for (const Case& c : cases) {
    Result r = cli(c.args);
    INFO(c.args << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains("refusing to write"));
    CHECK_THAT(r.out, Catch::Contains("'" + c.output + "'"));
    CHECK_THAT(r.out, Catch::Contains("'" + c.input + "'"));
    CHECK(read_file(trace) == original);
    CHECK(read_file(config) == config_text);
    CHECK(fs::is_symlink(dir + "/link.jsonl"));
    CHECK(fs::is_symlink(dir + "/c-link.toml"));
  }
  CHECK(names_in(dir) == std::vector<std::string>{"c-link.toml", "c.toml", "copy.jsonl",
                                                  "hard.jsonl", "link.jsonl"});
}

TEST_CASE("replay of a recorded trace rejects --trace before creating anything", "[cli]") {
  std::string dir = fresh_dir("trace-flag");
  Result r = cli("replay traces/default.jsonl --trace '" + dir + "/out.jsonl'");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("--trace only applies to scenario input"));
  CHECK_THAT(r.out, Catch::Contains("traces/default.jsonl"));
  CHECK_THAT(r.out, !Catch::Contains("identical"));  // rejected, not run
  CHECK(names_in(dir).empty());
  // An existing file of that name is left alone too.
  write_file(dir + "/out.jsonl", "keep me\n");
  CHECK(cli("replay traces/default.jsonl --trace '" + dir + "/out.jsonl'").code == 2);
  CHECK(read_file(dir + "/out.jsonl") == "keep me\n");
}

TEST_CASE("A failed command leaves no output and keeps an existing file", "[cli]") {
  std::string dir = fresh_dir("atomic-output");
  std::string keep = dir + "/keep.jsonl";
  write_file(keep, "keep me\n");
  // A scenario that writes part of its trace, then fails on line 4.
  std::string scenario = dir + "/bad-scenario.jsonl";
  write_file(scenario,
             "{\"format\":\"raftkv-scenario\",\"version\":1,\"config\":{\"num_nodes\":3}}\n"
             "{\"event\":\"timeout\",\"node\":1}\n"
             "{\"event\":\"deliver_pending\"}\n"
             "{\"event\":\"teleport\"}\n");
  // A trace broken half-way: export-tla has written steps when it finds it.
  std::string broken = dir + "/broken.jsonl";
  std::string text = sample("traces/default.jsonl");
  size_t half = text.rfind('\n', text.size() / 2) + 1;
  write_file(broken, text.substr(0, half) + "{oops\n" + text.substr(half));
  for (const std::string& args : {"replay '" + scenario + "' --trace '" + keep + "'",
                                  "replay '" + scenario + "' --trace '" + dir + "/new.jsonl'",
                                  "export-tla '" + broken + "' '" + keep + "'",
                                  "export-tla '" + broken + "' '" + dir + "/new.jsonl'"}) {
    Result r = cli(args);
    INFO(args << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK(read_file(keep) == "keep me\n");
    CHECK(names_in(dir) ==
          std::vector<std::string>{"bad-scenario.jsonl", "broken.jsonl", "keep.jsonl"});
  }
  // Output that cannot be written: exit 2 naming the path.
  for (const std::string& out : {dir + "/no-such-dir/t.jsonl", dir, std::string("/dev/full")}) {
    if (out == "/dev/full" && !fs::exists(out)) continue;
    Result r = cli("run --quiet --trace '" + out + "'");
    INFO(out << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains("cannot write '" + out + "'"));
  }
  CHECK(names_in(dir) ==
        std::vector<std::string>{"bad-scenario.jsonl", "broken.jsonl", "keep.jsonl"});
}

TEST_CASE("A run that finds a problem still writes its whole trace", "[cli]") {
  std::string trace = temp_path("violation.jsonl");
  fs::remove(trace);
  Result r =
      cli("run traces/configs/planted-bug.toml --plant-bug leader_ignores_higher_term --seed 3 "
          "--quiet --check --trace '" +
          trace + "'");
  INFO(r.out);
  CHECK(r.code == 1);
  Result replayed = cli("replay '" + trace + "'");
  INFO(replayed.out);
  CHECK(replayed.code == 0);
}

TEST_CASE("An interrupted run keeps the old trace file and leaves no temporary file", "[cli]") {
  std::string dir = fresh_dir("interrupt");
  write_file(dir + "/long.toml",
             "num_clients = 16\nrequests_per_client = 100000\ntime_limit_ms = 100000000\n");
  write_file(dir + "/t.jsonl", "keep me\n");
  // `timeout` sends SIGINT (Ctrl-C) after one second, long before the run
  // would end, and exits 124.
  Result r = shell("timeout -s INT 1 '" + std::string(RAFTKV_BINARY) + "' run '" + dir +
                   "/long.toml' --quiet --trace '" + dir + "/t.jsonl'");
  INFO(r.out);
  CHECK(r.code == 124);
  CHECK(read_file(dir + "/t.jsonl") == "keep me\n");
  CHECK(names_in(dir) == std::vector<std::string>{"long.toml", "t.jsonl"});
}

TEST_CASE("A cut, truncated or mistyped trace is malformed (exit 2) for every command", "[cli]") {
  std::string dir = fresh_dir("cut-traces");
  std::string text = sample("traces/default.jsonl");
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto first_lines = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += lines[i] + "\n";
    return s;
  };
  // Line 10 is inside node 1's first election step: before, replay blamed
  // the code ("the node produced an event the trace does not have").
  write_file(dir + "/cut.jsonl", first_lines(10));
  // The whole trace but for the last line's line end.
  write_file(dir + "/no-eol.jsonl", text.substr(0, text.size() - 1));
  // Line 2's node is a string; line 4's node does not exist.
  std::string mistyped = text, missing_node = text;
  mistyped.replace(mistyped.find("\"node\":1,"), 9, "\"node\":\"x\",");
  size_t at = missing_node.find("\"node\":3,");
  missing_node.replace(at, 9, "\"node\":9,");
  size_t missing_line = 1 + std::count(missing_node.begin(), missing_node.begin() + at, '\n');
  write_file(dir + "/mistyped.jsonl", mistyped);
  write_file(dir + "/node9.jsonl", missing_node);

  struct Case {
    std::string file, where, message;
  };
  std::vector<Case> cases = {
      {"cut.jsonl", ":11:", "the trace stops without an 'end' event (truncated?)"},
      {"no-eol.jsonl", ":" + std::to_string(lines.size()) + ":", "no line end"},
      {"mistyped.jsonl", ":2:", "'node'"},
      {"node9.jsonl", ":" + std::to_string(missing_line) + ":", "node 9"},
  };
  for (const Case& c : cases) {
    std::string path = dir + "/" + c.file;
    for (std::string command : {"replay", "export-tla", "check"}) {
      std::string args = command + " '" + path + "'";
      if (command == "export-tla") args += " '" + dir + "/out'";
      fs::remove(dir + "/out");
      Result r = cli(args);
      INFO(args << "\n" << r.out);
      CHECK(r.code == 2);
      {
        CHECK_THAT(r.out, Catch::Contains(path + c.where));
        CHECK_THAT(r.out, Catch::Contains(c.message));
        CHECK_THAT(r.out, !Catch::Contains("diverged"));
      }
      CHECK_FALSE(fs::exists(dir + "/out"));
    }
  }
}

TEST_CASE("check: liveness options", "[cli]") {
  Result ok = cli("check --no-liveness traces/default.jsonl");
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("Liveness not checked"));
  Result bound = cli("check --liveness-bound-ms 100 traces/default.jsonl");
  INFO(bound.out);
  CHECK(bound.code == 0);
  CHECK_THAT(bound.out, Catch::Contains("Liveness ok (bound 100 ms)"));
  Result bad = cli("check --liveness-bound-ms -5 traces/default.jsonl");
  CHECK(bad.code == 2);
}

TEST_CASE("bench --scenario catch-up: a restarted follower is found with one refused probe",
          "[cli][economy]") {
  // §5.3: a follower whose log is short answers with where its log ends, so
  // the leader's next AppendEntries starts right after it. The follower here
  // lags by several entries, and the leader had moved nextIndex past them while
  // it was down, so a hint that is off by one costs a second refusal.
  Result r = cli("bench --scenario catch-up --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  nlohmann::json seeds = nlohmann::json::parse(r.out);
  REQUIRE(seeds.size() == 10);
  for (const auto& s : seeds) {
    CHECK(s["reached"] == true);
    CHECK(s["lag"].get<int>() >= 2);
    CHECK(s["refused"].get<int>() == 1);
  }
  Result text = cli("bench --scenario catch-up");
  CHECK(text.code == 0);
  CHECK_THAT(text.out, Catch::Contains("catch-up: at most 1 refused AppendEntries"));
  CHECK(cli("bench --scenario catchup").code == 2);
}

// Issue 12, "Rough edges found on the way".

TEST_CASE("run --plant-bug takes one name per flag, so a config path may follow it", "[cli]") {
  std::string dir = fresh_dir("plant-bug");
  write_file(dir + "/crash.toml", "num_nodes = 3\nnum_clients = 1\nrequests_per_client = 2\n");
  Result one = cli("run --plant-bug vote_twice '" + dir + "/crash.toml' --quiet");
  INFO(one.out);
  CHECK(one.code != 2);
  CHECK_THAT(one.out, Catch::Contains("planted protocol bug(s): vote_twice --"));
  // Several bugs: the flag is repeated.
  Result two =
      cli("run --plant-bug vote_twice --plant-bug skip_truncate '" + dir + "/crash.toml' --quiet");
  INFO(two.out);
  CHECK(two.code != 2);
  CHECK_THAT(two.out, Catch::Contains("planted protocol bug(s): vote_twice skip_truncate --"));
  // A misspelt name gets the config's kind of suggestion.
  Result typo = cli("run --plant-bug vote_twise --quiet");
  CHECK(typo.code == 2);
  CHECK_THAT(typo.out, Catch::Contains("unknown planted bug 'vote_twise' (did you mean "
                                       "'vote_twice'?"));
}

TEST_CASE("replay warns once, on stderr, that a trace has planted bugs", "[cli]") {
  // Only stderr: the subshell's stdout goes to /dev/null.
  Result planted = shell(std::string("('") + RAFTKV_BINARY +
                         "' replay traces/bug-vote_twice.jsonl 2>&1 >/dev/null)");
  INFO(planted.out);
  CHECK(planted.code == 0);  // replay still says identical: the warning changes nothing
  CHECK(planted.out ==
        "raftkv replay: WARNING: traces/bug-vote_twice.jsonl was made with planted protocol "
        "bug(s): vote_twice -- deliberately NOT correct Raft\n");
  Result clean =
      shell(std::string("('") + RAFTKV_BINARY + "' replay traces/default.jsonl 2>&1 >/dev/null)");
  CHECK(clean.code == 0);
  CHECK(clean.out.empty());
}

TEST_CASE("run --seed follows the config's seed rule", "[cli]") {
  Result negative = cli("run --seed -1 --quiet");
  INFO(negative.out);
  CHECK(negative.code == 2);
  CHECK_THAT(negative.out, Catch::Contains("--seed must be >= 0, got -1"));
  CHECK_THAT(negative.out, !Catch::Contains("18446744073709551615"));
  for (std::string big : {"2147483648", "99999999999999999999999"}) {
    Result r = cli("run --seed " + big + " --quiet");
    INFO(r.out);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains("--seed must be below 2^31, got " + big));
  }
  Result largest = cli("run --seed 2147483647 --quiet");
  CHECK(largest.code == 0);
}

TEST_CASE("run without a config file runs the defaults, and a named missing one is an error",
          "[cli]") {
  std::string dir = fresh_dir("no-config");
  std::string bin = std::string("'") + RAFTKV_BINARY + "'";
  Result r = shell("cd '" + dir + "' && " + bin + " run --quiet");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("raftkv run: no ./config.toml here and no config given: "
                                    "running the built-in defaults"));
  CHECK_THAT(r.out, Catch::Contains("Outcome: complete"));
  for (std::string args : {"run config.toml --quiet", "run --config config.toml --quiet"}) {
    Result named = shell("cd '" + dir + "' && " + bin + " " + args);
    INFO(args << "\n" << named.out);
    CHECK(named.code == 2);
    CHECK_THAT(named.out, Catch::Contains("config.toml: cannot open config file (No such file"));
  }
}

TEST_CASE("an unknown subcommand is named as unknown", "[cli]") {
  Result r = cli("frobnicate");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("raftkv: unknown command 'frobnicate' (expected run, check, "
                                    "replay, export-tla, export-shiviz, view, bench, sweep, "
                                    "sweep-report, explore or import-tla)"));
  Result swept = cli("sweep-reprot x.jsonl");
  CHECK(swept.code == 2);
  CHECK_THAT(swept.out, Catch::Contains("(did you mean 'sweep-report'?)"));
  Result typo = cli("chekc traces/default.jsonl");
  CHECK(typo.code == 2);
  CHECK_THAT(typo.out, Catch::Contains("unknown command 'chekc' (did you mean 'check'?)"));
}

TEST_CASE("check of a file it cannot open says why", "[cli]") {
  Result r = cli("check /nonexistent/missing.jsonl");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("raftkv check: cannot open '/nonexistent/missing.jsonl': "
                                    "No such file or directory"));
}

TEST_CASE("check prints one check per line, verdict and file first", "[cli]") {
  Result r = cli("check traces/default.jsonl");
  INFO(r.out);
  CHECK(r.code == 0);
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  // The verdict, a check per line, then the three lines of liveness figures.
  REQUIRE(got.size() == 16);
  CHECK_THAT(got[0], Catch::StartsWith("OK traces/default.jsonl: "));
  CHECK(got[1].rfind("  WellFormed ok (", 0) == 0);
  CHECK(got[12].rfind("  Linearizability ok (", 0) == 0);
  CHECK(got[13].rfind("Availability: ", 0) == 0);
  CHECK(got[14].rfind("Election churn: ", 0) == 0);
  CHECK(got[15].rfind("Client success: ", 0) == 0);
}

TEST_CASE("scenario files reject unknown keys, located, with a suggestion", "[cli]") {
  std::string dir = fresh_dir("scenario-keys");
  const std::string header = R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3}})";
  struct Case {
    std::string text, where, message;
  };
  std::vector<Case> cases = {
      {header + "\n{\"event\":\"timeout\",\"node\":1,\"tmier\":\"election\"}\n",
       ":2:", "unknown key 'tmier' in a 'timeout' event (did you mean 'timer'?)"},
      {R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3,"leadr_noop":false}})"
       "\n",
       ":1:", "unknown key 'leadr_noop' in 'config' (did you mean 'leader_noop'?)"},
      {R"({"format":"raftkv-scenario","version":1,"config":{"num_nodes":3},"planted_bug":[]})"
       "\n",
       ":1:", "unknown key 'planted_bug' in the header (did you mean 'planted_bugs'?)"},
      {header +
           "\n{\"event\":\"timeout\",\"node\":1}\n{\"event\":\"deliver_pending\",\"too\":[2]}\n",
       ":3:", "unknown key 'too' in a 'deliver_pending' event (did you mean 'to'?)"},
      {header +
           "\n{\"event\":\"client_request\",\"node\":1,\"cmd\":{\"op\":\"put\",\"kye\":\"a\"}}\n",
       ":2:", "unknown key 'kye' in 'cmd' (did you mean 'key'?)"},
      {header + "\n{\"event\":\"timeout\",\"node\":1,\"zzzzzzzz\":1}\n",
       ":2:", "unknown key 'zzzzzzzz' in a 'timeout' event (expected event, t, node or timer)"},
      {header + "\n{\"event\":\"timout\",\"node\":1}\n",
       ":2:", "unknown scenario event 'timout' (did you mean 'timeout'?)"},
  };
  for (const Case& c : cases) {
    std::string path = dir + "/s.jsonl";
    write_file(path, c.text);
    Result r = cli("replay '" + path + "' --trace '" + dir + "/out.jsonl'");
    INFO(c.text << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains(path + c.where));
    CHECK_THAT(r.out, Catch::Contains(c.message));
    CHECK_FALSE(fs::exists(dir + "/out.jsonl"));
  }
}

TEST_CASE("README's Trace checker sample is what check prints", "[cli]") {
  const std::string command = "raftkv check traces/default.jsonl";
  std::string readme = sample("README.md");
  size_t at = readme.find("$ " + command + "\n");
  REQUIRE(at != std::string::npos);
  at += command.size() + 3;
  std::string shown = readme.substr(at, readme.find("```", at) - at);
  Result r = cli("check traces/default.jsonl");
  CHECK(r.code == 0);
  CHECK(r.out == shown);
}

TEST_CASE("Narrative flags: levels, filters, and clear errors", "[cli]") {
  // A filter takes one id per flag, so the config path after it stays a path.
  Result node = cli("run --node 3 traces/configs/leader-crash.toml");
  INFO(node.out);
  CHECK(node.code == 0);
  CHECK_THAT(node.out, Catch::Contains("[node 3]"));
  CHECK_THAT(node.out, !Catch::Contains("[node 2] Starting as follower"));
  Result brief = cli("run --verbosity 1 config.toml");
  CHECK(brief.code == 0);
  CHECK_THAT(brief.out, !Catch::Contains("Applied index"));
  Result bad_level = cli("run --verbosity 4");
  CHECK(bad_level.code == 2);
  CHECK_THAT(bad_level.out, Catch::Contains("--verbosity"));
  Result quiet = cli("run -q --verbosity 1");
  CHECK(quiet.code == 2);
  CHECK_THAT(quiet.out, Catch::Contains("--quiet turns the narrative off"));
  Result bad_node = cli("run --node 0");
  CHECK(bad_node.code == 2);
  // A node or client the run does not have would filter out everything.
  Result no_such_node = cli("run --node 6 config.toml");
  CHECK(no_such_node.code == 2);
  CHECK_THAT(no_such_node.out, Catch::Contains("--node 6: the run has nodes 1..5"));
  Result no_such_client = cli("run --client 4 config.toml");
  CHECK(no_such_client.code == 2);
  CHECK_THAT(no_such_client.out, Catch::Contains("--client 4: the run has clients 1..3"));
  Result replay_no_node = cli("replay --node 6 traces/default.jsonl");
  CHECK(replay_no_node.code == 2);
  CHECK_THAT(replay_no_node.out,
             Catch::Contains("--node 6: 'traces/default.jsonl' has nodes 1..5"));
  Result scenario_client = cli("replay --client 1 traces/scenarios/figure8.jsonl");
  CHECK(scenario_client.code == 2);
  CHECK_THAT(scenario_client.out, Catch::Contains("has no clients"));
  // For replay, a narrative flag implies --narrate.
  Result replayed = cli("replay --client 2 traces/default.jsonl");
  CHECK(replayed.code == 0);
  CHECK_THAT(replayed.out, Catch::Contains("[client 2]"));
  CHECK_THAT(replayed.out, !Catch::Contains("[client 1]"));
}

// Issue 12, "verdicts that tell the truth": the summary's Outcome line says
// which of the run's endings happened, and only a safety problem exits 1.
namespace {

// The number just before `word` in `text` (e.g. "412 sent" -> 412), or -1.
long long number_before(const std::string& text, const std::string& word) {
  size_t at = text.find(word);
  if (at == std::string::npos || at < 2) return -1;
  size_t end = at - 1;  // the space before the word
  size_t start = end;
  while (start > 0 && std::isdigit(static_cast<unsigned char>(text[start - 1]))) --start;
  if (start == end) return -1;
  return std::stoll(text.substr(start, end - start));
}

std::string line_starting(const std::string& text, const std::string& prefix) {
  size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return "";
  size_t end = text.find('\n', at + 1);
  return text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

}  // namespace

TEST_CASE("run: a correct cluster merely behind is still converging, not diverged: exit 0",
          "[cli][verdict]") {
  std::string dir = fresh_dir("verdict-behind");
  write_file(dir + "/behind.toml", "linger_ms = 0\n");
  Result r = cli("run --quiet '" + dir + "/behind.toml'");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("Outcome: still converging"));
  CHECK_THAT(r.out, !Catch::Contains("diverged"));
  // `check` on the same run agrees that nothing unsafe happened.
  Result checked = cli("run --quiet --check '" + dir + "/behind.toml'");
  CHECK(checked.code == 0);
}

TEST_CASE("run: every node crashed is 'no running node', not 'replicas agree'", "[cli][verdict]") {
  std::string dir = fresh_dir("verdict-all-down");
  std::string toml;
  for (int node = 1; node <= 5; ++node) {
    toml += "[[faults]]\nat_ms = 40\naction = \"crash\"\nnode = " + std::to_string(node) + "\n";
  }
  write_file(dir + "/down.toml", toml);
  Result r = cli("run --quiet '" + dir + "/down.toml'");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("no running node"));
  CHECK_THAT(r.out, !Catch::Contains("agree: yes"));
}

TEST_CASE("run: a lossy network that never elects a leader says so and counts what was not issued",
          "[cli][verdict]") {
  std::string dir = fresh_dir("verdict-lossy");
  write_file(dir + "/lossy.toml", "time_limit_ms = 5000\n[network]\nloss = 0.95\n");
  Result r = cli("run --quiet '" + dir + "/lossy.toml'");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("no leader ever elected"));
  CHECK_THAT(r.out, Catch::Contains("time limit reached"));
  CHECK_THAT(r.out, Catch::Contains("15 of 15 client requests not issued"));
}

TEST_CASE("run: replicas that applied different entries are diverged: exit 1", "[cli][verdict]") {
  Result r =
      cli("run traces/configs/planted-bug.toml --plant-bug skip_prev_log_check --seed 1 --quiet");
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("Outcome: diverged"));
}

TEST_CASE("run: the summary's figures add up and say what they count", "[cli][verdict]") {
  std::string dir = fresh_dir("verdict-figures");
  write_file(dir + "/lossy.toml", "[network]\nloss = 0.1\nduplicate = 0.05\n");
  Result r = cli("run --quiet --seed 2 '" + dir + "/lossy.toml'");
  INFO(r.out);
  REQUIRE(r.code == 0);
  // Messages: sent + duplicated = delivered + dropped + in flight.
  std::string messages = line_starting(r.out, "Messages:");
  INFO(messages);
  long long sent = number_before(messages, "sent");
  long long duplicated = number_before(messages, "duplicated");
  long long delivered = number_before(messages, "delivered");
  long long dropped = number_before(messages, "dropped");
  long long in_flight = number_before(messages, "in flight");
  REQUIRE(sent > 0);
  REQUIRE(duplicated >= 0);
  REQUIRE(delivered > 0);
  REQUIRE(dropped > 0);
  REQUIRE(in_flight >= 0);
  CHECK(sent + duplicated == delivered + dropped + in_flight);
  // Committed log entries against client operations: the copies are named.
  std::string log = line_starting(r.out, "Committed log:");
  INFO(log);
  long long entries = number_before(log, "entries");
  long long commands = number_before(log, "client commands");
  long long noops = number_before(log, "no-ops");
  long long ops = number_before(log, "client operations");
  long long copies = number_before(log, "extra copies");
  CHECK(entries == commands + noops);
  CHECK(commands == ops + copies);
  // Latency quantiles say whether `unknown` outcomes are in them.
  CHECK_THAT(line_starting(r.out, "Client latency"), Catch::Contains("unknown"));
  // Heartbeats are counted in rounds, with the messages of a round.
  std::string idle = line_starting(r.out, "Heartbeats while idle:");
  CHECK_THAT(idle, Catch::Contains("rounds per second"));
  CHECK_THAT(idle, Catch::Contains("per round"));
  CHECK_THAT(r.out, Catch::Contains("Faults injected: none"));
}

TEST_CASE("run: faults injected are reported by source and kind", "[cli][verdict]") {
  Result r = cli("run --quiet traces/configs/leader-crash.toml");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("Faults injected: schedule"));
  CHECK_THAT(r.out, Catch::Contains("crash 1"));
}

TEST_CASE("README's sample summary is the default run's real summary", "[cli][verdict][readme]") {
  Result r = cli("run --quiet config.toml");
  REQUIRE(r.code == 0);
  std::string readme = sample("README.md");
  std::string summary = r.out.substr(r.out.find("== Summary"));
  INFO("README.md's sample should be:\n" << summary);
  CHECK_THAT(readme, Catch::Contains(summary));
}

TEST_CASE("run: the nemesis's defaults inject faults in a default-sized run", "[cli][verdict]") {
  // The default workload is over in about 70 ms: a mean interval of seconds
  // would leave `[nemesis] enabled = true` doing nothing on most seeds.
  std::string dir = fresh_dir("verdict-nemesis");
  write_file(dir + "/nemesis.toml", "[nemesis]\nenabled = true\n");
  for (int seed = 1; seed <= 5; ++seed) {
    Result n = cli("run --quiet --seed " + std::to_string(seed) + " '" + dir + "/nemesis.toml'");
    INFO("seed " << seed << "\n" << n.out);
    CHECK(n.code == 0);
    CHECK_THAT(n.out, Catch::Contains("Faults injected: nemesis"));
  }
}

TEST_CASE("Long work shows a progress line on stderr only, and stdout never changes",
          "[cli][progress]") {
  std::string config = temp_path("progress.toml");
  {
    std::ofstream f(config);
    f << "num_nodes = 3\nnum_clients = 2\nrequests_per_client = 800\ntime_limit_ms = 1000000\n";
  }
  std::string trace = temp_path("progress.jsonl");
  std::string err_file = temp_path("progress.err");
  std::string bin = "'" + std::string(RAFTKV_BINARY) + "' ";
  // What a command prints on stdout, and on stderr (the helper's own 2>&1
  // applies to the group, not to the command inside).
  auto stdout_of = [&](const std::string& cmd) {
    return shell("{ " + cmd + " 2>/dev/null; }").out;
  };
  auto stderr_of = [&](const std::string& cmd) {
    shell("{ " + cmd + " 2>'" + err_file + "' >/dev/null; }");
    return read_file(err_file);
  };
  std::string run = "run '" + config + "' -q --trace '" + trace + "'";
  // Not a terminal (as here): nothing on stderr.
  std::string plain = stdout_of(bin + run);
  CHECK(stderr_of(bin + run).empty());
  std::string before = read_file(trace);
  // Forced, as a terminal would have it: progress lines on stderr, redrawn in
  // place and cleared at the end; stdout and the trace byte for byte the same.
  CHECK(stdout_of("RAFTKV_PROGRESS=always " + bin + run) == plain);
  CHECK(read_file(trace) == before);
  CHECK(stderr_of("RAFTKV_PROGRESS=always " + bin + run).empty());  // --quiet: none
  std::string told = stderr_of("RAFTKV_PROGRESS=always " + bin + "run '" + config + "'");
  // (The elapsed seconds depend on the machine: a sanitizer build is slower.)
  CHECK(std::regex_search(told, std::regex("\rrun: [0-9]+ s, [0-9]+/1600 requests issued \\(")));
  CHECK_THAT(told, Catch::EndsWith("\r\x1b[K"));
  // check and replay draw as they read the file.
  told = stderr_of("RAFTKV_PROGRESS=always " + bin + "check '" + trace + "'");
  CHECK_THAT(told, Catch::Contains("\rcheck " + trace + ": "));
  CHECK_THAT(told, Catch::Contains(" MB ("));
  CHECK(stdout_of("RAFTKV_PROGRESS=always " + bin + "check '" + trace + "'") ==
        stdout_of(bin + "check '" + trace + "'"));
  told = stderr_of("RAFTKV_PROGRESS=always " + bin + "replay '" + trace + "'");
  CHECK_THAT(told, Catch::Contains("\rreplay " + trace + ": "));
  CHECK(stderr_of("RAFTKV_PROGRESS=never " + bin + "replay '" + trace + "'").empty());
  fs::remove(config);
  fs::remove(trace);
  fs::remove(err_file);
}

TEST_CASE("explore: a negative bound is refused and never taken for the preset's",
          "[cli][explore]") {
  // The bounds' options hold -1 until given; a typed -1 must not pass for
  // "not given" and run the preset silently.
  for (const char* flag : {"--max-term", "--snapshot-every", "--transfers"}) {
    Result r = cli(std::string("explore ") + flag + " -1");
    INFO(r.out);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains(std::string(flag) + ": must not be negative, got -1"));
    CHECK_THAT(r.out, !Catch::Contains("no violation"));
  }
}
