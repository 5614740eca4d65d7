// The trace writer must write exactly what nlohmann::json::dump() writes:
// traces are compared byte for byte (determinism, sample traces), and the
// schema's examples were written with dump().
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support.h"
#include "trace/json_writer.h"

using namespace raftkv;

namespace {

std::string written(const json& value) {
  std::string out;
  append_json(value, out);
  return out;
}

}  // namespace

TEST_CASE("append_json writes what dump() writes, for every kind of value", "[trace]") {
  const std::vector<json> values = {
      json::object(),
      json::array(),
      nullptr,
      true,
      false,
      0,
      -1,
      int64_t{-9223372036854775807LL - 1},
      uint64_t{18446744073709551615ULL},
      0.1,
      -2.5e-300,
      "",
      "plain ascii ~!@#$%^&*()",
      "quote \" backslash \\ slash /",
      "control \n\t\r\x01\x1f and DEL \x7f",
      "utf-8: caf\xc3\xa9 \xe2\x82\xac",
      json{{"b", 1}, {"a", json::array({1, "x", nullptr, json::object()})}, {"\x01key", "v"}},
      json::array({json::array({json::array()}), json{{"z", {{"y", -3}}}}}),
  };
  for (const json& v : values) {
    INFO("value " << v.dump());
    CHECK(written(v) == v.dump());
  }
}

TEST_CASE("append_json rewrites every line of every sample trace unchanged", "[trace][samples]") {
  int lines = 0;
  for (const auto& f :
       std::filesystem::directory_iterator(std::string(RAFTKV_SOURCE_DIR) + "/traces")) {
    if (f.path().extension() != ".jsonl") continue;
    std::ifstream in(f.path());
    for (std::string line; std::getline(in, line);) {
      ++lines;
      std::string out = written(json::parse(line));
      if (out != line) FAIL("differs at " << f.path().filename() << " line " << lines);
    }
  }
  CHECK(lines > 10000);
}

TEST_CASE("A traced run writes the same bytes through append_json as through dump()", "[trace]") {
  Config cfg = testing::test_config(5, 3, 20, 9);
  cfg.network.loss = 0.1;
  cfg.network.duplicate = 0.1;
  testing::VectorSink sink;
  Cluster cluster(cfg);
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  REQUIRE(sink.events.size() > 500);
  for (const json& e : sink.events) REQUIRE(written(e) == e.dump());
}
