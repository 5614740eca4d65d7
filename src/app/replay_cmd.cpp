#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "app/progress.h"
#include "replay/export_shiviz.h"
#include "replay/export_tla.h"
#include "replay/replay.h"
#include "trace/event_table.h"
#include "trace/narrate.h"

namespace raftkv {

namespace {

// Prints the narrative of every event of a trace file, and after the event on
// line `diverged_at` (0: none) a mark saying the replay diverged there, with
// `divergence`. Returns false, having printed nothing, if the file is not a
// trace (a scenario, or unreadable: the replay proper reports that); stops
// quietly at a malformed line, which the replay reports with its line number.
bool narrate_trace_file(const std::string& path, const NarrateOptions& options, int64_t diverged_at,
                        const std::string& divergence, std::ostream& out) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return false;
  json header = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || header.value("format", json()) != "raftkv-trace") return false;
  Narrator narrator(options);
  try {
    narrator.header(header);
  } catch (const json::exception&) {
    return false;  // a header field of the wrong type: the replay reports it
  }
  // Node lines leave out an unchanged state and unchanged fields of one
  // (schema v3 and v4); the narrator reads whole lines, as the live
  // narrative of `run` does.
  StateFiller states;
  for (int64_t line_no = 2; std::getline(in, line); ++line_no) {
    json ev = json::parse(line, nullptr, /*allow_exceptions=*/false);
    try {
      if (!ev.is_object() || !states.fill(ev)) break;
    } catch (const StateFiller::IncompleteState&) {
      break;  // the replay reports the line
    }
    try {
      if (auto text = narrator.line(ev)) out << *text << '\n';
    } catch (const json::exception&) {
      break;  // a field of the wrong type: the replay reports the line
    }
    if (line_no == diverged_at) {
      out << ">>> replay diverged here (line " << line_no << "): " << divergence
          << "\n>>> the lines below are the trace's, not what the code does\n";
    }
  }
  return true;
}

// The header's format ("raftkv-trace", "raftkv-scenario"), or "" if the first
// line is not a JSON object with a string format (replay then reports why).
std::string input_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return "";
  json header = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || !header.contains("format") || !header["format"].is_string()) return "";
  return header["format"].get<std::string>();
}

// The planted bugs a trace's or scenario's header names (none if the header
// is not readable: replay then says why).
std::vector<std::string> planted_bugs_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::vector<std::string> bugs;
  if (!std::getline(in, line)) return bugs;
  json header = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || !header.contains("planted_bugs")) return bugs;
  const json& list = header["planted_bugs"];
  if (!list.is_array()) return bugs;
  for (const json& name : list) {
    if (name.is_string()) bugs.push_back(name.get<std::string>());
  }
  return bugs;
}

// The header's config.num_nodes and config.num_clients (0 when absent or not
// integers: the replay proper reports a malformed header).
std::pair<int64_t, int64_t> header_sizes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return {0, 0};
  json header = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || !header.contains("config") || !header["config"].is_object()) {
    return {0, 0};
  }
  const json& c = header["config"];
  auto size = [&](const char* key) -> int64_t {
    return c.contains(key) && c[key].is_number_integer() ? c[key].get<int64_t>() : 0;
  };
  int64_t nodes = size("num_nodes");
  // Servers an add_node fault brings (thesis §4.1) have ids above num_nodes.
  if (nodes > 0) nodes = trace::max_node_id(header);
  return {nodes, size("num_clients")};
}

}  // namespace

