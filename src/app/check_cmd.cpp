#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>

#include "app/commands.h"
#include "app/progress.h"
#include "check/checker.h"

namespace raftkv {

int check_command(const CheckCommandOptions& opts, std::ostream& out, std::ostream& err) {
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
      status = 2;
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
      if (!report.ok()) status = std::max(status, 1);
    } catch (const check::TraceFormatError& e) {
      err << "raftkv check: malformed trace: " << e.what() << '\n';
      status = 2;
    }
  }
  return status;
}

}  // namespace raftkv
