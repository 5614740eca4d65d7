// `raftkv view`: one self-contained HTML page showing a trace (README, "Seeing
// a run"). The page is tools/view/view.html with its stylesheet, its script,
// the checker's verdict and the trace's lines written into it; nothing is
// fetched when it is opened.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "app/atomic_file.h"
#include "app/commands.h"
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

// The page: view.html with its markers replaced, in order.
void write_page(std::ostream& out, const nlohmann::json& verdict, std::istream& trace) {
  std::string_view html = view_assets::view_html;
  auto emit_until = [&](std::string_view marker) {
    size_t at = html.find(marker);
    out << html.substr(0, at);
    html.remove_prefix(at == std::string_view::npos ? html.size() : at + marker.size());
  };
  emit_until("/*@CSS@*/");
  out << view_assets::view_css;
  emit_until("/*@VERDICT@*/");
  write_script_safe(out, verdict.dump());
  emit_until("/*@TRACE@*/");
  // The lines as one JSON array (one JSON.parse in the page): the checker has
  // just read them, so each is one valid JSON object.
  out << '[';
  std::string line;
  bool first = true;
  while (std::getline(trace, line)) {
    if (!first) out << ",\n";
    first = false;
    write_script_safe(out, line);
  }
  out << ']';
  emit_until("/*@JS@*/");
  out << view_assets::view_js;
  out << html;
}

}  // namespace

std::string default_view_path(const std::string& trace_path) {
  std::string base = trace_path;
  size_t slash = base.find_last_of('/');
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash + 1)) {
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
    report = check::check_trace_file(path);
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
  write_page(file.stream(), verdict_json(report), trace);
  if (!file.commit()) {
    err << "raftkv view: " << file.error() << '\n';
    return 2;
  }
  const std::string verdict = report.ok() ? "ok" : report.violation->check;
  out << "wrote " << out_path << " (" << report.events << " events, verdict: " << verdict << ")\n";
  return report.ok() ? 0 : 1;
}

}  // namespace raftkv
