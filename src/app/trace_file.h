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
// on: a traced run writes hundreds of megabytes per 100k operations. The
// bytes and their order are exactly those of writing each line in turn.
// flush() must be called (and has returned) before the output is closed or
// checked.
// The run may put deferred lines in the blocks (takes_deferred): the writer
// thread expands them (trace/line_encoder.h) before writing, so formatting
// happens on the second core too. It takes them while the writer keeps up: a
// block handed over with several blocks still waiting for the writer makes
// the run format the next block's lines itself, and one that finds fewer
// lets it defer them again. That shares the work between the two threads
// whichever is slower on a given machine. (Deferring only to an idle writer
// left it idle for half the run once it no longer copied into the page
// cache: the run's thread 0.53-0.75 s, the writer's 0.33-0.45 s, at 5x3.)
// Which thread writes a line's text never changes its bytes.
// Given the descriptor of the regular file `out` writes to, the sink writes
// the file itself, past what `out` has written, and a third thread does the
// writing, bypassing the page cache (O_DIRECT) for every whole 1 MiB: the
// disk reads the text straight from the sink's buffers. Through the page
// cache the kernel copies every byte, into pages that on a virtual machine
// the host supplies afresh: writing 622 MB that way took 1.5-1.6 s of CPU
// here, and 0.05 s of CPU (0.26-0.41 s waiting for the disk, off the CPU)
// bypassing it. What is left at a flush() (less than a chunk) goes through
// the page cache, and a file system that refuses O_DIRECT gets it all that
// way.
class FileSink : public TraceSink {
 public:
  // `fd`: the file `out` writes to, open for reading and writing, or -1 (not
  // a regular file, or unknown): the lines are then written to `out`. With a
  // descriptor, `out` must not be written to while the sink lives.
  explicit FileSink(std::ostream& out, int fd = -1);
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
  bool line_appended(size_t /*bytes*/) override {
    block_.push_back('\n');
    if (block_.size() >= kBlock) hand_over();
    return defer_;
  }
  bool takes_deferred() const override { return defer_; }
  // Returns once every line written so far has reached the stream or file.
  void flush();
  // With a descriptor: "" while every write succeeded, else what failed
  // (without one, the stream's state tells).
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  // With a descriptor: true while whole chunks are written bypassing the
  // page cache.
  bool direct() const {
    std::lock_guard<std::mutex> lock(mu_);
    return direct_;
  }
  // How many blocks were begun with the writer keeping up (the run defers the
  // block's lines) and behind (the run formats them itself).
  // (Counted under the lock: another thread may ask while the run goes on.)
  int64_t blocks_deferring() const {
    std::lock_guard<std::mutex> lock(mu_);
    return blocks_deferring_;
  }
  int64_t blocks_formatting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return blocks_formatting_;
  }
  // The bytes of trace written so far (all of the trace, after flush()).
  int64_t bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }

 private:
  static constexpr size_t kBlock = size_t{1} << 20;
  static constexpr size_t kMaxQueued = 8;                  // blocks waiting: bounds the memory used
  static constexpr size_t kDeferWhileQueued = 6;           // see hand_over()
  static constexpr size_t kChunk = size_t{1} << 20;        // the file is written in chunks of
  static constexpr size_t kMaxChunks = 4;                  // (waiting for the file thread)
  static constexpr size_t kPage = LineBuffer::kAlignment;  // O_DIRECT's unit

  struct Chunk {
    LineBuffer text;  // the bytes start at file offset `at`
    size_t length;    // a multiple of kPage
    int64_t at;       // a multiple of kPage
  };

  void hand_over();  // queue block_ for the writer thread
  void writer_loop();
  void file_loop();     // the file thread: writes the chunks
  void open_file();     // the constructor's, with a descriptor
  void write_staged();  // writes staged_ whole, through the page cache (flush)
  // Writes n bytes at `at`; false (error_ set) if that failed.
  bool write_at(const char* p, size_t n, int64_t at, bool direct);

  std::ostream& out_;
  std::string line_;
  LineBuffer block_;
  bool defer_ = true;             // the run's: the writer kept up at the last hand-over
  int64_t blocks_deferring_ = 0;  // counted at each hand-over (guarded by mu_)
  int64_t blocks_formatting_ = 0;
  LineBuffer expanded_;  // the writer thread's: a block with its deferred lines expanded

  // With a descriptor: what the writer has expanded and not yet handed to the
  // file thread, for file offsets from staged_at_ (a multiple of kPage) on.
  int fd_;
  LineBuffer staged_;
  int64_t staged_at_ = 0;

  mutable std::mutex mu_;
  int64_t bytes_ = 0;  // guarded by mu_, as everything below
  std::condition_variable cv_;
  std::deque<LineBuffer> queued_;  // full blocks, oldest first
  std::vector<LineBuffer> spare_;  // written blocks, kept for their capacity
  bool writing_ = false;           // the writer holds a block outside the queue
  bool stop_ = false;
  std::deque<Chunk> chunks_;            // for the file thread, oldest first
  std::vector<LineBuffer> spare_text_;  // written chunks, kept for their capacity
  bool filing_ = false;                 // the file thread holds a chunk outside the queue
  bool direct_ = false;
  bool unwritten_ = false;  // staged_ has text flush() has not written
  std::string error_;
  std::thread writer_;
  std::thread file_;  // with a descriptor only
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
