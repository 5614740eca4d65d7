#include "trace/reader.h"

#include "trace/event_table.h"

namespace raftkv {
namespace {

// Error messages quote the input; bytes that are not printable ASCII are
// written as \xNN so a message never carries invalid UTF-8 to a terminal.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

TraceInputError::TraceInputError(const std::string& name, int64_t line, const std::string& msg)
    : std::runtime_error(name + ":" + std::to_string(line) + ": " + printable(msg)), line_(line) {}

bool LineReader::next(json& out) {
  std::string text;
  if (!std::getline(in_, text)) {
    if (in_.bad()) fail("read error");
    return false;
  }
  ++line_;
  if (in_.eof()) fail("last line has no line end (truncated file?)");
  if (text.empty()) fail("blank line");
  if (std::optional<std::string> error = parse_line(text, out)) fail(*error);
  return true;
}

std::optional<std::string> parse_line(const std::string& text, json& out) {
  try {
    out = json::parse(text);
  } catch (const json::parse_error& e) {
    return std::string("invalid JSON: ") + e.what();
  }
  if (!out.is_object()) return "expected a JSON object";
  try {
    trace::check_encoding(out);
  } catch (const trace::SchemaError& e) {
    return e.what();
  }
  return std::nullopt;
}

void LineReader::fail(const std::string& msg) const { throw TraceInputError(name_, line_, msg); }

void LineReader::fail_at_end(const std::string& msg) const {
  throw TraceInputError(name_, line_ + 1, msg);
}

namespace {

const json& field(const LineReader& r, const json& j, const char* key, bool (json::*is)() const,
                  const char* what) {
  auto it = j.find(key);
  if (it == j.end() || !((*it).*is)()) {
    r.fail(std::string("field '") + key + "' missing or not " + what);
  }
  return *it;
}

bool is_kind(const std::string& name, trace::EventKind kind) {
  const trace::EventSpec* e = trace::find_event(name);
  return e != nullptr && e->kind == kind;
}

}  // namespace

int64_t get_int(const LineReader& r, const json& j, const char* key) {
  return field(r, j, key, &json::is_number_integer, "an integer").get<int64_t>();
}

std::string get_str(const LineReader& r, const json& j, const char* key) {
  return field(r, j, key, &json::is_string, "a string").get<std::string>();
}

const json& get_object(const LineReader& r, const json& j, const char* key) {
  return field(r, j, key, &json::is_object, "an object");
}

const json& get_array(const LineReader& r, const json& j, const char* key) {
  return field(r, j, key, &json::is_array, "an array");
}

bool is_input_event(const std::string& name) { return is_kind(name, trace::EventKind::Input); }
bool is_effect_event(const std::string& name) { return is_kind(name, trace::EventKind::Effect); }
bool is_runtime_event(const std::string& name) { return is_kind(name, trace::EventKind::Runtime); }

void read_trace_header(LineReader& r, json& header) {
  if (!r.next(header)) r.fail_at_end("empty file (expected a header line)");
  try {
    trace::validate_header(header);
  } catch (const trace::SchemaError& e) {
    r.fail(e.what());
  }
}

bool StateFiller::fill(json& ev) {
  auto node = ev.find("node");
  auto name = ev.find("event");
  // Only node events carry a state; a runtime event's `node`-less fields and
  // the end event's full states are not this rule's business.
  if (node == ev.end() || name == ev.end() || !name->is_string() || !node->is_number_integer()) {
    return true;
  }
  const trace::EventSpec* spec = trace::find_event(name->get_ref<const std::string&>());
  if (spec == nullptr || !trace::is_node_event(*spec)) return true;
  int64_t id = node->get<int64_t>();
  auto state = ev.find("state");
  auto last = last_.find(id);
  if (state == ev.end()) {
    if (last == last_.end()) return false;
    ev["state"] = last->second;
    return true;
  }
  if (!state->is_object()) return true;  // the schema's check names it
  if (last == last_.end()) {
    // The node's first state: it must be whole (schema version 4 writes
    // only the fields that changed, and nothing came before).
    for (const char* field : trace::kStateFields) {
      if (!state->contains(field)) throw IncompleteState{id, field};
    }
    last_[id] = *state;
    return true;
  }
  // The fields the line leaves out are those of the node's previous state.
  for (auto it = state->begin(); it != state->end(); ++it) last->second[it.key()] = it.value();
  *state = last->second;
  return true;
}

std::string TraceFraming::read(const LineReader& r, json& ev) {
  if (ended_) r.fail("an event after the end event");
  try {
    trace::validate_event(ev);
  } catch (const trace::SchemaError& e) {
    r.fail(e.what());
  }
  if (ev["seq"] != next_seq_) r.fail("expected seq " + std::to_string(next_seq_));
  ++next_seq_;
  int64_t t = ev["t"].get<int64_t>();
  if (t < last_t_)
    r.fail("time goes back (t " + std::to_string(t) + " after " + std::to_string(last_t_) + ")");
  last_t_ = t;
  try {
    if (!states_.fill(ev)) {
      int64_t node = ev["node"].get<int64_t>();
      if (num_nodes_ == 0 || (node >= 1 && node <= num_nodes_)) r.fail(trace::missing_state(node));
    }
  } catch (const StateFiller::IncompleteState& e) {
    if (num_nodes_ == 0 || (e.node >= 1 && e.node <= num_nodes_)) {
      r.fail(trace::incomplete_state(e.node, e.field));
    }
  }
  const std::string& name = ev["event"].get_ref<const std::string&>();
  if (name == "end") ended_ = true;
  return name;
}

void TraceFraming::finish(const LineReader& r) const {
  if (!ended_) r.fail_at_end("the trace stops without an 'end' event (truncated?)");
}

}  // namespace raftkv
