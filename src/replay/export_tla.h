// `raftkv export-tla`: a trace regrouped into steps for TLA+ trace
// validation (spec/TraceRaftKV.tla). One JSON object per line, one line per
// step (an input event and the effects it caused):
//   {"step","seq","t","action","node","pre","post","msg","sent","applied","log"}
// action is Start, Timeout, Heartbeat, Receive, ClientRequest, Crash or
// Restart; pre/post are the node's trace `state` before and after the step;
// msg is the delivered message ({} for other actions); sent the messages the
// step sent; applied the entries it applied; log the node's whole log after
// the step. spec/README.md describes how TraceRaftKV reads it.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace raftkv {

// Returns the number of steps written. Throws ReplayInputError (replay.h)
// on malformed input.
int64_t export_tla(std::istream& in, const std::string& name, std::ostream& out);

}  // namespace raftkv
