#include "replay/export_shiviz.h"

#include <istream>
#include <map>
#include <ostream>
#include <unordered_map>

#include "replay/replay.h"
#include "trace/event_table.h"
#include "trace/narrate.h"
#include "trace/reader.h"

namespace raftkv {

const char* const kShivizRegex = "(?<host>\\S+) (?<clock>\\{.*?\\}) (?<event>.*)";

namespace {

using Clock = std::map<std::string, int64_t>;  // host -> events of that host seen

// Follows the trace's messages and each host's vector clock.
class ShivizWriter {
 public:
  ShivizWriter(const LineReader& r, std::ostream& out)
      : r_(r), out_(out), narrator_(narrate_everything()) {}

  void event(const std::string& name, const json& ev) {
    // The narrator tells what each event was; it must see every event.
    std::string text = told(ev);
    std::string host;
    const json* merge = nullptr;  // the delivered message's clock, if any
    if (ev.contains("node")) {
      host = "node" + std::to_string(get_int(r_, ev, "node"));
      if (name == "deliver") merge = sent_clock(get_int(r_, ev, "msg_id"));
    } else if (name.rfind("client_", 0) == 0) {
      host = "client" + std::to_string(get_int(r_, ev, "client"));
      if (name == "client_receive")
        merge = sent_clock(get_int(r_, get_object(r_, ev, "msg"), "id"));
    } else if (name == "inject") {
      // A hand-made message: no host sent it, so it carries no clock.
      note_send(get_object(r_, ev, "msg"), Clock{});
    }
    if (host.empty()) return;  // the network's events, and the end
    Clock& clock = clocks_[host];
    if (merge != nullptr) {
      for (const auto& [h, n] : merge->items()) {
        int64_t v = n.get<int64_t>();
        if (clock[h] < v) clock[h] = v;
      }
    }
    ++clock[host];
    if (name == "send" || name == "client_send") note_send(get_object(r_, ev, "msg"), clock);
    json j = json::object();
    for (const auto& [h, n] : clock) j[h] = n;
    out_ << host << ' ' << j.dump() << ' ' << (text.empty() ? name : text) << '\n';
    ++written_;
  }

  int64_t written() const { return written_; }

 private:
  static NarrateOptions narrate_everything() {
    NarrateOptions o;
    o.verbosity = 3;
    return o;
  }

  // The narrative text of the event, without its time and actor.
  std::string told(const json& ev) {
    std::optional<std::string> line = narrator_.line(ev);
    if (!line) return "";
    size_t at = line->find("] [");
    at = at == std::string::npos ? std::string::npos : line->find("] ", at + 3);
    return at == std::string::npos ? *line : line->substr(at + 2);
  }

  void note_send(const json& msg, const Clock& clock) {
    json j = json::object();
    for (const auto& [h, n] : clock) j[h] = n;
    sent_[get_int(r_, msg, "id")] = std::move(j);
  }

  const json* sent_clock(int64_t id) const {
    auto it = sent_.find(id);
    if (it == sent_.end()) {
      r_.fail("message #" + std::to_string(id) + " is delivered but no earlier line sent it");
    }
    return &it->second;
  }

  const LineReader& r_;
  std::ostream& out_;
  Narrator narrator_;
  std::map<std::string, Clock> clocks_;     // host -> its vector clock
  std::unordered_map<int64_t, json> sent_;  // message id -> its sender's clock at the send
  int64_t written_ = 0;
};

}  // namespace

int64_t export_shiviz(std::istream& in, const std::string& name, std::ostream& out) {
  LineReader r(in, name);
  json header;
  read_trace_header(r, header);
  TraceFraming framing(trace::max_node_id(header));
  out << kShivizRegex << "\n\n";
  ShivizWriter writer(r, out);
  json ev;
  while (r.next(ev)) {
    std::string event = framing.read(r, ev);
    try {
      writer.event(event, ev);
    } catch (const json::exception& e) {
      r.fail(std::string("a field of the wrong type: ") + e.what());
    }
  }
  framing.finish(r);
  return writer.written();
}

}  // namespace raftkv
