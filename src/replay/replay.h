// Replay: re-drive the real node code with the inputs a trace recorded and
// compare everything the nodes do with what the trace says they did.
//
// Two inputs are accepted:
//  - a trace (`raftkv-trace`, spec/trace-schema.md): every input event
//    (start, deliver, timeout, crash, restart) is fed to a fresh Node in
//    recorded order, without consulting any RNG, and the node's effect events
//    and sends must equal the recorded ones field for field;
//  - a scenario (`raftkv-scenario`, spec/scenario-format.md): a hand-written
//    list of inputs only. Replay runs them and writes the full trace, so a
//    TLC counterexample or a bug report can be reproduced on the real code.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>

#include "trace/reader.h"

#include "trace/narrate.h"

namespace raftkv {

// Malformed input: what() is "NAME:LINE: message" (the one error type of
// every reader of traces).
using ReplayInputError = TraceInputError;

struct ReplayResult {
  bool identical = true;
  int64_t events = 0;     // events read (trace) or written (scenario)
  int64_t steps = 0;      // input events fed to nodes
  bool scenario = false;  // the input was a scenario (nothing to compare with)
  int64_t divergence_line = 0;
  std::string divergence;  // first difference, empty if identical
};

struct ReplayOptions {
  std::ostream* narrate = nullptr;    // print the narrative of the trace here
  NarrateOptions narrative;           // how much of it, about whom
  std::ostream* trace_out = nullptr;  // scenarios: write the full trace here
};

// Reads a trace or a scenario. Throws ReplayInputError on malformed input.
ReplayResult replay(std::istream& in, const std::string& name, const ReplayOptions& opts);

}  // namespace raftkv
