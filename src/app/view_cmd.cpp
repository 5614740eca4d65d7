// `raftkv view`: one self-contained HTML page showing a trace (README, "Seeing
// a run"). The page is tools/view/view.html with its stylesheet, its script,
// the checker's verdict and the trace's lines written into it; nothing is
// fetched when it is opened.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "app/progress.h"
#include "check/checker.h"
// Generated from tools/view/ by tools/view/embed.cmake (not a layer of src/).
#include <view_assets.h>

namespace raftkv {
namespace {

// Text that will sit inside a <script> element: "<" only occurs inside JSON
// strings there, where \u003c means the same, so no "</script" or "<!--" can
// end or confuse the element.
void write_script_safe(std::ostream& out, std::string_view text) {
  size_t start = 0;
  for (size_t i = text.find('<'); i != std::string_view::npos; i = text.find('<', start)) {
    out.write(text.data() + start, static_cast<std::streamsize>(i - start));
    out << "\\u003c";
    start = i + 1;
  }
  out.write(text.data() + start, static_cast<std::streamsize>(text.size() - start));
}

nlohmann::json verdict_json(const check::Report& report) {
  nlohmann::json v;
  v["trace"] = report.trace_name;
  v["events"] = report.events;
  v["ok"] = report.ok();
  v["summary"] = check::format_report(report);
  v["planted_bugs"] = report.planted_bugs;
  v["linearizability_inconclusive"] = report.linearizability_inconclusive;
  v["liveness_skipped"] = report.liveness_skipped;
  v["counts"] = report.counts;
  if (report.violation) {
    v["check"] = report.violation->check;
    v["seqs"] = report.violation->seqs;
    v["nodes"] = report.violation->nodes;
    v["explanation"] = report.violation->explanation;
  }
  return v;
}

// Which events the page holds: all of them, or max_events of them around the
// violation (or from the start), so a page stays small enough to open.
struct Window {
  int64_t first = 1, last = 0;
};

// Log compaction (Raft §7): the page shows whole logical logs, so an
// install_snapshot through index I gives the node the entries 1..I of a log
// that holds entry I with the snapshot's term (committed entries: every such
// log agrees on them), followed by the `kept` entries of its own.
void install_snapshot(std::map<int64_t, std::vector<std::string>>& logs, int64_t node,
                      const nlohmann::json& ev) {
  int64_t index = ev.value("index", int64_t{0}), term = ev.value("term", int64_t{0});
  int64_t kept = ev.value("kept", int64_t{0});
  const std::vector<std::string>* source = nullptr;
  for (const auto& [other, log] : logs) {
    if (index >= 1 && static_cast<int64_t>(log.size()) >= index &&
        nlohmann::json::parse(log[static_cast<size_t>(index - 1)]).value("term", int64_t{0}) ==
            term) {
      source = &log;
      break;
    }
  }
  std::vector<std::string>& mine = logs[node];
  std::vector<std::string> log;
  // Without a source (only a hand-made trace) the page keeps what the node
  // itself held of those entries rather than show entries it cannot know.
  const std::vector<std::string>& from = source != nullptr ? *source : mine;
  for (int64_t k = 0; k < index && k < static_cast<int64_t>(from.size()); ++k) {
    log.push_back(from[static_cast<size_t>(k)]);
  }
  if (static_cast<int64_t>(log.size()) < index) {  // no entry after a gap
    mine = std::move(log);
    return;
  }
  for (int64_t k = index; k < index + kept && k < static_cast<int64_t>(mine.size()); ++k) {
    log.push_back(mine[static_cast<size_t>(k)]);
  }
  mine = std::move(log);
}

// The number of events (lines after the header) of a trace file. Not the
// report's count: the checker stops at the first violation.
int64_t count_events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  int64_t lines = 0;
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    lines += std::count(buffer.data(), buffer.data() + in.gcount(), '\n');
  }
  return std::max<int64_t>(0, lines - 1);
}

