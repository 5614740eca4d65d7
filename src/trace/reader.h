// Reading traces and scenarios one JSON object per line: the one reader every
// command uses (check, replay, export-tla, the narrator). Every error names the
// file and the line (TraceInputError), and a trace line is validated against
// the contract (trace/event_table.h) before anyone looks at it, so the same
// malformed file gets the same verdict from every command.
//
// Omitted states (schema versions 3 and 4): a node line leaves `state` out when
// it is the state of that node's previous line, and writes only the fields
// that changed when it is not (v4). TraceFraming::read puts the rest back, so
// every consumer of this reader (replay, export-tla, the narrator) sees each
// node line whole, as in version 2, and none of them keeps node states for the
// sake of the encoding. The checker reads through trace/fast_reader.h instead
// and keeps each node's last state itself.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace raftkv {

using json = nlohmann::json;

// A file that is not what it claims to be: "NAME:LINE: what is wrong".
class TraceInputError : public std::runtime_error {
 public:
  TraceInputError(const std::string& name, int64_t line, const std::string& msg);
  int64_t line() const { return line_; }

 private:
  int64_t line_;
};

class LineReader {
 public:
  LineReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  // Reads the next line into out. Returns false at the end of the file.
  // Fails on a blank line, invalid JSON (invalid UTF-8 included), a value that
  // is not an object, a value the schema's encoding forbids (null, a number
  // that is not an integer in [0, 2^31)), and a last line without its line
  // end: the writer ends every line with one, so its absence means the file
  // was cut short.
  bool next(json& out);

  [[noreturn]] void fail(const std::string& msg) const;
  // A problem found after the last line (a missing end event).
  [[noreturn]] void fail_at_end(const std::string& msg) const;
  int64_t line() const { return line_; }
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_;
  int64_t line_ = 0;
};

// The JSON of one line (LineReader::next's checks after the blank-line one): the
// error message, or nullopt with the object in out. trace/fast_reader.h runs it
// on a line its own parser rejected, so both readers word every error alike.
std::optional<std::string> parse_line(const std::string& text, json& out);

// Typed fields of the current line; a missing field or one of another type
// fails with the line number instead of throwing json's type_error.
int64_t get_int(const LineReader& r, const json& j, const char* key);
std::string get_str(const LineReader& r, const json& j, const char* key);
const json& get_object(const LineReader& r, const json& j, const char* key);
const json& get_array(const LineReader& r, const json& j, const char* key);

// The event names of spec/trace-schema.md, by kind (trace/event_table.h).
bool is_input_event(const std::string& name);    // start, deliver, timeout, crash, restart
bool is_effect_event(const std::string& name);   // a node's effects inside a step
bool is_runtime_event(const std::string& name);  // network, clients, faults, end

// Reads a trace's header line: fails unless it is a raftkv-trace header of a
// version this reader knows, with every field the schema names and no other.
void read_trace_header(LineReader& r, json& header);

// Puts back the `state` a version-3 node line leaves out: keeps each node's
// last state (of a line that had one) and writes it into a node line without
// one. For readers of events as the runtime emits them (a narrating sink, the
// tests' trace builder) as much as for TraceFraming.
class StateFiller {
 public:
  // Returns false, changing nothing, for a node line without `state` whose
  // node had no state yet (the file is malformed: trace::missing_state).
  // A line with some of the state's fields (schema version 4) gets the
  // others from its node's previous state; a node's first state without
  // every field throws IncompleteState (trace::incomplete_state). Runtime
  // events pass unchanged.
  bool fill(json& ev);

  struct IncompleteState {
    int64_t node;
    const char* field;  // the first field it lacks
  };

 private:
  std::map<int64_t, json> last_;  // node id -> its last state
};

// The framing every trace line after the header must have: the contract's
// fields and types (trace/event_table.h), consecutive seq numbers from 1, a
// time that never decreases, and one end event, last (spec/trace-schema.md).
class TraceFraming {
 public:
  // num_nodes: the header's config.num_nodes (0: not known). A line of a node
  // outside 1..num_nodes is the consumer's to reject ("node N does not
  // exist", as the checker words it), so framing leaves its omitted state
  // absent instead of calling it missing.
  explicit TraceFraming(int64_t num_nodes = 0) : num_nodes_(num_nodes) {}
  // Validates the line and fills in an omitted `state` (StateFiller);
  // returns its event name.
  std::string read(const LineReader& r, json& ev);
  bool ended() const { return ended_; }
  // At the end of the file: fails if the trace had no end event.
  void finish(const LineReader& r) const;

 private:
  int64_t next_seq_ = 1;
  int64_t last_t_ = 0;
  bool ended_ = false;
  int64_t num_nodes_;
  StateFiller states_;
};

}  // namespace raftkv
