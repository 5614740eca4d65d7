#include "trace/fast_reader.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "trace/event_table.h"

namespace raftkv {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using trace::FieldSpec;
using T = trace::FieldType;

constexpr size_t kChunk = size_t{1} << 20;       // bytes read from the stream at a time
constexpr int64_t kIntLimit = int64_t{1} << 31;  // every traced integer is in [0, 2^31)

// The yes/no twin of event_table.cpp's Validator, over a simdjson DOM. It may
// refuse more than the contract does (the nlohmann path then has the last
// word), never less. simdjson reads a number without fraction or exponent that
// fits in int64 as INT64; anything else (UINT64 above 2^63, DOUBLE, -0) is
// refused here and judged by the nlohmann path.
//
// The tables are compiled once into objects whose fields are sorted by name,
// with the names' lengths known: trace lines have their keys sorted (the
// writer's order), so each key is usually the field after the previous one,
// and matching a key costs one comparison instead of a scan of the list.

struct CompiledObject;

struct CompiledField {
  std::string_view name;
  const FieldSpec* spec = nullptr;
  const CompiledObject* object = nullptr;  // the fields of an object, or of an array's objects
};

struct CompiledObject {
  std::vector<CompiledField> fields;  // sorted by name
  uint64_t required = 0;              // bit i: fields[i] is required
};

struct CompiledSchema {
  CompiledObject state, command, entry, result, end_node;
  std::vector<std::pair<std::string_view, CompiledObject>> messages;  // by type
  std::vector<CompiledObject> events;  // in the order of trace::event_table()
  std::vector<std::unique_ptr<CompiledObject>> header_objects;  // Object / ObjectArray fields

  CompiledSchema() {
    compile(state, {&trace::state_fields()});
    compile(command, {&trace::command_fields()});
    compile(entry, {&trace::entry_fields()});
    compile(result, {&trace::result_fields()});
    compile(end_node, {&trace::end_node_fields()});
    for (const trace::MessageSpec& m : trace::message_table()) {
      messages.emplace_back(m.type, CompiledObject{});
      compile(messages.back().second, {&trace::message_common_fields(), &m.fields});
    }
    events.resize(trace::event_table().size());
    for (size_t i = 0; i < events.size(); ++i) {
      const trace::EventSpec& e = trace::event_table()[i];
      compile(events[i], {&trace::event_common_fields(e), &e.fields});
    }
  }

  void compile(CompiledObject& out, std::initializer_list<const std::vector<FieldSpec>*> lists) {
    for (const std::vector<FieldSpec>* list : lists) {
      for (const FieldSpec& f : *list) out.fields.push_back({f.name, &f, sub_object(f)});
    }
    if (out.fields.size() > 64) throw std::logic_error("an object of more than 64 fields");
    std::sort(out.fields.begin(), out.fields.end(),
              [](const CompiledField& a, const CompiledField& b) { return a.name < b.name; });
    for (size_t i = 0; i < out.fields.size(); ++i) {
      if (out.fields[i].spec->required) out.required |= uint64_t{1} << i;
    }
  }

