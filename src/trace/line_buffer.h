// A growable run of bytes that trace lines are written into.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>

namespace raftkv {

// Unlike std::string, its room beyond what is written is never initialised,
// so the line encoder (trace/line_encoder.h) can write a line straight into
// it: take room(), write up to that many bytes, commit() their end. With a
// std::string as the target a line is written to a scratch buffer first and
// copied, as C++20 has no way to write into a string's unused capacity
// without zero-filling it. The runtime's main trace buffers (a trace file's
// blocks, a sweep's in-memory trace) are LineBuffers for that reason.
// Its bytes start at a multiple of kAlignment, as writes that bypass the page
// cache (O_DIRECT) need of their source.
class LineBuffer {
 public:
  static constexpr size_t kAlignment = 4096;

  LineBuffer() = default;
  LineBuffer(LineBuffer&& other) noexcept { swap(other); }
  LineBuffer& operator=(LineBuffer&& other) noexcept {
    swap(other);
    other.clear();
    return *this;
  }
  LineBuffer(const LineBuffer&) = delete;
  LineBuffer& operator=(const LineBuffer&) = delete;

  const char* data() const { return buf_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return cap_; }
  std::string_view view() const { return {buf_.get(), size_}; }
  std::string str() const { return std::string(view()); }
  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > cap_) grow(n - size_);
  }

  // Where to write at least n more bytes (valid until the buffer next grows).
  char* room(size_t n) {
    if (cap_ - size_ < n) grow(n);
    return buf_.get() + size_;
  }
  // The end of the room room() gave (and of any beyond it).
  char* limit() { return buf_.get() + cap_; }
  // What was written up to `end` (a pointer into the room) is now part of it.
  void commit(const char* end) { size_ = static_cast<size_t>(end - buf_.get()); }

  void append(const char* p, size_t n) {
    std::memcpy(room(n), p, n);
    size_ += n;
  }
  void append(std::string_view v) { append(v.data(), v.size()); }
  void push_back(char c) {
    *room(1) = c;
    ++size_;
  }

 private:
  void swap(LineBuffer& other) noexcept {
    std::swap(buf_, other.buf_);
    std::swap(size_, other.size_);
    std::swap(cap_, other.cap_);
  }
  void grow(size_t more) {
    size_t want = size_ + more;
    if (want < 2 * cap_) want = 2 * cap_;
    Bytes bigger(static_cast<char*>(::operator new[](want, std::align_val_t{kAlignment})));
    if (size_ > 0) std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    cap_ = want;
  }

  struct Free {
    void operator()(char* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
  };
  using Bytes = std::unique_ptr<char[], Free>;
  Bytes buf_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace raftkv
