// Linearizability of the client-visible KV history (the `Linearizability` check).
//
// A history is the set of client operations, each with the position of its invocation
// (client_invoke) and of its completion (client_complete) in the trace. Positions are trace
// `seq` numbers, which order every pair of events strictly, so "A happened before B" is simply
// A.complete < B.invoke.
//
// Algorithm (Wing & Gong 1993, with Lowe's 2017 memoisation, the approach of Knossos and
// Porcupine; written from the papers, no code taken from either project):
//
//  1. P-compositionality. Keys are independent objects and linearizability is a local property
//     (Herlihy & Wing 1990), so the history is split per key and each key is searched alone.
//  2. Each operation becomes a call entry at `invoke` and a return entry at `complete`; the
//     entries of one key are sorted by position into a doubly linked list.
//  3. Depth-first search. Walk the list from its head. At a call entry, try to linearize that
//     operation now: run it through the sequential model of one key (absent or holding a value:
//     put is ok if absent else key_exists, get returns the value or not_found, delete is ok if
//     present else not_found). If the model's result matches the observed one, and the pair
//     (set of linearized operations, model state) has not been seen before, push a frame, remove
//     the call and its return from the list ("lift") and restart from the head. At a return
//     entry the operation it closes has not been linearized although it has returned: undo the
//     most recent choice (pop a frame, "unlift") and try the next call after it. An empty stack
//     there means no linearization exists.
//  4. Lowe's memoisation: a cache of (linearized set, state) pairs already explored. Two search
//     paths reaching the same pair have the same future, so the second is cut. The set is kept
//     as a 128-bit Zobrist hash (XOR of two random 64-bit words per operation, updated in O(1)
//     per step) instead of an n-bit bitset, so a cache entry is 24 bytes whatever the history's
//     length; a false cache hit needs a 128-bit collision, which is negligible.
//  5. Unknown outcomes. An operation whose result is `unknown` (the client's deadline passed),
//     `not_leader` as a final answer, or that never completed may have taken effect at any point
//     after its invocation, or never. Its return is "at infinity": it has no return entry, so
//     the search never has to place it, and any model result is accepted for it. The search
//     succeeds as soon as every operation with a known outcome is linearized (the unknown ones
//     left can take effect at the end, unobserved, or never). Unknown operations wait in a
//     separate list ordered by invocation and are tried only at a dead end (where the scan of
//     step 3 reaches a return entry), each one invoked before that return. Every child of every
//     search node is still tried; only the order changes.
//  6. Exact reductions (none changes the verdict; tests/test_checker.cpp compares the search
//     with a brute-force enumeration on thousands of random small histories):
//     a. A callable read-only op (get, put -> key_exists, delete -> not_found) that accepts the
//        current state is placed at once, with no alternatives: moving it to the front of any
//        linearization from that node keeps it valid.
//     b. Values that no get returns behave alike (the model compares a value only with a get's
//        result), so they are one state.
//     c. An unknown get is dropped up front, and an unknown op is only placed where it changes
//        the state (placing it later, or never, is at least as permissive).
//     d. Between two known ops, only the unknown runs [], [put], [delete], [delete, put] are
//        needed (a run matters only through the state it leaves; the ops dropped from it can
//        take effect later or never), and only when they give a state that some callable
//        known op accepts. The run so far is part of the cache key.
//     e. Unknown ops with identical transitions (every delete; puts of one value) are tried
//        earliest first, so equivalent paths meet in the cache.
//  7. Budget. Every attempt to linearize an operation costs one step. A key that exceeds the
//     per-key step budget, or any key searched after the whole check's budget ran out, is
//     reported as inconclusive rather than searched forever. Inconclusive is not a violation.
//
// On a violation the result names the key, the operation that no linearization could place,
// and, from the longest linearizable prefix the search found, the key's value there and the
// operation that wrote it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace raftkv::check {

// A 64-bit mixer (Steele, Lea and Flood's SplitMix64 finalizer), for the
// checker's hashes and the search's Zobrist keys.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

enum class KvOpKind { Put, Get, Delete };

// What the client observed. Unknown covers `unknown`, a final `not_leader` and "never completed".
enum class KvOutcome { Ok, KeyExists, NotFound, Unknown };

struct KvOperation {
  int client = 0;
  int64_t request_seq = 0;  // the client's request number (cmd.seq)
  KvOpKind kind = KvOpKind::Get;
  std::string key;
  std::string value;     // put's value
  int64_t invoke = 0;    // trace seq of client_invoke (> 0)
  int64_t complete = 0;  // trace seq of client_complete; 0 = never completed
  KvOutcome outcome = KvOutcome::Unknown;
  std::string read_value;  // the value a successful get returned
  int reply_node = 0;      // the node whose reply completed the op (0 = none)
};

struct LinearizabilityOptions {
  int64_t max_steps_per_key = 2'000'000;  // search steps before a key is inconclusive
  int64_t max_steps_total = 20'000'000;   // across all keys of one history
};

enum class LinearizabilityVerdict { Linearizable, NotLinearizable, Inconclusive };

