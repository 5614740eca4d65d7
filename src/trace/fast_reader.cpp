#include "trace/fast_reader.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "trace/event_table.h"

namespace raftkv {
namespace {

using trace::FieldSpec;
using T = trace::FieldType;

constexpr size_t kChunk = size_t{1} << 20;       // bytes read from the stream at a time
constexpr int64_t kIntLimit = int64_t{1} << 31;  // every traced integer is in [0, 2^31)

// The yes/no twin of event_table.cpp's Validator, over a line's LineNode tree.
// It may refuse more than the contract does (the nlohmann path then has the
// last word), never less.
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
  CompiledObject state, state_change, command, entry, result, end_node;
  std::vector<std::pair<std::string_view, CompiledObject>> messages;  // by type
  std::vector<CompiledObject> events;  // in the order of trace::event_table()
  std::vector<std::unique_ptr<CompiledObject>> header_objects;  // Object / ObjectArray fields

  CompiledSchema() {
    compile(state, {&trace::state_fields()});
    compile(state_change, {&trace::state_change_fields()});
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
      case T::StateChange: return &state_change;
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

bool valid_value(LineValue v, const CompiledField& f);

// The validator points each key it matched at the schema's own spelling of the
// name: the checker then compares names in memory that stays in its cache,
// not in the line's text, which another core wrote.
void use_schema_key(LineValue member, std::string_view name) {
  const_cast<LineNode*>(member.nodes())[member.index()].set_key(name);
}

// Keys are a few bytes: comparing them inline beats a call to memcmp.
bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Both ways of reading a line give integers in [0, 2^31) only: the fast parser
// refuses others, and check_encoding rejects them on the nlohmann path.
bool valid_int(LineValue v) { return v.is(LineType::Int); }

// One object against its fields, keys in any order, each at most once
// (nlohmann keeps one value of a repeated key, so a repeated key goes to the
// nlohmann path).
bool valid_object(LineValue v, const CompiledObject& o) {
  if (!v.is(LineType::Object)) return false;
  const size_t n = o.fields.size();
  uint64_t seen = 0;
  size_t next = 0;  // where the key is, if the keys come in sorted order
  for (LineValue member : v) {
    std::string_view key = member.key();
    size_t at = next;
    if (at >= n || !same(o.fields[at].name, key)) {
      at = 0;
      while (at < n && !same(o.fields[at].name, key)) ++at;
      if (at == n) return false;
    }
    if ((seen >> at & 1) != 0) return false;
    seen |= uint64_t{1} << at;
    use_schema_key(member, o.fields[at].name);
    if (!valid_value(member, o.fields[at])) return false;
    next = at + 1;
  }
  return (o.required & ~seen) == 0;
}

bool valid_int_array(LineValue v) {
  if (!v.is(LineType::Array)) return false;
  for (LineValue child : v) {
    if (!valid_int(child)) return false;
  }
  return true;
}

bool valid_message(LineValue v) {
  if (!v.is(LineType::Object)) return false;
  LineValue type;
  if (!v.find("type", type) || !type.is(LineType::String)) return false;
  for (const auto& [name, fields] : schema().messages) {
    if (type.str() == name) return valid_object(v, fields);
  }
  return false;
}

bool valid_value(LineValue v, const CompiledField& f) {
  switch (f.spec->type) {
    case T::Int: return valid_int(v);
    case T::Bool: return v.is(LineType::Bool);
    case T::String: {
      if (!v.is(LineType::String)) return false;
      const std::vector<std::string>& allowed = f.spec->allowed;
      if (allowed.empty()) return true;
      std::string_view s = v.str();
      for (const std::string& a : allowed) {
        if (same(a, s)) return true;  // inline: std::find called memcmp per candidate
      }
      return false;
    }
    case T::IntArray: return valid_int_array(v);
    case T::StringArray:
      if (!v.is(LineType::Array)) return false;
      for (LineValue child : v) {
        if (!child.is(LineType::String)) return false;
      }
      return true;
    case T::Groups:
      if (!v.is(LineType::Array)) return false;
      for (LineValue child : v) {
        if (!valid_int_array(child)) return false;
      }
      return true;
    case T::Message: return valid_message(v);
    case T::State:
    case T::StateChange:
    case T::Command:
    case T::Entry:
    case T::Result:
    case T::Object: return valid_object(v, *f.object);
    case T::Entries:
    case T::ObjectArray:
    case T::EndNodes:
      if (!v.is(LineType::Array)) return false;
      for (LineValue child : v) {
        if (!valid_object(child, *f.object)) return false;
      }
      return true;
  }
  return false;
}

// The writer's encoding (trace/fast_reader.h), one byte at a time, into a flat
// tree. Anything else is refused, never guessed at: the nlohmann path judges it.
class WrittenLineParser {
 public:
  WrittenLineParser(std::string_view text, std::vector<LineNode>& out)
      : p_(text.data()), end_(text.data() + text.size()), out_(out) {}

  // Appends the line's nodes to out_.
  bool parse() { return p_ < end_ && *p_ == '{' && value({}, 1) && p_ == end_; }

 private:
  // Printable ASCII up to the closing quote: no escape, no control byte, no
  // byte of a multi-byte character (whose UTF-8 the nlohmann path checks).
  bool string(std::string_view& s) {
    const char* start = ++p_;
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        s = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c == '\\' || c >= 0x80) return false;
      ++p_;
    }
    return false;
  }

