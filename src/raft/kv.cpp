#include "raft/kv.h"

#include <cstdio>

namespace raftkv {

Result KvStore::apply(const Command& cmd, bool dedup) {
  if (cmd.op == Op::Noop || cmd.client == 0) return execute(cmd);
  if (!dedup) return execute(cmd);
  auto it = sessions_.find(cmd.client);
  if (it != sessions_.end() && cmd.seq == it->second.seq) {
    return it->second.result;  // a retry of a command that already took effect
  }
  Result result = execute(cmd);
  if (it == sessions_.end() || cmd.seq > it->second.seq) {
    sessions_[cmd.client] = LastApplied{cmd.seq, result};
  }
  return result;
}

Result KvStore::execute(const Command& cmd) {
  switch (cmd.op) {
    case Op::Put: {
      auto [it, inserted] = data_.try_emplace(cmd.key, cmd.value);
      (void)it;
      return inserted ? Result{Status::Ok, ""} : Result{Status::KeyExists, ""};
    }
    case Op::Get: {
      auto it = data_.find(cmd.key);
      if (it == data_.end()) return Result{Status::NotFound, ""};
      return Result{Status::Ok, it->second};
    }
    case Op::Delete:
      return data_.erase(cmd.key) == 1 ? Result{Status::Ok, ""} : Result{Status::NotFound, ""};
    case Op::Noop: return Result{Status::Ok, ""};
  }
  return Result{Status::Ok, ""};
}

std::string KvStore::digest() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64 offset basis
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;  // FNV-1a 64 prime
    }
  };
  for (const auto& [k, v] : data_) {
    mix(k);
    mix("=");
    mix(v);
    mix("\n");
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace raftkv