  const CompiledObject* sub_object(const FieldSpec& f) {
    switch (f.type) {
      case T::State: return &state;
      case T::Command: return &command;
      case T::Entry:
      case T::Entries: return &entry;
      case T::Result: return &result;
      case T::EndNodes: return &end_node;
      case T::Object:
      case T::ObjectArray:
        header_objects.push_back(std::make_unique<CompiledObject>());
        compile(*header_objects.back(), {&f.fields});
        return header_objects.back().get();
      default: return nullptr;
    }
  }
};

const CompiledSchema& schema() {
  static const CompiledSchema compiled;
  return compiled;
}

bool valid_value(element v, const CompiledField& f);

// Keys are a few bytes: comparing them inline beats a call to memcmp.
bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

bool valid_int(element v) {
  if (v.type() != element_type::INT64) return false;
  int64_t x = v.get_int64().value_unsafe();
  return x >= 0 && x < kIntLimit;
}

// One object against its fields, keys in any order, each at most once
// (nlohmann keeps one value of a repeated key; simdjson keeps both, so a
// repeated key goes to the nlohmann path).
bool valid_object(element v, const CompiledObject& o) {
  if (v.type() != element_type::OBJECT) return false;
  const size_t n = o.fields.size();
  uint64_t seen = 0;
  size_t next = 0;  // where the key is, if the keys come in sorted order
  for (simdjson::dom::key_value_pair kv : simdjson::dom::object(v)) {
    size_t at = next;
    if (at >= n || !same(o.fields[at].name, kv.key)) {
      at = 0;
      while (at < n && !same(o.fields[at].name, kv.key)) ++at;
      if (at == n) return false;
    }
    if ((seen >> at & 1) != 0) return false;
    seen |= uint64_t{1} << at;
    if (!valid_value(kv.value, o.fields[at])) return false;
    next = at + 1;
  }
  return (o.required & ~seen) == 0;
}

bool valid_int_array(element v) {
  if (v.type() != element_type::ARRAY) return false;
  for (element child : simdjson::dom::array(v)) {
    if (!valid_int(child)) return false;
  }
  return true;
}

bool valid_message(element v) {
  if (v.type() != element_type::OBJECT) return false;
  std::string_view type;
  if (simdjson::dom::object(v).at_key("type").get_string().get(type) != simdjson::SUCCESS) {
    return false;
  }
  for (const auto& [name, fields] : schema().messages) {
    if (type == name) return valid_object(v, fields);
  }
  return false;
}

bool valid_value(element v, const CompiledField& f) {
  switch (f.spec->type) {
    case T::Int: return valid_int(v);
    case T::Bool: return v.type() == element_type::BOOL;
    case T::String: {
      if (v.type() != element_type::STRING) return false;
      const std::vector<std::string>& allowed = f.spec->allowed;
      if (allowed.empty()) return true;
      std::string_view s = v.get_string().value_unsafe();
      for (const std::string& a : allowed) {
        if (same(a, s)) return true;  // inline: std::find called memcmp per candidate
      }
      return false;
    }
    case T::IntArray: return valid_int_array(v);
    case T::StringArray:
      if (v.type() != element_type::ARRAY) return false;
      for (element child : simdjson::dom::array(v)) {
        if (child.type() != element_type::STRING) return false;
      }
      return true;
    case T::Groups:
      if (v.type() != element_type::ARRAY) return false;
      for (element child : simdjson::dom::array(v)) {
        if (!valid_int_array(child)) return false;
      }
      return true;
    case T::Message: return valid_message(v);
    case T::State:
    case T::Command:
    case T::Entry:
    case T::Result:
    case T::Object: return valid_object(v, *f.object);
    case T::Entries:
    case T::ObjectArray:
    case T::EndNodes:
      if (v.type() != element_type::ARRAY) return false;
      for (element child : simdjson::dom::array(v)) {
        if (!valid_object(child, *f.object)) return false;
      }
      return true;
  }
  return false;
}

}  // namespace

bool fast_valid_event(element ev) {
  if (ev.type() != element_type::OBJECT) return false;
  std::string_view name;
  if (simdjson::dom::object(ev).at_key("event").get_string().get(name) != simdjson::SUCCESS) {
    return false;
  }
  const trace::EventSpec* spec = trace::find_event(name);
  if (spec == nullptr) return false;
  // The schema nests events at most 6 deep, so a line that passes the tables
  // is within the encoding's depth limit too.
  return valid_object(ev, schema().events[static_cast<size_t>(spec - trace::event_table().data())]);
}

FastTraceReader::FastTraceReader(std::istream& in, std::string name)
    : in_(in), name_(std::move(name)), buf_(kChunk + simdjson::SIMDJSON_PADDING) {}

void FastTraceReader::fail(const std::string& msg) const {
  throw TraceInputError(name_, line_, msg);
}

void FastTraceReader::fail_at_end(const std::string& msg) const {
  throw TraceInputError(name_, line_ + 1, msg);
}

