// The trace file sink hands blocks of lines to a writer thread; what reaches
// the file must be exactly the lines in the order they were written, with
// nothing held back once flush() returns.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "app/trace_file.h"
#include "sim/cluster.h"
#include "support.h"

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

// A stream whose writes wait until open() is called: the writer thread,
// stuck on its first block, falls as far behind the run as the test wants,
// however fast or slow the build (a sanitizer's run is several times slower).
class GateBuf : public std::stringbuf {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
    return std::stringbuf::xsputn(s, n);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
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

TEST_CASE("A run traced through FileSink has the same bytes whichever thread formats its lines",
          "[trace][file]") {
  // Losses and duplicates: refused appends, probes, retries and repeated
  // deliveries among the deferred kinds. About 21 MB of text: blocks enough,
  // even as deferred records, for the writer to fall behind by the 6 blocks
  // that make the run format lines itself.
  Config cfg = testing::test_config(5, 3, 1200, 7);
  cfg.time_limit_ms = 600'000;  // the losses slow it: all 3,600 requests, not the default minute's
  cfg.network.loss = 0.1;
  cfg.network.duplicate = 0.1;
  // The json path's text (tests/support.h), the header first.
  const std::string expected = testing::trace_text(cfg);
  REQUIRE(expected.size() > 16 * (size_t{1} << 20));
  for (bool held : {false, true}) {
    INFO((held ? "the writer held back until the run formats lines itself" : "a fast stream"));
    GateBuf gate;
    std::stringbuf fast_buf;
    std::ostream out(held ? static_cast<std::streambuf*>(&gate) : &fast_buf);
    FileSink sink(out);
    // Opens the gate once the run formats a block itself (or after a minute,
    // so that a failure is a failed check, not a hang).
    std::thread opener([&] {
      if (held) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (sink.blocks_formatting() == 0 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      gate.open();
    });
    Cluster cluster(cfg);
    cluster.add_sink(&sink);
    cluster.run();
    cluster.finish();
    sink.flush();
    opener.join();
    std::string written = held ? gate.str() : fast_buf.str();
    CHECK(sink.bytes() == static_cast<int64_t>(written.size()));
    REQUIRE(cluster.header().dump() + "\n" + written == expected);
    // The first block always finds the writer keeping up; held back, the
    // writer falls 6 blocks behind and the run formats the next ones itself.
    CHECK(sink.blocks_deferring() >= 1);
    if (held) CHECK(sink.blocks_formatting() >= 1);
  }
}

namespace {

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE(
    "FileSink given the file's descriptor writes the file itself, after what the stream wrote",
    "[trace][file]") {
  // As `run --trace` uses it: the header through the stream, then the sink
  // from there, whole 1 MiB chunks bypassing the page cache where the file
  // system allows it, the rest at each flush through it. The header is not a
  // whole number of pages, nor is any chunk's end a line's.
  TempTrace temp("raftkv-test-filesink");
  REQUIRE_FALSE(temp.path().empty());
  std::ofstream out(temp.path(), std::ios::binary | std::ios::in | std::ios::out);
  int fd = ::open(temp.path().c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  const std::string header = "{\"header\":\"" + std::string(5000, 'h') + "\"}\n";
  out << header;
  std::string expected = header;
  {
    FileSink sink(out, fd);
    INFO("bypassing the page cache: " << sink.direct());
    for (int i = 0; i < 60000; ++i) {  // about 3.5 MB
      std::string line = numbered_line(i);
      sink.write_line(line);
      expected += line + "\n";
      if (i == 100 || i == 30000) {
        // A flush writes everything so far, and the sink goes on after.
        sink.flush();
        CHECK(sink.error().empty());
        REQUIRE(file_text(temp.path()) == expected);
      }
    }
    sink.flush();
    CHECK(sink.error().empty());
    CHECK(sink.bytes() == static_cast<int64_t>(expected.size() - header.size()));
    // A run's deferred lines, expanded by the writer, land in the file the same.
    Config cfg = testing::test_config(5, 3, 100, 3);
    Cluster cluster(cfg);
    cluster.add_sink(&sink);
    cluster.run();
    cluster.finish();
    sink.flush();
    std::string run_text = testing::trace_text(cfg);
    expected += run_text.substr(run_text.find('\n') + 1);  // without its header
  }
  out.close();
  ::close(fd);
  CHECK(file_text(temp.path()) == expected);
}

TEST_CASE("FileSink reports a write to its descriptor that fails", "[trace][file]") {
  TempTrace temp("raftkv-test-filesink");
  REQUIRE_FALSE(temp.path().empty());
  std::ofstream out(temp.path(), std::ios::binary);
  int fd = ::open(temp.path().c_str(), O_RDONLY);  // readable, not writable
  REQUIRE(fd >= 0);
  {
    FileSink sink(out, fd);
    for (int i = 0; i < 30000; ++i) sink.write_line(numbered_line(i));  // chunks and a rest
    sink.flush();
    CHECK_THAT(sink.error(), Catch::Contains("Bad file descriptor"));
  }
  ::close(fd);
}
