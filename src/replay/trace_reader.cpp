#include "replay/trace_reader.h"

#include <set>

namespace raftkv {

bool LineReader::next(json& out) {
  std::string text;
  if (!std::getline(in_, text)) return false;
  ++line_;
  if (in_.eof()) fail("last line has no line end (truncated file?)");
  if (text.empty()) fail("blank line");
  try {
    out = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(std::string("invalid JSON: ") + e.what());
  }
  if (!out.is_object()) fail("expected a JSON object");
  return true;
}

void LineReader::fail(const std::string& msg) const { throw ReplayInputError(name_, line_, msg); }

namespace {

const json& field(const LineReader& r, const json& j, const char* key, bool (json::*is)() const,
                  const char* what) {
  auto it = j.find(key);
  if (it == j.end() || !((*it).*is)()) {
    r.fail(std::string("field '") + key + "' missing or not " + what);
  }
  return *it;
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

bool is_input_event(const std::string& name) {
  static const std::set<std::string> names = {"start", "deliver", "timeout", "crash", "restart"};
  return names.count(name) > 0;
}

bool is_effect_event(const std::string& name) {
  static const std::set<std::string> names = {
      "term_update",  "become_candidate", "become_leader", "become_follower", "vote",    "truncate",
      "append",       "progress",         "commit",        "apply",           "persist", "send",
      "reject_client"};
  return names.count(name) > 0;
}

bool is_runtime_event(const std::string& name) {
  static const std::set<std::string> names = {"drop",         "duplicate",       "client_invoke",
                                              "client_send",  "client_complete", "client_receive",
                                              "client_retry", "partition",       "heal",
                                              "cut",          "uncut",           "end"};
  return names.count(name) > 0;
}

std::string TraceFraming::read(const LineReader& r, const json& ev) {
  if (ended_) r.fail("an event after the end event");
  if (get_int(r, ev, "seq") != next_seq_) r.fail("expected seq " + std::to_string(next_seq_));
  ++next_seq_;
  std::string name = get_str(r, ev, "event");
  if (name == "end") ended_ = true;
  return name;
}

}  // namespace raftkv
