// Wing–Gong search with Lowe's memoisation, per key. See linearizability.h for the algorithm.
#include "check/linearizability.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace raftkv::check {
namespace {

constexpr size_t kMaxInconclusiveNames = 5;

const char* kind_name(KvOpKind kind) {
  switch (kind) {
    case KvOpKind::Put: return "put";
    case KvOpKind::Get: return "get";
    case KvOpKind::Delete: return "delete";
  }
  return "?";
}

const char* outcome_name(KvOutcome outcome) {
  switch (outcome) {
    case KvOutcome::Ok: return "ok";
    case KvOutcome::KeyExists: return "key_exists";
    case KvOutcome::NotFound: return "not_found";
    case KvOutcome::Unknown: return "unknown";
  }
  return "?";
}

bool is_known(const KvOperation& op) { return op.outcome != KvOutcome::Unknown && op.complete > 0; }

// Model state of one key: absent, a value no known get ever returns (all such values behave
// alike: the model looks at a value only to compare it with a get's result), or an interned
// value that some get observed.
using ValueId = int32_t;
constexpr ValueId kAbsent = 0;
constexpr ValueId kUnobserved = 1;

// One operation of the key being searched, with values interned.
struct SearchOp {
  size_t history_index = 0;
  KvOpKind kind = KvOpKind::Get;
  ValueId value = kAbsent;  // put's value
  bool known = false;
  KvOutcome outcome = KvOutcome::Unknown;
  ValueId read_value = kAbsent;  // get ok's value
  uint64_t zobrist_lo = 0;
  uint64_t zobrist_hi = 0;
  // Unknown ops only: the previous unknown op (by invocation) with identical transitions (every
  // delete; a put of the same value), and whether this one is linearized on the current path.
  int prev_same = -1;
  bool consumed = false;
};

// The sequential specification of one key. Returns the new state, or nullopt when the observed
// outcome is not what the model produces (always accepted for an unknown outcome).
std::optional<ValueId> model_step(const SearchOp& op, ValueId state) {
  KvOutcome produced = KvOutcome::Ok;
  ValueId next = state;
  ValueId read = kAbsent;
  switch (op.kind) {
    case KvOpKind::Put:
      if (state == kAbsent)
        next = op.value;
      else
        produced = KvOutcome::KeyExists;
      break;
    case KvOpKind::Get:
      if (state == kAbsent)
        produced = KvOutcome::NotFound;
      else
        read = state;
      break;
    case KvOpKind::Delete:
      if (state != kAbsent)
        next = kAbsent;
      else
        produced = KvOutcome::NotFound;
      break;
  }
  if (!op.known) return next;
  if (produced != op.outcome) return std::nullopt;
  if (op.kind == KvOpKind::Get && produced == KvOutcome::Ok && read != op.read_value) {
    return std::nullopt;
  }
  return next;
}

// Unknown ops placed since the last known op (see KeySearch::try_unknown_from).
enum class Run : uint8_t { None, Put, Delete };

struct CacheKey {
  uint64_t lo = 0;
  uint64_t hi = 0;
  ValueId state = kAbsent;
  Run run = Run::None;
  bool operator==(const CacheKey&) const = default;
};

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    uint64_t extra = static_cast<uint64_t>(k.state) * 4 + static_cast<uint64_t>(k.run);
    return static_cast<size_t>(k.lo ^ splitmix64(k.hi + extra));
  }
};

enum class KeyVerdict { Linearizable, NotLinearizable, Inconclusive };

struct KeyOutcome {
  KeyVerdict verdict = KeyVerdict::Linearizable;
  int64_t steps = 0;
  // NotLinearizable: the deepest point the search reached.
  size_t stuck_op = 0;
  std::optional<size_t> last_writer;
  int64_t prefix_length = 0;
  ValueId prefix_state = kAbsent;
};

