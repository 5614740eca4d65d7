// TOML config loading (toml++) and validation.
//
// Loading happens in three steps, each of which can throw ConfigError:
//   1. a cheap lexical scan (PreScan) that rejects what toml++ 3.3 cannot
//      take safely: deep nesting that would overflow the stack, and a few
//      malformed inputs that hit assertions or undefined behaviour in it;
//   2. toml++ parsing (syntax errors, bad UTF-8);
//   3. reading the document against the schema (unknown keys, types, the
//      int32 rule) and then validate-style range and cross-field checks.
// The schema is the field table (fields.h): Reader reads each key by its
// row, Checker checks each row's range in the table's order, and the known
// keys for suggestions are its paths. The fault entries, the nemesis kinds
// and the rules between two keys are hand-written below (a row cannot say
// them).
// Every message is one line, "NAME:LINE:COL: message", located at the key or
// value involved, so editors and CI logs can jump to it.
#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

#include "config/fields.h"

namespace raftkv {
namespace {

using namespace std::string_view_literals;

// Every integer in a config has to fit in int32 (see kConfigIntMax).
constexpr int64_t kInt32Max = kConfigIntMax;
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();

// A real config is a few hundred bytes; the cap only stops absurd inputs
// from eating memory.
constexpr size_t kMaxConfigBytes = size_t{16} << 20;

// Depth limits for the pre-parse scan. Real configs need a nesting depth of
// about 4 (faults = [{groups = [[1]]}]) and dotted keys of 2 parts. With
// these limits the deepest table toml++ can build is about 33 * 33 levels,
// far below what overflows the stack even under AddressSanitizer.
constexpr int kMaxDottedKeyParts = 32;
constexpr int kMaxBracketDepth = 32;

// The keys of one [[faults]] entry. Which of them an entry needs depends on
// its action, which a row of the field table cannot say, so they are listed
// here by hand (fields.h) and read by Reader::read_fault.
constexpr std::string_view kFaultKeys[] = {"at_ms",
                                           "action",
                                           "node",
                                           "groups",
                                           "from",
                                           "to",
                                           "loss",
                                           "duplicate",
                                           "network_latency_min_ms",
                                           "network_latency_max_ms"};

// The keys of a network fault: the [network] and [timing] keys it changes.
constexpr std::string_view kNetworkFaultKeys[] = {"loss", "duplicate", "network_latency_min_ms",
                                                  "network_latency_max_ms"};

// The keys of one [[clients]] entry, read by Reader::read_client.
constexpr std::string_view kClientKeys[] = {"id",   "start_ms", "stop_ms",
                                            "node", "count",    "commands"};

// Valid keys of one table, for unknown-key errors and "did you mean" hints.
struct SchemaTable {
  std::string_view name;  // "" for the top level
  std::vector<std::string_view> keys;
};

// The schema, derived from the field table: the top level holds each
// top-level key and each section's name, each section its keys, all in the
// table's order (which decides between equally near suggestions).
const std::vector<SchemaTable>& schema_tables() {
  static const std::vector<SchemaTable> tables = [] {
    std::vector<SchemaTable> out{{""sv, {}}};
    auto add = [&](std::string_view table, std::string_view key) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const SchemaTable& t) { return t.name == table; });
      if (it == out.end()) it = out.insert(out.end(), SchemaTable{table, {}});
      if (std::find(it->keys.begin(), it->keys.end(), key) == it->keys.end()) {
        it->keys.push_back(key);
      }
    };
    for (const ConfigField& field : config_fields()) {
      add(""sv, field.section().empty() ? field.path : field.section());
      if (!field.section().empty()) add(field.section(), field.name());
      if (std::holds_alternative<FieldRef<std::vector<FaultConfig>>>(field.ref)) {
        for (std::string_view key : kFaultKeys) add(field.path, key);
      }
      if (std::holds_alternative<FieldRef<std::vector<ClientConfig>>>(field.ref)) {
        for (std::string_view key : kClientKeys) add(field.path, key);
      }
    }
    return out;
  }();
  return tables;
}

struct Position {
  int64_t line = 1;
  int64_t column = 1;
};

// Where each key was found, by dotted path ("timing.heartbeat_interval_ms",
// "nemesis.kinds[1]"), so cross-field checks can point at a key.
using KeyPositions = std::map<std::string, Position, std::less<>>;

