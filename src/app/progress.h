// A progress line for long work: elapsed time, done/total, rate and time
// left, redrawn in place on stderr once the work has taken a second. Only
// when stderr is a terminal: in a pipe, a file or a CI log it prints nothing,
// and it never touches stdout or a trace, which stay deterministic.
// RAFTKV_PROGRESS=always draws it anyway, from the start (tests, demos);
// RAFTKV_PROGRESS=never never draws it.
#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

namespace raftkv {

class Progress {
 public:
  // `label` names the work ("run", "check FILE"); `unit` what is counted
  // ("requests", "MB"). `wanted` false (e.g. --quiet) turns it off.
  Progress(std::ostream& err, std::string label, std::string unit, bool wanted = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // Cheap to call often: draws at most five times a second, and only once
  // the work has taken a second (short work shows nothing).
  void update(int64_t done, int64_t total);
  // Clears the line (the work's own output follows on a clean line).
  void finish();

  // What a line says, for tests: "check t.jsonl: 12.0 s, 40/100 MB (40%), 3.3 MB/s, ~18 s left".
  static std::string format(const std::string& label, const std::string& unit, double elapsed_s,
                            int64_t done, int64_t total);

 private:
  std::ostream& err_;
  std::string label_, unit_;
  bool enabled_;
  bool forced_;  // RAFTKV_PROGRESS=always
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// An input stream over a file that reports how much of it has been read to a
// Progress (in MB), so readers that take an istream (check, replay) show
// progress without knowing about it.
std::unique_ptr<std::istream> progress_input(std::istream& in, int64_t size, Progress& progress);

// The size of the file at `path` in bytes (0 if unknown).
int64_t file_size(const std::string& path);

}  // namespace raftkv