// Wing–Gong search over one key's operations (steps 2–6 of the header comment).
//
// The entries live in one node array holding two doubly linked lists: the known list (call and
// return entries of the operations with a known outcome, by position; sentinel kKnownHead) and
// the unknown list (call entries of the unknown-outcome operations, by invocation; sentinel
// kUnknownHead). At each search node the known calls are tried first; only where no known call
// fits (the scan reaches a return entry: a "dead end") are the unknown operations invoked before
// that return tried. Every child of every node is still tried, so the search stays complete;
// the order just keeps pending unknown operations out of the common path.
class KeySearch {
 public:
  // The search starts from `start`; `start_writer` is the history index of the operation that
  // wrote it, outside `ops` (a segment's predecessor, LinearizabilityMonitor), if any.
  KeySearch(std::vector<SearchOp> ops, const std::vector<KvOperation>& history, int64_t budget,
            ValueId start = kAbsent, std::optional<size_t> start_writer = std::nullopt)
      : ops_(std::move(ops)), budget_(budget), start_writer_(start_writer), state_(start) {
    build_lists(history);
  }

  KeyOutcome run();

 private:
  static constexpr int kKnownHead = 0;
  static constexpr int kUnknownHead = 1;

  struct ListNode {
    int op = -1;  // index into ops_
    bool is_call = false;
    int64_t position = 0;
    int match = -1;  // a known op's call <-> return; -1 for unknown ops
    int prev = -1;
    int next = -1;
  };
  struct Frame {
    int call = 0;             // the linearized op's call node
    ValueId state = kAbsent;  // state before it
    int writer = -1;          // op that set that state
    int dead_end = -1;        // unknown op: the return node it was tried at; -1 for known
    bool forced = false;      // a read-only op placed without alternatives (see run)
    Run run = Run::None;      // the unknown-op run before it
  };

  void build_lists(const std::vector<KvOperation>& history);
  void link_in_order(int head, std::vector<int> nodes);
  void unlink(int n);
  void relink(int n);
  void lift(int call);
  void unlift(int call);
  bool try_linearize(int call, int dead_end, bool forced = false);
  int forced_read() const;
  bool try_unknown_from(int node, int dead_end);
  bool enables_known_op(const SearchOp& unknown, int dead_end) const;
  bool accepted_by_callable(ValueId state, int dead_end) const;
  bool backtrack(int& cursor, bool& fresh);
  void note_dead_end(int return_node);

  std::vector<SearchOp> ops_;
  std::vector<ListNode> nodes_;
  int64_t budget_ = 0;
  bool exhausted_ = false;
  std::optional<size_t> start_writer_;
  KeyOutcome outcome_;
  int64_t best_depth_ = -1;
  std::vector<Frame> stack_;
  std::unordered_set<CacheKey, CacheKeyHash> cache_;
  ValueId state_ = kAbsent;
  int writer_ = -1;
  Run run_ = Run::None;
  uint64_t lo_ = 0;  // Zobrist hash of the linearized set, two halves
  uint64_t hi_ = 0;
};

void KeySearch::build_lists(const std::vector<KvOperation>& history) {
  nodes_.assign(2, ListNode{});
  std::vector<int> known;
  std::vector<int> unknown;
  auto add = [this](int op, bool is_call, int64_t position) {
    nodes_.push_back(ListNode{op, is_call, position, -1, -1, -1});
    return static_cast<int>(nodes_.size()) - 1;
  };
  for (size_t i = 0; i < ops_.size(); ++i) {
    const KvOperation& h = history[ops_[i].history_index];
    int op = static_cast<int>(i);
    int call = add(op, true, h.invoke);
    if (!ops_[i].known) {
      unknown.push_back(call);
      continue;
    }
    int ret = add(op, false, h.complete);
    nodes_[call].match = ret;
    nodes_[ret].match = call;
    known.push_back(call);
    known.push_back(ret);
  }
  link_in_order(kKnownHead, std::move(known));
  link_in_order(kUnknownHead, std::move(unknown));
  // Chain each unknown op to the previous one of its class (deletes; puts of one value).
  std::unordered_map<ValueId, int> last_of_class;  // put value, or kAbsent for deletes
  for (int n = nodes_[kUnknownHead].next; n != -1; n = nodes_[n].next) {
    SearchOp& op = ops_[nodes_[n].op];
    ValueId cls = op.kind == KvOpKind::Put ? op.value : kAbsent;
    auto [it, inserted] = last_of_class.try_emplace(cls, nodes_[n].op);
    if (!inserted) {
      op.prev_same = it->second;
      it->second = nodes_[n].op;
    }
  }
}

void KeySearch::link_in_order(int head, std::vector<int> list) {
  std::sort(list.begin(), list.end(), [this](int a, int b) {
    return nodes_[a].position != nodes_[b].position ? nodes_[a].position < nodes_[b].position
                                                    : a < b;
  });
  int prev = head;
  for (int n : list) {
    nodes_[prev].next = n;
    nodes_[n].prev = prev;
    prev = n;
  }
  nodes_[prev].next = -1;
}