  bool value(std::string_view key, int depth) {
    if (p_ >= end_ || depth > kMaxDepth) return false;
    auto at = static_cast<uint32_t>(out_.size());
    out_.emplace_back();
    out_[at].set_key(key);
    char c = *p_;
    if (c == '{') {
      out_[at].type = LineType::Object;
      ++p_;
      if (p_ < end_ && *p_ == '}') {
        ++p_;
      } else {
        while (true) {
          std::string_view k;
          if (p_ >= end_ || *p_ != '"' || !string(k) || k.size() > kMaxKey) return false;
          if (p_ >= end_ || *p_ != ':') return false;
          ++p_;
          if (!value(k, depth + 1) || p_ >= end_) return false;
          if (*p_ == ',') {
            ++p_;
            continue;
          }
          if (*p_ != '}') return false;
          ++p_;
          break;
        }
      }
    } else if (c == '[') {
      out_[at].type = LineType::Array;
      ++p_;
      if (p_ < end_ && *p_ == ']') {
        ++p_;
      } else {
        while (true) {
          if (!value({}, depth + 1) || p_ >= end_) return false;
          if (*p_ == ',') {
            ++p_;
            continue;
          }
          if (*p_ != ']') return false;
          ++p_;
          break;
        }
      }
    } else if (c == '"') {
      out_[at].type = LineType::String;
      std::string_view s;
      if (!string(s)) return false;
      out_[at].set_str(s);
    } else if (c >= '0' && c <= '9') {
      // No sign, no leading zero; a fraction or exponent stops the
      // enclosing container's parse at the '.', 'e' or 'E'.
      int64_t v = c - '0';
      ++p_;
      if (c != '0') {
        int digits = 1;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
          if (++digits > 10) return false;
          v = v * 10 + (*p_ - '0');
          ++p_;
        }
        if (v >= kIntLimit) return false;
      }
      out_[at].type = LineType::Int;
      out_[at].set_int(v);
    } else if (c == 't' && end_ - p_ >= 4 && std::memcmp(p_, "true", 4) == 0) {
      out_[at].type = LineType::Bool;
      out_[at].boolean = true;
      p_ += 4;
    } else if (c == 'f' && end_ - p_ >= 5 && std::memcmp(p_, "false", 5) == 0) {
      out_[at].type = LineType::Bool;
      p_ += 5;
    } else {
      return false;  // null, a sign, whitespace, anything else
    }
    out_[at].end = static_cast<uint32_t>(out_.size());
    return true;
  }

  static constexpr int kMaxDepth = 32;  // check_encoding's limit
  // A longer key (LineNode keeps 8 bits of its length) is left to the nlohmann
  // path; the schema's keys are short.
  static constexpr size_t kMaxKey = 255;
  const char* p_;
  const char* end_;
  std::vector<LineNode>& out_;
};

// A line nlohmann read, as a tree of nodes pointing into it (`j` outlives them).
void append_nodes(const json& j, std::string_view key, std::vector<LineNode>& out) {
  auto at = static_cast<uint32_t>(out.size());
  out.emplace_back();
  if (key.size() > 255) throw std::logic_error("a key the contract excludes");
  out[at].set_key(key);
  switch (j.type()) {
    case json::value_t::object:
      out[at].type = LineType::Object;
      for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        append_nodes(it.value(), k, out);
      }
      break;
    case json::value_t::array:
      out[at].type = LineType::Array;
      for (const json& child : j) append_nodes(child, {}, out);
      break;
    case json::value_t::string:
      out[at].type = LineType::String;
      out[at].set_str(j.get_ref<const std::string&>());
      break;
    case json::value_t::boolean:
      out[at].type = LineType::Bool;
      out[at].boolean = j.get<bool>();
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      out[at].type = LineType::Int;
      out[at].set_int(j.get<int64_t>());
      break;
    default:  // null and fractions: check_encoding has rejected them
      throw std::logic_error("a value the contract excludes");
  }
  out[at].end = static_cast<uint32_t>(out.size());
}

}  // namespace

