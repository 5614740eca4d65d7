#include "raft/kv.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>

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

std::map<int, std::pair<int64_t, Result>> KvStore::sessions() const {
  std::map<int, std::pair<int64_t, Result>> out;
  for (size_t c = 0; c < dense_sessions_.size(); ++c) {
    const LastApplied& s = dense_sessions_[c];
    if (s.known) out[static_cast<int>(c)] = {s.seq, s.result};
  }
  for (const auto& [client, s] : sparse_sessions_) out[client] = {s.seq, s.result};
  return out;
}

Result KvStore::apply(const Command& cmd, DedupMode mode) {
  if (cmd.op == Op::Noop || cmd.op == Op::Config) {
    ++counts_.noops;
    return execute(cmd);
  }
  ++counts_.executed;  // undone below for a command that does not execute
  if (cmd.client == 0 || mode == DedupMode::Off) return execute(cmd);
  LastApplied* session = find_session(cmd.client);
  if (session != nullptr) {
    LastApplied& last = *session;
    // The retry of the command that took effect: answer it again.
    if (cmd.seq == last.seq) {
      --counts_.executed;
      ++counts_.repeats;
      return last.result;
    }
    // An older request: it either took effect already or its client gave up
    // on it and moved on; either way it must not execute now.
    if (cmd.seq < last.seq && mode == DedupMode::Full) {
      --counts_.executed;
      ++counts_.repeats;
      return Result{Status::Stale, ""};
    }
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
    case Op::Noop:
    case Op::Config: return Result{Status::Ok, ""};
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

namespace {

const Status kStatuses[] = {Status::Ok,        Status::KeyExists, Status::NotFound,
                            Status::NotLeader, Status::Unknown,   Status::Stale};

// Reads the snapshot encoding back: each call consumes one token and the
// separator after it, failing (false) on anything the encoder never writes.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  // A decimal number, then `sep`.
  bool number(int64_t* out, char sep) {
    size_t start = pos_;
    bool negative = pos_ < in_.size() && in_[pos_] == '-';
    if (negative) ++pos_;
    int64_t v = 0;
    size_t digits = 0;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9' && digits < 18) {
      v = v * 10 + (in_[pos_++] - '0');
      ++digits;
    }
    if (digits == 0 || pos_ == start) return false;
    // One spelling per number (no leading zeros, no "-0"): one encoding per state.
    size_t first = negative ? start + 1 : start;
    if (in_[first] == '0' && (digits > 1 || negative)) return false;
    *out = negative ? -v : v;
    return expect(sep);
  }
  // `len` raw bytes, then `sep`.
  bool bytes(int64_t len, std::string* out, char sep) {
    if (len < 0 || static_cast<size_t>(len) > in_.size() - pos_) return false;
    out->assign(in_.substr(pos_, static_cast<size_t>(len)));
    pos_ += static_cast<size_t>(len);
    return expect(sep);
  }
  bool word(std::string_view w) {
    if (in_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  bool token(std::string* out, char sep) {
    size_t end = in_.find(sep, pos_);
    if (end == std::string_view::npos) return false;
    out->assign(in_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }

 private:
  bool expect(char c) {
    if (pos_ >= in_.size() || in_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

void append_sized(std::string& out, const std::string& bytes) {
  out += std::to_string(bytes.size());
  out += ' ';
  out += bytes;
}

}  // namespace

std::string KvStore::encode() const {
  std::string out = "store " + std::to_string(data_.size()) + "\n";
  for (const auto& [k, v] : data_) {
    append_sized(out, k);
    out += ' ';
    append_sized(out, v);
    out += '\n';
  }
  std::vector<std::pair<int, const LastApplied*>> sessions;
  for (size_t i = 0; i < dense_sessions_.size(); ++i) {
    if (dense_sessions_[i].known) sessions.emplace_back(static_cast<int>(i), &dense_sessions_[i]);
  }
  for (const auto& [client, last] : sparse_sessions_) sessions.emplace_back(client, &last);
  std::sort(sessions.begin(), sessions.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out += "sessions " + std::to_string(sessions.size()) + "\n";
  for (const auto& [client, last] : sessions) {
    out += std::to_string(client) + " " + std::to_string(last->seq) + " " +
           to_string(last->result.status) + " ";
    append_sized(out, last->result.value);
    out += '\n';
  }
  out += "counts " + std::to_string(counts_.noops) + " " + std::to_string(counts_.executed) + " " +
         std::to_string(counts_.repeats) + "\n";
  // config <index> <#voters> <#learners> <voters...> <learners...>
  out += "config " + std::to_string(config_index_) + " " + std::to_string(config_.voters.size()) +
         " " + std::to_string(config_.learners.size());
  for (int v : config_.voters) out += " " + std::to_string(v);
  for (int l : config_.learners) out += " " + std::to_string(l);
  out += "\n";
  return out;
}

bool KvStore::decode(const std::string& bytes, KvStore* out) {
  KvStore store;
  Decoder d(bytes);
  int64_t n = 0;
  if (!d.word("store ") || !d.number(&n, '\n')) return false;
  for (int64_t i = 0; i < n; ++i) {
    int64_t klen = 0, vlen = 0;
    std::string key, value;
    if (!d.number(&klen, ' ') || !d.bytes(klen, &key, ' ') || !d.number(&vlen, ' ') ||
        !d.bytes(vlen, &value, '\n')) {
      return false;
    }
    if (!store.data_.emplace(std::move(key), std::move(value)).second) return false;
  }
  if (!d.word("sessions ") || !d.number(&n, '\n')) return false;
  for (int64_t i = 0; i < n; ++i) {
    int64_t client = 0, seq = 0, vlen = 0;
    std::string status_name, value;
    if (!d.number(&client, ' ') || !d.number(&seq, ' ') || !d.token(&status_name, ' ') ||
        !d.number(&vlen, ' ') || !d.bytes(vlen, &value, '\n')) {
      return false;
    }
    if (client < -(int64_t{1} << 31) || client >= (int64_t{1} << 31)) return false;
    const Status* status = std::find_if(std::begin(kStatuses), std::end(kStatuses),
                                        [&](Status s) { return status_name == to_string(s); });
    if (status == std::end(kStatuses)) return false;
    LastApplied& last = store.add_session(static_cast<int>(client));
    if (last.known) return false;  // each client once
    last = LastApplied{seq, Result{*status, std::move(value)}, true};
  }
  Counts c;
  if (!d.word("counts ") || !d.number(&c.noops, ' ') || !d.number(&c.executed, ' ') ||
      !d.number(&c.repeats, '\n')) {
    return false;
  }
  int64_t conf_index = 0, nv = 0, nl = 0;
  if (!d.word("config ") || !d.number(&conf_index, ' ') || !d.number(&nv, ' ') ||
      !d.number(&nl, nv + nl == 0 ? '\n' : ' ') || nv < 0 || nl < 0 || nv + nl > 4096) {
    return false;
  }
  // Index 0 (no configuration entry applied) has no members; a real one has
  // a voter. Ids ascending within each list, the lists disjoint.
  if ((conf_index == 0) != (nv + nl == 0) || (conf_index > 0 && nv == 0)) return false;
  Membership conf;
  for (int64_t i = 0; i < nv + nl; ++i) {
    int64_t id = 0;
    if (!d.number(&id, i + 1 == nv + nl ? '\n' : ' ') || id < 1 || id >= (int64_t{1} << 31)) {
      return false;
    }
    std::vector<int>& list = i < nv ? conf.voters : conf.learners;
    if (!list.empty() && list.back() >= id) return false;
    if (i >= nv && conf.is_voter(static_cast<int>(id))) return false;
    list.push_back(static_cast<int>(id));
  }
  if (!d.done()) return false;
  store.counts_ = c;
  store.config_index_ = conf_index;
  store.config_ = std::move(conf);
  *out = std::move(store);
  return true;
}

}  // namespace raftkv