void KeySearch::unlink(int n) {
  ListNode& node = nodes_[n];
  nodes_[node.prev].next = node.next;
  if (node.next != -1) nodes_[node.next].prev = node.prev;
}

void KeySearch::relink(int n) {
  ListNode& node = nodes_[n];
  nodes_[node.prev].next = n;
  if (node.next != -1) nodes_[node.next].prev = n;
}

// Removes a call (and a known op's return) from its list. The removed nodes keep their own
// prev/next ("dancing links"), so unlift, in reverse order, puts them back exactly.
void KeySearch::lift(int call) {
  unlink(call);
  if (nodes_[call].match != -1) unlink(nodes_[call].match);
}

void KeySearch::unlift(int call) {
  if (nodes_[call].match != -1) relink(nodes_[call].match);
  relink(call);
}

// Tries to linearize the op of `call` next: the model must accept it, an unknown op must change
// the state (otherwise placing it later, or never, is as good), and the resulting (linearized
// set, state) pair must be new (Lowe's memoisation). On success the op is lifted and a frame
// pushed.
bool KeySearch::try_linearize(int call, int dead_end, bool forced) {
  if (++outcome_.steps > budget_) {
    exhausted_ = true;
    return false;
  }
  const SearchOp& op = ops_[nodes_[call].op];
  std::optional<ValueId> next = model_step(op, state_);
  if (!next || (!op.known && *next == state_)) return false;
  Run run = op.known ? Run::None : op.kind == KvOpKind::Put ? Run::Put : Run::Delete;
  CacheKey key{lo_ ^ op.zobrist_lo, hi_ ^ op.zobrist_hi, *next, run};
  if (!cache_.insert(key).second) return false;
  stack_.push_back(Frame{call, state_, writer_, dead_end, forced, run_});
  run_ = run;
  if (*next != state_) writer_ = nodes_[call].op;
  ops_[nodes_[call].op].consumed = true;
  state_ = *next;
  lo_ = key.lo;
  hi_ = key.hi;
  lift(call);
  return true;
}

// Whether some known op that could be linearized now (its call is before the dead end) accepts
// `state`.
bool KeySearch::accepted_by_callable(ValueId state, int dead_end) const {
  for (int n = nodes_[kKnownHead].next; n != dead_end; n = nodes_[n].next) {
    if (nodes_[n].is_call && model_step(ops_[nodes_[n].op], state)) return true;
  }
  return false;
}

// Pruning for unknown ops (exact). If a linearization exists from this search node, one exists
// in which each run of unknown ops between two known ops is [], [put], [delete] or [delete,
// put]: a run only matters through the state it leaves, a put of the final value (after a
// delete if the key was present) reaches it, and the unknown ops dropped from the run can take
// effect later or never (they have no return to meet). So after an unknown put no unknown op
// is tried until a known op is placed, after an unknown delete only a put is, and an unknown
// op is worth placing only if the state it gives is accepted by a callable known op, or it is
// a delete after which some callable unknown put gives such a state.
bool KeySearch::enables_known_op(const SearchOp& unknown, int dead_end) const {
  if (run_ == Run::Put || (run_ == Run::Delete && unknown.kind != KvOpKind::Put)) return false;
  std::optional<ValueId> next = model_step(unknown, state_);
  if (!next || *next == state_) return false;
  if (accepted_by_callable(*next, dead_end)) return true;
  if (unknown.kind != KvOpKind::Delete) return false;
  for (int n = nodes_[kUnknownHead].next; n != -1 && nodes_[n].position < nodes_[dead_end].position;
       n = nodes_[n].next) {
    const SearchOp& put = ops_[nodes_[n].op];
    if (put.kind == KvOpKind::Put && accepted_by_callable(put.value, dead_end)) return true;
  }
  return false;
}

// Tries the unknown ops from `node` on that were invoked before the dead end's return. Ops of
// one class have the same transitions from every state, so only the earliest one not yet
// linearized is tried (the linearized ones of a class are then always a prefix of it, which
// also makes equivalent paths meet in the cache).
bool KeySearch::try_unknown_from(int node, int dead_end) {
  for (; node != -1 && nodes_[node].position < nodes_[dead_end].position;
       node = nodes_[node].next) {
    const SearchOp& op = ops_[nodes_[node].op];
    if (op.prev_same != -1 && !ops_[op.prev_same].consumed) continue;
    if (!enables_known_op(op, dead_end)) continue;
    if (try_linearize(node, dead_end)) return true;
    if (exhausted_) return false;
  }
  return false;
}