bool parse_written_line(std::string_view text, std::vector<LineNode>& nodes) {
  nodes.clear();
  return WrittenLineParser(text, nodes).parse();
}

bool fast_valid_event(LineValue ev, size_t& event_index) {
  if (!ev.is(LineType::Object)) return false;
  LineValue name;
  if (!ev.find("event", name) || !name.is(LineType::String)) return false;
  const trace::EventSpec* spec = trace::find_event(name.str());
  if (spec == nullptr) return false;
  event_index = static_cast<size_t>(spec - trace::event_table().data());
  // The schema nests events at most 6 deep, so a line that passes the tables
  // is within the encoding's depth limit too.
  return valid_object(ev, schema().events[event_index]);
}

// A batch of lines the thread has read: their text, their trees, and after
// them, if the thread stopped there, the verdict on the line that follows.
struct FastTraceReader::Batch {
  std::vector<char> text;
  std::vector<LineNode> nodes;
  std::vector<std::pair<uint32_t, uint32_t>> lines;  // each line's root node and event index
  std::deque<json> slow;  // lines nlohmann read (slow_line); their nodes point into them
  int64_t first_line = 0;
  std::exception_ptr error;  // the reader's verdict on line first_line + lines.size()
  bool last = false;         // nothing follows this batch
  bool ended = false;        // last: the trace had its end event

  void clear() {
    text.clear();
    nodes.clear();
    lines.clear();
    slow.clear();
    error = nullptr;
    last = ended = false;
  }
};

namespace {
constexpr size_t kBatches = 4;                     // batches read ahead, at most
constexpr size_t kBatchBytes = size_t{256} << 10;  // of text per batch, at least a line
}  // namespace

FastTraceReader::FastTraceReader(std::istream& in, std::string name)
    : in_(in), name_(std::move(name)), buf_(kChunk) {}

FastTraceReader::~FastTraceReader() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void FastTraceReader::fail(const std::string& msg) const {
  throw TraceInputError(name_, line_, msg);
}

void FastTraceReader::fail_at_end(const std::string& msg) const {
  throw TraceInputError(name_, line_ + 1, msg);
}

void FastTraceReader::fail_ahead(const std::string& msg) const {
  throw TraceInputError(name_, ahead_line_, msg);
}

