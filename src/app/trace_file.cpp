#include "app/trace_file.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "trace/line_encoder.h"

namespace raftkv {

FileSink::FileSink(std::ostream& out, int fd) : out_(out), fd_(fd) {
  block_.reserve(kBlock + 4096);
  if (fd_ >= 0) open_file();
  writer_ = std::thread([this] { writer_loop(); });
  if (fd_ >= 0) file_ = std::thread([this] { file_loop(); });
}

FileSink::~FileSink() {
  flush();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
  if (file_.joinable()) file_.join();
}

void FileSink::open_file() {
  // The file so far is what `out` wrote (the header): the sink goes on from
  // its end. Writing bypassing the page cache starts at a page boundary, so
  // the bytes of the last, partial page are read back and written again.
  out_.flush();
  std::streamoff end = out_ ? static_cast<std::streamoff>(out_.tellp()) : -1;
  if (end < 0) {
    fd_ = -1;  // not a file after all: write to the stream
    return;
  }
  staged_at_ = end / static_cast<std::streamoff>(kPage) * static_cast<std::streamoff>(kPage);
  size_t partial = static_cast<size_t>(end - staged_at_);
  staged_.reserve(kChunk + kBlock * 3);
  if (partial > 0 &&
      pread(fd_, staged_.room(partial), partial, staged_at_) != static_cast<ssize_t>(partial)) {
    fd_ = -1;  // not readable: write to the stream
    return;
  }
  staged_.commit(staged_.room(0) + partial);
  int flags = fcntl(fd_, F_GETFL);
  direct_ = flags >= 0 && fcntl(fd_, F_SETFL, flags | O_DIRECT) == 0;
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
  // The run defers the next block's lines unless the writer is several
  // blocks behind: then it formats them itself until the writer catches up.
  defer_ = queued_.size() < kDeferWhileQueued;
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
  cv_.wait(lock, [this] { return queued_.empty() && !writing_ && chunks_.empty() && !filing_; });
  // Both threads are idle, and stay so until the next block: the rest of
  // staged_ can be written from here. Only if there is anything new: the
  // descriptor may be closed by now (a sink destroyed after its file was
  // committed).
  bool write = fd_ >= 0 && unwritten_ && error_.empty();
  unwritten_ = false;
  lock.unlock();
  if (write) write_staged();
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
    LineBuffer& text = fd_ >= 0 ? staged_ : expanded_;
    size_t before = fd_ >= 0 ? staged_.size() : 0;
    if (fd_ < 0) expanded_.clear();
    expand_deferred(block.view(), text);
    size_t added = text.size() - before;
    if (fd_ < 0) out_.write(expanded_.data(), static_cast<std::streamsize>(expanded_.size()));
    lock.lock();
    bytes_ += static_cast<int64_t>(added);
    if (added > 0) unwritten_ = true;
    if (fd_ >= 0 && staged_.size() >= kChunk) {
      // Whole pages go to the file thread; the rest starts the next chunk.
      cv_.wait(lock, [this] { return chunks_.size() < kMaxChunks; });
      size_t whole = staged_.size() / kPage * kPage;
      LineBuffer next;
      if (!spare_text_.empty()) {
        next = std::move(spare_text_.back());
        spare_text_.pop_back();
      }
      next.clear();
      next.reserve(kChunk + kBlock * 3);
      next.append(staged_.data() + whole, staged_.size() - whole);
      chunks_.push_back(Chunk{std::move(staged_), whole, staged_at_});
      staged_ = std::move(next);
      staged_at_ += static_cast<int64_t>(whole);
    }
    writing_ = false;
    spare_.push_back(std::move(block));
    cv_.notify_all();
  }
}

void FileSink::file_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !chunks_.empty(); });
    if (chunks_.empty()) return;
    Chunk chunk = std::move(chunks_.front());
    chunks_.pop_front();
    filing_ = true;
    bool direct = direct_;
    bool failed = !error_.empty();
    lock.unlock();
    if (!failed) write_at(chunk.text.data(), chunk.length, chunk.at, direct);
    lock.lock();
    filing_ = false;
    spare_text_.push_back(std::move(chunk.text));
    cv_.notify_all();
  }
}

void FileSink::write_staged() {
  // Through the page cache: the length is not a whole number of pages. The
  // next chunk, if any, starts at the same page and writes it again.
  bool direct;
  {
    std::lock_guard<std::mutex> lock(mu_);
    direct = direct_;
  }
  if (direct) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_DIRECT);
  bool ok = write_at(staged_.data(), staged_.size(), staged_at_, false);
  if (ok && direct) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_DIRECT);
}

bool FileSink::write_at(const char* p, size_t n, int64_t at, bool direct) {
  while (n > 0) {
    ssize_t w = pwrite(fd_, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && direct && errno == EINVAL) {
      // The file system refuses O_DIRECT (or its alignment is not ours):
      // everything from here on goes through the page cache.
      fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_DIRECT);
      std::lock_guard<std::mutex> lock(mu_);
      direct_ = direct = false;
      continue;
    }
    if (w <= 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.empty()) error_ = w < 0 ? std::strerror(errno) : "nothing written (disk full?)";
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return true;
}

}  // namespace raftkv