// Undoes choices until one leaves another child to try. Returns false when the stack runs out
// (no linearization) or the budget does; otherwise `cursor` is where the known scan resumes and
// `fresh` says whether that is a new search node.
bool KeySearch::backtrack(int& cursor, bool& fresh) {
  while (!stack_.empty()) {
    Frame frame = stack_.back();
    stack_.pop_back();
    SearchOp& undone = ops_[nodes_[frame.call].op];
    undone.consumed = false;
    lo_ ^= undone.zobrist_lo;
    hi_ ^= undone.zobrist_hi;
    state_ = frame.state;
    writer_ = frame.writer;
    run_ = frame.run;
    unlift(frame.call);
    if (frame.forced) continue;  // the node below failed, so this one fails too
    if (frame.dead_end == -1) {
      cursor = nodes_[frame.call].next;  // the next known call at that node
      fresh = false;
      return true;
    }
    if (try_unknown_from(nodes_[frame.call].next, frame.dead_end)) {
      fresh = true;
      return true;
    }
    if (exhausted_) return false;
  }
  return false;
}

void KeySearch::note_dead_end(int return_node) {
  auto depth = static_cast<int64_t>(stack_.size());
  if (depth <= best_depth_) return;
  best_depth_ = depth;
  outcome_.stuck_op = ops_[nodes_[return_node].op].history_index;
  outcome_.prefix_length = depth;
  outcome_.prefix_state = state_;
  outcome_.last_writer = start_writer_;
  if (writer_ >= 0) outcome_.last_writer = ops_[writer_].history_index;
}

// A callable known op that reads without writing (get, put -> key_exists, delete -> not_found)
// and accepts the current state, or -1.
int KeySearch::forced_read() const {
  for (int n = nodes_[kKnownHead].next; n != -1 && nodes_[n].is_call; n = nodes_[n].next) {
    const SearchOp& op = ops_[nodes_[n].op];
    bool read_only = op.kind == KvOpKind::Get ||
                     (op.kind == KvOpKind::Put && op.outcome == KvOutcome::KeyExists) ||
                     (op.kind == KvOpKind::Delete && op.outcome == KvOutcome::NotFound);
    if (read_only && model_step(op, state_)) return n;
  }
  return -1;
}

// The search loop (step 3). At each new search node, a callable read-only op that accepts the
// current state is placed at once, with no alternatives: moving it to the front of any
// linearization from this node keeps that linearization valid (it changes no state, and every
// op placed before it returns after it was invoked, or it would not be callable), so the node
// has a linearization iff the node after placing it has one. Otherwise the known calls are
// tried in list order, then the useful unknown ops at the dead end, then backtrack.
KeyOutcome KeySearch::run() {
  cache_.reserve(ops_.size() * 2);
  int cursor = nodes_[kKnownHead].next;
  bool fresh = true;
  while (true) {
    if (fresh) {
      fresh = false;
      cursor = nodes_[kKnownHead].next;
      int read = forced_read();
      if (read != -1) {
        if (try_linearize(read, -1, true)) {
          fresh = true;
          continue;
        }
        // Already explored from here (a cache hit): this node fails. Or out of budget.
        if (exhausted_ || !backtrack(cursor, fresh)) break;
        continue;
      }
    }
    // Every known op linearized: the unknown ones left take effect at the end, or never.
    if (cursor == -1) return outcome_;
    const ListNode& node = nodes_[cursor];
    if (node.is_call) {
      if (try_linearize(cursor, -1)) {
        fresh = true;
      } else if (exhausted_) {
        break;
      } else {
        cursor = node.next;
      }
      continue;
    }
    // A return entry: its op has returned but no known op can be linearized here.
    note_dead_end(cursor);
    if (try_unknown_from(nodes_[kUnknownHead].next, cursor)) {
      fresh = true;
      continue;
    }
    if (exhausted_ || !backtrack(cursor, fresh)) break;
  }
  outcome_.verdict = exhausted_ ? KeyVerdict::Inconclusive : KeyVerdict::NotLinearizable;
  return outcome_;
}

