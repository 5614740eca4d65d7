// The committed sample traces in traces/: each gets the verdict recorded in
// traces/expected.tsv, and each replays identically on the current code.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "check/checker.h"
#include "replay/replay.h"

using namespace raftkv;

namespace {

struct Sample {
  std::string file;
  std::string verdict;
};

std::vector<Sample> samples() {
  std::ifstream in(std::string(RAFTKV_SOURCE_DIR) + "/traces/expected.tsv");
  std::vector<Sample> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

std::string path_of(const Sample& s) {
  return std::string(RAFTKV_SOURCE_DIR) + "/traces/" + s.file;
}

}  // namespace

TEST_CASE("Every sample trace gets its recorded verdict", "[samples]") {
  auto list = samples();
  REQUIRE(list.size() >= 12);
  for (const Sample& s : list) {
    check::Report report = check::check_trace_file(path_of(s));
    INFO(s.file << ": " << check::format_report(report));
    if (s.verdict == "ok") {
      CHECK(report.ok());
    } else {
      REQUIRE_FALSE(report.ok());
      CHECK(report.violation->check == s.verdict);
    }
  }
}

TEST_CASE("Every sample trace replays identically", "[samples][replay]") {
  for (const Sample& s : samples()) {
    std::ifstream in(path_of(s));
    REQUIRE(in);
    ReplayResult r = replay(in, s.file, {});
    INFO(s.file << ": " << r.divergence);
    CHECK(r.identical);
  }
}
