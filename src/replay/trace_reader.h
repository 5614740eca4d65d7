// Reading traces and scenarios one JSON object per line, for replay and
// export-tla. Every error names the file and the line (ReplayInputError).
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include "replay/replay.h"
#include "trace/codec.h"

namespace raftkv {

class LineReader {
 public:
  LineReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  // Reads the next line into out. Returns false at the end of the file.
  // Fails on a blank line, invalid JSON, a value that is not an object, and
  // a last line without its line end: the writer ends every line with one,
  // so its absence means the file was cut short (as `raftkv check` says).
  bool next(json& out);

  [[noreturn]] void fail(const std::string& msg) const;
  int64_t line() const { return line_; }
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_;
  int64_t line_ = 0;
};

// Typed fields of the current line; a missing field or one of another type
// fails with the line number instead of throwing json's type_error.
int64_t get_int(const LineReader& r, const json& j, const char* key);
std::string get_str(const LineReader& r, const json& j, const char* key);
const json& get_object(const LineReader& r, const json& j, const char* key);
const json& get_array(const LineReader& r, const json& j, const char* key);

// The event names of spec/trace-schema.md, by kind.
bool is_input_event(const std::string& name);    // start, deliver, timeout, crash, restart
bool is_effect_event(const std::string& name);   // a node's effects inside a step
bool is_runtime_event(const std::string& name);  // network, clients, faults, end

// The framing every trace line after the header must have: consecutive seq
// numbers from 1, and one end event, last (spec/trace-schema.md).
class TraceFraming {
 public:
  // Checks the line's seq and that no end event came before it; returns its
  // event name.
  std::string read(const LineReader& r, const json& ev);
  bool ended() const { return ended_; }

 private:
  int64_t next_seq_ = 1;
  bool ended_ = false;
};

}  // namespace raftkv
