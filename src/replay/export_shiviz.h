// `raftkv export-shiviz`: a trace as a log the ShiViz visualizer reads
// (https://bestchai.bitbucket.io/shiviz/): one line per event of a node or a
// client, each with its host, its vector clock and what happened, and on the
// first line the regular expression that parses them.
//
// Hosts are "node1".."nodeN" and "client1".."clientC" (client 0, the
// scenarios' client without a session, is "client0"). Each event of a host
// ticks its own clock entry; a message carries its sender's clock as of the
// send, and its delivery merges that clock into the receiver's (the maximum
// of each entry) before the tick, so a send happens before its delivery and
// the clocks order events exactly as the trace's causality does. Messages
// made by hand (a scenario's inject) carry no clock: nothing happened before
// them. Network events (drop, duplicate, partitions) are no host's events.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace raftkv {

// The regular expression ShiViz parses each line with (named groups host,
// clock, event); the log's first line.
extern const char* const kShivizRegex;

// Returns the number of events written. Throws ReplayInputError (replay.h)
// on malformed input.
int64_t export_shiviz(std::istream& in, const std::string& name, std::ostream& out);

}  // namespace raftkv