void validate(const KvOperation& op, size_t index) {
  auto bad = [index](const std::string& why) {
    throw std::invalid_argument("history operation " + std::to_string(index) + ": " + why);
  };
  if (op.invoke <= 0) bad("invoke must be a positive position");
  if (op.complete != 0 && op.complete <= op.invoke) bad("completion must come after invocation");
  if (op.complete == 0 && op.outcome != KvOutcome::Unknown) {
    bad("an operation that never completed has an unknown outcome");
  }
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

std::string explain(const LinearizabilityResult& r, int64_t key_ops) {
  std::ostringstream out;
  const KvOperation& stuck = r.stuck_operation;
  out << "On key " << quote(r.key) << " no order of the " << key_ops
      << " operations is consistent with both real time and the sequential KV model. ";
  if (r.prefix_length == 0) {
    out << "Not even the first operation can be placed: ";
  } else {
    out << "The longest linearizable prefix found orders " << r.prefix_length
        << " operation(s) and leaves " << r.key
        << (r.prefix_value ? " holding " + quote(*r.prefix_value) : std::string(" absent"));
    if (r.last_writer_operation) {
      out << " (written by " << describe_operation(*r.last_writer_operation) << ")";
    }
    out << "; then ";
  }
  out << describe_operation(stuck)
      << " cannot be placed at any point between its invocation and its completion.";
  return out.str();
}

// Searches the operations `indices` of one key (in history order) from `start` (nullopt:
// absent), written by `start_writer` (a history index, not among `indices`). `placed` gets the
// number of operations the search has to place (all but the unknown gets).
KeyOutcome search_key(const std::vector<KvOperation>& history, const std::vector<size_t>& indices,
                      const std::optional<std::string>& start, std::optional<size_t> start_writer,
                      int64_t budget, int64_t& placed) {
  std::vector<SearchOp> ops;
  std::unordered_map<std::string, ValueId> values;  // the values known gets returned
  for (size_t index : indices) {
    const KvOperation& h = history[index];
    if (is_known(h) && h.kind == KvOpKind::Get && h.outcome == KvOutcome::Ok) {
      values.try_emplace(h.read_value, static_cast<ValueId>(values.size() + 2));
    }
  }
  auto intern = [&values](const std::string& v) {
    auto it = values.find(v);
    return it == values.end() ? kUnobserved : it->second;
  };
  for (size_t index : indices) {
    const KvOperation& h = history[index];
    SearchOp op;
    op.history_index = index;
    op.kind = h.kind;
    op.known = is_known(h);
    if (!op.known && h.kind == KvOpKind::Get) continue;  // observes nothing, changes nothing
    op.outcome = h.outcome;
    if (h.kind == KvOpKind::Put) op.value = intern(h.value);
    if (h.kind == KvOpKind::Get && h.outcome == KvOutcome::Ok) op.read_value = intern(h.read_value);
    op.zobrist_lo = splitmix64(2 * index + 1);
    op.zobrist_hi = splitmix64(~(2 * index));
    ops.push_back(op);
  }
  placed = static_cast<int64_t>(ops.size());
  KeySearch search(std::move(ops), history, budget, start ? intern(*start) : kAbsent, start_writer);
  return search.run();
}

}  // namespace

std::string describe_operation(const KvOperation& op) {
  std::ostringstream out;
  out << "client " << op.client << " " << kind_name(op.kind) << " " << op.key;
  if (op.kind == KvOpKind::Put) out << "=" << quote(op.value);
  out << " -> " << outcome_name(op.outcome);
  if (op.kind == KvOpKind::Get && op.outcome == KvOutcome::Ok) out << " " << quote(op.read_value);
  out << " (request " << op.request_seq << ", invoked at seq " << op.invoke;
  if (op.complete > 0)
    out << ", completed at seq " << op.complete;
  else
    out << ", never completed";
  out << ")";
  return out.str();
}

