#include "trace/json_writer.h"

#include <charconv>

namespace raftkv {

namespace {

// True if dump() writes the string as it is between quotes: printable ASCII
// other than '"' and '\\'. Control characters, quotes, backslashes and
// non-ASCII bytes take dump()'s own escaping (and UTF-8 validation).
bool plain(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

void append_string(const std::string& s, std::string& out) {
  if (plain(s)) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += json(s).dump();
  }
}

template <typename Int>
void append_integer(Int v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes hold any 64-bit integer
  out.append(buf, end);
}

}  // namespace

void append_json(const json& value, std::string& out) {
  switch (value.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.get_ref<const json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        append_string(key, out);
        out += ':';
        append_json(item, out);
      }
      out += '}';
      break;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& item : value.get_ref<const json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        append_json(item, out);
      }
      out += ']';
      break;
    }
    case json::value_t::string: append_string(value.get_ref<const std::string&>(), out); break;
    case json::value_t::number_integer: append_integer(value.get<int64_t>(), out); break;
    case json::value_t::number_unsigned: append_integer(value.get<uint64_t>(), out); break;
    case json::value_t::boolean: out += value.get<bool>() ? "true" : "false"; break;
    case json::value_t::null: out += "null"; break;
    default:  // floats, binary, discarded: dump() knows their exact form
      out += value.dump();
      break;
  }
}

}  // namespace raftkv