struct LinearizabilityResult {
  LinearizabilityVerdict verdict = LinearizabilityVerdict::Linearizable;
  int64_t keys = 0;                                 // keys searched (or skipped as inconclusive)
  int64_t operations = 0;                           // operations in the history
  int64_t steps = 0;                                // search steps over all keys
  int64_t inconclusive_keys = 0;                    // keys that ran out of budget
  std::vector<std::string> inconclusive_key_names;  // the first few of them

  // NotLinearizable only.
  std::string key;
  size_t stuck_op = 0;                // index into the history (check_linearizability)
  std::optional<size_t> last_writer;  // index into the history (check_linearizability)
  // The same two operations as copies: the streaming check (LinearizabilityMonitor) keeps no
  // whole history to index into.
  KvOperation stuck_operation;
  std::optional<KvOperation> last_writer_operation;
  int64_t prefix_length = 0;                // ops in the longest linearizable prefix found
  std::optional<std::string> prefix_value;  // the key's value after that prefix (nullopt: absent)
  std::string explanation;
};

// Checks a history. Throws std::invalid_argument for an ill-formed one: invoke <= 0, a
// completion not after its invocation, or a known outcome without a completion. (An outcome the
// operation cannot produce, such as a get answering key_exists, is not ill-formed: no
// linearization can place that operation, so the history is not linearizable.)
LinearizabilityResult check_linearizability(const std::vector<KvOperation>& history,
                                            const LinearizabilityOptions& options = {});

// The same check, run as the trace goes, holding only the operations that can still matter.
//
// A key's history is cut at a quiescent point: an operation on the key completes and none is
// open, and no operation of the key has an unknown-outcome put or delete (that one may still
// take effect at any later time, so the key is kept whole from then on; an unknown get is
// dropped by the search anyway). Every operation before the cut returned before every operation
// after it was invoked, so every linearization places the segment before the cut first. If the
// state the segment leaves is the same in every linearization of it, the key's history is
// linearizable iff the segment is, from the state before it, and the rest is, from the state
// after it. The state is known when the segment has no write that changes the state (a put or
// delete answered ok: the state is the one before it) or when its last such write, by
// invocation, was invoked after every other one returned (its effect is the state); only then
// is the segment searched and dropped, keeping the state, the operation that wrote it and how
// many operations were placed. Otherwise the segment grows to the next quiescent point.
//
// Same verdicts and the same report as check_linearizability on the whole history (keys judged
// in order of first invocation, the first failing key reported with the same stuck operation,
// prefix, writer and explanation; tests/test_checker.cpp compares the two on random histories):
// a search that fails inside a segment fails there in the whole-history search too, which
// explores the earlier segments first and whose other orders of them reach the same (set,
// state) pair and are cut by the memo. Only the step counts can differ (the search of a cut
// segment stops at its first linearization), so a key near the step budget may be judged
// inconclusive by one and not the other.
class LinearizabilityMonitor {
 public:
  using Handle = uint64_t;

  explicit LinearizabilityMonitor(const LinearizabilityOptions& options = {});

  // An operation invoked (op.complete 0, outcome Unknown). Invocations arrive in position order.
  Handle invoke(const KvOperation& op);
  // Takes back an operation that has not completed, as if it had never been invoked (a
  // request sent before its client invoked it: the invocation makes the operation anew).
  void withdraw(Handle handle);
  // Its completion, at a position after every earlier call's.
  void complete(Handle handle, int64_t position, KvOutcome outcome, const std::string& read_value,
                int reply_node);
  // Ends the history (operations still open never completed) and returns the verdict.
  LinearizabilityResult finish();

  // Operations held now, over all keys (for tests of the memory bound).
  int64_t held() const;

 private:
  enum class Status { Open, Failed, Inconclusive };
  struct Key {
    std::string name;
    int64_t total_ops = 0;  // every operation on the key, for the explanation
    std::vector<KvOperation> segment;
    std::vector<Handle> handles;  // of segment's operations, ascending
    int64_t open = 0;
    bool unknown_write = false;
    // What the searched segments leave.
    std::optional<std::string> value;  // nullopt: absent
    std::optional<KvOperation> writer;
    int64_t placed = 0;  // operations the search placed in them
    int64_t steps = 0;
    Status status = Status::Open;
    // Failed only.
    KvOperation stuck;
    std::optional<KvOperation> stuck_writer;
    int64_t prefix_length = 0;
    std::optional<std::string> prefix_value;
  };

  void try_cut(Key& key);
  void search_segment(Key& key);

  LinearizabilityOptions options_;
  std::vector<Key> keys_;  // in order of first invocation
  std::unordered_map<std::string, size_t> key_index_;
  std::unordered_map<Handle, size_t> open_;  // open operation -> its key
  Handle next_handle_ = 1;
  int64_t operations_ = 0;
  int64_t steps_ = 0;
  int64_t remaining_ = 0;
};

// "client 2 get x -> not_found (invoked at seq 12, completed at seq 14)".
std::string describe_operation(const KvOperation& op);

}  // namespace raftkv::check
