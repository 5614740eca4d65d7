// Writing a run's trace to a file: the sink that does it and the temporary
// file `run --check` and `bench` write to when the user names none.
#pragma once

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "sim/cluster.h"
#include "trace/json_writer.h"

namespace raftkv {

// Writes each event as one line. Lines are gathered into blocks of 1 MiB,
// and a second thread hands the full blocks to the stream while the run goes
// on: a traced run writes about a gigabyte per 100k operations, and the
// kernel's copy of it into the page cache was a fifth of the run's time when
// the simulation waited for it. The bytes and their order are exactly those
// of writing each line in turn. flush() must be called (and has returned)
// before the stream is closed or checked.
// The run may put deferred lines in the blocks (takes_deferred): the writer
// thread expands them (trace/line_encoder.h) before writing, so formatting
// happens on the second core too. It takes them while the writer keeps up: a
// block handed over while the writer is still busy with an earlier one makes
// the run format the next block's lines itself, and one that finds the writer
// idle lets it defer them again. That shares the work between the two
// threads whichever is slower on a given machine and file system (at 5x3 the
// kernel's copy into the page cache makes the writer the slower one, at 51x16
// the formatting of long AppendEntries makes it the run). Which thread writes
// a line's text never changes its bytes.
class FileSink : public TraceSink {
 public:
  explicit FileSink(std::ostream& out);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  bool lines_only() const override { return true; }
  void write(const json& event) override;
  void write_line(const std::string& line) override {
    block_.append(line);
    block_.push_back('\n');
    if (block_.size() >= kBlock) hand_over();
  }
  // The runtime appends each line to the block itself (no copy of the line).
  LineBuffer* line_buffer() override { return &block_; }
  void line_appended(size_t /*bytes*/) override {
    block_.push_back('\n');
    if (block_.size() >= kBlock) hand_over();
  }
  bool takes_deferred() const override { return defer_; }
  // Returns once every line written so far has reached the stream.
  void flush();
  // How many blocks were begun with the writer idle (the run defers the
  // block's lines) and busy (the run formats them itself).
  int64_t blocks_deferring() const { return blocks_deferring_; }
  int64_t blocks_formatting() const { return blocks_formatting_; }
  // The bytes written to the stream so far (all of the trace, after flush()).
  int64_t bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }

 private:
  static constexpr size_t kBlock = size_t{1} << 20;
  static constexpr size_t kMaxQueued = 8;  // blocks waiting: bounds the memory used

  void hand_over();  // queue block_ for the writer thread
  void writer_loop();

  std::ostream& out_;
  std::string line_;
  LineBuffer block_;
  bool defer_ = true;             // the run's: the writer was idle at the last hand-over
  int64_t blocks_deferring_ = 0;  // the run's, counted at each hand-over
  int64_t blocks_formatting_ = 0;
  LineBuffer expanded_;  // the writer thread's: a block with its deferred lines expanded

  mutable std::mutex mu_;
  int64_t bytes_ = 0;  // written to the stream (guarded by mu_)
  std::condition_variable cv_;
  std::deque<LineBuffer> queued_;  // full blocks, oldest first
  std::vector<LineBuffer> spare_;  // written blocks, kept for their capacity
  bool writing_ = false;           // the writer holds a block outside the queue
  bool stop_ = false;
  std::thread writer_;
};

// A file in $TMPDIR (or /tmp) named after `stem`, removed when the object goes.
// path() is empty if it could not be created.
class TempTrace {
 public:
  explicit TempTrace(const char* stem = "raftkv-run-check") {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/" + stem + ".XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) {
      path_.clear();
      return;
    }
    close(fd);
  }
  ~TempTrace() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  TempTrace(const TempTrace&) = delete;
  TempTrace& operator=(const TempTrace&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace raftkv
