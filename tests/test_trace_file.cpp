// The trace file sink hands blocks of lines to a writer thread; what reaches
// the file must be exactly the lines in the order they were written, with
// nothing held back once flush() returns.
#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "app/trace_file.h"

using namespace raftkv;

namespace {

// Lines of varied length, so that block boundaries fall mid-line.
std::string numbered_line(int i) {
  return "{\"n\":" + std::to_string(i) + std::string(i % 97, 'x') + "}";
}

// A stream slower than the run: each write takes a few milliseconds, so a
// flush() that did not wait for the writer thread would return early.
class SlowBuf : public std::stringbuf {
 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return std::stringbuf::xsputn(s, n);
  }
};

}  // namespace

TEST_CASE("FileSink writes every line, in order, across many blocks", "[trace][file]") {
  SlowBuf buf;
  std::ostream out(&buf);
  std::string expected;
  {
    FileSink sink(out);
    for (int i = 0; i < 60000; ++i) {  // about 3.5 MB: several 1 MiB blocks
      std::string line = numbered_line(i);
      sink.write_line(line);
      expected += line + "\n";
      if (i == 30000) {
        // flush() returns only once all of it is out, and the sink goes on after.
        sink.flush();
        REQUIRE(buf.str() == expected);
      }
    }
    sink.flush();
    REQUIRE(buf.str().size() == expected.size());
    CHECK(sink.bytes() == static_cast<int64_t>(expected.size()));
  }
  CHECK(buf.str() == expected);
}

TEST_CASE("FileSink writes what is left when it is destroyed", "[trace][file]") {
  std::ostringstream out;
  {
    FileSink sink(out);
    sink.write(json{{"event", "heal"}, {"seq", 1}, {"t", 0}});
  }
  CHECK(out.str() == "{\"event\":\"heal\",\"seq\":1,\"t\":0}\n");
}

TEST_CASE("A stream that fails shows it after flush", "[trace][file]") {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  FileSink sink(out);
  sink.write_line("{}");
  sink.flush();
  CHECK_FALSE(out.good());
}
