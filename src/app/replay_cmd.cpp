#include <fstream>
#include <ostream>

#include "app/commands.h"
#include "replay/export_tla.h"
#include "replay/replay.h"
#include "trace/narrate.h"

namespace raftkv {

namespace {

// Prints the narrative of every event of a trace file. Returns false, having
// printed nothing, if the file is not a trace (a scenario, or unreadable: the
// replay proper reports that); stops quietly at a malformed line, which the
// replay then reports with its line number.
bool narrate_trace_file(const std::string& path, std::ostream& out) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return false;
  json header = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || header.value("format", json()) != "raftkv-trace") return false;
  Narrator narrator;
  while (std::getline(in, line)) {
    json ev = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!ev.is_object()) break;
    try {
      if (auto text = narrator.line(ev)) out << *text << '\n';
    } catch (const json::exception&) {
      break;  // a field of the wrong type: the replay reports the line
    }
  }
  return true;
}

}  // namespace

int replay_command(const ReplayCommandOptions& opts, std::ostream& out, std::ostream& err) {
  std::ifstream in(opts.input_path, std::ios::binary);
  if (!in) {
    err << "raftkv replay: cannot open '" << opts.input_path << "'\n";
    return 2;
  }
  std::ofstream trace_out;
  ReplayOptions ro;
  if (opts.narrate) ro.narrate = &out;
  if (!opts.trace_path.empty()) {
    trace_out.open(opts.trace_path, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!trace_out) {
      err << "raftkv replay: cannot write '" << opts.trace_path << "'\n";
      return 2;
    }
    ro.trace_out = &trace_out;
  }
  // --narrate on a trace narrates the whole file, even past a divergence
  // (replay stops at the first one); a scenario is narrated as it runs.
  if (opts.narrate && narrate_trace_file(opts.input_path, out)) ro.narrate = nullptr;
  ReplayResult result;
  try {
    result = replay(in, opts.input_path, ro);
  } catch (const ReplayInputError& e) {
    err << "raftkv replay: malformed input: " << e.what() << '\n';
    return 2;
  }
  if (!result.identical) {
    // Replay insists on consecutive seq numbers after the header line, so
    // the event on line L is event L - 1.
    out << "replay diverged at line " << result.divergence_line << " of " << opts.input_path
        << " (event " << result.divergence_line - 1 << ", after " << result.steps << " steps):\n  "
        << result.divergence << '\n';
    return 1;
  }
  if (result.scenario) {
    out << "scenario: ran " << result.steps << " steps, " << result.events << " events";
    if (ro.trace_out) {
      out << " written to " << opts.trace_path << '\n';
    } else {
      out << " (not written: give --trace FILE to keep them)\n";
    }
  } else {
    out << "replayed " << result.events << " events (" << result.steps << " steps), identical\n";
  }
  return 0;
}

int export_tla_command(const std::string& trace_path, const std::string& out_path,
                       std::ostream& out, std::ostream& err) {
  std::ifstream in(trace_path, std::ios::binary);
  if (!in) {
    err << "raftkv export-tla: cannot open '" << trace_path << "'\n";
    return 2;
  }
  std::ofstream file(out_path, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!file) {
    err << "raftkv export-tla: cannot write '" << out_path << "'\n";
    return 2;
  }
  try {
    int64_t steps = export_tla(in, trace_path, file);
    out << "wrote " << steps << " steps to " << out_path << '\n';
  } catch (const ReplayInputError& e) {
    err << "raftkv export-tla: malformed trace: " << e.what() << '\n';
    return 2;
  }
  return 0;
}

}  // namespace raftkv