LinearizabilityResult check_linearizability(const std::vector<KvOperation>& history,
                                            const LinearizabilityOptions& options) {
  LinearizabilityResult result;
  result.operations = static_cast<int64_t>(history.size());

  // Step 1: split per key, keys in order of their first invocation.
  std::vector<std::string> key_order;
  std::unordered_map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < history.size(); ++i) {
    validate(history[i], i);
    auto [it, inserted] = by_key.try_emplace(history[i].key);
    if (inserted) key_order.push_back(history[i].key);
    it->second.push_back(i);
  }
  std::sort(key_order.begin(), key_order.end(), [&](const std::string& a, const std::string& b) {
    return history[by_key[a].front()].invoke < history[by_key[b].front()].invoke;
  });

  int64_t remaining = options.max_steps_total;
  for (const std::string& key : key_order) {
    ++result.keys;
    const std::vector<size_t>& indices = by_key[key];
    auto mark_inconclusive = [&] {
      ++result.inconclusive_keys;
      if (result.inconclusive_key_names.size() < kMaxInconclusiveNames) {
        result.inconclusive_key_names.push_back(key);
      }
    };
    if (remaining <= 0) {
      mark_inconclusive();
      continue;
    }
    int64_t placed = 0;
    KeyOutcome outcome = search_key(history, indices, std::nullopt, std::nullopt,
                                    std::min(options.max_steps_per_key, remaining), placed);
    result.steps += outcome.steps;
    remaining -= outcome.steps;
    if (outcome.verdict == KeyVerdict::Inconclusive) {
      mark_inconclusive();
      continue;
    }
    if (outcome.verdict == KeyVerdict::NotLinearizable) {
      result.verdict = LinearizabilityVerdict::NotLinearizable;
      result.key = key;
      result.stuck_op = outcome.stuck_op;
      result.last_writer = outcome.last_writer;
      result.prefix_length = outcome.prefix_length;
      // A present state was set by the last writer, a put: its value is the key's value.
      if (outcome.prefix_state != kAbsent && outcome.last_writer) {
        result.prefix_value = history[*outcome.last_writer].value;
      }
      result.stuck_operation = history[outcome.stuck_op];
      if (outcome.last_writer) result.last_writer_operation = history[*outcome.last_writer];
      result.explanation = explain(result, static_cast<int64_t>(indices.size()));
      return result;
    }
  }
  if (result.inconclusive_keys > 0) result.verdict = LinearizabilityVerdict::Inconclusive;
  return result;
}

// ---------------------------------------------------------------------------------------------
// LinearizabilityMonitor

LinearizabilityMonitor::LinearizabilityMonitor(const LinearizabilityOptions& options)
    : options_(options), remaining_(options.max_steps_total) {}

LinearizabilityMonitor::Handle LinearizabilityMonitor::invoke(const KvOperation& op) {
  auto [it, inserted] = key_index_.try_emplace(op.key, keys_.size());
  if (inserted) {
    keys_.emplace_back();
    keys_.back().name = op.key;
  }
  Key& key = keys_[it->second];
  ++operations_;
  ++key.total_ops;
  Handle handle = next_handle_++;
  if (key.status != Status::Open) return handle;  // judged already: only counted
  open_.emplace(handle, it->second);
  key.segment.push_back(op);
  key.handles.push_back(handle);
  ++key.open;
  return handle;
}

void LinearizabilityMonitor::withdraw(Handle handle) {
  auto it = open_.find(handle);
  if (it == open_.end()) return;  // its key was judged already
  Key& key = keys_[it->second];
  open_.erase(it);
  auto at = std::lower_bound(key.handles.begin(), key.handles.end(), handle);
  key.segment.erase(key.segment.begin() + (at - key.handles.begin()));
  key.handles.erase(at);
  --key.open;
  --key.total_ops;
  --operations_;
}

void LinearizabilityMonitor::complete(Handle handle, int64_t position, KvOutcome outcome,
                                      const std::string& read_value, int reply_node) {
  auto it = open_.find(handle);
  if (it == open_.end()) return;  // its key was judged already
  Key& key = keys_[it->second];
  open_.erase(it);
  auto at = std::lower_bound(key.handles.begin(), key.handles.end(), handle);
  KvOperation& op = key.segment[static_cast<size_t>(at - key.handles.begin())];
  op.complete = position;
  op.outcome = outcome;
  op.read_value = read_value;
  op.reply_node = reply_node;
  --key.open;
  if (outcome == KvOutcome::Unknown && op.kind != KvOpKind::Get) key.unknown_write = true;
  if (key.open == 0 && !key.unknown_write) try_cut(key);
}