int replay_command(const ReplayCommandOptions& opts, std::ostream& out, std::ostream& err) {
  std::ifstream in(opts.input_path, std::ios::binary);
  if (!in) {
    err << "raftkv replay: cannot open '" << opts.input_path << "': " << std::strerror(errno)
        << '\n';
    return 2;
  }
  // A replay "identical" to a planted trace only says the buggy code did the
  // same again: say so, as `run --plant-bug` does, on stderr so the verdict
  // on stdout and the exit code stay what scripts read.
  if (std::vector<std::string> bugs = planted_bugs_of(opts.input_path); !bugs.empty()) {
    std::string format = input_format(opts.input_path);
    err << "raftkv replay: WARNING: " << opts.input_path
        << (format == "raftkv-scenario" ? " plants protocol bug(s):"
                                        : " was made with planted protocol bug(s):");
    for (const std::string& bug : bugs) err << ' ' << bug;
    err << " -- deliberately NOT correct Raft\n";
  }
  // Decide whether --trace may be written before creating anything.
  std::optional<AtomicOutputFile> trace_out;
  if (!opts.trace_path.empty()) {
    if (same_file(opts.trace_path, opts.input_path)) {
      err << "raftkv replay: refusing to write the trace to '" << opts.trace_path
          << "': it is the input file '" << opts.input_path << "'\n";
      return 2;
    }
    std::string format = input_format(opts.input_path);
    if (format == "raftkv-trace") {
      err << "raftkv replay: --trace only applies to scenario input; '" << opts.input_path
          << "' is a recorded trace (replay compares it and writes nothing)\n";
      return 2;
    }
    // Anything but a scenario is rejected by replay() below: no file for it.
    if (format == "raftkv-scenario") {
      trace_out.emplace(opts.trace_path);
      if (!trace_out->open()) {
        err << "raftkv replay: " << trace_out->error() << '\n';
        return 2;
      }
    }
  }
  // A filter naming a node or client the input does not have would silently
  // print nothing (a scenario has no clients but client 0).
  auto [num_nodes, num_clients] = header_sizes(opts.input_path);
  for (int node : opts.narrative.nodes) {
    if (num_nodes > 0 && node > num_nodes) {
      err << "raftkv replay: --node " << node << ": '" << opts.input_path << "' has nodes 1.."
          << num_nodes << '\n';
      return 2;
    }
  }
  for (int client : opts.narrative.clients) {
    if (num_nodes > 0 && client > num_clients) {
      err << "raftkv replay: --client " << client << ": '" << opts.input_path << "' has "
          << (num_clients > 0 ? "clients 1.." + std::to_string(num_clients) : "no clients") << '\n';
      return 2;
    }
  }
  ReplayOptions ro;
  ro.narrative = opts.narrative;
  // A scenario is narrated as it runs. A trace is narrated whole, even past
  // a divergence (replay stops at the first one), after the replay, so the
  // narrative can mark the line where the replay diverged.
  bool is_trace = input_format(opts.input_path) == "raftkv-trace";
  if (opts.narrate && !is_trace) ro.narrate = &out;
  if (trace_out) ro.trace_out = &trace_out->stream();
  ReplayResult result;
  std::string input_error;
  Progress progress(err, "replay " + opts.input_path, "MB");
  std::unique_ptr<std::istream> counted;
  if (progress.enabled()) counted = progress_input(in, file_size(opts.input_path), progress);
  try {
    result = replay(counted ? *counted : in, opts.input_path, ro);
  } catch (const ReplayInputError& e) {
    input_error = e.what();
  }
  progress.finish();
  if (opts.narrate && is_trace) {
    narrate_trace_file(opts.input_path, opts.narrative,
                       result.identical ? 0 : result.divergence_line, result.divergence, out);
  }
  if (!input_error.empty()) {
    err << "raftkv replay: malformed input: " << input_error << '\n';
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
  // Only a scenario that ran to its end gets its trace file.
  if (trace_out && !trace_out->commit()) {
    err << "raftkv replay: " << trace_out->error() << '\n';
    return 2;
  }
  if (result.scenario) {
    out << "scenario: ran " << result.steps << " steps, " << result.events << " events";
    if (trace_out) {
      out << " written to " << opts.trace_path << '\n';
    } else {
      out << " (not written: give --trace FILE to keep them)\n";
    }
  } else {
    out << "replayed " << result.events << " events (" << result.steps << " steps), identical\n";
  }
  return 0;
}

namespace {

// Writes `out_path` from the trace at `trace_path` with `exporter` (which
// returns what it wrote, counted in `unit`), all or nothing.
int export_command(const char* command, const char* unit,
                   int64_t (*exporter)(std::istream&, const std::string&, std::ostream&),
                   const std::string& trace_path, const std::string& out_path, std::ostream& out,
                   std::ostream& err) {
  std::ifstream in(trace_path, std::ios::binary);
  if (!in) {
    err << "raftkv " << command << ": cannot open '" << trace_path << "'\n";
    return 2;
  }
  if (same_file(out_path, trace_path)) {
    err << "raftkv " << command << ": refusing to write to '" << out_path
        << "': it is the input trace '" << trace_path << "'\n";
    return 2;
  }
  AtomicOutputFile file(out_path);
  if (!file.open()) {
    err << "raftkv " << command << ": " << file.error() << '\n';
    return 2;
  }
  int64_t written = 0;
  try {
    written = exporter(in, trace_path, file.stream());
  } catch (const ReplayInputError& e) {
    err << "raftkv " << command << ": malformed trace: " << e.what() << '\n';
    return 2;  // the partial export is discarded with the temporary file
  }
  if (!file.commit()) {
    err << "raftkv " << command << ": " << file.error() << '\n';
    return 2;
  }
  out << "wrote " << written << ' ' << unit << " to " << out_path << '\n';
  return 0;
}

}  // namespace

int export_tla_command(const std::string& trace_path, const std::string& out_path,
                       std::ostream& out, std::ostream& err) {
  return export_command("export-tla", "steps", export_tla, trace_path, out_path, out, err);
}

int export_shiviz_command(const std::string& trace_path, const std::string& out_path,
                          std::ostream& out, std::ostream& err) {
  return export_command("export-shiviz", "events", export_shiviz, trace_path, out_path, out, err);
}

}  // namespace raftkv
