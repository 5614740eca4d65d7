// The fixed byte layout in which `Node::encode_state` and `raftkv explore`
// (src/app/explore.cpp) write states for a visited set: integers as 8 raw
// bytes, strings and lists length-prefixed, so two different states never
// give the same bytes. In-process only: nothing written this way is stored
// or read back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "raft/types.h"

namespace raftkv::state_encoding {

inline void put_int(std::string& out, int64_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

inline void put_str(std::string& out, const std::string& s) {
  put_int(out, static_cast<int64_t>(s.size()));
  out += s;
}

template <typename T>
void put_ints(std::string& out, const std::vector<T>& v) {
  put_int(out, static_cast<int64_t>(v.size()));
  for (T x : v) put_int(out, static_cast<int64_t>(x));
}

inline void put_command(std::string& out, const Command& c) {
  put_int(out, static_cast<int64_t>(c.op));
  put_str(out, c.key);
  put_str(out, c.value);
  put_int(out, c.client);
  put_int(out, c.seq);
  put_ints(out, c.conf.get().voters);
  put_ints(out, c.conf.get().learners);
}

inline void put_entry(std::string& out, const Entry& e) {
  put_int(out, e.term);
  put_command(out, e.cmd);
}

}  // namespace raftkv::state_encoding
