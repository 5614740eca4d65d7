// The trace reader for whole-trace passes (`raftkv check`): the same verdicts
// as LineReader + read_trace_header + TraceFraming (trace/reader.h), at a
// speed nlohmann/json's tree building (and, before, simdjson's DOM plus a
// separate validator pass) did not reach.
//
// Each event line is read once, by a parser of the writer's encoding: no
// whitespace, integers in [0, 2^31) without sign, fraction or leading zero,
// strings of printable ASCII without escapes, true and false. It builds a flat
// tree of the line (LineValue below, reused from line to line) that is then
// checked against the contract's tables (trace/event_table.h) by a validator
// that only says yes or no. A line outside that encoding, or one the validator
// does not accept, is handed, as text, to the nlohmann path that LineReader
// and TraceFraming run: that path words the error, so a malformed file gets
// the same FILE:LINE: message from every command. If that path accepts the
// line after all (JSON written another way: spaces, escapes, -0, a leading
// byte-order mark, non-ASCII text, a repeated key), the line continues as
// nlohmann read it. So this reader accepts exactly the lines the nlohmann path
// accepts, with the same meaning.
//
// Memory: one line's text and tree at a time (the buffer grows to the longest
// line), whatever the trace's length.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <istream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trace/reader.h"

namespace raftkv {

enum class LineType : uint8_t { Object, Array, String, Int, Bool };

// One value of the current line, in a flat array in document order: a
// container's children follow it, and `end` is the index after its subtree
// (its next sibling). 32 bytes, two to a cache line: the checker reads the
// lines the reading thread wrote, so every byte it touches crosses cores.
struct LineNode {
  const char* key = nullptr;  // a member's key (after validation: the schema's name)
  union {
    const char* str;  // String
    int64_t integer;  // Int
  } v = {nullptr};
  uint32_t str_len = 0;
  uint32_t end = 0;
  uint8_t key_len = 0;
  LineType type = LineType::Int;
  bool boolean = false;

  std::string_view key_view() const { return std::string_view(key, key_len); }
  // Keys longer than 255 bytes are never the schema's: the parser refuses them.
  void set_key(std::string_view k) {
    key = k.data();
    key_len = static_cast<uint8_t>(k.size());
  }
  void set_str(std::string_view s) {
    v.str = s.data();
    str_len = static_cast<uint32_t>(s.size());
  }
  void set_int(int64_t i) { v.integer = i; }
};

// A value of the current line; valid until the reader reads the next line.
class LineValue {
 public:
  LineValue() = default;
  LineValue(const LineNode* nodes, uint32_t at) : nodes_(nodes), at_(at) {}

  LineType type() const { return node().type; }
  bool is(LineType t) const { return node().type == t; }
  int64_t integer() const { return node().v.integer; }
  std::string_view str() const { return std::string_view(node().v.str, node().str_len); }
  bool boolean() const { return node().boolean; }
  std::string_view key() const { return node().key_view(); }
  // Where it is in the line's tree.
  const LineNode* nodes() const { return nodes_; }
  uint32_t index() const { return at_; }

  // The children of an object (members, each with its key) or of an array.
  class iterator {
   public:
    iterator(const LineNode* nodes, uint32_t at) : nodes_(nodes), at_(at) {}
    LineValue operator*() const { return LineValue(nodes_, at_); }
    iterator& operator++() {
      at_ = nodes_[at_].end;
      return *this;
    }
    bool operator!=(const iterator& o) const { return at_ != o.at_; }

   private:
    const LineNode* nodes_;
    uint32_t at_;
  };
  iterator begin() const { return iterator(nodes_, at_ + 1); }
  iterator end() const { return iterator(nodes_, node().end); }
  size_t size() const {
    size_t n = 0;
    for (iterator it = begin(); it != end(); ++it) ++n;
    return n;
  }
  // An object's member by key (the first one); false if it has none.
  bool find(std::string_view name, LineValue& out) const {
    for (LineValue v : *this) {
      if (v.key() == name) {
        out = v;
        return true;
      }
    }
    return false;
  }

 private:
  const LineNode& node() const { return nodes_[at_]; }
  const LineNode* nodes_ = nullptr;
  uint32_t at_ = 0;
};

// Lines are read, parsed, validated and framed on a thread of their own, a
// batch of lines ahead of the caller, so that reading overlaps with what the
// caller does with each line (the checker's checks). The caller sees exactly
// the sequential reader's behaviour: the lines in order, and a malformed line's
// error only once it has taken every line before it (a violation the checks
// find on an earlier line still comes first).
class FastTraceReader {
 public:
  FastTraceReader(std::istream& in, std::string name);
  ~FastTraceReader();
  FastTraceReader(const FastTraceReader&) = delete;
  FastTraceReader& operator=(const FastTraceReader&) = delete;

  // Line 1, with read_trace_header's checks and messages (a small document:
  // nlohmann/json reads it).
  void read_header(json& header);
  // The next event line, validated against the contract and framed (seq in
  // order, time never back, nothing after `end`), as TraceFraming::read does.
  // The value lives until the next call. Returns false at the end of the file.
  bool next(LineValue& event);
  // The index in trace::event_table() of the event next() returned last.
  size_t event_index() const { return event_index_; }
  // At the end of the file: fails if the trace had no end event.
  void finish() const;

  [[noreturn]] void fail(const std::string& msg) const;
  [[noreturn]] void fail_at_end(const std::string& msg) const;
  int64_t line() const { return line_; }
  const std::string& name() const { return name_; }

  struct Batch;  // lines read ahead (fast_reader.cpp)

 private:
  // The next line without its line end; false at the end of the input.
  // `terminated` is false for a last line without a line end.
  bool next_line(std::string_view& line, bool& terminated);
  void refill();

  // The reading thread.
  void read_ahead();
  void read_batch(Batch& b);
  void read_line(Batch& b, std::string_view text, bool terminated);
  // A line the fast parser or validator did not accept: the nlohmann path's verdict.
  void slow_line(Batch& b, std::string_view text);
  [[noreturn]] void fail_ahead(const std::string& msg) const;

  std::istream& in_;
  std::string name_;
  int64_t line_ = 0;  // the caller's: the last line next() returned
  // Input bytes [begin_, end_) of buf_ (the header; then what the thread reads).
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  size_t event_index_ = 0;

  // Shared with the thread.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Batch>> batches_;
  std::deque<Batch*> full_;   // read, in line order
  std::vector<Batch*> free_;  // for the thread to fill
  bool stop_ = false;         // the caller is done (early, on a violation or error)
  std::thread thread_;

  // The caller's current batch and its next line.
  Batch* current_ = nullptr;
  size_t at_ = 0;
  bool done_ = false;   // the thread has read its last batch
  bool ended_ = false;  // the trace had its end event (known when done_)

  // The thread's own state.
  int64_t ahead_line_ = 0;   // the line being read
  std::vector<char> carry_;  // a line begun at the end of the previous batch
  // Framing (TraceFraming's rules).
  int64_t next_seq_ = 1;
  int64_t last_t_ = 0;
  bool ahead_ended_ = false;
};

// Parses one line in the writer's encoding (see above) into `nodes`; false for
// anything else, which the nlohmann path then judges.
bool parse_written_line(std::string_view text, std::vector<LineNode>& nodes);

// Whether an event line meets the contract: the encoding rules of
// trace::check_encoding and the tables of trace::validate_event, with no key
// repeated. Only yes or no; the nlohmann validators word the errors. On yes,
// `event_index` is the event's index in trace::event_table().
bool fast_valid_event(LineValue event, size_t& event_index);

}  // namespace raftkv