void FastTraceReader::refill() {
  size_t rest = end_ - begin_;
  std::memmove(buf_.data(), buf_.data() + begin_, rest);
  begin_ = 0;
  end_ = rest;
  size_t room = buf_.size() - simdjson::SIMDJSON_PADDING - end_;
  if (room < kChunk / 2) {  // a long line: grow, keeping the padding after the data
    buf_.resize(end_ + kChunk + simdjson::SIMDJSON_PADDING);
    room = kChunk;
  }
  in_.read(buf_.data() + end_, static_cast<std::streamsize>(room));
  end_ += static_cast<size_t>(in_.gcount());
  if (in_.bad()) fail("read error");
  if (!in_) eof_ = true;
}

bool FastTraceReader::next_line(std::string_view& line, bool& terminated) {
  while (true) {
    const char* start = buf_.data() + begin_;
    if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
      auto len = static_cast<size_t>(static_cast<const char*>(nl) - start);
      line = std::string_view(start, len);
      begin_ += len + 1;
      terminated = true;
      return true;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      line = std::string_view(start, end_ - begin_);
      begin_ = end_;
      terminated = false;
      return true;
    }
    refill();
  }
}

// The checks and messages of LineReader::next and read_trace_header.
void FastTraceReader::read_header(json& header) {
  std::string_view text;
  bool terminated = false;
  if (!next_line(text, terminated)) fail_at_end("empty file (expected a header line)");
  ++line_;
  if (!terminated) fail("last line has no line end (truncated file?)");
  if (text.empty()) fail("blank line");
  if (std::optional<std::string> error = parse_line(std::string(text), header)) fail(*error);
  try {
    trace::validate_header(header);
  } catch (const trace::SchemaError& e) {
    fail(e.what());
  }
}

// In the order LineReader::next and TraceFraming::read check a line: JSON, an
// object, the encoding, nothing after `end`, the tables.
void FastTraceReader::slow_line(std::string_view text, element& event) {
  json j;
  if (std::optional<std::string> error = parse_line(std::string(text), j)) fail(*error);
  if (ended_) fail("an event after the end event");
  try {
    trace::validate_event(j);
  } catch (const trace::SchemaError& e) {
    fail(e.what());
  }
  // The contract accepts the line: go on with nlohmann's reading of it.
  canonical_ = j.dump();
  if (parser_.parse(canonical_.data(), canonical_.size(), true).get(event) != simdjson::SUCCESS ||
      !fast_valid_event(event)) {
    throw std::logic_error(name_ + ":" + std::to_string(line_) +
                           ": the fast reader refuses a line the contract accepts");
  }
}

bool FastTraceReader::next(element& event) {
  std::string_view text;
  bool terminated = false;
  if (!next_line(text, terminated)) return false;
  ++line_;
  if (!terminated) fail("last line has no line end (truncated file?)");
  if (text.empty()) fail("blank line");
  if (parser_.parse(text.data(), text.size(), false).get(event) != simdjson::SUCCESS ||
      !fast_valid_event(event)) {
    slow_line(text, event);
  } else if (ended_) {
    fail("an event after the end event");
  }
  // TraceFraming::read's rules, on a line that has its fields.
  simdjson::dom::object ev = event.get_object().value_unsafe();
  int64_t seq = ev.at_key("seq").get_int64().value_unsafe();
  if (seq != next_seq_) fail("expected seq " + std::to_string(next_seq_));
  ++next_seq_;
  int64_t t = ev.at_key("t").get_int64().value_unsafe();
  if (t < last_t_) {
    fail("time goes back (t " + std::to_string(t) + " after " + std::to_string(last_t_) + ")");
  }
  last_t_ = t;
  if (ev.at_key("event").get_string().value_unsafe() == "end") ended_ = true;
  return true;
}

void FastTraceReader::finish() const {
  if (!ended_) fail_at_end("the trace stops without an 'end' event (truncated?)");
}

}  // namespace raftkv
