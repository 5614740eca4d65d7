// The progress line's wording (the CLI test checks where it goes and that
// stdout never changes).
#include <catch2/catch.hpp>

#include "app/progress.h"

TEST_CASE("A progress line says elapsed, done of total, rate and time left", "[progress]") {
  using raftkv::Progress;
  CHECK(Progress::format("check t.jsonl", "MB", 12.0, 40, 100) ==
        "check t.jsonl: 12 s, 40/100 MB (40%), 3.3 MB/s, ~18 s left");
  CHECK(Progress::format("run", "requests issued", 75.0, 150, 0) ==
        "run: 1 min 15 s, 150 requests issued, 2.0 requests issued/s");
}
