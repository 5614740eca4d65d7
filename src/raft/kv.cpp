#include "raft/kv.h"

#include <cstdio>

namespace raftkv {

KvStore::LastApplied* KvStore::find_session(int client) {
  if (client > 0 && client < kDenseClients) {
    auto i = static_cast<size_t>(client);
    return i < dense_sessions_.size() && dense_sessions_[i].known ? &dense_sessions_[i] : nullptr;
  }
  auto it = sparse_sessions_.find(client);
  return it == sparse_sessions_.end() ? nullptr : &it->second;
}

KvStore::LastApplied& KvStore::add_session(int client) {
  if (client > 0 && client < kDenseClients) {
    auto i = static_cast<size_t>(client);
    if (i >= dense_sessions_.size()) dense_sessions_.resize(i + 1);
    return dense_sessions_[i];
  }
  return sparse_sessions_[client];
}

Result KvStore::apply(const Command& cmd, DedupMode mode) {
  if (cmd.op == Op::Noop || cmd.client == 0 || mode == DedupMode::Off) return execute(cmd);
  LastApplied* session = find_session(cmd.client);
  if (session != nullptr) {
    LastApplied& last = *session;
    // The retry of the command that took effect: answer it again.
    if (cmd.seq == last.seq) return last.result;
    // An older request: it either took effect already or its client gave up
    // on it and moved on; either way it must not execute now.
    if (cmd.seq < last.seq && mode == DedupMode::Full) return Result{Status::Stale, ""};
  }
  Result result = execute(cmd);  // touches only data_: `session` stays valid
  if (session == nullptr) {
    add_session(cmd.client) = LastApplied{cmd.seq, result, true};
  } else if (cmd.seq > session->seq) {
    *session = LastApplied{cmd.seq, result, true};
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

uint64_t fnv1a64(const std::string& bytes, uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;  // FNV-1a 64 prime
  }
  return hash;
}

std::string KvStore::digest() const {
  uint64_t h = kFnv1a64Offset;
  for (const auto& [k, v] : data_) {
    h = fnv1a64(k, h);
    h = fnv1a64("=", h);
    h = fnv1a64(v, h);
    h = fnv1a64("\n", h);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace raftkv
