// The raftkv binary as a user meets it: exit codes and messages.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// Runs `raftkv ARGS` from the source directory (where config.toml lives).
Result raftkv(const std::string& args) {
  std::string cmd =
      std::string("cd '") + RAFTKV_SOURCE_DIR + "' && '" + RAFTKV_BINARY + "' " + args + " 2>&1";
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string temp_path(const std::string& name) { return std::string(RAFTKV_BINARY) + "." + name; }

}  // namespace

TEST_CASE("--help works for the binary and every subcommand", "[cli]") {
  for (std::string args : {"--help", "run --help", "check --help", "replay --help", "bench --help",
                           "export-tla --help"}) {
    Result r = raftkv(args);
    INFO(args << "\n" << r.out);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage") || Catch::Contains("usage"));
  }
}

TEST_CASE("Bad flags exit 2 with a message", "[cli]") {
  for (std::string args : {"", "frobnicate", "run --no-such-flag", "run --seed notanumber", "check",
                           "run --plant-bug no_such_bug"}) {
    Result r = raftkv(args);
    INFO("args: '" << args << "'\n" << r.out);
    CHECK(r.code == 2);
    CHECK_FALSE(r.out.empty());
  }
}

TEST_CASE("run: default config, trace file, summary, exit 0", "[cli]") {
  std::string trace = temp_path("cli-trace.jsonl");
  Result r = raftkv("run --seed 3 --trace '" + trace + "'");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("Became LEADER for term 1"));
  CHECK_THAT(r.out, Catch::Contains("Replicas agree: yes"));
  CHECK_THAT(r.out, Catch::Contains("Client latency"));
  std::ifstream in(trace);
  std::string header;
  REQUIRE(std::getline(in, header));
  CHECK_THAT(header, Catch::Contains("\"format\":\"raftkv-trace\""));
  CHECK_THAT(header, Catch::Contains("\"seed\":3"));
  // The positional config path works like --config, and --quiet drops the narrative.
  Result q = raftkv("run config.toml --quiet");
  CHECK(q.code == 0);
  CHECK_THAT(q.out, !Catch::Contains("Became LEADER"));
  CHECK_THAT(q.out, Catch::Contains("Replicas agree: yes"));
}

TEST_CASE("run: a bad config exits 2 naming the file, line and key", "[cli]") {
  std::string path = temp_path("bad.toml");
  std::ofstream(path) << "num_nodes = 5\n[timing]\nheartbeat_intervl_ms = 10\n";
  Result r = raftkv("run '" + path + "'");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("bad.toml:3:"));
  CHECK_THAT(r.out, Catch::Contains("heartbeat_interval_ms"));
  Result missing = raftkv("run --config /nonexistent/raftkv.toml");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.out, Catch::Contains("/nonexistent/raftkv.toml"));
}

TEST_CASE("check: exit 0 on a good trace, 1 on a violation, 2 on a malformed one", "[cli]") {
  Result ok = raftkv("check traces/default.jsonl");
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::StartsWith("OK"));
  Result bad = raftkv("check traces/bug-vote_twice.jsonl");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("ElectionSafety"));
  // A valid header, then a broken line 2.
  std::ifstream sample(std::string(RAFTKV_SOURCE_DIR) + "/traces/default.jsonl");
  std::string header;
  REQUIRE(std::getline(sample, header));
  std::string path = temp_path("malformed.jsonl");
  std::ofstream(path) << header << "\n{oops\n";
  Result malformed = raftkv("check '" + path + "'");
  CHECK(malformed.code == 2);
  CHECK_THAT(malformed.out, Catch::Contains(":2:"));
}

TEST_CASE("replay: identical, diverged, malformed", "[cli]") {
  Result ok = raftkv("replay traces/leader-crash.jsonl");
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
  Result diverged = raftkv("replay '" + path + "'");
  CHECK(diverged.code == 1);
  // Line 1 is the header, so the event on line L has seq L - 1.
  CHECK_THAT(diverged.out,
             Catch::Contains("diverged at line " + std::to_string(edited_line) + " of " + path +
                             " (event " + std::to_string(edited_line - 1) + ","));
  // --narrate tells the whole edited trace, past the divergence, then reports it.
  Result told = raftkv("replay --narrate '" + path + "'");
  CHECK(told.code == 1);
  CHECK_THAT(told.out, Catch::Contains("[    556 ms] [node 1] Heartbeat"));
  CHECK_THAT(told.out, Catch::Contains("diverged at line"));
  Result scenario = raftkv("replay traces/scenarios/figure8.jsonl");
  CHECK(scenario.code == 0);
  CHECK_THAT(scenario.out, Catch::Contains("not written: give --trace FILE"));
  CHECK_THAT(scenario.out, !Catch::Contains("identical"));
  Result narrate = raftkv("replay --narrate traces/default.jsonl");
  CHECK(narrate.code == 0);
  CHECK_THAT(narrate.out, Catch::Contains("[node 1] Became LEADER for term 1"));
  Result missing = raftkv("replay /nonexistent.jsonl");
  CHECK(missing.code == 2);
}

TEST_CASE("run --check runs every check on the run just made", "[cli]") {
  // A correct run: the checker's summary, exit 0, no trace file needed.
  Result ok = raftkv("run traces/configs/stale-retry.toml --seed 1 --quiet --check");
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("Check: OK this run"));
  CHECK_THAT(ok.out, Catch::Contains("KVSemantics ok"));
  // The same run with the old dedup rule planted: the stale retry is caught, exit 1.
  Result bad = raftkv(
      "run traces/configs/stale-retry.toml --seed 1 --quiet --check --plant-bug "
      "dedup_last_seq_only");
  INFO(bad.out);
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("Check: VIOLATION this run: KVSemantics"));
  CHECK_THAT(bad.out, Catch::Contains("at most once"));
  // With --trace the check reads the file written, and names it.
  std::string trace = temp_path("check-trace.jsonl");
  Result named = raftkv("run --quiet --check --trace '" + trace + "'");
  CHECK(named.code == 0);
  CHECK_THAT(named.out, Catch::Contains("Check: OK " + trace));
}