// ---------------------------------------------------------------- messages

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = lead >= 0xF0 && lead <= 0xF4   ? 4
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xC2 && lead <= 0xDF ? 2
                                                 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (size_t k = i + 1; k < i + length; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// Makes `text` safe to print on one line: control characters and bytes that
// are not valid UTF-8 (which toml++ may echo back from the input) become
// escapes, so what() never spans lines or corrupts a terminal.
std::string one_line(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = utf8_sequence_length(text, i);
      if (length > 0) {
        out.append(text.substr(i, length));
        i += length;
        continue;
      }
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

[[noreturn]] void fail(const std::string& name, std::optional<Position> where,
                       const std::string& message) {
  std::string text = name;
  if (where) text += ":" + std::to_string(where->line) + ":" + std::to_string(where->column);
  throw ConfigError(one_line(text + ": " + message));
}

Position position_of(const toml::source_region& region) {
  // toml++ leaves positions at 0 for nodes it did not read from text; a
  // located message still needs a line, so fall back to the file start.
  if (region.begin.line == 0) return Position{};
  return Position{region.begin.line, std::max<int64_t>(1, region.begin.column)};
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// Optimal string alignment distance: Levenshtein plus adjacent
// transpositions, so "nmu_nodes" is one edit from "num_nodes".
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to `word`, if it is close enough to be a plausible
// typo (so that garbage keys get no misleading suggestion).
std::optional<std::string_view> nearest(std::string_view word,
                                        std::span<const std::string_view> candidates) {
  // Hostile keys can be long; the quadratic distance is not worth it there.
  if (word.size() > 64) return std::nullopt;
  // A unique candidate that starts with the word wins: users often drop a
  // suffix ("at" for "at_ms", "time_limit" for "time_limit_ms").
  std::optional<std::string_view> extension;
  int extensions = 0;
  for (std::string_view candidate : candidates) {
    if (word.size() >= 2 && candidate.size() > word.size() && candidate.starts_with(word)) {
      extension = candidate;
      ++extensions;
    }
  }
  if (extensions == 1) return extension;
  std::optional<std::string_view> best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (std::string_view candidate : candidates) {
    size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

// " (did you mean 'X'?)" for an unknown key in schema table `table`, or "".
std::string key_suggestion(std::string_view key, std::string_view table) {
  // A key that exists verbatim in another table was most likely put in the
  // wrong place, e.g. a top-level key written after a [table] header.
  for (const SchemaTable& other : schema_tables()) {
    if (other.name == table || other.name == "faults" || other.name == "clients") continue;
    if (std::find(other.keys.begin(), other.keys.end(), key) == other.keys.end()) continue;
    if (other.name.empty()) {
      return " (did you mean top-level " + quoted(key) +
             "? top-level keys must come before any [table] header)";
    }
    return " (did you mean " + quoted(std::string(other.name) + "." + std::string(key)) + "?)";
  }
  for (const SchemaTable& own : schema_tables()) {
    if (own.name != table) continue;
    if (auto best = nearest(key, own.keys)) return " (did you mean " + quoted(*best) + "?)";
  }
  return "";
}

std::string list_of(std::span<const std::string_view> words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

// " (did you mean 'X'?)" if close to one of `words`, else " (expected A, B or C)".
std::string choice_hint(std::string_view word, std::span<const std::string_view> words) {
  if (auto best = nearest(word, words)) return " (did you mean " + quoted(*best) + "?)";
  return " (expected " + list_of(words) + ")";
}

bool is_one_of(std::string_view word, std::span<const std::string_view> words) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// ------------------------------------------------------------ pre-parse scan

// toml++'s is_value_terminator(): where a bare value (number, date) ends.
bool ends_value(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ']' || c == '}' ||
         c == '#';
}

// Characters that end a run of bare-key-ish text for the dotted-key count.
bool ends_key_part(char c) {
  return ends_value(c) || c == '.' || c == '=' || c == '[' || c == '{' || c == '"' || c == '\'';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

// TOML 1.0 offset/local date-time: 1979-05-27T07:32:00[.999][Z|+07:00],
// with T, t or a space between date and time.
bool is_toml_date_time(std::string_view s) {
  size_t k = 0;
  auto digits = [&](size_t count) {
    for (size_t n = 0; n < count; ++n, ++k) {
      if (k >= s.size() || !is_digit(s[k])) return false;
    }
    return true;
  };
  auto literal = [&](std::string_view options) {
    if (k >= s.size() || options.find(s[k]) == std::string_view::npos) return false;
    ++k;
    return true;
  };
  if (!(digits(4) && literal("-") && digits(2) && literal("-") && digits(2) && literal("Tt ") &&
        digits(2) && literal(":") && digits(2) && literal(":") && digits(2))) {
    return false;
  }
  if (literal(".")) {
    if (!digits(1)) return false;
    while (k < s.size() && is_digit(s[k])) ++k;
  }
  if (literal("Zz")) return k == s.size();
  if (literal("+-") && !(digits(2) && literal(":") && digits(2))) return false;
  return k == s.size();
}

// Rejects, before toml++ sees them, inputs that toml++ 3.3 mishandles:
//
//  * Deep nesting. toml++ builds and destroys nested tables recursively, so
//    "a.a.a...= 1" with 100k parts overflows the stack. Dotted keys and
//    bracket nesting are capped (see kMaxDottedKeyParts).
//  * Inputs that break toml++'s internal assumptions (found by fuzzing).
//    In 3.3 these are TOML_ASSERT_ASSUMEs and TOML_UNREACHABLEs: an assert()
//    abort in builds without NDEBUG, undefined behaviour with it.
//      - a table header whose name starts with a character that cannot
//        start a key ("[+a]", "[[[a]]]"; fixed upstream in toml++ PR #301);
//      - '}' where an array expects a value ("[1, }");
//      - a value starting with a digit that contains T/t, or a date followed
//        by a space and a digit, that is not a well-formed date-time
//        ("1979-05-27T\"7", "1979-05-27 0]");
//      - non-ASCII outside strings and comments, which reaches an
//        unreachable branch of toml++'s Unicode whitespace table. That
//        includes a bare value, which toml++ reads raw up to a terminator,
//        quotes and all ("1\"\u0251\""), and the character after a
//        backslash in a multi-line basic string, even after the whitespace
//        that a line-ending backslash trims.
//    All but the last case are invalid TOML 1.0 anyway; the last one
//    rejects a valid but exotic string, with a message saying why.
//
// The scan follows TOML's lexical rules only as far as these checks need.
// Once toml++ has seen a valid prefix the two agree on it, and toml++ stops
// at the first error, so a scan that is imprecise after an error is harmless.
class PreScan {
 public:
  PreScan(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  void run() {
    // toml++ skips a UTF-8 byte order mark at the start.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") i_ = line_start_ = 3;
    while (i_ < text_.size()) step();
  }

 private:
  [[noreturn]] void reject(size_t at, const std::string& message) {
    // Columns count characters, not bytes, as toml++ does.
    int64_t column = 1;
    for (size_t k = line_start_; k < at && k < text_.size(); ++k) {
      if ((static_cast<unsigned char>(text_[k]) & 0xC0) != 0x80) ++column;
    }
    fail(name_, Position{line_, column}, message);
  }

  char peek(size_t at) const { return at < text_.size() ? text_[at] : '\0'; }

  bool in_value() const { return after_equals_ || (!open_.empty() && open_.back() == '['); }

  void newline_at(size_t at) {
    ++line_;
    line_start_ = at + 1;
  }

  void reset_key() {
    key_parts_ = 0;
    after_part_ = false;
    after_dot_ = false;
  }

  void key_part(size_t at) {
    key_parts_ = after_dot_ ? key_parts_ + 1 : 1;
    after_part_ = true;
    after_dot_ = false;
    if (key_parts_ > kMaxDottedKeyParts) {
      reject(at, "dotted key has more than " + std::to_string(kMaxDottedKeyParts) + " parts");
    }
  }

  void open(char kind, size_t at) {
    open_.push_back(kind);
    if (static_cast<int>(open_.size()) > kMaxBracketDepth) {
      reject(at,
             "arrays/tables nested more than " + std::to_string(kMaxBracketDepth) + " levels deep");
    }
  }

  // Skips the string opened at i_ and returns whether it was multi-line. An
  // unterminated string stops at the end of its line (or of the text):
  // toml++ reports that error itself.
  bool skip_string() {
    const char quote = text_[i_];
    const bool escapes = quote == '"';
    const bool multiline = text_.substr(i_, 3) == std::string(3, quote);
    i_ += multiline ? 3 : 1;
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (escapes && c == '\\' && multiline) {
        // toml++ tests the character after the backslash, and after any
        // whitespace a line-ending backslash trims, with its Unicode
        // whitespace table: see the class comment.
        size_t next = i_ + 1;
        while (next < text_.size() && (text_[next] == ' ' || text_[next] == '\t' ||
                                       text_[next] == '\r' || text_[next] == '\n')) {
          if (text_[next] == '\n') newline_at(next);
          ++next;
        }
        if (static_cast<unsigned char>(peek(next)) >= 0x80) {
          reject(next,
                 "non-ASCII character after a backslash in a multi-line string "
                 "(not supported by toml++ 3.3)");
        }
        i_ = next > i_ + 1 ? next : i_ + 2;
        continue;
      }
      if (escapes && c == '\\') {
        if (peek(i_ + 1) == '\n') return false;  // invalid; resume at the newline
        i_ += 2;
        continue;
      }
      if (c == '\n') {
        if (!multiline) return false;
        newline_at(i_);
      } else if (c == quote) {
        if (!multiline) {
          ++i_;
          return false;
        }
        size_t run = 0;
        while (peek(i_ + run) == quote) ++run;
        i_ += run;
        // Three or more quotes close the string; up to two extra quotes
        // before the closing three belong to the content.
        if (run >= 3) return true;
        continue;
      }
      ++i_;
    }
    return multiline;
  }

  // A bare value (number, boolean, date, inf/nan) at i_. toml++ reads it raw
  // up to a value terminator, quotes included, so a quote here would let
  // non-ASCII text reach its whitespace table without the check in step().
  void check_bare_value() {
    size_t end = i_;
    while (end < text_.size() && !ends_value(text_[end])) ++end;
    std::string_view token = text_.substr(i_, end - i_);
    auto shown = [](std::string_view value) {
      return "'" + std::string(value.substr(0, 40)) + (value.size() > 40 ? "...'" : "'");
    };
    for (size_t k = 0; k < token.size(); ++k) {
      auto byte = static_cast<unsigned char>(token[k]);
      if (byte >= 0x80 || byte == '"' || byte == '\'') {
        reject(i_ + k, "unexpected character in value " + shown(token));
      }
    }
    if (!is_digit(token.front())) return;
    bool has_t = token.find_first_of("Tt") != std::string_view::npos;
    // toml++ joins "1979-05-27 07:32:00" across the space.
    if (!has_t && token.find('-') != std::string_view::npos && peek(end) == ' ' &&
        is_digit(peek(end + 1))) {
      size_t rest = end + 1;
      while (rest < text_.size() && !ends_value(text_[rest])) ++rest;
      token = text_.substr(i_, rest - i_);
      has_t = true;
    }
    if (has_t && !is_toml_date_time(token)) reject(i_, "invalid date-time " + shown(token));
  }

  void step() {
    const char c = text_[i_];
    if (c == '\n') {
      newline_at(i_);
      reset_key();
      // An unterminated table header ends with its line (toml++ will fail).
      while (!open_.empty() && open_.back() == 'H') open_.pop_back();
      if (open_.empty()) {
        after_equals_ = false;
        statement_start_ = true;
      }
      ++i_;
      return;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i_;
      return;
    }
    if (c == '#') {
      while (i_ < text_.size() && text_[i_] != '\n') ++i_;
      return;
    }
    const bool at_statement_start = statement_start_;
    statement_start_ = false;
    const char previous = last_significant_;
    last_significant_ = c;

    if (static_cast<unsigned char>(c) >= 0x80) {
      reject(i_, "non-ASCII character outside a string or comment");
    }
    if (c == '"' || c == '\'') {
      const size_t start = i_;
      // Only single-line strings can be (parts of) keys.
      if (skip_string()) {
        reset_key();
      } else {
        key_part(start);
      }
      return;
    }
    if (c == '.') {
      if (after_part_) {
        after_part_ = false;
        after_dot_ = true;
      } else {
        reset_key();
      }
      ++i_;
      return;
    }
    if (!ends_key_part(c)) {
      if (in_value()) check_bare_value();
      key_part(i_);
      // Stop at non-ASCII too, so that the check above sees it.
      while (i_ < text_.size() && !ends_key_part(text_[i_]) &&
             static_cast<unsigned char>(text_[i_]) < 0x80) {
        ++i_;
      }
      return;
    }
    reset_key();
    if (c == '[' && at_statement_start && open_.empty()) {
      // A table header: "[name]" or "[[name]]".
      open('H', i_);
      if (peek(i_ + 1) == '[') open('H', ++i_);
      size_t name = i_ + 1;
      while (peek(name) == ' ' || peek(name) == '\t') ++name;
      char first = peek(name);
      if (name < text_.size() && !is_bare_key_char(first) && first != '"' && first != '\'' &&
          first != ']') {
        reject(name, "expected a table name after '['");
      }
    } else if (c == '[') {
      open('[', i_);
    } else if (c == '{') {
      open('{', i_);
      after_equals_ = false;
    } else if (c == ']') {
      if (!open_.empty()) open_.pop_back();
    } else if (c == '}') {
      if (previous == '[' || previous == ',') reject(i_, "expected a value before '}'");
      if (!open_.empty()) open_.pop_back();
      after_equals_ = true;  // the inline table was a value of its parent
    } else if (c == ',') {
      if (!open_.empty() && open_.back() == '{') after_equals_ = false;
    } else if (c == '=') {
      after_equals_ = true;
    }
    ++i_;
  }

  std::string_view text_;
  const std::string& name_;
  size_t i_ = 0;
  int64_t line_ = 1;
  size_t line_start_ = 0;
  std::vector<char> open_;  // '[' array, '{' inline table, 'H' table header
  bool statement_start_ = true;
  bool after_equals_ = false;
  char last_significant_ = '\n';
  int key_parts_ = 0;        // parts in the dotted key being read
  bool after_part_ = false;  // last token was a key part (a '.' may follow)
  bool after_dot_ = false;   // last token was a '.' following a key part
};

// ------------------------------------------------------------ schema reader

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

// Turns a parsed document into a Config, checking keys and types and
// remembering where each key was for the later cross-field checks.
class Reader {
 public:
  Reader(const std::string& name, KeyPositions& positions) : name_(name), positions_(positions) {}

  void read(const toml::table& root, Config& cfg) {
    check_keys(root, "", "");
    // In the document's order, as toml++ iterates it, so that the first bad
    // key in that order is the one reported.
    for (auto&& [key, node] : root) {
      const std::string_view k = key.str();
      if (const ConfigField* field = find_config_field(k)) {
        read_field(*field, node, cfg);
      } else {
        // check_keys let it through, so it names a section of the table.
        read_section(table_at(node, std::string(k)), k, cfg);
      }
    }
  }

 private:
  [[noreturn]] void fail_at(const toml::node& node, const std::string& message) {
    fail(name_, position_of(node.source()), message);
  }

  [[noreturn]] void type_error(const toml::node& node, const std::string& path,
                               std::string_view expected) {
    fail_at(node, "key " + quoted(path) + " must be " + std::string(expected) + ", got " +
                      std::string(type_name(node)));
  }

  void remember(const toml::node& node, const std::string& path) {
    positions_[path] = position_of(node.source());
  }

  // Unknown keys in `table`, which is schema table `schema` found at `label`
  // ("" for the top level, "[timing]", "faults[2]").
  void check_keys(const toml::table& table, std::string_view schema, std::string_view label) {
    std::span<const std::string_view> allowed;
    for (const SchemaTable& t : schema_tables()) {
      if (t.name == schema) allowed = t.keys;
    }
    for (auto&& [key, node] : table) {
      if (is_one_of(key.str(), allowed)) continue;
      std::string where = label.empty() ? "" : " in " + std::string(label);
      Position at =
          key.source().begin.line > 0 ? position_of(key.source()) : position_of(node.source());
      fail(name_, at,
           "unknown key " + quoted(key.str()) + where + key_suggestion(key.str(), schema));
    }
  }

  const toml::table& table_at(const toml::node& node, const std::string& path) {
    if (!node.is_table()) type_error(node, path, "a table");
    remember(node, path);
    return *node.as_table();
  }

  int read_int32(const toml::node& node, const std::string& path) {
    const auto* value = node.as_integer();
    if (value == nullptr) type_error(node, path, "an integer");
    int64_t v = value->get();
    if (v > kInt32Max) {
      fail_at(node, "key " + quoted(path) + " must be below 2^31, got " + std::to_string(v));
    }
    if (v < kInt32Min) {
      fail_at(node, "key " + quoted(path) + " must be at least -2^31, got " + std::to_string(v));
    }
    remember(node, path);
    return static_cast<int>(v);
  }

  double read_number(const toml::node& node, const std::string& path) {
    remember(node, path);
    if (const auto* f = node.as_floating_point()) return f->get();
    // Integers are accepted so that "loss = 0" works.
    if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
    type_error(node, path, "a number");
  }

  bool read_bool(const toml::node& node, const std::string& path) {
    const auto* value = node.as_boolean();
    if (value == nullptr) type_error(node, path, "a boolean");
    remember(node, path);
    return value->get();
  }

  std::string read_string(const toml::node& node, const std::string& path) {
    const auto* value = node.as_string();
    if (value == nullptr) type_error(node, path, "a string");
    remember(node, path);
    return value->get();
  }

  // A [section]'s keys, in the field table's order.
  void read_section(const toml::table& table, std::string_view section, Config& cfg) {
    check_keys(table, section, "[" + std::string(section) + "]");
    for (const ConfigField& field : config_fields()) {
      if (field.section() != section) continue;
      if (const toml::node* node = table.get(field.name())) read_field(field, *node, cfg);
    }
  }

  // One key, by the type of its member. Ranges are the Checker's, except
  // that a negative seed is refused here, as the unsigned type's own rule.
  void read_field(const ConfigField& field, const toml::node& node, Config& cfg) {
    const std::string path(field.path);
    std::visit(
        Overload{
            [&](const FieldRef<bool>& r) { r.mut(cfg) = read_bool(node, path); },
            [&](const FieldRef<double>& r) { r.mut(cfg) = read_number(node, path); },
            [&](const FieldRef<uint64_t>& r) {
              int value = read_int32(node, path);
              if (value < 0) {
                fail_at(node,
                        "key " + quoted(path) + " must be >= 0, got " + std::to_string(value));
              }
              r.mut(cfg) = static_cast<uint64_t>(value);
            },
            [&](const FieldRef<std::vector<NemesisKind>>& r) {
              r.mut(cfg) = read_kinds(node, path);
            },
            [&](const FieldRef<ReadMode>& r) {
              std::string name = read_string(node, path);
              std::optional<ReadMode> mode = read_mode_named(name);
              if (!mode) {
                fail_at(node, "key " + quoted(path) + ": unknown read mode " + quoted(name) +
                                  choice_hint(name, read_mode_names()));
              }
              r.mut(cfg) = *mode;
            },
            [&](const FieldRef<std::vector<FaultConfig>>& r) { read_faults(node, r.mut(cfg)); },
            [&](const FieldRef<std::vector<ClientConfig>>& r) { read_clients(node, r.mut(cfg)); },
            [&](const auto& r) { r.mut(cfg) = read_int32(node, path); }},
        field.ref);
  }

  // An array of nemesis kind names, each turned into its enum. Every element
  // is type-checked before any name is, so a wrong type is reported first.
  std::vector<NemesisKind> read_kinds(const toml::node& node, const std::string& path) {
    const toml::array* array = node.as_array();
    if (array == nullptr) type_error(node, path, "an array of strings");
    remember(node, path);
    std::vector<std::string> names;
    for (size_t i = 0; i < array->size(); ++i) {
      names.push_back(read_string((*array)[i], path + "[" + std::to_string(i) + "]"));
    }
    std::vector<NemesisKind> kinds;
    for (size_t i = 0; i < names.size(); ++i) {
      std::optional<NemesisKind> kind = nemesis_kind_named(names[i]);
      if (!kind) {
        std::string element = path + "[" + std::to_string(i) + "]";
        fail_at((*array)[i], "key " + quoted(element) + ": unknown kind " + quoted(names[i]) +
                                 choice_hint(names[i], nemesis_kind_names()));
      }
      kinds.push_back(*kind);
    }
    return kinds;
  }

  void read_faults(const toml::node& node, std::vector<FaultConfig>& faults) {
    const toml::array* entries = node.as_array();
    if (entries == nullptr) {
      type_error(node, "faults", "an array of tables ([[faults]])");
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      const toml::node& entry = (*entries)[i];
      std::string label = "faults[" + std::to_string(i) + "]";
      if (!entry.is_table()) type_error(entry, label, "a table");
      faults.push_back(read_fault(*entry.as_table(), label));
    }
  }

  FaultConfig read_fault(const toml::table& entry, const std::string& label) {
    check_keys(entry, "faults", label);
    FaultConfig fault;
    Position entry_at = position_of(entry.source());
    fault.line = static_cast<int>(entry_at.line);
    // Semantic fault errors point at the entry's line, column 1, like the
    // ones validate_config derives from FaultConfig::line.
    Position line_at{entry_at.line, 1};
    auto field = [&](std::string_view key) { return label + "." + std::string(key); };

    // A fault without a time used to mean 0 ms, which is rarely what a user
    // who forgot the key meant; every fault says when it happens.
    const toml::node* at = entry.get("at_ms");
    if (at != nullptr) fault.at_ms = read_int32(*at, field("at_ms"));
    const toml::node* action = entry.get("action");
    if (action == nullptr) {
      fail(name_, line_at,
           field("action") +
               ": missing (every fault needs an action: " + list_of(fault_action_names()) + ")");
    }
    std::string action_name = read_string(*action, field("action"));
    std::optional<FaultAction> known = fault_action_named(action_name);
    if (!known) {
      fail_at(*action, field("action") + ": unknown action " + quoted(action_name) +
                           choice_hint(action_name, fault_action_names()));
    }
    fault.action = *known;
    using enum FaultAction;

    // The fields this action needs; the others must be absent, since a stray
    // `node` on a partition is surely a mistake the user wants to hear about.
    std::vector<std::string_view> needed;
    std::vector<std::string_view> allowed;  // may be given, none required
    if (fault.action == Crash || fault.action == Restart) needed = {"node"};
    if (fault.action == AddNode || fault.action == RemoveNode) needed = {"node"};
    if (fault.action == Partition) needed = {"groups"};
    if (fault.action == Cut || fault.action == Uncut) needed = {"from", "to"};
    if (fault.action == TransferLeader) needed = {"to"};
    if (fault.action == Network) {
      allowed.assign(std::begin(kNetworkFaultKeys), std::end(kNetworkFaultKeys));
      bool any = std::any_of(allowed.begin(), allowed.end(),
                             [&](std::string_view key) { return entry.contains(key); });
      if (!any) {
        fail(name_, line_at,
             label + ": action 'network' needs at least one of " + list_of(allowed) +
                 " (the settings to change)");
      }
    }
    for (std::string_view key : kFaultKeys) {
      if (key == "at_ms" || key == "action") continue;
      const toml::node* value = entry.get(key);
      bool is_needed = is_one_of(key, needed);
      if (!is_needed && value != nullptr && is_one_of(key, allowed)) continue;
      if (is_needed && value == nullptr) {
        fail(name_, line_at,
             field(key) + ": missing (action " + quoted(to_string(fault.action)) + " requires " +
                 quoted(key) + ")");
      }
      if (!is_needed && value != nullptr) {
        fail_at(*value, field(key) + ": not used by action " + quoted(to_string(fault.action)));
      }
    }

    if (const toml::node* node = entry.get("node")) {
      if (const auto* name = node->as_string()) {
        // A role, resolved when the fault fires.
        remember(*node, field("node"));
        const std::string& role = name->get();
        static constexpr std::string_view kRoles[] = {"leader", "follower"};
        if (!is_one_of(role, kRoles)) {
          fail_at(*node, field("node") + ": unknown node " + quoted(role) +
                             choice_hint(role, kRoles) + "; a node is an id or a role");
        }
        fault.target = role == "leader" ? FaultTarget::Leader : FaultTarget::Follower;
      } else if (node->is_integer()) {
        fault.node = read_int32(*node, field("node"));
      } else {
        type_error(*node, field("node"), "an integer or \"leader\" or \"follower\"");
      }
    }
    if (const toml::node* loss = entry.get("loss")) fault.loss = read_number(*loss, field("loss"));
    if (const toml::node* dup = entry.get("duplicate")) {
      fault.duplicate = read_number(*dup, field("duplicate"));
    }
    if (const toml::node* min = entry.get("network_latency_min_ms")) {
      fault.latency_min_ms = read_int32(*min, field("network_latency_min_ms"));
    }
    if (const toml::node* max = entry.get("network_latency_max_ms")) {
      fault.latency_max_ms = read_int32(*max, field("network_latency_max_ms"));
    }
    if (const toml::node* from = entry.get("from")) fault.from = read_int32(*from, field("from"));
    if (const toml::node* to = entry.get("to")) fault.to = read_int32(*to, field("to"));
    if (const toml::node* groups = entry.get("groups")) {
      const toml::array* outer = groups->as_array();
      if (outer == nullptr) type_error(*groups, field("groups"), "an array of arrays of integers");
      remember(*groups, field("groups"));
      for (size_t g = 0; g < outer->size(); ++g) {
        std::string group_path = field("groups") + "[" + std::to_string(g) + "]";
        const toml::array* inner = (*outer)[g].as_array();
        if (inner == nullptr) type_error((*outer)[g], group_path, "an array of integers");
        std::vector<int>& group = fault.groups.emplace_back();
        for (size_t n = 0; n < inner->size(); ++n) {
          group.push_back(read_int32((*inner)[n], group_path + "[" + std::to_string(n) + "]"));
        }
      }
    }
    // After the action and its fields, so that a wrong action is reported
    // first (it decides which fields the entry needs).
    if (at == nullptr) {
      fail(name_, line_at,
           field("at_ms") +
               ": missing (every fault needs the virtual time, in ms, at which it "
               "happens)");
    }
    return fault;
  }

  void read_clients(const toml::node& node, std::vector<ClientConfig>& clients) {
    const toml::array* entries = node.as_array();
    if (entries == nullptr) {
      type_error(node, "clients", "an array of tables ([[clients]])");
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      const toml::node& entry = (*entries)[i];
      std::string label = "clients[" + std::to_string(i) + "]";
      if (!entry.is_table()) type_error(entry, label, "a table");
      clients.push_back(read_client(*entry.as_table(), label));
    }
  }

  ClientConfig read_client(const toml::table& entry, const std::string& label) {
    check_keys(entry, "clients", label);
    ClientConfig client;
    Position entry_at = position_of(entry.source());
    client.line = static_cast<int>(entry_at.line);
    auto field = [&](std::string_view key) { return label + "." + std::string(key); };
    const toml::node* id = entry.get("id");
    if (id == nullptr) {
      fail(name_, Position{entry_at.line, 1},
           field("id") + ": missing (every [[clients]] entry names its client, 1..num_clients)");
    }
    client.id = read_int32(*id, field("id"));
    if (const toml::node* v = entry.get("start_ms"))
      client.start_ms = read_int32(*v, field("start_ms"));
    if (const toml::node* v = entry.get("stop_ms"))
      client.stop_ms = read_int32(*v, field("stop_ms"));
    if (const toml::node* v = entry.get("node")) client.node = read_int32(*v, field("node"));
    const toml::node* count = entry.get("count");
    const toml::node* commands = entry.get("commands");
    if (count != nullptr && commands != nullptr) {
      fail_at(*commands, field("commands") +
                             ": not used with 'count' (a client sends either count random "
                             "commands or the commands listed)");
    }
    if (count != nullptr) client.count = read_int32(*count, field("count"));
    if (commands != nullptr) {
      const toml::array* array = commands->as_array();
      if (array == nullptr) type_error(*commands, field("commands"), "an array of strings");
      remember(*commands, field("commands"));
      for (size_t i = 0; i < array->size(); ++i) {
        std::string path = field("commands") + "[" + std::to_string(i) + "]";
        std::string text = read_string((*array)[i], path);
        std::string error;
        if (!parse_client_command(text, &error)) {
          fail_at((*array)[i], "key " + quoted(path) + ": " + error);
        }
        client.commands.push_back(std::move(text));
      }
    }
    return client;
  }

  const std::string& name_;
  KeyPositions& positions_;
};

// ----------------------------------------------------------------- checker

// Range and cross-field rules, shared by parse_config (with key positions)
// and validate_config on a hand-built Config (without).
class Checker {
 public:
  Checker(const std::string& name, const KeyPositions* positions)
      : name_(name), positions_(positions) {}

  // Each field of the table in turn, so the first bad one in table order is
  // reported; the timing pairs once every timing key is in range.
  void check(const Config& cfg) {
    const std::vector<ConfigField>& fields = config_fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      check_field(fields[i], cfg);
      bool last_timing = fields[i].section() == "timing" &&
                         (i + 1 == fields.size() || fields[i + 1].section() != "timing");
      if (last_timing) check_timing_pairs(cfg.timing);
    }
    // Thesis §6.4: a read index is the commit index once the leader has
    // committed an entry of its own term, which the no-op guarantees; without
    // it a leader that gets only reads never answers them.
    if (cfg.raft.read_mode != ReadMode::Log && !cfg.leader_noop) {
      fail_keys({"raft.read_mode", "leader_noop"},
                "[raft] read_mode = \"" + std::string(to_string(cfg.raft.read_mode)) +
                    "\" needs leader_noop = true: a leader answers a read only once an entry "
                    "of its own term is committed (Raft thesis §6.4), and with only reads "
                    "arriving nothing else would commit one");
    }
    // Thesis §6.4.1: a lease holds only if the servers that confirmed it
    // refuse to elect another leader until their election timers run out,
    // which is check_quorum's leader stickiness (§4.2.3).
    if (cfg.raft.read_mode == ReadMode::Lease && !cfg.raft.check_quorum) {
      fail_keys({"raft.read_mode", "raft.check_quorum"},
                "[raft] read_mode = \"lease\" needs check_quorum = true: a lease is safe only "
                "if the servers that confirmed it ignore RequestVote until their own election "
                "timers run out (leader stickiness, Raft thesis §4.2.3 and §6.4.1)");
    }
  }

 private:
  // Fails at the first of `keys` that has a known position. With positions
  // (a parsed file) the message is always located; without, it is "NAME: ...".
  [[noreturn]] void fail_keys(std::initializer_list<std::string_view> keys,
                              const std::string& message) {
    if (positions_ == nullptr) fail(name_, std::nullopt, message);
    for (std::string_view key : keys) {
      auto it = positions_->find(key);
      if (it != positions_->end()) fail(name_, it->second, message);
    }
    fail(name_, Position{}, message);
  }

  [[noreturn]] void fail_fault(const FaultConfig& fault, size_t index, std::string_view field,
                               const std::string& message) {
    std::string text =
        "faults[" + std::to_string(index) + "]." + std::string(field) + ": " + message;
    if (fault.line > 0) fail(name_, Position{fault.line, 1}, text);
    if (positions_ != nullptr) fail(name_, Position{}, text);
    fail(name_, std::nullopt, text);
  }

  [[noreturn]] void fail_client(const ClientConfig& client, size_t index, std::string_view field,
                                const std::string& message) {
    std::string text =
        "clients[" + std::to_string(index) + "]." + std::string(field) + ": " + message;
    if (client.line > 0) fail(name_, Position{client.line, 1}, text);
    if (positions_ != nullptr) fail(name_, Position{}, text);
    fail(name_, std::nullopt, text);
  }

  void check_clients(const Config& cfg) {
    std::map<int, size_t> listed;  // client id -> its entry
    for (size_t i = 0; i < cfg.clients.size(); ++i) {
      const ClientConfig& c = cfg.clients[i];
      if (c.id < 1 || c.id > cfg.num_clients) {
        fail_client(c, i, "id",
                    "client " + std::to_string(c.id) +
                        " does not exist (num_clients = " + std::to_string(cfg.num_clients) + ")");
      }
      if (auto [it, fresh] = listed.emplace(c.id, i); !fresh) {
        fail_client(c, i, "id",
                    "client " + std::to_string(c.id) + " is listed twice (also clients[" +
                        std::to_string(it->second) + "])");
      }
      auto check_time = [&](std::string_view key, const std::optional<int64_t>& at) {
        if (!at) return;
        if (*at < 0) fail_client(c, i, key, "must be >= 0, got " + std::to_string(*at));
        if (*at > cfg.time_limit_ms) {
          fail_client(c, i, key,
                      std::to_string(*at) + " is after time_limit_ms (" +
                          std::to_string(cfg.time_limit_ms) + "), so it would never happen");
        }
      };
      check_time("start_ms", c.start_ms);
      check_time("stop_ms", c.stop_ms);
      if (c.start_ms && c.stop_ms && *c.stop_ms <= *c.start_ms) {
        fail_client(c, i, "stop_ms",
                    std::to_string(*c.stop_ms) + " is not after start_ms (" +
                        std::to_string(*c.start_ms) + "), so the client would send nothing");
      }
      if (c.node && (*c.node < 1 || *c.node > cfg.num_nodes)) {
        fail_client(c, i, "node",
                    "node " + std::to_string(*c.node) +
                        " does not exist (num_nodes = " + std::to_string(cfg.num_nodes) + ")");
      }
      if (c.count && *c.count < 0) {
        fail_client(c, i, "count", "must be >= 0, got " + std::to_string(*c.count));
      }
      if (c.count && !c.commands.empty()) {
        fail_client(c, i, "commands",
                    "not used with 'count' (a client sends either count random commands or the "
                    "commands listed)");
      }
      for (size_t k = 0; k < c.commands.size(); ++k) {
        std::string error;
        if (!parse_client_command(c.commands[k], &error)) {
          fail_client(c, i, "commands[" + std::to_string(k) + "]", error);
        }
      }
    }
  }

  void check_field(const ConfigField& field, const Config& cfg) {
    std::visit(
        Overload{[&](const FieldRef<bool>&) {},
                 [&](const FieldRef<ReadMode>&) {},  // checked as it was read
                 [&](const FieldRef<double>& r) { check_probability(field.path, r.get(cfg)); },
                 // The structured keys (fields.h): their elements were checked as they were
                 // read, or are checked here by hand.
                 [&](const FieldRef<std::vector<NemesisKind>>& r) {
                   if (cfg.nemesis.enabled && r.get(cfg).empty()) {
                     fail_keys({field.path, "nemesis.enabled"},
                               "key " + quoted(field.path) +
                                   " must not be empty when the nemesis is enabled");
                   }
                 },
                 [&](const FieldRef<std::vector<FaultConfig>>&) { check_faults(cfg); },
                 [&](const FieldRef<std::vector<ClientConfig>>&) { check_clients(cfg); },
                 [&](const auto& r) {
                   check_range(field.path, r.get(cfg), field.min, field.max_for(cfg),
                               range_note(field, cfg));
                 }},
        field.ref);
  }

  // " (note; num_nodes = N)" after a range error, or "".
  static std::string range_note(const ConfigField& field, const Config& cfg) {
    std::string note(field.range_note);
    if (field.max_is_num_nodes) {
      note +=
          (note.empty() ? "" : "; ") + std::string("num_nodes = ") + std::to_string(cfg.num_nodes);
    }
    return note.empty() ? note : " (" + note + ")";
  }

  // A template so that the unsigned seed compares exactly, however large.
  template <class V>
  void check_range(std::string_view key, V value, int64_t lo, int64_t hi,
                   const std::string& note = "") {
    if (std::cmp_greater_equal(value, lo) && std::cmp_less_equal(value, hi)) return;
    std::string rule;
    if (hi == kInt32Max) {
      rule = std::cmp_less(value, lo) ? "must be >= " + std::to_string(lo) : "must be below 2^31";
    } else {
      rule = "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    }
    fail_keys({key}, "key " + quoted(key) + " " + rule + ", got " + std::to_string(value) + note);
  }

  void check_probability(std::string_view key, double value) {
    // Written so that NaN fails too.
    if (value >= 0.0 && value < 1.0) return;
    fail_keys({key}, "key " + quoted(key) + " must be a probability in [0, 1), got " +
                         (std::isnan(value) ? std::string("nan") : toml_number(value)));
  }

  static std::string toml_number(double value) {
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
  }

  // Rules between two timing keys: a field's row cannot say these.
  void check_timing_pairs(const TimingConfig& t) {
    auto pair = [](std::string_view a, int64_t x, std::string_view b, int64_t y) {
      return std::string(a) + " (" + std::to_string(x) + ") and " + std::string(b) + " (" +
             std::to_string(y) + ")";
    };
    if (t.election_timeout_min_ms >= t.election_timeout_max_ms) {
      fail_keys({"timing.election_timeout_min_ms", "timing.election_timeout_max_ms"},
                "timing.election_timeout_min_ms (" + std::to_string(t.election_timeout_min_ms) +
                    ") must be less than timing.election_timeout_max_ms (" +
                    std::to_string(t.election_timeout_max_ms) + "), which is exclusive");
    }
    if (t.network_latency_min_ms > t.network_latency_max_ms) {
      fail_keys({"timing.network_latency_min_ms", "timing.network_latency_max_ms"},
                "timing.network_latency_min_ms (" + std::to_string(t.network_latency_min_ms) +
                    ") must be <= timing.network_latency_max_ms (" +
                    std::to_string(t.network_latency_max_ms) + ")");
    }
    if (t.heartbeat_interval_ms >= t.election_timeout_min_ms) {
      fail_keys({"timing.heartbeat_interval_ms", "timing.election_timeout_min_ms"},
                "timing.heartbeat_interval_ms must be less than timing.election_timeout_min_ms, "
                "or followers would time out between heartbeats: " +
                    pair("heartbeat", t.heartbeat_interval_ms, "election minimum",
                         t.election_timeout_min_ms));
    }
    if (t.client_timeout_ms > t.client_deadline_ms) {
      fail_keys({"timing.client_timeout_ms", "timing.client_deadline_ms"},
                "timing.client_timeout_ms (" + std::to_string(t.client_timeout_ms) +
                    ") must be <= timing.client_deadline_ms (" +
                    std::to_string(t.client_deadline_ms) + ")");
    }
  }

  void check_node(const FaultConfig& fault, size_t index, std::string_view field, int node,
                  int num_nodes) {
    if (node >= 1 && node <= num_nodes) return;
    fail_fault(fault, index, field,
               "node " + std::to_string(node) +
                   " does not exist (num_nodes = " + std::to_string(num_nodes) + ")");
  }

  void check_groups(const FaultConfig& fault, size_t index, int num_nodes) {
    std::vector<int> group_of(static_cast<size_t>(num_nodes) + 1, -1);
    for (size_t g = 0; g < fault.groups.size(); ++g) {
      if (fault.groups[g].empty()) {
        fail_fault(fault, index, "groups", "group " + std::to_string(g) + " is empty");
      }
      for (int node : fault.groups[g]) {
        check_node(fault, index, "groups", node, num_nodes);
        int& seen = group_of[static_cast<size_t>(node)];
        if (seen >= 0) {
          std::string where = seen == static_cast<int>(g) ? "twice in group " + std::to_string(g)
                                                          : "in groups " + std::to_string(seen) +
                                                                " and " + std::to_string(g);
          fail_fault(fault, index, "groups",
                     "node " + std::to_string(node) + " appears more than once (" + where + ")");
        }
        seen = static_cast<int>(g);
      }
    }
    for (int node = 1; node <= num_nodes; ++node) {
      if (group_of[static_cast<size_t>(node)] < 0) {
        fail_fault(fault, index, "groups",
                   "node " + std::to_string(node) + " is in no group (the groups must split " +
                       "nodes 1.." + std::to_string(num_nodes) + ")");
      }
    }
  }

  void check_network(const FaultConfig& f, size_t index) {
    auto probability = [&](std::string_view key, const std::optional<double>& p) {
      // Written so that NaN fails too.
      if (!p || (*p >= 0.0 && *p < 1.0)) return;
      fail_fault(f, index, key,
                 "must be a probability in [0, 1), got " +
                     (std::isnan(*p) ? std::string("nan") : toml_number(*p)));
    };
    probability("loss", f.loss);
    probability("duplicate", f.duplicate);
    auto at_least = [&](std::string_view key, const std::optional<int64_t>& v, int64_t lo) {
      if (!v || (*v >= lo && *v <= kInt32Max)) return;
      fail_fault(f, index, key,
                 *v < lo ? "must be >= " + std::to_string(lo) + ", got " + std::to_string(*v)
                         : "must be below 2^31, got " + std::to_string(*v));
    };
    // The ranges of timing.network_latency_min_ms and _max_ms.
    at_least("network_latency_min_ms", f.latency_min_ms, 0);
    at_least("network_latency_max_ms", f.latency_max_ms, 1);
  }

  void check_faults(const Config& cfg) {
    // Node ids: 1..num_nodes, and the servers add_node brings (each id once,
    // above num_nodes, within the node limit).
    std::map<int, size_t> added;  // id -> its add_node fault
    for (size_t i = 0; i < cfg.faults.size(); ++i) {
      const FaultConfig& f = cfg.faults[i];
      if (f.action != FaultAction::AddNode) continue;
      if (f.node <= cfg.num_nodes || f.node > 1000) {
        fail_fault(f, i, "node",
                   "add_node needs a new node id, in " + std::to_string(cfg.num_nodes + 1) +
                       "..1000 (num_nodes = " + std::to_string(cfg.num_nodes) + "), got " +
                       std::to_string(f.node));
      }
      if (auto [it, fresh] = added.emplace(f.node, i); !fresh) {
        fail_fault(f, i, "node",
                   "node " + std::to_string(f.node) + " is already added by faults[" +
                       std::to_string(it->second) + "]");
      }
    }
    const int n = max_node_id(cfg);
    for (size_t i = 0; i < cfg.faults.size(); ++i) {
      const FaultConfig& f = cfg.faults[i];
      using enum FaultAction;
      if (f.action == RemoveNode) check_node(f, i, "node", f.node, n);
      if (f.at_ms < 0) {
        fail_fault(f, i, "at_ms", "must be >= 0, got " + std::to_string(f.at_ms));
      }
      if (f.at_ms > kInt32Max) {
        fail_fault(f, i, "at_ms", "must be below 2^31, got " + std::to_string(f.at_ms));
      }
      // The run stops at time_limit_ms: a later fault would silently never happen.
      if (f.at_ms > cfg.time_limit_ms) {
        fail_fault(f, i, "at_ms",
                   std::to_string(f.at_ms) + " is after time_limit_ms (" +
                       std::to_string(cfg.time_limit_ms) + "), so the fault would never happen");
      }
      if ((f.action == Crash || f.action == Restart) && f.target == FaultTarget::Node) {
        check_node(f, i, "node", f.node, n);
      }
      if (f.action == Network) check_network(f, i);
      if (f.action == TransferLeader) check_node(f, i, "to", f.to, n);
      if (f.action == Partition) check_groups(f, i, n);
      if (f.action == Cut || f.action == Uncut) {
        check_node(f, i, "from", f.from, n);
        check_node(f, i, "to", f.to, n);
        if (f.from == f.to) {
          fail_fault(f, i, "to",
                     "from and to are both node " + std::to_string(f.to) +
                         " (a link joins two different nodes)");
        }
      }
    }

    // Replay the schedule in time order (file order for equal times, as the
    // run applies them) so impossible schedules fail here, not mid-run. One
    // rule for every action: a fault that would change nothing (a crash of a
    // crashed node, a restart of a running one, a cut of a cut link, an uncut
    // of a link that is not cut, a heal with nothing to heal) is an error, as
    // it is surely not what the user meant. Only the schedule is known here:
    // what the nemesis does at random is its own to undo.
    std::vector<size_t> order(cfg.faults.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return cfg.faults[a].at_ms < cfg.faults[b].at_ms; });
    std::vector<std::optional<size_t>> crashed_by(static_cast<size_t>(n) + 1);
    std::map<std::pair<int, int>, size_t> cut_by;  // link (from, to) -> the fault that cut it
    std::map<int, bool> joined, removed;           // by add_node / remove_node, so far
    bool partitioned = false;
    // Role targets: the crashes of each role not yet restarted (a restart of
    // a role restarts the latest of them).
    std::map<FaultTarget, std::vector<size_t>> role_crashes;
    int64_t latency_min = cfg.timing.network_latency_min_ms;
    int64_t latency_max = cfg.timing.network_latency_max_ms;
    for (size_t i : order) {
      const FaultConfig& f = cfg.faults[i];
      using enum FaultAction;
      std::string when = " at " + std::to_string(f.at_ms) + " ms";
      if (f.action == Partition) partitioned = true;
      if (f.action == Heal) {
        if (!partitioned && cut_by.empty()) {
          fail_fault(f, i, "action",
                     "nothing to heal" + when + " (no partition or cut is in place)");
        }
        partitioned = false;
        cut_by.clear();
      }
      if (f.action == Cut || f.action == Uncut) {
        std::string link = "link " + std::to_string(f.from) + " -> " + std::to_string(f.to);
        auto it = cut_by.find({f.from, f.to});
        if (f.action == Cut && it != cut_by.end()) {
          fail_fault(f, i, "from",
                     link + " is already cut" + when + " (cut by faults[" +
                         std::to_string(it->second) + "])");
        }
        if (f.action == Uncut && it == cut_by.end()) {
          fail_fault(f, i, "from", link + " is not cut" + when + ", so it cannot be uncut");
        }
        if (f.action == Cut) {
          cut_by[{f.from, f.to}] = i;
        } else {
          cut_by.erase(it);
        }
      }
      if (f.action == Network) {
        latency_min = f.latency_min_ms.value_or(latency_min);
        latency_max = f.latency_max_ms.value_or(latency_max);
        if (latency_min > latency_max) {
          fail_fault(f, i, f.latency_min_ms ? "network_latency_min_ms" : "network_latency_max_ms",
                     "the latency range would be " + std::to_string(latency_min) + ".." +
                         std::to_string(latency_max) + " ms" + when +
                         " (network_latency_min_ms must be <= network_latency_max_ms)");
        }
      }
      // A server exists from its add_node on and is gone after its remove_node.
      if (f.action == AddNode) joined[f.node] = true;
      if (f.action == RemoveNode) {
        if (f.node > cfg.num_nodes && !joined[f.node]) {
          fail_fault(f, i, "node",
                     "node " + std::to_string(f.node) + " is not added before" + when +
                         ", so it cannot be removed");
        }
        if (removed[f.node]) {
          fail_fault(f, i, "node", "node " + std::to_string(f.node) + " is already removed");
        }
        removed[f.node] = true;
      }
      if ((f.action == Crash || f.action == Restart) && f.target == FaultTarget::Node) {
        if (f.node > cfg.num_nodes && !joined[f.node]) {
          fail_fault(f, i, "node",
                     "node " + std::to_string(f.node) + " has not joined yet" + when +
                         " (its add_node comes later)");
        }
        if (removed[f.node]) {
          fail_fault(
              f, i, "node",
              "node " + std::to_string(f.node) + " is removed from the cluster before" + when);
        }
      }
      if (f.action != Crash && f.action != Restart) continue;
      if (f.target != FaultTarget::Node) {
        std::vector<size_t>& crashes = role_crashes[f.target];
        std::string role(to_string(f.target));
        if (f.action == Crash) {
          crashes.push_back(i);
        } else if (crashes.empty()) {
          fail_fault(f, i, "node",
                     "no earlier crash of node \"" + role + "\" is left to restart" + when +
                         " (restart \"" + role + "\" restarts the node the latest crash of \"" +
                         role + "\" crashed)");
        } else {
          crashes.pop_back();
        }
        continue;
      }
      std::optional<size_t>& crash = crashed_by[static_cast<size_t>(f.node)];
      std::string node = "node " + std::to_string(f.node);
      if (f.action == Crash && crash) {
        fail_fault(f, i, "node",
                   node + " is already crashed" + when + " (crashed by faults[" +
                       std::to_string(*crash) + "])");
      }
      if (f.action == Restart && !crash) {
        fail_fault(f, i, "node", node + " is not crashed" + when + ", so it cannot restart");
      }
      crash = f.action == Crash ? std::optional<size_t>(i) : std::nullopt;
    }
  }

  const std::string& name_;
  const KeyPositions* positions_;
};

}  // namespace

int max_node_id(const Config& cfg) {
  int n = cfg.num_nodes;
  for (const FaultConfig& f : cfg.faults) {
    if (f.action == FaultAction::AddNode) n = std::max(n, f.node);
  }
  return n;
}

// ------------------------------------------------------------ enum names

// Indexed by the enums' values: the order of the enums' declarations.
const std::vector<std::string_view>& fault_action_names() {
  static const std::vector<std::string_view> names = {
      "crash", "restart", "partition",       "heal",     "cut",
      "uncut", "network", "transfer_leader", "add_node", "remove_node"};
  return names;
}

std::string_view to_string(FaultTarget target) {
  switch (target) {
    case FaultTarget::Leader: return "leader";
    case FaultTarget::Follower: return "follower";
    case FaultTarget::Node: break;
  }
  return "node";
}

std::optional<ClientCommand> parse_client_command(std::string_view text, std::string* error) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(i, end - i));
    i = end;
  }
  auto bad = [&](const std::string& why) -> std::optional<ClientCommand> {
    *error = "bad command " + quoted(text) + ": " + why;
    return std::nullopt;
  };
  for (std::string_view word : words) {
    for (char c : word) {
      if (c <= ' ' || c >= 0x7F) {
        return bad("keys and values are printable ASCII words without spaces");
      }
    }
  }
  static constexpr std::string_view kOps[] = {"put", "get", "delete"};
  if (words.empty()) return bad("expected put KEY VALUE, get KEY or delete KEY");
  if (!is_one_of(words[0], kOps)) {
    return bad("unknown operation " + quoted(words[0]) + choice_hint(words[0], kOps));
  }
  size_t expected = words[0] == "put" ? 3 : 2;
  if (words.size() != expected) {
    return bad(words[0] == "put" ? "expected put KEY VALUE"
                                 : "expected " + std::string(words[0]) + " KEY");
  }
  ClientCommand cmd;
  cmd.op = std::string(words[0]);
  cmd.key = std::string(words[1]);
  if (expected == 3) cmd.value = std::string(words[2]);
  return cmd;
}

const std::vector<std::string_view>& nemesis_kind_names() {
  static const std::vector<std::string_view> names = {"crash", "partition", "cut"};
  return names;
}

const std::vector<std::string_view>& read_mode_names() {
  static const std::vector<std::string_view> names = {"log", "read_index", "lease"};
  return names;
}

std::string_view to_string(ReadMode mode) { return read_mode_names()[static_cast<size_t>(mode)]; }

std::optional<ReadMode> read_mode_named(std::string_view name) {
  const auto& names = read_mode_names();
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<ReadMode>(it - names.begin());
}

std::string_view to_string(FaultAction action) {
  return fault_action_names()[static_cast<size_t>(action)];
}

std::string_view to_string(NemesisKind kind) {
  return nemesis_kind_names()[static_cast<size_t>(kind)];
}

std::optional<FaultAction> fault_action_named(std::string_view name) {
  const auto& names = fault_action_names();
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<FaultAction>(it - names.begin());
}

std::optional<NemesisKind> nemesis_kind_named(std::string_view name) {
  const auto& names = nemesis_kind_names();
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<NemesisKind>(it - names.begin());
}

Config load_config(const std::string& path) {
  auto cannot = [&](const char* what, int error) {
    throw ConfigError(one_line(path + ": cannot " + what + " config file (" +
                               std::generic_category().message(error) + ")"));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) cannot("open", errno);
  std::string text;
  char buffer[65536];
  size_t count = 0;
  // A directory opens fine on Linux; the read fails with EISDIR.
  while ((count = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    text.append(buffer, count);
    if (text.size() > kMaxConfigBytes) break;
  }
  bool failed = std::ferror(file) != 0;
  int read_error = errno != 0 ? errno : EIO;
  std::fclose(file);
  if (failed) cannot("read", read_error);
  return parse_config(text, path);
}

Config parse_config(const std::string& text, const std::string& name) {
  if (text.size() > kMaxConfigBytes) {
    fail(name, Position{},
         "config is too large (more than " + std::to_string(kMaxConfigBytes >> 20) + " MiB)");
  }
  PreScan(text, name).run();
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(name));
  } catch (const toml::parse_error& error) {
    fail(name, position_of(error.source()), std::string(error.description()));
  }
  Config cfg;
  KeyPositions positions;
  Reader(name, positions).read(root, cfg);
  Checker(name, &positions).check(cfg);
  cfg.source = name;
  return cfg;
}

void validate_config(const Config& cfg, const std::string& name) {
  Checker(name, nullptr).check(cfg);
}

std::optional<std::string_view> nearest_name(std::string_view word,
                                             std::span<const std::string_view> candidates) {
  return nearest(word, candidates);
}

std::string name_hint(std::string_view word, std::span<const std::string_view> candidates) {
  return choice_hint(word, candidates);
}

}  // namespace raftkv
