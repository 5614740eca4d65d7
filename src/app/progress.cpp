#include "app/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace raftkv {
namespace {

bool forced() {
  const char* env = std::getenv("RAFTKV_PROGRESS");
  return env != nullptr && std::strcmp(env, "always") == 0;
}

bool progress_wanted_here() {
  const char* env = std::getenv("RAFTKV_PROGRESS");
  if (forced()) return true;
  if (env != nullptr && std::strcmp(env, "never") == 0) return false;
  return isatty(STDERR_FILENO) == 1;
}

// A read-only stream buffer that reads `in` in blocks and reports the bytes
// read so far.
class CountingBuf : public std::streambuf {
 public:
  CountingBuf(std::istream& in, int64_t size, Progress& progress)
      : in_(in), size_(size), progress_(progress), buf_(1 << 16) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    std::streamsize got = in_.gcount();
    if (got <= 0) return traits_type::eof();
    read_ += got;
    progress_.update(read_ >> 20, size_ >> 20);
    setg(buf_.data(), buf_.data(), buf_.data() + got);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::istream& in_;
  int64_t size_;
  Progress& progress_;
  std::vector<char> buf_;
  int64_t read_ = 0;
};

// The stream and the buffer it reads from, owned together.
class CountingStream : public std::istream {
 public:
  CountingStream(std::istream& in, int64_t size, Progress& progress)
      : std::istream(nullptr), buf_(in, size, progress) {
    rdbuf(&buf_);
  }

 private:
  CountingBuf buf_;
};

std::string duration(double s) {
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%.0f s", s);
  } else {
    std::snprintf(text, sizeof text, "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  }
  return text;
}

}  // namespace

Progress::Progress(std::ostream& err, std::string label, std::string unit, bool wanted)
    : err_(err),
      label_(std::move(label)),
      unit_(std::move(unit)),
      enabled_(wanted && progress_wanted_here()),
      forced_(forced()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

std::string Progress::format(const std::string& label, const std::string& unit, double elapsed_s,
                             int64_t done, int64_t total) {
  char text[200];
  double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
  std::string line = label + ": " + duration(elapsed_s) + ", " + std::to_string(done);
  if (total > 0) {
    std::snprintf(text, sizeof text, "/%lld %s (%d%%)", static_cast<long long>(total), unit.c_str(),
                  static_cast<int>(100 * done / total));
  } else {
    std::snprintf(text, sizeof text, " %s", unit.c_str());
  }
  line += text;
  std::snprintf(text, sizeof text, ", %.1f %s/s", rate, unit.c_str());
  line += text;
  if (total > 0 && rate > 0 && done < total) {
    line += ", ~" + duration(static_cast<double>(total - done) / rate) + " left";
  }
  return line;
}

void Progress::update(int64_t done, int64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  // Forced (tests, demos): from the first update; else once the work has
  // taken a second, so short work shows nothing.
  if ((!forced_ && now - start_ < std::chrono::seconds(1)) ||
      (drawn_ && now - last_draw_ < std::chrono::milliseconds(200))) {
    return;
  }
  last_draw_ = now;
  drawn_ = true;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  // \r returns to the line's start and \x1b[K clears what a longer line left.
  err_ << '\r' << format(label_, unit_, elapsed, done, total) << "\x1b[K" << std::flush;
}

void Progress::finish() {
  if (!drawn_) return;
  err_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

std::unique_ptr<std::istream> progress_input(std::istream& in, int64_t size, Progress& progress) {
  return std::make_unique<CountingStream>(in, size, progress);
}

int64_t file_size(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

}  // namespace raftkv
