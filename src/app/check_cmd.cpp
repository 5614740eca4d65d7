#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/progress.h"
#include "check/checker.h"

namespace raftkv {
namespace {

// Which of two exit statuses a run of several traces ends with: bad input first, then a
// violation, then a missed liveness bound (a bound judged on a trace that is not even correct
// says little).
int worse(int a, int b) {
  auto rank = [](int s) { return s == 2 ? 3 : s == 1 ? 2 : s == kExitLivenessBound ? 1 : 0; };
  return rank(b) > rank(a) ? b : a;
}

// The bounds of --liveness, from the flags' text; nullopt after saying what is wrong.
std::optional<check::LivenessBounds> parse_bounds(const CheckCommandOptions& opts,
                                                  std::ostream& err) {
  check::LivenessBounds b;
  if (!opts.liveness) {
    if (opts.max_unavailable_ms || opts.min_availability) {
      err << "raftkv check: --max-unavailable-ms and --min-availability are bounds of "
             "--liveness: give --liveness as well\n";
      return std::nullopt;
    }
    return b;
  }
  if (!opts.max_unavailable_ms && !opts.min_availability) {
    err << "raftkv check: --liveness needs a bound to judge: --max-unavailable-ms N and/or "
           "--min-availability F\n";
    return std::nullopt;
  }
  if (opts.max_unavailable_ms) {
    const std::string& text = *opts.max_unavailable_ms;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    bool digits = !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]));
    if (!digits || *end != '\0' || errno == ERANGE || v < 0 || v >= (1LL << 31)) {
      err << "raftkv check: --max-unavailable-ms takes a whole number of milliseconds from 0 "
             "to 2^31 - 1, not '"
          << text << "'\n";
      return std::nullopt;
    }
    b.max_unavailable_ms = v;
  }
  if (opts.min_availability) {
    const std::string& text = *opts.min_availability;
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    bool number =
        !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.');
    if (!number || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
      err << "raftkv check: --min-availability takes a fraction from 0 to 1 (0.99 is 99%), "
             "not '"
          << text << "'\n";
      return std::nullopt;
    }
    b.min_availability = v;
  }
  return b;
}

}  // namespace

int check_command(const CheckCommandOptions& opts, std::ostream& out, std::ostream& err) {
  std::optional<check::LivenessBounds> bounds = parse_bounds(opts, err);
  if (!bounds) return 2;
  check::CheckOptions co;
  co.linearizability = !opts.skip_linearizability;
  co.liveness = !opts.skip_liveness;
  co.liveness_bound_ms = opts.liveness_bound_ms;
  int status = 0;
  for (const std::string& path : opts.traces) {
    // Say why a file cannot be read (the checker's reader only knows that it
    // could not open it).
    if (std::FILE* file = std::fopen(path.c_str(), "rb")) {
      std::fclose(file);
    } else {
      err << "raftkv check: cannot open '" << path << "': " << std::strerror(errno) << '\n';
      status = worse(status, 2);
      continue;
    }
    try {
      Progress progress(err, "check " + path, "MB");
      check::Report report;
      if (progress.enabled()) {
        std::ifstream file(path, std::ios::binary);
        std::unique_ptr<std::istream> in = progress_input(file, file_size(path), progress);
        report = check::check_trace(*in, path, co, [path]() -> std::unique_ptr<std::istream> {
          return std::make_unique<std::ifstream>(path, std::ios::binary);
        });
        progress.finish();
      } else {
        report = check::check_trace_file(path, co);
      }
      out << check::format_report(report) << '\n';
      if (!report.ok()) status = worse(status, 1);
      // The figures are a report: printed for every trace read to its end.
      if (report.liveness_figures) {
        out << check::format_liveness(*report.liveness_figures) << '\n';
        if (opts.liveness) {
          std::vector<std::string> missed = check::missed_bounds(*report.liveness_figures, *bounds);
          for (const std::string& m : missed)
            out << "LIVENESS BOUND MISSED " << path << ": " << m << '\n';
          if (!missed.empty()) status = worse(status, kExitLivenessBound);
        }
      }
    } catch (const check::TraceFormatError& e) {
      err << "raftkv check: malformed trace: " << e.what() << '\n';
      status = 2;
    }
  }
  return status;
}

}  // namespace raftkv