Window choose_window(const check::Report& report, int64_t events, int64_t max_events) {
  Window w{1, events};
  if (max_events <= 0 || events <= max_events) return w;
  int64_t start = 1;
  if (report.violation && !report.violation->seqs.empty()) {
    int64_t lo = report.violation->seqs.front(), hi = report.violation->seqs.back();
    start = std::max<int64_t>(1, lo - max_events / 4);
    if (hi >= start + max_events) start = hi - max_events + 1;
    start = std::min(start, events - max_events + 1);
  }
  return Window{start, start + max_events - 1};
}

// The page: view.html with its markers replaced, in order: our stylesheet,
// uPlot's, the verdict, the trace, uPlot's script (vendored from npm by the
// build, tools/view/vendor), ours.
void write_page(std::ostream& out, const nlohmann::json& verdict, std::istream& trace,
                const Window& window) {
  std::string_view html = view_assets::view_html;
  auto emit_until = [&](std::string_view marker) {
    size_t at = html.find(marker);
    out << html.substr(0, at);
    html.remove_prefix(at == std::string_view::npos ? html.size() : at + marker.size());
  };
  emit_until("/*@CSS@*/");
  out << view_assets::view_css;
  emit_until("/*@UPLOT_CSS@*/");
  out << view_assets::uPlot_min_css;
  emit_until("/*@VERDICT@*/");
  write_script_safe(out, verdict.dump());
  emit_until("/*@TRACE@*/");
  // The header and the window's lines as one JSON array (one JSON.parse in the
  // page): the checker has just read them, so each is one valid JSON object.
  // A window that starts after seq 1 gives each node's first line in it the
  // state, or the fields of it, the trace left out (schema v3, v4), so the
  // page knows every node's state.
  out << '[';
  std::string line, header;
  std::map<int64_t, nlohmann::json> states;  // node -> last state, before the window
  std::set<int64_t> seen;                    // nodes with a line in the window
  // Each node's log as the window's first event finds it (its entries as
  // written), followed from the header's initial_state and the appends and
  // truncations before the window, so the page shows whole logs there.
  std::map<int64_t, std::vector<std::string>> logs;
  bool header_written = false;
  auto write_header = [&]() {
    header_written = true;
    if (window.first == 1) return write_script_safe(out, header);
    // The page's own key (not the trace schema's): each node's log and state
    // at the window's start.
    nlohmann::json h = nlohmann::json::parse(header);
    nlohmann::json window_logs = nlohmann::json::array();
    for (const auto& [node, entries] : logs) {
      nlohmann::json log = nlohmann::json::array();
      for (const std::string& e : entries) log.push_back(nlohmann::json::parse(e));
      nlohmann::json w = {{"node", node}, {"log", log}};
      if (states.count(node)) w["state"] = states[node];
      window_logs.push_back(w);
    }
    for (const auto& [node, state] : states) {  // a node whose log is still empty
      if (!logs.count(node))
        window_logs.push_back({{"node", node}, {"log", nlohmann::json::array()}, {"state", state}});
    }
    h["window_logs"] = window_logs;
    write_script_safe(out, h.dump());
  };
  for (int64_t n = 0; std::getline(trace, line); ++n) {
    if (n == 0) {
      header = line;
      if (window.first > 1) {
        nlohmann::json h = nlohmann::json::parse(header);
        for (const nlohmann::json& init : h.value("initial_state", nlohmann::json::array())) {
          std::vector<std::string>& log = logs[init["node"].get<int64_t>()];
          for (const nlohmann::json& e : init["log"]) log.push_back(e.dump());
        }
      } else {
        write_header();
      }
      continue;
    }
    if (n > window.last) break;
    if (n < window.first) {
      bool append = line.find("\"event\":\"append\"") != std::string::npos;
      bool truncate = line.find("\"event\":\"truncate\"") != std::string::npos;
      bool install = line.find("\"event\":\"install_snapshot\"") != std::string::npos;
      if (line.find("\"state\":") != std::string::npos || append || truncate || install) {
        nlohmann::json ev = nlohmann::json::parse(line);
        int64_t node = ev["node"].get<int64_t>();
        if (ev.contains("state")) states[node].update(ev["state"]);  // the fields it changed
        std::vector<std::string>& log = logs[node];
        if (truncate) log.resize(static_cast<size_t>(ev["from_index"].get<int64_t>() - 1));
        if (install) install_snapshot(logs, node, ev);
        if (append) {
          // Entries overwrite from first_index on, then extend the log.
          size_t at = static_cast<size_t>(ev["first_index"].get<int64_t>() - 1);
          for (const nlohmann::json& e : ev["entries"]) {
            if (at < log.size()) {
              log[at] = e.dump();
            } else {
              log.push_back(e.dump());
            }
            ++at;
          }
        }
      }
      continue;
    }
    if (!header_written) write_header();
    out << ",\n";
    if (window.first > 1 && line.find("\"node\":") != std::string::npos) {
      nlohmann::json ev = nlohmann::json::parse(line);
      if (ev.contains("node") && ev["node"].is_number()) {
        int64_t node = ev["node"].get<int64_t>();
        if (seen.insert(node).second && states.count(node)) {
          // Its state whole: the one before the window with what the line
          // changed (schema v4 writes only changed fields).
          nlohmann::json whole = states[node];
          if (ev.contains("state")) whole.update(ev["state"]);
          ev["state"] = whole;
          write_script_safe(out, ev.dump());
          continue;
        }
      }
    }
    write_script_safe(out, line);
  }
  if (!header_written) write_header();
  out << ']';
  emit_until("/*@UPLOT_JS@*/");
  out << view_assets::uPlot_iife_min_js;  // embed.cmake made sure it holds no "</script"
  emit_until("/*@JS@*/");
  out << view_assets::view_js;
  out << html;
}

}  // namespace

