// The guided tour (examples/README.md) must show what it says it shows: every
// ```sh block is run, and the ```text block after it lists lines that must
// appear in that output, in order. A command's expected exit code is written
// after it as `# exit N` (0 when absent).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support.h"

using raftkv::testing::run_shell;
using raftkv::testing::ShellResult;

namespace {

namespace fs = std::filesystem;

struct Step {
  std::vector<std::string> commands;
  std::vector<std::string> expected;  // lines that must appear, in order
  int line = 0;                       // of the sh block in the README
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<Step> read_tour(const std::string& path) {
  std::ifstream in(path);
  std::vector<Step> steps;
  std::string line, fence;
  std::vector<std::string> block;
  int line_no = 0, block_line = 0;
  bool text_may_follow = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (fence.empty()) {
      if (line.rfind("```", 0) == 0) {
        fence = trim(line.substr(3));
        block.clear();
        block_line = line_no;
      }
      continue;
    }
    if (line.rfind("```", 0) != 0) {
      block.push_back(line);
      continue;
    }
    if (fence == "sh") {
      Step s;
      s.line = block_line;
      for (const std::string& c : block) {
        if (!trim(c).empty()) s.commands.push_back(trim(c));
      }
      steps.push_back(s);
      text_may_follow = true;
    } else if (fence == "text" && text_may_follow) {
      for (const std::string& l : block) {
        if (trim(l) != "..." && !trim(l).empty()) steps.back().expected.push_back(l);
      }
      text_may_follow = false;
    } else {
      text_may_follow = false;
    }
    fence.clear();
  }
  return steps;
}

// Runs the tour in `dir` (with examples/ linked in) and returns what did not
// hold, one message each.
std::vector<std::string> run_tour(const std::string& readme, const std::string& dir) {
  std::vector<std::string> problems;
  for (const Step& step : read_tour(readme)) {
    std::string out;
    for (std::string command : step.commands) {
      int expected_code = 0;
      size_t hash = command.find(" # exit ");
      if (hash != std::string::npos) {
        expected_code = std::stoi(command.substr(hash + 8));
        command = trim(command.substr(0, hash));
      }
      if (command.rfind("raftkv ", 0) != 0) {
        problems.push_back("line " + std::to_string(step.line) +
                           ": not a raftkv command: " + command);
        continue;
      }
      ShellResult r = run_shell("'" + std::string(RAFTKV_BINARY) + "'" + command.substr(6), dir);
      if (r.code != expected_code) {
        problems.push_back("line " + std::to_string(step.line) + ": `" + command + "` exited " +
                           std::to_string(r.code) + ", the tour says " +
                           std::to_string(expected_code) + "\n" + r.out);
      }
      out += r.out;
    }
    std::istringstream lines(out);
    std::string got;
    size_t next = 0;
    while (next < step.expected.size() && std::getline(lines, got)) {
      if (got.find(step.expected[next]) != std::string::npos) ++next;
    }
    if (next < step.expected.size()) {
      problems.push_back("line " + std::to_string(step.line) + ": the output of `" +
                         step.commands.front() + "` has no line containing (in order):\n  " +
                         step.expected[next]);
    }
  }
  return problems;
}

std::string tour_dir(const std::string& name) {
  std::string dir = std::string(RAFTKV_BINARY) + "." + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_directory_symlink(std::string(RAFTKV_SOURCE_DIR) + "/examples", dir + "/examples");
  return dir;
}

}  // namespace

TEST_CASE("The guided tour shows what its text says", "[examples]") {
  std::string readme = std::string(RAFTKV_SOURCE_DIR) + "/examples/README.md";
  std::vector<Step> steps = read_tour(readme);
  REQUIRE(steps.size() >= 10);
  size_t expectations = 0;
  for (const Step& s : steps) expectations += s.expected.size();
  CHECK(expectations >= 30);
  std::vector<std::string> problems = run_tour(readme, tour_dir("tour"));
  for (const std::string& p : problems) FAIL_CHECK(p);
  CHECK(problems.empty());
}

TEST_CASE("The tour's test fails on a tour that claims what a run does not show", "[examples]") {
  std::string dir = tour_dir("tour-broken");
  std::string broken = dir + "/README.md";
  std::ofstream(broken) << "```sh\nraftkv run examples/leader-crash.toml\n```\n\n"
                           "```text\nBecame LEADER for term 99\n```\n\n"
                           "```sh\nraftkv run examples/vote-twice.toml --plant-bug vote_twice "
                           "--check\n```\n";
  std::vector<std::string> problems = run_tour(broken, dir);
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("Became LEADER for term 99"));
  CHECK_THAT(problems[1], Catch::Contains("exited 1, the tour says 0"));
}