void FastTraceReader::refill() {
  size_t rest = end_ - begin_;
  std::memmove(buf_.data(), buf_.data() + begin_, rest);
  begin_ = 0;
  end_ = rest;
  size_t room = buf_.size() - end_;
  if (room < kChunk / 2) {  // a long line: grow
    buf_.resize(end_ + kChunk);
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
void FastTraceReader::slow_line(Batch& b, std::string_view text) {
  json j;
  if (std::optional<std::string> error = parse_line(std::string(text), j)) fail_ahead(*error);
  if (ahead_ended_) fail_ahead("an event after the end event");
  try {
    trace::validate_event(j);
  } catch (const trace::SchemaError& e) {
    fail_ahead(e.what());
  }
  // The contract accepts the line: go on with nlohmann's reading of it.
  b.slow.push_back(std::move(j));
  auto root = static_cast<uint32_t>(b.nodes.size());
  append_nodes(b.slow.back(), {}, b.nodes);
  size_t index = 0;
  if (!fast_valid_event(LineValue(b.nodes.data(), root), index)) {
    throw std::logic_error(name_ + ":" + std::to_string(ahead_line_) +
                           ": the fast reader refuses a line the contract accepts");
  }
}

void FastTraceReader::read_line(Batch& b, std::string_view text, bool terminated) {
  ++ahead_line_;
  if (!terminated) fail_ahead("last line has no line end (truncated file?)");
  if (text.empty()) fail_ahead("blank line");
  auto root = static_cast<uint32_t>(b.nodes.size());
  size_t index = 0;
  if (!WrittenLineParser(text, b.nodes).parse() ||
      !fast_valid_event(LineValue(b.nodes.data(), root), index)) {
    b.nodes.resize(root);
    slow_line(b, text);
    fast_valid_event(LineValue(b.nodes.data(), root), index);
  } else if (ahead_ended_) {
    fail_ahead("an event after the end event");
  }
  // TraceFraming::read's rules, on a line that has its fields.
  LineValue event(b.nodes.data(), root), seq, t;
  event.find("seq", seq);
  event.find("t", t);
  if (seq.integer() != next_seq_) fail_ahead("expected seq " + std::to_string(next_seq_));
  ++next_seq_;
  if (t.integer() < last_t_) {
    fail_ahead("time goes back (t " + std::to_string(t.integer()) + " after " +
               std::to_string(last_t_) + ")");
  }
  last_t_ = t.integer();
  // The index of `end`, found once: naming it on every line cost a strlen per line.
  static const size_t kEnd = [] {
    const auto& table = trace::event_table();
    for (size_t i = 0; i < table.size(); ++i) {
      if (std::string_view(table[i].name) == "end") return i;
    }
    return table.size();
  }();
  if (index == kEnd) ahead_ended_ = true;
  b.lines.emplace_back(root, static_cast<uint32_t>(index));
}

// Whole lines into the batch, at least kBatchBytes of them unless the input
// ends; a line begun at the end is carried over to the next batch.
void FastTraceReader::read_batch(Batch& b) {
  b.first_line = ahead_line_ + 1;
  b.text.swap(carry_);
  carry_.clear();
  size_t scanned = 0;  // bytes of b.text known to hold no line end
  size_t last_nl = std::string_view::npos;
  while (true) {
    // memchr must not see a null pointer, even for zero bytes (an empty batch's data() may be).
    if (const void* nl = b.text.size() > scanned
                             ? std::memchr(b.text.data() + scanned, '\n', b.text.size() - scanned)
                             : nullptr) {
      // The last line end so far.
      const char* p = static_cast<const char*>(nl);
      const char* hit = p;
      size_t from = static_cast<size_t>(p - b.text.data()) + 1;
      while (const void* more = std::memchr(b.text.data() + from, '\n', b.text.size() - from)) {
        hit = static_cast<const char*>(more);
        from = static_cast<size_t>(hit - b.text.data()) + 1;
      }
      last_nl = static_cast<size_t>(hit - b.text.data());
    }
    scanned = b.text.size();
    if (eof_ || (last_nl != std::string_view::npos && b.text.size() >= kBatchBytes)) break;
    size_t old = b.text.size();
    b.text.resize(old + kBatchBytes);
    in_.read(b.text.data() + old, static_cast<std::streamsize>(kBatchBytes));
    b.text.resize(old + static_cast<size_t>(in_.gcount()));
    if (in_.bad()) fail_ahead("read error");
    if (!in_) eof_ = true;
  }
  size_t lines_end = last_nl == std::string_view::npos ? 0 : last_nl + 1;
  carry_.assign(b.text.begin() + static_cast<long>(lines_end), b.text.end());
  b.text.resize(lines_end);
  const char* p = b.text.data();
  const char* end = p + b.text.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    read_line(b, std::string_view(p, static_cast<size_t>(nl - p)), true);
    p = nl + 1;
  }
  if (eof_ && !carry_.empty()) {
    // The input's last bytes, with no line end.
    std::vector<char> rest;
    rest.swap(carry_);
    read_line(b, std::string_view(rest.data(), rest.size()), false);
  }
  if (eof_ && carry_.empty()) {
    b.last = true;
    b.ended = ahead_ended_;
  }
}

void FastTraceReader::read_ahead() {
  while (true) {
    Batch* b = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      b = free_.back();
      free_.pop_back();
    }
    b->clear();
    try {
      read_batch(*b);
    } catch (...) {
      b->error = std::current_exception();
      b->last = true;
    }
    bool last = b->last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(b);
    }
    changed_.notify_all();
    if (last) return;
  }
}

bool FastTraceReader::next(LineValue& event) {
  if (!thread_.joinable() && !done_) {
    // The first event line: what the header left in buf_ is where the thread begins.
    carry_.assign(buf_.begin() + static_cast<long>(begin_), buf_.begin() + static_cast<long>(end_));
    ahead_line_ = line_;
    for (size_t i = 0; i < kBatches; ++i) {
      batches_.push_back(std::make_unique<Batch>());
      free_.push_back(batches_.back().get());
    }
    thread_ = std::thread([this] { read_ahead(); });
  }
  while (current_ == nullptr || at_ == current_->lines.size()) {
    if (current_ != nullptr) {
      Batch* b = current_;
      current_ = nullptr;
      if (b->last) {
        done_ = true;
        ended_ = b->ended;
        if (b->error) std::rethrow_exception(b->error);
        return false;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(b);
      }
      changed_.notify_all();
    }
    if (done_) return false;
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !full_.empty(); });
    current_ = full_.front();
    full_.pop_front();
    at_ = 0;
  }
  auto [root, index] = current_->lines[at_];
  line_ = current_->first_line + static_cast<int64_t>(at_);
  ++at_;
  event = LineValue(current_->nodes.data(), root);
  event_index_ = index;
  return true;
}

void FastTraceReader::finish() const {
  if (!ended_) fail_at_end("the trace stops without an 'end' event (truncated?)");
}

}  // namespace raftkv
