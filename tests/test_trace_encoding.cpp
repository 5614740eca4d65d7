// The two ways the runtime writes a trace line -- through json objects
// (trace/codec.h, when a sink wants parsed events) and straight from typed
// values (trace/line_encoder.h, when every sink takes lines) -- must give
// the same bytes, or a narrated run and a quiet one would write different
// traces of the same run.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "support.h"
#include "trace/event_table.h"
#include "trace/json_writer.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {

class LineSink : public TraceSink {
 public:
  bool lines_only() const override { return true; }
  void write(const json& event) override {
    std::string line;
    append_json(event, line);
    write_line(line);
  }
  void write_line(const std::string& line) override { text += line + "\n"; }
  std::string text;
};

std::string json_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  VectorSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  std::string text;
  for (const json& e : sink.events) {
    append_json(e, text);
    text += '\n';
  }
  return text;
}

std::string line_path_text(const Config& cfg) {
  Cluster cluster(cfg);
  LineSink sink;
  cluster.add_sink(&sink);
  cluster.run();
  cluster.finish();
  return sink.text;
}

}  // namespace

TEST_CASE("The fast line encoder writes the bytes the json path writes", "[trace]") {
  std::map<std::string, int> kinds;
  int runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (int variant = 0; variant < 3; ++variant) {
      Config cfg = test_config(variant == 2 ? 1 : 3 + variant * 2, 2, 5, seed);
      if (variant == 1) {
        cfg.network.loss = 0.15;
        cfg.network.duplicate = 0.2;
        cfg.nemesis.enabled = true;
        cfg.nemesis.kinds = {NemesisKind::Crash, NemesisKind::Partition, NemesisKind::Cut};
        cfg.nemesis.mean_interval_ms = 60;
        cfg.timing.client_timeout_ms = 60;
      }
      cfg.keys = 3;  // get, put and delete meet existing and missing keys
      std::string slow = json_path_text(cfg), fast = line_path_text(cfg);
      INFO("seed " << seed << " variant " << variant);
      REQUIRE(fast == slow);
      for (const std::string& line : lines_of(fast)) kinds[json::parse(line)["event"]]++;
      ++runs;
    }
  }
  // Every event kind of the schema went through both paths.
  for (const trace::EventSpec& e : trace::event_table()) {
    INFO(e.name);
    CHECK(kinds[e.name] > 0);
  }
  CHECK(runs == 18);
}
