// Writes a trace event as one line of JSON, byte for byte what
// nlohmann::json::dump() writes, without its per-character output adapter.
// Tracing is the emulator's main cost (README, "Benchmark"), and most events
// are small objects of ASCII strings and integers, which take the fast path
// here; anything else (floats, strings that need escaping) is handed to dump().
#pragma once

#include <string>

#include "trace/codec.h"

namespace raftkv {

// Appends the compact JSON text of `value` to `out`.
void append_json(const json& value, std::string& out);

}  // namespace raftkv