std::string default_view_path(const std::string& trace_path) {
  std::string base = trace_path;
  size_t slash = base.find_last_of('/');
  size_t dot = base.find_last_of('.');
  size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  if (dot != std::string::npos && dot > name_start) {
    base.erase(dot);
  }
  return base + ".html";
}

int view_command(const ViewOptions& opts, std::ostream& out, std::ostream& err) {
  const std::string& path = opts.trace_path;
  const std::string out_path = opts.out_path.empty() ? default_view_path(path) : opts.out_path;
  if (std::FILE* file = std::fopen(path.c_str(), "rb")) {
    std::fclose(file);
  } else {
    err << "raftkv view: cannot open '" << path << "': " << std::strerror(errno) << '\n';
    return 2;
  }
  if (same_file(out_path, path)) {
    err << "raftkv view: refusing to write to '" << out_path << "': it is the input trace '" << path
        << "'\n";
    return 2;
  }
  check::Report report;
  try {
    // A large trace takes a while: say how far the checks got (stderr, terminals only).
    Progress progress(err, "view " + path, "MB");
    if (progress.enabled()) {
      std::ifstream file(path, std::ios::binary);
      std::unique_ptr<std::istream> in = progress_input(file, file_size(path), progress);
      report = check::check_trace(*in, path, {}, [path]() -> std::unique_ptr<std::istream> {
        return std::make_unique<std::ifstream>(path, std::ios::binary);
      });
      progress.finish();
    } else {
      report = check::check_trace_file(path);
    }
  } catch (const check::TraceFormatError& e) {
    err << "raftkv view: malformed trace: " << e.what() << '\n';
    return 2;
  }
  if (!opts.trace_name.empty()) report.trace_name = opts.trace_name;
  AtomicOutputFile file(out_path);
  if (!file.open()) {
    err << "raftkv view: " << file.error() << '\n';
    return 2;
  }
  std::ifstream trace(path, std::ios::binary);
  const int64_t events = count_events(path);
  Window window = choose_window(report, events, opts.max_events);
  nlohmann::json verdict = verdict_json(report);
  verdict["events"] = events;
  verdict["first"] = window.first;
  verdict["last"] = window.last;
  write_page(file.stream(), verdict, trace, window);
  if (!file.commit()) {
    err << "raftkv view: " << file.error() << '\n';
    return 2;
  }
  const std::string verdict_name = report.ok() ? "ok" : report.violation->check;
  out << "wrote " << out_path << " (";
  if (window.first != 1 || window.last != events) {
    out << "events " << window.first << ".." << window.last << " of ";
  }
  out << events << " events, verdict: " << verdict_name << ")\n";
  return report.ok() ? 0 : 1;
}

}  // namespace raftkv