// At a quiescent point: searches and drops the segment if the state it leaves is the same in
// every linearization of it (see the header).
void LinearizabilityMonitor::try_cut(Key& key) {
  const KvOperation* last = nullptr;  // the write invoked last
  for (const KvOperation& op : key.segment) {
    bool writes = op.outcome == KvOutcome::Ok && op.kind != KvOpKind::Get;
    if (writes && (last == nullptr || op.invoke > last->invoke)) last = &op;
  }
  if (last != nullptr) {
    for (const KvOperation& op : key.segment) {
      bool writes = op.outcome == KvOutcome::Ok && op.kind != KvOpKind::Get;
      // Another write that may take effect after `last`: the state is not fixed yet.
      if (writes && &op != last && op.complete > last->invoke) return;
    }
  }
  std::optional<std::string> value = key.value;
  std::optional<KvOperation> writer = key.writer;
  if (last != nullptr) {
    value = last->kind == KvOpKind::Put ? std::optional<std::string>(last->value) : std::nullopt;
    writer = *last;
  }
  search_segment(key);
  if (key.status != Status::Open) return;
  key.value = std::move(value);
  key.writer = std::move(writer);
}

// Searches the key's segment from the state the earlier ones left, and drops it.
void LinearizabilityMonitor::search_segment(Key& key) {
  if (remaining_ <= 0) {
    key.status = Status::Inconclusive;
  } else if (!key.segment.empty()) {
    // The history searched: the writer of the starting state (index 0), then the segment.
    std::vector<KvOperation> history;
    history.reserve(key.segment.size() + 1);
    std::optional<size_t> start_writer;
    if (key.writer) {
      history.push_back(*key.writer);
      start_writer = 0;
    }
    std::vector<size_t> indices;
    for (KvOperation& op : key.segment) {
      indices.push_back(history.size());
      history.push_back(std::move(op));
    }
    int64_t budget = std::min(options_.max_steps_per_key - key.steps, remaining_);
    int64_t placed = 0;
    KeyOutcome outcome = search_key(history, indices, key.value, start_writer, budget, placed);
    key.steps += outcome.steps;
    steps_ += outcome.steps;
    remaining_ -= outcome.steps;
    if (outcome.verdict == KeyVerdict::Inconclusive) {
      key.status = Status::Inconclusive;
    } else if (outcome.verdict == KeyVerdict::NotLinearizable) {
      key.status = Status::Failed;
      key.stuck = history[outcome.stuck_op];
      if (outcome.last_writer) key.stuck_writer = history[*outcome.last_writer];
      key.prefix_length = key.placed + outcome.prefix_length;
      // A present state was set by the last writer, a put: its value is the key's value.
      if (outcome.prefix_state != kAbsent && key.stuck_writer) {
        key.prefix_value = key.stuck_writer->value;
      }
    }
    key.placed += placed;
  }
  // Drop the segment, and its memory: a long one must not stay allocated.
  std::vector<KvOperation>().swap(key.segment);
  std::vector<Handle>().swap(key.handles);
  if (key.status != Status::Open) {
    for (auto it = open_.begin(); it != open_.end();) {
      it = &keys_[it->second] == &key ? open_.erase(it) : std::next(it);
    }
  }
}

LinearizabilityResult LinearizabilityMonitor::finish() {
  for (Key& key : keys_) {
    if (key.status == Status::Open) search_segment(key);
  }
  open_.clear();
  LinearizabilityResult result;
  result.operations = operations_;
  result.steps = steps_;
  for (const Key& key : keys_) {
    ++result.keys;
    if (key.status == Status::Inconclusive) {
      ++result.inconclusive_keys;
      if (result.inconclusive_key_names.size() < kMaxInconclusiveNames) {
        result.inconclusive_key_names.push_back(key.name);
      }
    }
    if (key.status == Status::Failed) {
      result.verdict = LinearizabilityVerdict::NotLinearizable;
      result.key = key.name;
      result.stuck_operation = key.stuck;
      result.last_writer_operation = key.stuck_writer;
      result.prefix_length = key.prefix_length;
      result.prefix_value = key.prefix_value;
      result.explanation = explain(result, key.total_ops);
      return result;
    }
  }
  if (result.inconclusive_keys > 0) result.verdict = LinearizabilityVerdict::Inconclusive;
  return result;
}

int64_t LinearizabilityMonitor::held() const {
  int64_t n = 0;
  for (const Key& key : keys_) n += static_cast<int64_t>(key.segment.size());
  return n;
}

}  // namespace raftkv::check
