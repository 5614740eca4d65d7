// The trace reader for whole-trace passes (`raftkv check`): the same verdicts
// as LineReader + read_trace_header + TraceFraming (trace/reader.h), at the
// speed of simdjson instead of nlohmann/json, whose tree building was most of
// the checker's time.
//
// Each event line is parsed once into a reused simdjson DOM and validated
// against the contract's tables (trace/event_table.h) by a validator that only
// says yes or no. A line it does not accept is handed, as text, to the
// nlohmann path that LineReader and TraceFraming run: that path words the
// error, so a malformed file gets the same FILE:LINE: message from every
// command. If that path accepts the line after all (JSON that simdjson reads
// differently, such as -0, a leading byte-order mark or a repeated key), the
// line continues as nlohmann read it, re-encoded. So this reader accepts
// exactly the lines the nlohmann path accepts, with the same meaning.
//
// Memory: one line's text and DOM at a time (the buffer grows to the longest
// line), whatever the trace's length.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "trace/reader.h"

namespace raftkv {

class FastTraceReader {
 public:
  FastTraceReader(std::istream& in, std::string name);

  // Line 1, with read_trace_header's checks and messages (a small document:
  // nlohmann/json reads it).
  void read_header(json& header);
  // The next event line, validated against the contract and framed (seq in
  // order, time never back, nothing after `end`), as TraceFraming::read does.
  // The element lives until the next call. Returns false at the end of the
  // file.
  bool next(simdjson::dom::element& event);
  // At the end of the file: fails if the trace had no end event.
  void finish() const;

  [[noreturn]] void fail(const std::string& msg) const;
  [[noreturn]] void fail_at_end(const std::string& msg) const;
  int64_t line() const { return line_; }
  const std::string& name() const { return name_; }

 private:
  // The next line without its line end; false at the end of the input.
  // `terminated` is false for a last line without a line end.
  bool next_line(std::string_view& line, bool& terminated);
  void refill();
  // A line the fast validator did not accept: the nlohmann path's verdict.
  void slow_line(std::string_view text, simdjson::dom::element& event);

  std::istream& in_;
  std::string name_;
  int64_t line_ = 0;
  // Input bytes [begin_, end_) of buf_, with SIMDJSON_PADDING bytes after
  // end_ that simdjson may read past a line's end.
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  simdjson::dom::parser parser_;
  std::string canonical_;  // a line re-encoded by nlohmann (see slow_line)
  // Framing (TraceFraming's rules).
  int64_t next_seq_ = 1;
  int64_t last_t_ = 0;
  bool ended_ = false;
};

// Whether an event line, parsed by simdjson, meets the contract: the encoding
// rules of trace::check_encoding and the tables of trace::validate_event, with
// no key repeated. Only yes or no; the nlohmann validators word the errors.
bool fast_valid_event(simdjson::dom::element event);

}  // namespace raftkv
