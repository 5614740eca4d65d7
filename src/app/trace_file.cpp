#include "app/trace_file.h"

#include "trace/line_encoder.h"

namespace raftkv {

FileSink::FileSink(std::ostream& out) : out_(out), writer_([this] { writer_loop(); }) {
  block_.reserve(kBlock + 4096);
}

FileSink::~FileSink() {
  flush();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void FileSink::write(const json& event) {
  line_.clear();
  append_json(event, line_);
  write_line(line_);
}

void FileSink::hand_over() {
  std::unique_lock<std::mutex> lock(mu_);
  // A writer that cannot keep up slows the run down instead of letting the
  // queue grow without bound.
  cv_.wait(lock, [this] { return queued_.size() < kMaxQueued; });
  // The writer is idle when it holds no block and none waits (this one aside).
  defer_ = queued_.empty() && !writing_;
  ++(defer_ ? blocks_deferring_ : blocks_formatting_);
  queued_.push_back(std::move(block_));
  if (spare_.empty()) {
    block_ = LineBuffer();
  } else {
    block_ = std::move(spare_.back());
    spare_.pop_back();
  }
  block_.clear();
  block_.reserve(kBlock + 4096);
  lock.unlock();
  cv_.notify_all();
}

void FileSink::flush() {
  if (!block_.empty()) hand_over();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queued_.empty() && !writing_; });
}

void FileSink::writer_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stop_ with nothing left to write
    LineBuffer block = std::move(queued_.front());
    queued_.pop_front();
    writing_ = true;
    lock.unlock();
    expanded_.clear();
    expand_deferred(block.view(), expanded_);
    out_.write(expanded_.data(), static_cast<std::streamsize>(expanded_.size()));
    lock.lock();
    bytes_ += static_cast<int64_t>(expanded_.size());
    writing_ = false;
    spare_.push_back(std::move(block));
    cv_.notify_all();
  }
}

}  // namespace raftkv
