#include "app/explore.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "app/import_tla.h"
#include "app/progress.h"
#include "app/spec_view.h"
#include "check/checker.h"
#include "config/clock.h"
#include "config/config.h"
#include "raft/kv.h"
#include "raft/node_set.h"
#include "raft/state_encoding.h"
#include "replay/replay.h"

namespace raftkv {

bool explore_preset(const std::string& name, ExploreBounds* bounds) {
  ExploreBounds b;
  if (name == "small") {
    // MCRaftKVSmall.cfg's servers, terms, log length and commands; at most
    // two messages in flight (TLC's bound is 11) and no crash, so it ends
    // within a minute (the code's state has more in it than the spec's:
    // flow control, commit notifications sent, leader hints).
    b.servers = 3;
    b.max_term = 2;
    b.max_log = 2;
    b.max_msgs = 2;
    b.max_crashes = 0;
    b.commands = 1;
  } else if (name == "figure8") {
    // Figure 8 on three servers without the leader's no-op: S1 leads term 1
    // with A, S2 leads term 2 with B, S1 leads term 3 and copies A to S3,
    // S2 wins term 4 with S3's vote (B's term 2 beats A's term 1).
    b.servers = 3;
    b.max_term = 4;
    b.max_log = 1;
    b.max_msgs = 2;
    b.max_crashes = 0;
    b.commands = 2;
    b.leader_noop = false;
    b.shape = ExploreBounds::Shape::Figure8;
  } else if (name == "client") {
    // MCRaftKVClient.cfg's bounds: one term, logs of up to 4 entries, the
    // no-op, client 1's put a and delete a with a retry (3 requests sent).
    b.servers = 3;
    b.max_term = 1;
    b.max_log = 4;
    b.max_msgs = 2;
    b.max_crashes = 0;
    b.commands = 3;
    b.sessions = true;
  } else if (name == "change") {
    // The single-server-change bug (Ongaro, raft-dev, 2015) on four
    // servers, removals only. One schedule of it: S1 leads term 1 and
    // removes S2 (its configuration {1,3,4}, held by S1 alone); S2 leads
    // term 2 with S3's and S4's votes, its no-op reaches S3, and S4 votes for
    // S1 in term 3; S2 removes S1 ({2,3,4}), which commits the no-op with S3
    // at once; S1 leads term 3 with S4's vote under {1,3,4} and lacks it. The
    // two majorities are each of its own configuration and share no server.
    // With the fix (a leader changes nothing before an entry of its term is
    // committed) S2's no-op needs three of {1,2,3,4} first, and S1 then
    // finds no vote among them.
    b.servers = 4;
    b.max_term = 3;
    b.max_log = 2;  // S1's no-op and change; S2's (S1's term-3 no-op is checked, not expanded)
    b.max_msgs = 3;
    b.max_crashes = 0;
    b.commands = 0;
    b.changes = 2;
    b.shape = ExploreBounds::Shape::Change;
  } else if (name == "lease") {
    // A lease outliving the promise it rests on: S1 (the slowest clock)
    // leads term 1 and takes a lease from a round S3 (the fastest) answers;
    // at the next instant S3's promise and election timer have run out on
    // its clock while S1's lease, as long as E on S1's clock with
    // lease_ignores_drift, has not on S1's; S3 leads term 2 with S2's vote
    // and commits a put of k1, and S1 answers a get of k1 on its lease.
    b.servers = 3;
    b.max_term = 2;
    b.max_log = 3;  // S1's no-op; S3's no-op and put
    b.max_msgs = 2;
    b.max_crashes = 0;
    b.commands = 1;
    b.reads = 2;
    b.lease = true;
    b.ticks = 4;  // at 125, 150 and 188 ms the election timers of S3, S2, S1
    b.shape = ExploreBounds::Shape::Lease;
  } else {
    return false;
  }
  *bounds = b;
  return true;
}

namespace {

// ---------------------------------------------------------------------------
// Canonical byte encodings (fixed layout, length-prefixed strings).

using namespace state_encoding;

// A message without its id (a counter of the runtime's, not part of what
// the message says) and without time: two copies of one message encode the
// same, so the network is a multiset of encodings. The server ids come
// first, where a renaming can rewrite them in place (renamed_key).
std::string message_key(const Message& m) {
  std::string out;
  out.reserve(320 + 96 * m.entries.size());  // most keys fit: no growth on the way
  put_int(out, m.from);
  put_int(out, m.to);
  put_int(out, m.leader_hint);
  put_int(out, static_cast<int64_t>(m.type));
  put_int(out, m.client);
  put_int(out, m.term);
  put_int(out, m.last_log_index);
  put_int(out, m.last_log_term);
  put_int(out, m.transfer ? 1 : 0);
  put_int(out, m.granted ? 1 : 0);
  put_str(out, m.reason);
  put_int(out, m.prev_log_index);
  put_int(out, m.prev_log_term);
  put_int(out, static_cast<int64_t>(m.entries.size()));
  for (const Entry& e : m.entries) put_entry(out, e);
  put_int(out, m.leader_commit);
  put_int(out, m.success ? 1 : 0);
  put_int(out, m.match_index);
  put_int(out, m.conflict_index);
  put_int(out, m.conflict_term);
  put_command(out, m.cmd);
  put_int(out, m.seq);
  put_int(out, static_cast<int64_t>(m.result.status));
  put_str(out, m.result.value);
  put_int(out, m.round);
  put_int(out, m.snap_index);
  put_int(out, m.snap_term);
  put_int(out, m.offset);
  put_str(out, m.data);
  put_int(out, m.done ? 1 : 0);
  return out;
}

// ---------------------------------------------------------------------------
// States and inputs

// A message in the network, shared by every state that holds it: a state's
// successors copy the network, and copying a pointer instead of a message
// with its entries was a third of explore's time.
class InFlight {
 public:
  InFlight(std::string key, Message msg, std::vector<std::string> renamed = {})
      : p_(std::make_shared<const Payload>(
            Payload{std::move(key), std::move(msg), std::move(renamed)})) {}
  const std::string& key() const { return p_->key; }
  const Message& msg() const { return p_->msg; }
  // With symmetry reduction: the key under the servers' renaming number r.
  const std::string& renamed_key(size_t r) const { return p_->renamed[r]; }

 private:
  struct Payload {
    std::string key;  // message_key(msg)
    Message msg;
    // With symmetry reduction, message_key of msg under each renaming of
    // the servers (Explorer::renamings_), made once when it is sent rather
    // than at every state that holds it.
    std::vector<std::string> renamed;
  };
  std::shared_ptr<const Payload> p_;
};

// An entry some node knew committed: at `index`, of term `term`, known in
// term `known_in` (the knowing node's term then; the smallest such term).
struct Committed {
  int64_t index = 0;
  int64_t term = 0;
  int64_t known_in = 0;
  bool operator<(const Committed& o) const {
    return std::tie(index, term, known_in) < std::tie(o.index, o.term, o.known_in);
  }
};

struct State {
  NodeSet nodes;
  std::vector<InFlight> net{};  // sorted by key: a canonical multiset
  int crashes = 0;
  int transfers = 0;  // leadership transfers asked so far
  // Gets sent so far (--reads), and for each, the highest index known
  // committed anywhere when it arrived (-1 once it is answered).
  std::vector<int64_t> read_lo{};
  // Gets answered in the step just taken (seq, result): judged by check(),
  // once the histories know what the step committed. Empty between steps.
  std::vector<std::pair<int64_t, Result>> answers{};
  int changes = 0;      // membership changes asked so far (--changes)
  uint32_t joined = 0;  // --joiners: a bit for each joiner id that booted (its join input)
  // --lease: true time (ms), ticks taken, and by node id the true time at
  // which its election timer, and a leader's quorum check timer, may first
  // fire (as the runtime arms them: E on the node's own clock). Empty
  // without.
  int64_t time_ms = 0;
  int ticks = 0;
  std::vector<int64_t> election_due_ms{};
  std::vector<int64_t> quorum_due_ms{};
  int issued = 0;      // client commands sent so far (retries included)
  int introduced = 0;  // --sessions: the session's commands sent at least once
  // History variables, as TLA+ specs keep them, since the invariants speak
  // of the past: every (term, leader) seen, every entry known committed,
  // and the entry applied at each index (by anyone; encoded).
  std::vector<std::pair<int64_t, int>> leaders{};
  // Every (term, node) that stood for election; kept only for a directed
  // shape (ExploreBounds::shape).
  std::vector<std::pair<int64_t, int>> stood{};
  std::vector<Committed> committed{};
  std::vector<std::string> applied{};  // [i] = the entry applied at index i + 1
  // With check_quorum: answered[i], for a leader i, the servers (a bit per
  // id) whose AppendEntriesResponse of i's term reached i since it became
  // leader or last checked its quorum (RaftKV.tla's history `answered`);
  // 0 for a server that does not lead. Empty without check_quorum.
  std::vector<uint32_t> answered{};
  int64_t depth = 0;
  int64_t record = 0;  // index of this state's path record
};

// Did server `id` lead term `term` along the path to `s`? (The directed
// shapes ask.)
bool led_term(const State& s, int64_t term, int id) {
  return std::binary_search(s.leaders.begin(), s.leaders.end(), std::make_pair(term, id));
}

enum class Kind : uint8_t {
  Deliver,    // deliver a message; it leaves the network
  Duplicate,  // deliver a message and keep a copy in flight
  Drop,       // the message is lost
  Election,   // a follower's or candidate's election timer fires
  Heartbeat,  // a leader's heartbeat timer fires
  Quorum,     // a leader's quorum check timer fires (check_quorum)
  Transfer,   // a leader is asked to hand leadership to server `msg`
  GiveUp,     // a leader's transfer timer fires: it gives the transfer up
  Read,       // a get of k1 from client 2 reaches a leader (--reads)
  Change,     // a leader is asked to remove server `msg` (--changes)
  Add,        // a leader is asked to add server `msg`, a joiner (--changes, --joiners)
  Join,       // a joiner boots, empty (--joiners)
  Tick,       // true time moves on by one minimum election timeout (--lease)
  Client,     // a client Put reaches a leader
  Crash,
  Restart,
};

struct Action {
  Kind kind = Kind::Deliver;
  uint8_t node = 0;  // the node acting (not for message actions)
  uint16_t msg = 0;  // message actions: index in the state's sorted network
};

// How each path state was reached: its parent's record and the action.
struct Record {
  int64_t parent = -1;
  Action action;
};

// A client command of client `client`'s session (seq > 0) or of no session.
Command command(Op op, const char* key, const char* value, int client, int64_t seq) {
  Command c;
  c.op = op;
  c.key = key;
  c.value = value;
  c.client = client;
  c.seq = seq;
  return c;
}

// The client whose gets --reads sends (client 0 sends the puts).
constexpr int kReadClient = 2;

Command client_command(int i) {
  Command c;
  c.op = Op::Put;
  c.key = "k" + std::to_string(i + 1);
  c.value = "v" + std::to_string(i + 1);
  return c;  // client 0, seq 0: no session, as a scenario's client_request
}

// Message ids as `raftkv replay` gives them to a scenario's messages (every
// send, client requests and replies included, counts up from 1), so a path
// can name its messages in a scenario.
struct IdTracker {
  int64_t next = 1;
  std::multimap<std::string, int64_t> in_flight;  // key -> ids of copies
  std::string lines;                              // the scenario's input lines
  int64_t t = 0;                                  // the last line's virtual time (ms)
};

// A violation found while stepping (a protocol rule the code itself checks,
// or a different entry applied at an index).
struct StepError {
  std::string invariant, detail;
};

// Where the entry (index, term) is, or would go, in a history of committed
// entries kept sorted by (index, term).
// (A template for the const history too.)
template <typename History>
auto committed_at(History& history, int64_t index, int64_t term) {
  return std::lower_bound(history.begin(), history.end(), std::make_pair(index, term),
                          [](const Committed& c, const std::pair<int64_t, int64_t>& key) {
                            return std::make_pair(c.index, c.term) < key;
                          });
}

// A renaming of the servers (symmetry reduction): server i is named to[i],
// and the server named j is from[j] (index 0 unused: 0 is "no server").
struct Renaming {
  std::vector<int> to, from;
};

// The key of message `m` with its servers renamed by `r`, made from m's key
// `key`: a message's server ids are its sender, receiver and leader hint (a
// client request's client is not a server), the key's first three integers.
std::string renamed_key(const std::string& key, const Message& m, const Renaming& r) {
  std::string out = key;
  auto id = [&r](int x) -> int64_t { return x > 0 ? r.to[static_cast<size_t>(x)] : x; };
  const int64_t ids[3] = {id(m.from), id(m.to), id(m.leader_hint)};
  std::memcpy(out.data(), ids, sizeof ids);
  return out;
}

class Explorer {
 public:
  Explorer(const ExploreBounds& b, const PlantedBugs& bugs)
      : b_(b), ids_(b.servers + b.joiners), clocks_(b.servers, b.lease ? b.clock_drift_ppm : 0) {
    // Thesis §6.4.1: a lease is a read-index read that skips its round while
    // the lease lasts; the config requires check_quorum with it.
    if (b_.lease) b_.check_quorum = b_.read_index = true;
    options_.leader_noop = b.leader_noop;
    options_.pre_vote = b.pre_vote;
    options_.check_quorum = b_.check_quorum;
    options_.read_index = b_.read_index;
    options_.lease_reads = b.lease;
    options_.clock_drift_ppm = b.lease ? b.clock_drift_ppm : 0;
    options_.election_timeout_min_ms = kElectionMinMs;
    options_.snapshot_every = b.snapshot_every;
    options_.bugs = bugs;
    if (b.symmetry) {
      std::vector<int> names(static_cast<size_t>(b.servers));
      for (int i = 0; i < b.servers; ++i) names[static_cast<size_t>(i)] = i + 1;
      do {
        Renaming r;
        r.to.assign(static_cast<size_t>(b.servers) + 1, 0);
        r.from.assign(static_cast<size_t>(b.servers) + 1, 0);
        for (int i = 0; i < b.servers; ++i) {
          r.to[static_cast<size_t>(i) + 1] = names[static_cast<size_t>(i)];
          r.from[static_cast<size_t>(names[static_cast<size_t>(i)])] = i + 1;
        }
        renamings_.push_back(std::move(r));
      } while (std::next_permutation(names.begin(), names.end()));
    }
  }

  State initial() const {
    // Joiners (servers + 1..) exist from the start, down and unbooted until
    // their join input.
    State s{.nodes = NodeSet(b_.servers, options_, ids_)};
    if (b_.check_quorum) s.answered.assign(static_cast<size_t>(ids_) + 1, 0);
    if (b_.lease) {
      s.election_due_ms.assign(static_cast<size_t>(ids_) + 1, 0);
      s.quorum_due_ms.assign(static_cast<size_t>(ids_) + 1, 0);
    }
    for (int id = 1; id <= b_.servers; ++id) {
      s.nodes.up(id);
      Effects fx;
      s.nodes.start(id, fx);  // at time 0: every clock reads 0, and each timer starts
      arm_timers(s, id, fx);
      add_sends(s, fx, nullptr);
    }
    return s;
  }

  // --lease: node id's clock now (us; 0 without clocks).
  int64_t clock_us(const State& s, int id) const {
    return b_.lease ? clocks_.read_us(id, s.time_ms) : 0;
  }

  // May node id's election timer fire now? Without --lease, at any time (no
  // clocks: any delay is possible); with it, only once a minimum election
  // timeout has passed on its own clock since the node last restarted it:
  // the runtime's earliest firing (any later one is possible too).
  bool election_due(const State& s, int id) const {
    return !b_.lease || s.time_ms >= s.election_due_ms[static_cast<size_t>(id)];
  }

  // --lease: is a leader's quorum check due now? The runtime fires it exactly
  // E of the leader's clock after arming it, so time stops until it has.
  bool quorum_due(const State& s, int id) const {
    return s.time_ms >= s.quorum_due_ms[static_cast<size_t>(id)];
  }

  // --lease: the timers a step of node id asked for, armed as the runtime
  // arms them (config/clock.h: E on the node's clock, in true time).
  void arm_timers(State& s, int id, const Effects& fx) const {
    if (!b_.lease) return;
    int64_t e_ms = clocks_.true_delay_ms(id, kElectionMinMs);
    if (fx.reset_election_timer) s.election_due_ms[static_cast<size_t>(id)] = s.time_ms + e_ms;
    if (fx.arm_check_quorum_timer) s.quorum_due_ms[static_cast<size_t>(id)] = s.time_ms + e_ms;
  }

  // --lease: the next true time (ms) after now at which something the nodes
  // do can depend on the time: an election timer or quorum check coming
  // due, a promise or a lease running out (the first ms at which the node's
  // clock reads its end). Between two such instants every input has the
  // same effect, so a tick moves to the next one. 0: none (or a quorum
  // check is due now, which the runtime fires before time moves on).
  int64_t next_instant(const State& s) const {
    int64_t next = 0;
    auto consider = [&](int64_t t) {
      if (t > s.time_ms && (next == 0 || t < next)) next = t;
    };
    // The first true ms at which node id's clock reads at least `us`.
    auto reaches = [&](int id, int64_t us) {
      int64_t rate = 1'000'000 + clocks_.drift_ppm(id);
      return (us * 1000 + rate - 1) / rate;
    };
    for (int id = 1; id <= ids_; ++id) {
      if (!s.nodes.is_up(id)) continue;
      const Node& node = s.nodes.node(id);
      auto slot = static_cast<size_t>(id);
      if (node.role() == Role::Leader) {
        if (quorum_due(s, id)) return 0;
        consider(s.quorum_due_ms[slot]);
        consider(reaches(id, node.lease_until_us()));
      } else {
        consider(s.election_due_ms[slot]);
      }
      consider(reaches(id, node.promise_until_us()));
    }
    return next;
  }

  // The inputs enabled at `s`, in a fixed order.
  std::vector<Action> enabled(const State& s) const {
    std::vector<Action> out;
    for (size_t i = 0; i < s.net.size(); ++i) {
      // Copies of one message give the same successors: take the first.
      if (i > 0 && s.net[i].key() == s.net[i - 1].key()) continue;
      auto k = static_cast<uint16_t>(i);
      if (b_.spec_network) {
        // RaftKV's Receive: any message sent, to a running node, again and
        // again; it never leaves the network.
        if (s.nodes.is_up(s.net[i].msg().to)) out.push_back({Kind::Deliver, 0, k});
        continue;
      }
      if (s.nodes.is_up(s.net[i].msg().to)) {
        out.push_back({Kind::Deliver, 0, k});
        // (The change and lease shapes deliver each message at most once.)
        if (static_cast<int>(s.net.size()) < b_.max_msgs &&
            (b_.shape == ExploreBounds::Shape::None || b_.shape == ExploreBounds::Shape::Figure8))
          out.push_back({Kind::Duplicate, 0, k});
      }
      out.push_back({Kind::Drop, 0, k});
    }
    for (int id = 1; id <= ids_; ++id) {
      auto n = static_cast<uint8_t>(id);
      if (!booted(s, id)) {
        out.push_back({Kind::Join, n, 0});
        continue;
      }
      if (!s.nodes.is_up(id)) {
        out.push_back({Kind::Restart, n, 0});
        continue;
      }
      // The runtime fires an election timer only at a follower or
      // candidate, a heartbeat timer only at a leader.
      if (s.nodes.node(id).role() == Role::Leader) {
        // A directed shape has no heartbeats: a new leader's AppendEntries
        // and the retries after a refusal carry the entries.
        if (b_.shape == ExploreBounds::Shape::None) out.push_back({Kind::Heartbeat, n, 0});
        if (b_.check_quorum && (!b_.lease || quorum_due(s, id))) {
          out.push_back({Kind::Quorum, n, 0});
        }
        if (static_cast<int>(s.read_lo.size()) < b_.reads) out.push_back({Kind::Read, n, 0});
        if (s.changes < b_.changes) {
          // Thesis §4.1: remove any voter of the leader's configuration.
          const Membership& conf = s.nodes.node(id).membership();
          for (int target : conf.voters) {
            out.push_back({Kind::Change, n, static_cast<uint16_t>(target)});
          }
          // Thesis §4.2.1: add a joiner not yet in it (as a learner first).
          for (int j = b_.servers + 1; j <= ids_; ++j) {
            if (!conf.is_member(j)) out.push_back({Kind::Add, n, static_cast<uint16_t>(j)});
          }
        }
        if (s.nodes.node(id).transfer_target() != 0) {
          out.push_back({Kind::GiveUp, n, 0});
        } else if (s.transfers < b_.transfers) {
          for (int to = 1; to <= ids_; ++to) {
            if (to != id) out.push_back({Kind::Transfer, n, static_cast<uint16_t>(to)});
          }
        }
        if (b_.spec_network) {
          // MCRaftKV's ClientRequest(i, c): any of its commands, at any leader,
          // any number of times (a retry is the same command again).
          for (int j = 0; j < b_.commands && j < static_cast<int>(mc_commands().size()); ++j) {
            out.push_back({Kind::Client, n, static_cast<uint16_t>(j)});
          }
        } else if (s.issued < b_.commands) {
          if (!b_.sessions) {
            out.push_back({Kind::Client, n, 0});
          } else {
            // Client 1's session: its next request, or a retry of any it
            // already sent (a client that timed out resends; a duplicate
            // from the network is the same request again).
            int next = std::min(s.introduced + 1, static_cast<int>(session_commands().size()));
            for (int j = 0; j < next; ++j) {
              out.push_back({Kind::Client, n, static_cast<uint16_t>(j)});
            }
          }
        }
      } else if (election_due(s, id)) {
        out.push_back({Kind::Election, n, 0});
      }
      if (s.crashes < b_.max_crashes) out.push_back({Kind::Crash, n, 0});
    }
    if (s.ticks < b_.ticks && next_instant(s) != 0) out.push_back({Kind::Tick, 0, 0});
    return out;
  }

  // Applies `a` to `s` (a copy of its parent). With `ids`, also names the
  // action's messages as replay would and appends its scenario line.
  std::optional<StepError> apply(State& s, const Action& a, IdTracker* ids) const {
    Effects fx;
    int id = a.node;
    if (id > 0) fx.clock_us = clock_us(s, id);
    std::string line;
    int64_t applied_before = 0;
    // With snapshots, the stepped node as it was before the step: a step may
    // apply entries and compact them away at once (§7), and record_applied
    // reads them here. Holding it makes the step work on a copy (NodeSet::own).
    std::shared_ptr<const Node> before;
    std::optional<StepError> term_error;
    try {
      switch (a.kind) {
        case Kind::Deliver:
        case Kind::Duplicate:
        case Kind::Drop: {
          size_t i = a.msg;
          Message m = s.net[i].msg();
          if (ids != nullptr) {
            auto it = ids->in_flight.find(s.net[i].key());  // the oldest copy
            int64_t mid = it->second;
            if (a.kind != Kind::Duplicate && !b_.spec_network) ids->in_flight.erase(it);
            line = std::string("{\"event\":\"") + (a.kind == Kind::Drop ? "drop" : "deliver") +
                   "\",\"id\":" + std::to_string(mid) + "}";
          }
          if (a.kind != Kind::Duplicate && !b_.spec_network)
            s.net.erase(s.net.begin() + static_cast<std::ptrdiff_t>(i));
          if (a.kind == Kind::Drop) break;
          id = m.to;
          fx.clock_us = clock_us(s, id);
          const Node& to = s.nodes.node(id);
          int64_t term_before = to.term();
          int vote_before = to.vote();
          bool led_before = to.role() == Role::Leader;
          applied_before = to.last_applied();
          if (b_.snapshot_every > 0) before = s.nodes.share(id);
          s.nodes.deliver(m, fx);
          const Node& after = s.nodes.node(id);
          bool prevote = m.type == MsgType::PreVote || m.type == MsgType::PreVoteResponse;
          // Figure 2, rules for all servers: a request or response with a
          // term above the receiver's sets its term. Except (thesis §9.6) a
          // pre-vote's, which asks about a term nobody holds yet, and (§4.2.3,
          // check_quorum) a RequestVote that a node with a live leader may
          // disregard: explore does not judge liveness, so with check_quorum
          // it leaves every RequestVote out (a transfer's included). A
          // transition rule, not a Figure 3 guarantee.
          bool may_ignore = prevote || (b_.check_quorum && m.type == MsgType::RequestVote);
          if (after.term() < m.term && !may_ignore) {
            term_error =
                StepError{"TermAdoption", "node " + std::to_string(id) + " kept term " +
                                              std::to_string(after.term()) +
                                              " after a message of term " + std::to_string(m.term)};
          }
          // Thesis §9.6, PreVoteKeepsTermsAndVotes: a pre-vote, asked or
          // answered, changes no term and no vote; only a majority of grants
          // starts the receiver's own election (term + 1, a vote for itself).
          if (prevote && (after.term() != term_before || after.vote() != vote_before)) {
            bool own_election = m.type == MsgType::PreVoteResponse &&
                                after.term() == term_before + 1 && after.vote() == id &&
                                after.role() != Role::Follower;
            if (!own_election) {
              term_error = StepError{
                  "TermAdoption", "node " + std::to_string(id) + " went from term " +
                                      std::to_string(term_before) + " (vote " +
                                      std::to_string(vote_before) + ") to term " +
                                      std::to_string(after.term()) + " (vote " +
                                      std::to_string(after.vote()) + ") on a " + to_string(m.type) +
                                      ", which changes no term or vote (thesis §9.6)"};
            }
          }
          // RaftKV.tla's history `answered`: an AppendEntriesResponse of a
          // leader's term, delivered to it, shows its sender can reach it.
          if (b_.check_quorum && led_before && m.term == term_before &&
              (m.type == MsgType::AppendEntriesResponse ||
               m.type == MsgType::ReadConfirmResponse)) {
            s.answered[static_cast<size_t>(id)] |= 1u << m.from;
          }
          break;
        }
        case Kind::Quorum: {
          // Thesis §6.2: a leader that did not hear from a majority (itself
          // included) since its election or its previous check steps down
          // at this check, and one that did stays leader (QuorumCheckSound;
          // LapsedLeaderStepsDown). Judged from `answered`, not from the
          // node's own bookkeeping.
          line = "{\"event\":\"timeout\",\"node\":" + std::to_string(id) +
                 ",\"timer\":\"check_quorum\"}";
          uint32_t heard = s.answered[static_cast<size_t>(id)] | (1u << id);
          int count = std::popcount(heard);
          bool quorum = count > b_.servers / 2;
          int64_t term = s.nodes.node(id).term();
          s.nodes.timeout(id, Timer::CheckQuorum, fx);
          bool leads = s.nodes.node(id).role() == Role::Leader;
          s.answered[static_cast<size_t>(id)] = 0;
          if (leads != quorum) {
            term_error = StepError{
                "CheckQuorum",
                "node " + std::to_string(id) + ", leader of term " + std::to_string(term) +
                    ", heard from " + std::to_string(count) + " of " + std::to_string(b_.servers) +
                    " servers (itself included) since its election or previous check, and " +
                    (leads ? "still leads after" : "stepped down at") + " its quorum check"};
          }
          break;
        }
        case Kind::Election:
        case Kind::Heartbeat: {
          bool election = a.kind == Kind::Election;
          line = "{\"event\":\"timeout\",\"node\":" + std::to_string(id) + ",\"timer\":\"" +
                 (election ? "election" : "heartbeat") + "\"}";
          const Node& node = s.nodes.node(id);
          int64_t term_before = node.term();
          int vote_before = node.vote();
          applied_before = node.last_applied();
          if (b_.snapshot_every > 0) before = s.nodes.share(id);
          s.nodes.timeout(id, election ? Timer::Election : Timer::Heartbeat, fx);
          // Thesis §9.6: with pre-vote, an election timeout asks for
          // pre-votes and changes no term or vote, unless this server alone
          // is a majority and stands at once.
          const Node& after = s.nodes.node(id);
          if (election && b_.pre_vote && b_.servers > 1 &&
              (after.term() != term_before || after.vote() != vote_before)) {
            term_error = StepError{"TermAdoption", "node " + std::to_string(id) +
                                                       " changed its term or vote when its "
                                                       "election timer fired, with pre-vote on"};
          }
          break;
        }
        case Kind::Client: {
          Message m;
          m.type = MsgType::ClientRequest;
          m.to = id;
          if (b_.spec_network) {
            m.cmd = mc_commands()[a.msg];
            m.client = m.cmd.client;
          } else if (b_.sessions) {
            m.cmd = session_commands()[a.msg];
            m.client = m.cmd.client;
            s.introduced = std::max(s.introduced, static_cast<int>(a.msg) + 1);
          } else {
            m.cmd = client_command(s.issued);
          }
          if (!b_.spec_network) ++s.issued;  // the spec counts no commands
          line = "{\"event\":\"client_request\",\"node\":" + std::to_string(id) +
                 ",\"cmd\":{\"op\":\"" + to_string(m.cmd.op) + "\",\"key\":\"" + m.cmd.key +
                 "\",\"value\":\"" + m.cmd.value + "\"";
          if (b_.sessions || b_.spec_network) {
            line += ",\"client\":" + std::to_string(m.cmd.client) +
                    ",\"seq\":" + std::to_string(m.cmd.seq);
          }
          line += "}}";
          if (ids != nullptr) ++ids->next;  // replay numbers the request first
          applied_before = s.nodes.node(id).last_applied();
          if (b_.snapshot_every > 0) before = s.nodes.share(id);
          s.nodes.deliver(m, fx);
          break;
        }
        case Kind::Read: {
          Message m;
          m.type = MsgType::ClientRequest;
          m.to = id;
          m.client = kReadClient;
          m.cmd.op = Op::Get;
          m.cmd.key = "k1";
          m.cmd.client = kReadClient;
          m.cmd.seq = static_cast<int64_t>(s.read_lo.size()) + 1;
          // Invoked now: every write committed so far must show in its answer.
          s.read_lo.push_back(s.committed.empty() ? 0 : s.committed.back().index);
          line = "{\"event\":\"client_request\",\"node\":" + std::to_string(id) +
                 ",\"cmd\":{\"op\":\"get\",\"key\":\"k1\",\"value\":\"\",\"client\":" +
                 std::to_string(kReadClient) + ",\"seq\":" + std::to_string(m.cmd.seq) + "}}";
          if (ids != nullptr) ++ids->next;  // replay numbers the request first
          applied_before = s.nodes.node(id).last_applied();
          if (b_.snapshot_every > 0) before = s.nodes.share(id);
          s.nodes.deliver(m, fx);
          break;
        }
        case Kind::Transfer:
          line = "{\"event\":\"transfer\",\"node\":" + std::to_string(id) +
                 ",\"to\":" + std::to_string(a.msg) + "}";
          s.nodes.transfer(id, a.msg, fx);
          ++s.transfers;
          break;
        case Kind::Tick:
          s.time_ms = next_instant(s);  // no line: the next line's "t" says it
          ++s.ticks;
          break;
        case Kind::Change:
        case Kind::Add: {
          bool add = a.kind == Kind::Add;
          line = "{\"event\":\"change\",\"node\":" + std::to_string(id) + ",\"action\":\"" +
                 (add ? "add" : "remove") + "\",\"target\":" + std::to_string(a.msg) + "}";
          applied_before = s.nodes.node(id).last_applied();
          s.nodes.change(id, add ? ChangeAction::Add : ChangeAction::Remove, a.msg, fx);
          ++s.changes;
          break;
        }
        case Kind::Join:
          // As replay's `join`: the server boots, empty, with the bootstrap
          // configuration, and learns the rest from the leader's log.
          line = "{\"event\":\"join\",\"node\":" + std::to_string(id) + "}";
          s.nodes.up(id);
          s.nodes.start(id, fx);
          s.joined |= 1u << id;
          break;
        case Kind::GiveUp:
          line =
              "{\"event\":\"timeout\",\"node\":" + std::to_string(id) + ",\"timer\":\"transfer\"}";
          s.nodes.timeout(id, Timer::Transfer, fx);
          break;
        case Kind::Crash:
          line = "{\"event\":\"crash\",\"node\":" + std::to_string(id) + "}";
          s.nodes.crash(id);
          ++s.crashes;
          break;
        case Kind::Restart:
          // A restarted node is a follower built from its storage, and
          // boots (its start step) at once, as replay does.
          line = "{\"event\":\"restart\",\"node\":" + std::to_string(id) + "}";
          s.nodes.restart(id);
          s.nodes.start(id, fx);
          break;
      }
    } catch (const std::exception& e) {
      // The node broke one of its own stated rules (ProtocolBug), or its
      // storage does not hold what it wrote.
      if (ids != nullptr) ids->lines += line + "\n";
      return StepError{"ProtocolBug", e.what()};
    }
    // The runtime restarts a node's timers when its step asks it to.
    if (id > 0) arm_timers(s, id, fx);
    if (ids != nullptr && b_.lease) {
      // Each line at the true time explore stepped it at: replay reads each
      // node's clock there, as explore did.
      if (!line.empty()) {
        line.insert(line.size() - 1, ",\"t\":" + std::to_string(s.time_ms));
        ids->lines += line + "\n";
      }
    } else if (ids != nullptr) {
      if (a.kind == Kind::Quorum) {
        // The runtime checks once per minimum election timeout E, and the
        // trace checker judges a leader by whom it heard from in the last
        // 2E (spec/checks.md, CheckQuorum): the check is placed 2E + 1 ms
        // after the line before, as import-tla places it; every other line
        // is 1 ms after the one before (the scenario format's default).
        ids->t += 2 * TimingConfig{}.election_timeout_min_ms + 1;
        line.insert(line.size() - 1, ",\"t\":" + std::to_string(ids->t));
      } else {
        ids->t += 1;
      }
      ids->lines += line + "\n";
    }
    // The gets --reads sent, answered in this step (a refusal, not_leader,
    // answers nothing). Only with --reads: MCRaftKV's commands (the spec's
    // network) have a get of client 2's too, which nothing here judges.
    for (const Message& m : fx.messages) {
      if (b_.reads > 0 && m.type == MsgType::ClientReply && m.client == kReadClient &&
          m.result.status != Status::NotLeader) {
        s.answers.emplace_back(m.seq, m.result);
      }
    }
    // Thesis §3.10 (TimeoutNowOnlyToCaughtUp): a leader tells the target of
    // a transfer to stand only once the target's log holds all of its own,
    // so that the target can win. Judged on the target's log itself.
    for (const Message& m : fx.messages) {
      if (m.type != MsgType::TimeoutNow || term_error) continue;
      const Node& leader = s.nodes.node(m.from);
      const Node& target = s.nodes.node(m.to);
      int64_t last = leader.last_index(), common = 0;
      while (common < std::min(last, target.last_index()) &&
             leader.entry(common + 1) == target.entry(common + 1)) {
        ++common;
      }
      if (common < last) {
        term_error =
            StepError{"LeaderTransfer", "node " + std::to_string(m.from) + ", leader of term " +
                                            std::to_string(leader.term()) +
                                            ", sent TimeoutNow to node " + std::to_string(m.to) +
                                            ", whose log matches its own only through index " +
                                            std::to_string(common) + " of " + std::to_string(last)};
      }
    }
    add_sends(s, fx, ids);
    // `answered` is about a leader's current term: none for a server that
    // does not lead (it became leader or stepped down in this step, or
    // crashed), from none again when it is elected.
    if (b_.check_quorum) {
      for (int n = 1; n <= ids_; ++n) {
        if (!s.nodes.is_up(n) || s.nodes.node(n).role() != Role::Leader) {
          s.answered[static_cast<size_t>(n)] = 0;
        }
      }
    }
    if (term_error) return term_error;
    // The inputs after which a node may apply entries (a get through the log
    // commits at once in a cluster of one).
    if (a.kind == Kind::Deliver || a.kind == Kind::Duplicate || a.kind == Kind::Election ||
        a.kind == Kind::Heartbeat || a.kind == Kind::Client || a.kind == Kind::Read ||
        a.kind == Kind::Change || a.kind == Kind::Add) {
      if (auto err = record_applied(s, id, applied_before, before.get())) return err;
    }
    ++s.depth;
    return std::nullopt;
  }

  // Figure 3's guarantees on a new state; updates its history variables.
  std::optional<StepError> check(State& s) const {
    const int n = ids_;  // joiners too
    if (b_.shape != ExploreBounds::Shape::None) {
      for (int id = 1; id <= n; ++id) {
        if (!s.nodes.is_up(id) || s.nodes.node(id).role() != Role::Candidate) continue;
        std::pair<int64_t, int> rec{s.nodes.node(id).term(), id};
        auto it = std::lower_bound(s.stood.begin(), s.stood.end(), rec);
        if (it == s.stood.end() || *it != rec) s.stood.insert(it, rec);
      }
    }
    // Election Safety: at most one leader can be elected in a given term.
    // Checked over the whole path: every (term, leader) ever seen is kept.
    for (int id = 1; id <= n; ++id) {
      if (!s.nodes.is_up(id) || s.nodes.node(id).role() != Role::Leader) continue;
      std::pair<int64_t, int> rec{s.nodes.node(id).term(), id};
      auto it = std::lower_bound(s.leaders.begin(), s.leaders.end(), rec);
      if (it == s.leaders.end() || *it != rec) s.leaders.insert(it, rec);
    }
    for (size_t i = 1; i < s.leaders.size(); ++i) {
      if (s.leaders[i].first == s.leaders[i - 1].first) {
        return StepError{"ElectionSafety", "nodes " + std::to_string(s.leaders[i - 1].second) +
                                               " and " + std::to_string(s.leaders[i].second) +
                                               " both led term " +
                                               std::to_string(s.leaders[i].first)};
      }
    }
    // Log Matching: if two logs contain an entry with the same index and
    // term, the logs are identical in all entries up through that index.
    // Every log, a crashed node's stored one included; with snapshots, the
    // entries both still hold (a snapshot is a committed prefix, judged by
    // SnapshotCommitted).
    for (int x = 1; x <= n; ++x) {
      const Node& a = s.nodes.node(x);
      for (int y = x + 1; y <= n; ++y) {
        const Node& c = s.nodes.node(y);
        int64_t last = std::min(a.last_index(), c.last_index());
        int64_t first = std::max(a.snapshot_index(), c.snapshot_index()) + 1;
        for (int64_t i = last; i >= first; --i) {
          if (a.term_at(i) == 0 || a.term_at(i) != c.term_at(i)) continue;
          for (int64_t j = first; j <= i; ++j) {
            if (!(a.entry(j) == c.entry(j))) {
              return StepError{"LogMatching", "nodes " + std::to_string(x) + " and " +
                                                  std::to_string(y) + " agree on index " +
                                                  std::to_string(i) + " (term " +
                                                  std::to_string(a.term_at(i)) +
                                                  ") but differ at index " + std::to_string(j)};
            }
          }
          break;  // the prefixes below the highest match were just compared
        }
      }
    }
    // Leader Completeness: an entry committed in a term is in the log of
    // every leader of a higher term. "Committed" here: some node's commit
    // index covered it, in the node's term then (kept as history).
    for (int id = 1; id <= n; ++id) {
      if (!s.nodes.is_up(id)) continue;
      const Node& node = s.nodes.node(id);
      // (Entries below a snapshot are no longer in the log: they were
      // recorded when committed, by this node or by the snapshot's sender.)
      for (int64_t i = std::max<int64_t>(1, node.snapshot_index());
           i <= node.commit_index() && i <= node.last_index(); ++i) {
        Committed c{i, node.term_at(i), node.term()};
        auto it = committed_at(s.committed, c.index, c.term);
        if (it != s.committed.end() && it->index == c.index && it->term == c.term) {
          it->known_in = std::min(it->known_in, c.known_in);  // the earliest term is the strongest
        } else {
          s.committed.insert(it, c);
        }
      }
    }
    for (int id = 1; id <= n; ++id) {
      if (!s.nodes.is_up(id) || s.nodes.node(id).role() != Role::Leader) continue;
      const Node& leader = s.nodes.node(id);
      for (const Committed& c : s.committed) {
        if (leader.term() <= c.known_in) continue;
        if (c.index < leader.snapshot_index()) continue;  // in its (committed) snapshot
        if (leader.last_index() < c.index || leader.term_at(c.index) != c.term) {
          return StepError{"LeaderCompleteness",
                           "node " + std::to_string(id) + ", leader of term " +
                               std::to_string(leader.term()) + ", lacks the entry at index " +
                               std::to_string(c.index) + " (term " + std::to_string(c.term) +
                               ") committed in term " + std::to_string(c.known_in)};
        }
      }
    }
    if (b_.snapshot_every > 0) {
      if (auto err = check_snapshots(s)) return err;
    }
    // Durability (RaftKV.tla's CommittedOnMajority), what a user relies on:
    // an entry once committed is held by a majority of the servers, each in
    // its log at its index or through a snapshot covering it, crashed ones
    // included (they hold what they stored). Every majority that elects a
    // later leader then meets it. (Not with membership changes: there a
    // majority is one of a configuration; ExploreBounds::changes.)
    if (b_.changes == 0) {
      for (const Committed& c : s.committed) {
        int holders = 0;
        for (int id = 1; id <= n; ++id) {
          const Node& node = s.nodes.node(id);
          if (c.index <= node.snapshot_index() ||
              (c.index <= node.last_index() && node.term_at(c.index) == c.term)) {
            ++holders;
          }
        }
        if (holders <= n / 2) {
          return StepError{"CommittedOnMajority",
                           "the entry at index " + std::to_string(c.index) + " (term " +
                               std::to_string(c.term) + "), committed, is held by only " +
                               std::to_string(holders) + " of " + std::to_string(n) + " servers"};
        }
      }
    }
    if (!s.answers.empty()) {
      if (auto err = check_reads(s)) return err;
    }
    if (b_.sessions) return check_kv(s);
    return std::nullopt;
  }

  // Raft §7 (RaftKV.tla's SnapshotCommitted): a snapshot holds only
  // committed entries, since an uncommitted one folded into the state machine
  // could never be undone if a new leader replaced it. Every server's
  // snapshot, a crashed one's included, must end at an entry known committed
  // (in the history, with the same term); by Log Matching the whole prefix
  // it covers is then the committed one.
  std::optional<StepError> check_snapshots(const State& s) const {
    for (int id = 1; id <= ids_; ++id) {
      const Node& node = s.nodes.node(id);
      if (node.snapshot_index() == 0) continue;
      Committed key{node.snapshot_index(), node.snapshot_term(), 0};
      auto it = committed_at(s.committed, key.index, key.term);
      if (it == s.committed.end() || it->index != key.index || it->term != key.term) {
        return StepError{"SnapshotCommitted",
                         "node " + std::to_string(id) + " holds a snapshot through index " +
                             std::to_string(key.index) + " (term " + std::to_string(key.term) +
                             "), an entry no server has committed"};
      }
    }
    return std::nullopt;
  }

  // --sessions: client 1's requests, in order (MCRaftKVClient.cfg's): put a,
  // then delete a.
  static const std::vector<Command>& session_commands() {
    static const std::vector<Command> cmds{command(Op::Put, "a", "x", 1, 1),
                                           command(Op::Delete, "a", "", 1, 2)};
    return cmds;
  }

  // MCRaftKV.tla's MCCommandSeq: --network spec hands the first `commands`
  // of these to leaders, as MCCommands does.
  static const std::vector<Command>& mc_commands() {
    static const std::vector<Command> cmds{
        command(Op::Put, "a", "x", 1, 1), command(Op::Get, "a", "", 2, 1),
        command(Op::Put, "b", "y", 2, 2), command(Op::Delete, "a", "", 1, 2)};
    return cmds;
  }

  // The spec's view of `s` (--compare-tlc).
  View view(const State& s) const {
    std::vector<Message> sent;
    sent.reserve(s.net.size());
    for (const InFlight& f : s.net) sent.push_back(f.msg());
    View v = code_view(s.nodes, sent);
    v.has_history = true;
    v.elected.insert(s.leaders.begin(), s.leaders.end());
    for (const Committed& c : s.committed) v.committed.insert({c.index, c.term, c.known_in});
    v.crashes = s.crashes;
    return v;
  }

  // KVSemantics with sessions: each request takes effect at most once, and
  // never after a later request of its client took effect (exactly-once in
  // client order, §8). Written from that guarantee, not from the node's
  // dedup table: the store a node holds after applying its log's prefix
  // must be the store this reference computes from the same prefix.
  std::optional<StepError> check_kv(const State& s) const {
    for (int id = 1; id <= ids_; ++id) {
      if (!s.nodes.is_up(id)) continue;
      const Node& node = s.nodes.node(id);
      std::map<std::string, std::string> store;
      std::map<int, std::set<int64_t>> done;  // client -> seqs that took effect
      int64_t applied = std::min(node.last_applied(), node.last_index());
      for (int64_t i = 1; i <= applied; ++i) {
        const Command& c = node.entry(i).cmd;
        if (c.op == Op::Noop || c.op == Op::Config) continue;
        if (c.client != 0) {
          std::set<int64_t>& seqs = done[c.client];
          if (seqs.count(c.seq) || (!seqs.empty() && *seqs.rbegin() > c.seq)) continue;
          seqs.insert(c.seq);
        }
        if (c.op == Op::Put && !store.count(c.key)) store[c.key] = c.value;
        if (c.op == Op::Delete) store.erase(c.key);
      }
      if (store != node.store().data()) {
        auto text = [](const std::map<std::string, std::string>& m) {
          std::string t = "{";
          for (const auto& [k, v] : m) t += (t.size() > 1 ? ", " : "") + k + "=" + v;
          return t + "}";
        };
        return StepError{"KVSemantics",
                         "node " + std::to_string(id) + " holds " + text(node.store().data()) +
                             " after applying " + std::to_string(applied) +
                             " entries; exactly-once in client order gives " + text(store)};
      }
    }
    return std::nullopt;
  }

  // Linearizable reads: a get answered with the value k1 has after the
  // committed prefix 1..i of the log, for some i from the highest index
  // known committed anywhere when the get arrived (lo) to the highest known
  // committed once it is answered (hi): it sees every write that completed
  // before it began, and none that was not yet committed when it ended.
  // From the guarantee, not from the read index the node chose.
  std::optional<StepError> check_reads(State& s) const {
    int64_t hi = s.committed.empty() ? 0 : s.committed.back().index;
    // The committed log through hi: the prefix of any log holding the entry
    // committed at hi (Log Matching makes them one), a crashed node's too.
    const Node* holder = nullptr;
    for (int id = 1; id <= ids_ && hi > 0; ++id) {
      const Node& node = s.nodes.node(id);
      if (node.last_index() >= hi && node.term_at(hi) == s.committed.back().term) {
        holder = &node;
        break;
      }
    }
    for (const auto& [seq, result] : s.answers) {
      auto slot = static_cast<size_t>(seq - 1);
      if (seq < 1 || slot >= s.read_lo.size()) continue;  // not a get --reads sent
      int64_t lo = s.read_lo[slot];
      s.read_lo[slot] = -1;
      if (lo < 0 || (hi > 0 && holder == nullptr)) continue;  // answered twice; no log to judge by
      std::optional<std::string> value;  // k1's value after 1..i (none: absent)
      std::set<std::pair<Status, std::string>> allowed;
      auto note = [&] {
        allowed.insert(value ? std::make_pair(Status::Ok, *value)
                             : std::make_pair(Status::NotFound, std::string()));
      };
      if (lo == 0) note();
      for (int64_t i = 1; i <= hi; ++i) {
        const Command& c = holder->entry(i).cmd;
        // The seed's KV semantics: a put fails if the key exists, a delete
        // if it is missing; gets and no-ops change nothing.
        if (c.key == "k1" && c.op == Op::Put && !value) value = c.value;
        if (c.key == "k1" && c.op == Op::Delete) value.reset();
        if (i >= lo) note();
      }
      if (!allowed.count({result.status, result.value})) {
        std::string got =
            result.status == Status::Ok ? "\"" + result.value + "\"" : to_string(result.status);
        return StepError{"Linearizability",
                         "the get of k1 (client " + std::to_string(kReadClient) + ", seq " +
                             std::to_string(seq) + ") was answered " + got +
                             ", which k1 held after none of the committed prefixes 1.." +
                             std::to_string(lo) + " to 1.." + std::to_string(hi) +
                             " (committed when it arrived, when it was answered)"};
      }
    }
    s.answers.clear();
    return std::nullopt;
  }

  bool past_bounds(const State& s) const {
    if (static_cast<int>(s.net.size()) > b_.max_msgs) return true;
    if (b_.shape == ExploreBounds::Shape::Figure8 && !figure8_shape(s)) return true;
    if (b_.shape == ExploreBounds::Shape::Change && !change_shape(s)) return true;
    if (b_.shape == ExploreBounds::Shape::Lease && !lease_shape(s)) return true;
    for (int id = 1; id <= ids_; ++id) {
      const Node& node = s.nodes.node(id);
      if (node.term() > b_.max_term || node.last_index() > b_.max_log) return true;
    }
    return false;
  }

  // Figure 8 of the Raft paper on three servers, as MCRaftKV.tla's
  // MCFig8Constraint directs TLC: one candidate per term; the leader of term
  // 1 stands again in term 3 and the leader of term 2 in term 4, the
  // candidate of term 2 being another server; log entries only of terms 1
  // and 2; no server but its leader holds the entry of term 2, nor, before
  // term 3, the entry of term 1. Every state explored is reachable by the
  // code (the shape only prunes), so a violation found is a real one.
  bool figure8_shape(const State& s) const {
    auto led = [&s](int64_t term, int id) { return led_term(s, term, id); };
    for (size_t i = 0; i < s.stood.size(); ++i) {
      auto [term, id] = s.stood[i];
      if (i > 0 && s.stood[i - 1].first == term) return false;  // two candidates in a term
      if (term == 2 && led(1, id)) return false;
      if (term == 3 && !led(1, id)) return false;
      if (term == 4 && !led(2, id)) return false;
    }
    for (int id = 1; id <= ids_; ++id) {
      const Node& node = s.nodes.node(id);
      for (const Entry& e : node.log()) {
        if (e.term != 1 && e.term != 2) return false;
        if (e.term == 2 && !led(2, id)) return false;
        if (e.term == 1 && node.term() < 3 && !led(1, id)) return false;
      }
    }
    return true;
  }

  // The single-server-change bug's shape (the change preset), as
  // figure8_shape directs Figure 8's: S1 alone stands in term 1 and, once it
  // led term 1, S2 alone in term 2; once S2 led term 2, S1 alone in term 3
  // (naming the two candidates breaks the servers' symmetry by hand: any
  // other pair behaves alike up to names); no server but S1 holds an entry
  // of term 1 (the configuration it changed to stays its own).
  bool change_shape(const State& s) const {
    auto led = [&s](int64_t term, int id) { return led_term(s, term, id); };
    for (auto [term, id] : s.stood) {
      if (term == 1 && id != 1) return false;
      if (term == 2 && (id != 2 || !led(1, 1))) return false;
      if (term == 3 && (id != 1 || !led(2, 2))) return false;
    }
    for (int id = 2; id <= ids_; ++id) {
      const Node& node = s.nodes.node(id);
      if (node.last_index() >= 1 && node.term_at(1) == 1) return false;
    }
    return true;
  }

  // A lease outliving its promise (the lease preset): S1 (the slowest clock)
  // alone stands in term 1 and, once it led term 1, S3 (the fastest) alone
  // in term 2; S2 holds no entry of term 1 before term 2 (so that it can
  // vote for S3 whatever S3 holds), and every entry of term 1 is a no-op
  // (the put goes to the leader of term 2).
  bool lease_shape(const State& s) const {
    auto led = [&s](int64_t term, int id) { return led_term(s, term, id); };
    for (auto [term, id] : s.stood) {
      if (term == 1 && id != 1) return false;
      if (term == 2 && (id != b_.servers || !led(1, 1))) return false;
    }
    for (int id = 1; id <= ids_; ++id) {
      const Node& node = s.nodes.node(id);
      for (int64_t i = 1; i <= node.last_index(); ++i) {
        if (node.term_at(i) != 1) continue;
        if ((id == 2 && node.term() < 2) || node.entry(i).cmd.op != Op::Noop) return false;
      }
    }
    return true;
  }

  // The canonical encoding of a state: equal for states that behave the same.
  // With symmetry reduction (ExploreBounds::symmetry), the least of the
  // encodings under the renamings of the servers that list them in the order
  // of their features (features()), so that states that differ only in the
  // servers' names, which behave the same up to those names, encode the same.
  // Why trying only those renamings is enough: renaming a state by p moves
  // each server's features to its new name, so the renamings tried for the
  // renamed state are exactly those tried for the original composed with p's
  // inverse, and they give the same encodings, hence the same least one.
  // (Every renaming, as at first, gives the same counts, but costs n! encodings
  // per state where this mostly costs one.) The result lives until the next call.
  const std::string& encode(const State& s) const {
    std::string& least = scratch_[0];
    least.clear();
    if (!b_.symmetry) {
      encode(s, nullptr, least);
      return least;
    }
    std::vector<Features>& f = features_;
    f.resize(static_cast<size_t>(b_.servers) + 1);
    for (int id = 1; id <= b_.servers; ++id) f[static_cast<size_t>(id)] = features(s, id);
    std::string& other = scratch_[1];
    bool first = true;
    for (const Renaming& r : renamings_) {
      bool ordered = true;
      for (int slot = 1; slot < b_.servers && ordered; ++slot) {
        ordered = f[static_cast<size_t>(r.from[static_cast<size_t>(slot)])] <=
                  f[static_cast<size_t>(r.from[static_cast<size_t>(slot) + 1])];
      }
      if (!ordered) continue;
      std::string& out = first ? least : other;
      out.clear();
      encode(s, &r, out);
      if (!first && other < least) least.swap(other);
      first = false;
    }
    return least;
  }

  // Appends the encoding of `s` with its servers renamed by `r` (none: as
  // named) to `out`.
  void encode(const State& s, const Renaming* r, std::string& out) const {
    auto id = [r](int x) { return r != nullptr && x > 0 ? r->to[static_cast<size_t>(x)] : x; };
    for (int slot = 1; slot <= ids_; ++slot) {
      // The server that takes the name `slot`.
      int sid = r != nullptr ? r->from[static_cast<size_t>(slot)] : slot;
      const Node& node = s.nodes.node(sid);
      if (!booted(s, sid)) {
        put_int(out, 2);  // a joiner yet to boot: nothing but its id
      } else if (s.nodes.is_up(sid)) {
        put_int(out, 1);
        node.encode_state(out, r != nullptr ? &r->to : nullptr);
        // A leader's votes are dead state (only a candidate counts them), so
        // the node's encoding leaves them out; RaftKV keeps them, and TLC
        // tells apart states that differ in them only. On the spec's network
        // explore does too, so that its states are the spec's.
        if (b_.spec_network && node.role() == Role::Leader) {
          std::vector<int> votes;
          for (int v : node.votes_granted()) votes.push_back(id(v));
          std::sort(votes.begin(), votes.end());
          for (int v : votes) put_int(out, v);
        }
      } else {
        // A crashed node is what its storage holds (Figure 2's persistent
        // state): after every step the node's term, vote and log are the
        // stored ones, and a restart reads nothing else.
        put_int(out, 0);
        put_int(out, node.term());
        put_int(out, id(node.vote()));
        put_int(out, static_cast<int64_t>(node.log().size()));
        for (const Entry& e : node.log()) put_entry(out, e);
        if (b_.snapshot_every > 0) {  // and the snapshot it stored (§7)
          put_int(out, node.snapshot_index());
          put_int(out, node.snapshot_term());
          put_str(out, node.snapshot() ? node.snapshot()->data : std::string());
        }
      }
    }
    put_int(out, static_cast<int64_t>(s.net.size()));
    if (r == nullptr) {
      for (const InFlight& f : s.net) put_str(out, f.key());
    } else {
      // The renamed messages, sorted again: the network is a multiset.
      auto which = static_cast<size_t>(r - renamings_.data());
      std::vector<const std::string*> keys;
      keys.reserve(s.net.size());
      for (const InFlight& f : s.net) keys.push_back(&f.renamed_key(which));
      std::sort(keys.begin(), keys.end(),
                [](const std::string* p, const std::string* q) { return *p < *q; });
      for (const std::string* k : keys) put_str(out, *k);
    }
    put_int(out, s.crashes);
    put_int(out, s.transfers);
    put_int(out, s.changes);
    if (b_.lease) {  // (no renaming: no symmetry reduction with clocks)
      put_int(out, s.time_ms);
      put_int(out, s.ticks);
      // Only the timers that can fire: a follower's or candidate's election
      // timer, a leader's quorum check (a node that steps down or restarts
      // arms its election timer anew).
      for (int id = 1; id <= ids_; ++id) {
        bool leads = s.nodes.is_up(id) && s.nodes.node(id).role() == Role::Leader;
        put_int(out, !s.nodes.is_up(id) ? -1
                     : leads            ? s.quorum_due_ms[static_cast<size_t>(id)]
                                        : s.election_due_ms[static_cast<size_t>(id)]);
      }
    }
    put_int(out, static_cast<int64_t>(s.read_lo.size()));
    for (int64_t lo : s.read_lo) put_int(out, lo);
    put_int(out, s.issued);
    put_int(out, s.introduced);
    auto put_pairs = [&](const std::vector<std::pair<int64_t, int>>& pairs) {
      std::vector<std::pair<int64_t, int>> renamed = pairs;
      for (auto& [term, who] : renamed) who = id(who);
      if (r != nullptr) std::sort(renamed.begin(), renamed.end());
      put_int(out, static_cast<int64_t>(renamed.size()));
      for (const auto& [term, who] : renamed) {
        put_int(out, term);
        put_int(out, who);
      }
    };
    put_pairs(s.leaders);
    put_pairs(s.stood);
    put_int(out, static_cast<int64_t>(s.committed.size()));
    for (const Committed& c : s.committed) {
      put_int(out, c.index);
      put_int(out, c.term);
      put_int(out, c.known_in);
    }
    put_int(out, static_cast<int64_t>(s.applied.size()));
    for (const std::string& e : s.applied) put_str(out, e);
    if (b_.check_quorum) {
      for (int slot = 1; slot <= b_.servers; ++slot) {
        int sid = r != nullptr ? r->from[static_cast<size_t>(slot)] : slot;
        uint32_t mask = s.answered[static_cast<size_t>(sid)], renamed = 0;
        for (int j = 1; j <= b_.servers; ++j) {
          if (mask & (1u << j)) renamed |= 1u << id(j);
        }
        put_int(out, renamed);
      }
    }
  }

  // What a server is in state `s` that no renaming of the servers changes
  // (no server id is among it), read only from what encode() writes, so that
  // states that encode the same have the same features: whether it runs, its
  // term, log length, last log term, whether it voted for itself; while it
  // runs, its role, commit and applied indices; and how many in-flight
  // messages it sent and is sent.
  using Features = std::array<int64_t, 9>;
  Features features(const State& s, int id) const {
    const Node& node = s.nodes.node(id);
    Features f{};
    f[0] = s.nodes.is_up(id) ? 1 : 0;
    f[1] = node.term();
    f[2] = node.last_index();
    f[3] = node.last_term();
    f[4] = node.vote() == id ? 1 : 0;
    if (s.nodes.is_up(id)) {  // a crashed node is only its storage (see encode)
      f[5] = static_cast<int64_t>(node.role());
      f[6] = node.commit_index();
      f[7] = node.last_applied();
    }
    for (const InFlight& m : s.net) {
      if (m.msg().from == id) f[8] += 1;
      if (m.msg().to == id) f[8] += 1 << 16;
    }
    return f;
  }

  std::string header(const PlantedBugs& bugs) const {
    std::string out =
        "{\"format\":\"raftkv-scenario\",\"version\":1,\"config\":{\"num_nodes\":" +
        std::to_string(b_.servers) + ",\"leader_noop\":" + (b_.leader_noop ? "true" : "false") +
        (b_.sessions ? ",\"num_clients\":1" : "") + (b_.pre_vote ? ",\"pre_vote\":true" : "") +
        (b_.check_quorum ? ",\"check_quorum\":true" : "") +
        (b_.lease
             ? ",\"read_mode\":\"lease\",\"clock_drift_ppm\":" + std::to_string(b_.clock_drift_ppm)
         : b_.read_index ? ",\"read_mode\":\"read_index\""
                         : "") +
        (b_.reads > 0 ? ",\"num_clients\":2" : "") +
        (b_.snapshot_every > 0 ? ",\"snapshot_every\":" + std::to_string(b_.snapshot_every) : "") +
        joins() + "},\"planted_bugs\":[";
    bool first = true;
    for (const std::string& name : planted_bug_list(bugs)) {
      out += (first ? "\"" : ",\"") + name + "\"";
      first = false;
    }
    return out + "]}\n";
  }

 private:
  // The step's messages join the network; client replies go to clients,
  // which are not emulated (a scenario never delivers them), but they take
  // an id as in replay.
  void add_sends(State& s, Effects& fx, IdTracker* ids) const {
    for (Message& m : fx.messages) {
      int64_t mid = ids != nullptr ? ids->next++ : 0;
      if (m.type == MsgType::ClientReply) continue;
      m.id = 0;
      std::string key = message_key(m);
      std::vector<std::string> renamed;
      renamed.reserve(renamings_.size());
      for (const Renaming& r : renamings_) renamed.push_back(renamed_key(key, m, r));
      InFlight f(std::move(key), std::move(m), std::move(renamed));
      auto it =
          std::upper_bound(s.net.begin(), s.net.end(), f,
                           [](const InFlight& p, const InFlight& q) { return p.key() < q.key(); });
      // RaftKV's msgs is a set: a message sent again is the one already
      // there (a scenario names it by its first id).
      if (b_.spec_network && it != s.net.begin() && (it - 1)->key() == f.key()) continue;
      if (ids != nullptr) ids->in_flight.emplace(f.key(), mid);
      s.net.insert(it, std::move(f));
    }
  }

  // State Machine Safety: if a server has applied a log entry at a given
  // index, no other server ever applies a different entry there (and the
  // same server, after a restart, applies the same one again). `before`
  // (with snapshots): the node before the step, whose log still holds the
  // entries the step applied and then compacted into a snapshot. Entries a
  // step brought in through an installed snapshot are in no log here (the
  // log before the step holds them only if it agrees with the snapshot's
  // last entry); the snapshot is judged by SnapshotCommitted instead.
  static std::optional<StepError> record_applied(State& s, int id, int64_t from,
                                                 const Node* before) {
    const Node& node = s.nodes.node(id);
    if (before != nullptr && before->term_at(node.snapshot_index()) != node.snapshot_term()) {
      before = nullptr;
    }
    auto holds = [](const Node& n, int64_t i) {
      return i > n.snapshot_index() && i <= n.last_index();
    };
    for (int64_t i = from + 1; i <= node.last_applied(); ++i) {
      const Node* holder = holds(node, i)                           ? &node
                           : before != nullptr && holds(*before, i) ? before
                                                                    : nullptr;
      // Applied, then lost from the log, or installed: nothing to compare.
      if (holder == nullptr) continue;
      std::string e;
      put_entry(e, holder->entry(i));
      auto slot = static_cast<size_t>(i - 1);
      if (s.applied.size() <= slot) s.applied.resize(slot + 1);
      if (s.applied[slot].empty()) {
        s.applied[slot] = std::move(e);
      } else if (s.applied[slot] != e) {
        return StepError{"StateMachineSafety", "node " + std::to_string(id) +
                                                   " applied a different entry at index " +
                                                   std::to_string(i) + " than another node did"};
      }
    }
    return std::nullopt;
  }

  // --lease: time moves by one minimum election timeout (the default
  // [timing]'s, which a scenario's replay uses too).
  static constexpr int64_t kElectionMinMs = TimingConfig{}.election_timeout_min_ms;

  // Has server id booted? A joiner boots at its join input, the others at
  // the start.
  bool booted(const State& s, int id) const {
    return id <= b_.servers || (s.joined & (1u << id)) != 0;
  }

  // The scenario header's "joins" (the joiners' ids), or nothing.
  std::string joins() const {
    if (b_.joiners == 0) return "";
    std::string out = ",\"joins\":[";
    for (int j = b_.servers + 1; j <= ids_; ++j) {
      out += (j > b_.servers + 1 ? "," : "") + std::to_string(j);
    }
    return out + "]";
  }

  ExploreBounds b_;
  int ids_;  // the highest server id: the servers, then the joiners
  NodeClocks clocks_;
  NodeOptions options_;
  std::vector<Renaming> renamings_;  // with symmetry: every renaming of the servers
  // encode()'s buffers, kept for their capacity.
  mutable std::string scratch_[2];
  mutable std::vector<Features> features_;
};

struct Key {
  uint64_t a = 0, b = 0;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    return static_cast<size_t>(k.a ^ (k.b * 0x9e3779b97f4a7c15ull));
  }
};

// A second hash of the encoding, eight bytes at a time (FNV-1a's byte at a
// time was a quarter of explore's time): each word is multiplied in, the
// state rotated, and the result mixed by MurmurHash3's finalizer.
uint64_t word_hash(std::string_view bytes) {
  constexpr uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
  uint64_t h = 0x27d4eb2f165667c5ull ^ (bytes.size() * k1);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h ^= w * k2;
    h = ((h << 31) | (h >> 33)) * k1;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  h ^= tail * k2;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// Two independent 64-bit hashes of the encoding (libstdc++'s murmur-based
// one and word_hash): a collision of both (two different states taken for
// one) has odds near 2^-128 per pair.
Key key_of(const std::string& bytes) {
  return Key{std::hash<std::string_view>{}(bytes), word_hash(bytes)};
}

}  // namespace

ExploreResult explore(const ExploreBounds& bounds, const PlantedBugs& bugs,
                      const std::function<void(int64_t, int64_t)>& progress,
                      const std::function<void(const View&)>& on_view) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Explorer ex(bounds, bugs);
  ExploreResult r;
  std::unordered_set<Key, KeyHash> seen;
  std::vector<Record> records;
  std::deque<State> queue;

  auto finish = [&] {
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.distinct = static_cast<int64_t>(seen.size());
    // The visited set (a key and the hash node's next pointer and cached
    // hash per state, one bucket pointer per bucket) and the path records.
    double bytes = static_cast<double>(seen.size()) * (sizeof(Key) + 2 * sizeof(void*)) +
                   static_cast<double>(seen.bucket_count()) * sizeof(void*) +
                   static_cast<double>(records.capacity()) * sizeof(Record);
    r.bytes_per_state = r.distinct > 0 ? bytes / static_cast<double>(r.distinct) : 0;
  };

  // Rebuilds the path to record `rec` from the initial state as a scenario,
  // naming each message by the id replay will give it.
  auto scenario_of = [&](int64_t rec, const Action* last) {
    std::vector<Action> path;
    if (last != nullptr) path.push_back(*last);
    for (int64_t i = rec; records[static_cast<size_t>(i)].parent >= 0;
         i = records[static_cast<size_t>(i)].parent) {
      path.push_back(records[static_cast<size_t>(i)].action);
    }
    std::reverse(path.begin(), path.end());
    IdTracker ids;
    State s = ex.initial();
    for (const Action& a : path) {
      if (ex.apply(s, a, &ids)) break;  // the step that breaks a rule is the last
    }
    return ex.header(bugs) + ids.lines;
  };

  auto report = [&](const StepError& e, int64_t depth, int64_t parent_rec, const Action& a) {
    r.violation = true;
    r.invariant = e.invariant;
    r.detail = e.detail;
    r.violation_depth = depth;
    r.scenario = scenario_of(parent_rec, &a);
    finish();
    return r;
  };

  {
    State s0 = ex.initial();
    seen.insert(key_of(ex.encode(s0)));
    if (on_view) on_view(ex.view(s0));
    records.push_back(Record{});
    s0.record = 0;
    queue.push_back(std::move(s0));
  }
  int64_t expanded = 0;
  while (!queue.empty()) {
    if (bounds.max_states > 0 && static_cast<int64_t>(seen.size()) >= bounds.max_states) {
      r.complete = false;
      break;
    }
    if (bounds.time_limit_s > 0 &&
        std::chrono::duration<double>(Clock::now() - start).count() > bounds.time_limit_s) {
      r.complete = false;
      break;
    }
    // Breadth-first keeps a whole frontier of states (a few kilobytes each)
    // in memory; depth-first only a path's worth of successors.
    State cur = std::move(bounds.depth_first ? queue.back() : queue.front());
    if (bounds.depth_first) {
      queue.pop_back();
    } else {
      queue.pop_front();
    }
    ++expanded;
    if (progress && (expanded & 255) == 0) progress(expanded, static_cast<int64_t>(seen.size()));
    if (bounds.max_depth > 0 && cur.depth >= bounds.max_depth) {
      r.complete = false;
      continue;
    }
    for (const Action& a : ex.enabled(cur)) {
      State next = cur;  // the parent's state, which the input then changes
      next.record = 0;
      ++r.transitions;
      std::optional<StepError> err = ex.apply(next, a, nullptr);
      if (!err) err = ex.check(next);
      if (err) return report(*err, cur.depth + 1, cur.record, a);
      // On the spec's network, as TLC does with a state outside MCConstraint,
      // a successor past the bounds is checked (above) but neither kept nor
      // counted among the distinct states: r.pruned counts such successors.
      if (bounds.spec_network && ex.past_bounds(next)) {
        ++r.pruned;
        continue;
      }
      Key k = key_of(ex.encode(next));
      if (!seen.insert(k).second) continue;
      r.max_depth = std::max(r.max_depth, next.depth);
      next.record = static_cast<int64_t>(records.size());
      records.push_back(Record{cur.record, a});
      if (ex.past_bounds(next)) {
        ++r.pruned;  // checked above; not expanded
        continue;
      }
      if (on_view) on_view(ex.view(next));
      queue.push_back(std::move(next));
    }
  }
  finish();
  return r;
}

namespace {

// --compare-tlc: the views TLC wrote (spec/MCRaftKVView.tla), one JSON line
// `{"node": ..., "msgs": ...}` per distinct state within the bounds, are
// compared with the views of the states explore reaches, as sets of hashes
// of their canonical forms (up to the servers' names if TLC used symmetry).
class ViewComparison {
 public:
  ViewComparison(const std::string& path, const ExploreBounds& b, bool symmetric)
      : path_(path), b_(b), symmetric_(symmetric) {}

  std::string canon(const View& v) const {
    return symmetric_ ? canonical_up_to_symmetry(v) : canonical(v);
  }

  // Reads TLC's views; false (the message written to err) on bad input.
  // With `wanted`, reads the file again and keeps the canonical form of the
  // views whose key is in it (to show a difference).
  bool read(std::ostream& err, const std::unordered_set<Key, KeyHash>* wanted = nullptr,
            std::vector<std::string>* found = nullptr) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      err << "raftkv explore: cannot read '" << path_ << "'\n";
      return false;
    }
    SpecReader reader(path_);
    std::string line;
    int64_t lines = 0;
    try {
      while (std::getline(in, line)) {
        ++lines;
        std::string where = "line " + std::to_string(lines);
        nlohmann::json vars = nlohmann::json::parse(line, nullptr, false);
        if (vars.is_discarded() || !vars.is_object()) {
          throw ImportInputError(path_ + ": " + where + ": not a JSON object");
        }
        if (lines == 1) {
          reader.learn_servers(reader.field(vars, "node", where), where + ".node");
          if (reader.servers() != b_.servers) {
            throw ImportInputError(path_ + ": " + where + ": TLC's states have " +
                                   std::to_string(reader.servers()) + " servers, explore " +
                                   std::to_string(b_.servers) + " (--servers)");
          }
        }
        View v = reader.view(vars, where, true);
        // MCRaftKVView.tla writes only states within MCConstraint: one
        // outside explore's bounds means the bounds differ.
        bool outside = static_cast<int>(v.msgs.size()) > b_.max_msgs;
        for (const ViewNode& n : v.nodes) {
          if (n.term > b_.max_term ||
              static_cast<int64_t>(nlohmann::json::parse(n.log).size()) > b_.max_log) {
            outside = true;
          }
        }
        if (outside) {
          throw ImportInputError(path_ + ": " + where +
                                 ": a state outside explore's bounds (--max-term, --max-log, "
                                 "--max-msgs): were TLC's bounds the same?");
        }
        std::string c = canon(v);
        Key k = key_of(c);
        if (wanted == nullptr) {
          keys_.insert(k);
        } else if (wanted->count(k) && found->size() < 3) {
          found->push_back(c);
        }
      }
    } catch (const ImportInputError& e) {
      err << "raftkv explore: " << e.what() << '\n';
      return false;
    }
    if (lines == 0) {
      err << "raftkv explore: " << path_ << ": empty (no state of TLC's)\n";
      return false;
    }
    lines_ = lines;
    return true;
  }

  const std::unordered_set<Key, KeyHash>& tlc() const { return keys_; }
  int64_t lines() const { return lines_; }

 private:
  std::string path_;
  ExploreBounds b_;
  bool symmetric_;
  std::unordered_set<Key, KeyHash> keys_;
  int64_t lines_ = 0;
};

}  // namespace

int explore_command(const ExploreOptions& opts, std::ostream& out, std::ostream& err) {
  ExploreBounds b;
  if (!explore_preset(opts.preset, &b)) {
    err << "raftkv explore: --preset must be small, figure8, client, change or lease, got '"
        << opts.preset << "'\n";
    return 2;
  }
  // Each flag given overrides the preset's value; each is checked alone, and
  // a bad one is named (exit 2).
  auto bad = [&](const char* flag, const std::string& want, const std::string& got) {
    err << "raftkv explore: " << flag << " must be " << want << ", got " << got << '\n';
    return 2;
  };
  // A TLC config's bounds come next (MCRaftKV's names), then the flags.
  bool cfg_symmetry = false;  // the config has SYMMETRY
  PlantedBugs cfg_bugs;
  if (!opts.tlc_config.empty()) {
    ImportSettings st;
    if (!load_tlc_config(opts.tlc_config, "explore", st, err)) return 2;
    if ((st.pre_vote || st.check_quorum) && !opts.compare_tlc.empty()) {
      // The view leaves out pvotes, live and heard, which vary with these.
      err << "raftkv explore: " << opts.tlc_config
          << ": --compare-tlc does not cover PreVote or CheckQuorum (their variables are not in "
             "the view); explore such a config without it\n";
      return 2;
    }
    const struct {
      const char* constant;
      int64_t lo, hi;
    } need[] = {{"MaxTerm", 1, 100},
                {"MaxLogLen", 0, 100},
                {"MaxMsgs", 1, 1000},
                {"MaxCrashes", 0, 100},
                {"NumCommands", 0, 4}};
    for (const auto& n : need) {
      auto it = st.numbers.find(n.constant);
      if (it == st.numbers.end() || it->second < n.lo || it->second > n.hi) {
        err << "raftkv explore: " << opts.tlc_config << ": " << n.constant << " must be given, "
            << n.lo << ".." << n.hi << '\n';
        return 2;
      }
    }
    if (st.servers < 1 || st.servers > 9) {
      err << "raftkv explore: " << opts.tlc_config << ": Server must be a set of 1..9 servers\n";
      return 2;
    }
    b.servers = st.servers;
    b.max_term = st.numbers["MaxTerm"];
    b.max_log = st.numbers["MaxLogLen"];
    b.max_msgs = static_cast<int>(st.numbers["MaxMsgs"]);
    b.max_crashes = static_cast<int>(st.numbers["MaxCrashes"]);
    b.commands = static_cast<int>(st.numbers["NumCommands"]);
    b.leader_noop = st.leader_noop;
    b.pre_vote = st.pre_vote;
    b.check_quorum = st.check_quorum;
    b.spec_network = true;
    cfg_bugs = st.bugs;
    cfg_symmetry = st.symmetry;
  }
  if (opts.servers != -1) {
    if (opts.servers < 1 || opts.servers > 9) {
      return bad("--servers", "1..9", std::to_string(opts.servers));
    }
    b.servers = opts.servers;
  }
  if (opts.max_term != -1) {
    if (opts.max_term < 1 || opts.max_term > 100) {
      return bad("--max-term", "1..100", std::to_string(opts.max_term));
    }
    b.max_term = opts.max_term;
  }
  if (opts.max_log != -1) {
    if (opts.max_log < 0 || opts.max_log > 100) {
      return bad("--max-log", "0..100", std::to_string(opts.max_log));
    }
    b.max_log = opts.max_log;
  }
  if (opts.max_msgs != -1) {
    if (opts.max_msgs < 1 || opts.max_msgs > 1000) {
      return bad("--max-msgs", "1..1000", std::to_string(opts.max_msgs));
    }
    b.max_msgs = opts.max_msgs;
  }
  if (opts.max_crashes != -1) {
    if (opts.max_crashes < 0 || opts.max_crashes > 100) {
      return bad("--max-crashes", "0..100", std::to_string(opts.max_crashes));
    }
    b.max_crashes = opts.max_crashes;
  }
  if (opts.commands != -1) {
    if (opts.commands < 0 || opts.commands > 100) {
      return bad("--commands", "0..100", std::to_string(opts.commands));
    }
    b.commands = opts.commands;
  }
  if (!opts.leader_noop.empty()) {
    if (opts.leader_noop != "true" && opts.leader_noop != "false") {
      return bad("--leader-noop", "true or false", "'" + opts.leader_noop + "'");
    }
    b.leader_noop = opts.leader_noop == "true";
  }
  if (opts.sessions) b.sessions = true;
  if (opts.reads != -1) {
    if (opts.reads < 0 || opts.reads > 100) {
      return bad("--reads", "0..100", std::to_string(opts.reads));
    }
    b.reads = opts.reads;
  }
  if (opts.read_index) b.read_index = true;
  if ((b.reads > 0 || b.read_index) && (b.sessions || b.spec_network || !opts.network.empty() ||
                                        !opts.tlc_config.empty() || !opts.compare_tlc.empty())) {
    err << "raftkv explore: --reads and --read-index run on the runtime's network with client "
           "0's puts; they take neither --sessions nor the spec's network (--network spec, --cfg, "
           "--compare-tlc)\n";
    return 2;
  }
  if (opts.snapshot_every != -1) {
    if (opts.snapshot_every < 0 || opts.snapshot_every > 100) {
      return bad("--snapshot-every", "0..100", std::to_string(opts.snapshot_every));
    }
    b.snapshot_every = opts.snapshot_every;
  }
  if (b.snapshot_every > 0 &&
      (b.sessions || b.reads > 0 || opts.transfers > 0 || b.spec_network || !opts.network.empty() ||
       !opts.tlc_config.empty() || !opts.compare_tlc.empty())) {
    err << "raftkv explore: --snapshot-every runs on the runtime's network with client 0's "
           "puts; it takes neither --sessions, --reads, --transfers nor the spec's network "
           "(--network spec, --cfg, --compare-tlc)\n";
    return 2;
  }
  if (opts.transfers != -1) {
    if (opts.transfers < 0 || opts.transfers > 100) {
      return bad("--transfers", "0..100", std::to_string(opts.transfers));
    }
    b.transfers = opts.transfers;
  }
  if (opts.changes != -1) {
    if (opts.changes < 0 || opts.changes > 100) {
      return bad("--changes", "0..100", std::to_string(opts.changes));
    }
    b.changes = opts.changes;
  }
  if (opts.joiners != -1) {
    if (opts.joiners > 3) return bad("--joiners", "0..3", std::to_string(opts.joiners));
    if (opts.joiners > 0 && b.changes == 0) {
      err << "raftkv explore: --joiners are servers a leader is asked to add: give --changes "
             "too\n";
      return 2;
    }
    if (b.servers + opts.joiners > 9) {
      return bad("--servers plus --joiners", "at most 9", std::to_string(b.servers + opts.joiners));
    }
    b.joiners = opts.joiners;
  }
  if (opts.pre_vote) b.pre_vote = true;
  if (opts.check_quorum) b.check_quorum = true;
  if ((b.pre_vote || b.check_quorum) && !opts.compare_tlc.empty()) {
    err << "raftkv explore: --compare-tlc does not cover --pre-vote or --check-quorum (their "
           "variables are not in the view)\n";
    return 2;
  }
  if (!opts.network.empty() && opts.network != "runtime" && opts.network != "spec") {
    return bad("--network", "runtime or spec", "'" + opts.network + "'");
  }
  if (opts.network == "runtime" && !opts.compare_tlc.empty()) {
    err << "raftkv explore: --compare-tlc needs the spec's network (--network spec)\n";
    return 2;
  }
  if (opts.network == "runtime" && !opts.tlc_config.empty()) {
    err << "raftkv explore: --cfg runs the spec's model, on its network (--network spec)\n";
    return 2;
  }
  b.spec_network = b.spec_network || opts.network == "spec" || !opts.compare_tlc.empty();
  if (b.spec_network && (b.sessions || b.shape != ExploreBounds::Shape::None)) {
    err << "raftkv explore: --network spec runs MCRaftKV's commands; it takes neither "
           "--sessions nor a directed preset (figure8, change, lease)\n";
    return 2;
  }
  if (opts.lease) b.lease = true;
  if (b.lease && b.ticks == 0) b.ticks = 4;
  if (b.lease) {
    // Thesis §6.4.1: a lease is a read-index read that skips its round while
    // it lasts; the config requires check_quorum with it.
    b.check_quorum = b.read_index = true;
    if (b.reads == 0) {
      err << "raftkv explore: --lease serves --reads' gets: give --reads N (N >= 1)\n";
      return 2;
    }
  }
  if (opts.ticks != -1) {
    if (!b.lease) {
      err << "raftkv explore: --ticks is time for --lease's clocks; give --lease too\n";
      return 2;
    }
    if (opts.ticks > 100) return bad("--ticks", "0..100", std::to_string(opts.ticks));
    b.ticks = opts.ticks;
  }
  if (opts.clock_drift_ppm != -1) {
    if (!b.lease) {
      err << "raftkv explore: --clock-drift-ppm is the drift of --lease's clocks; give --lease "
             "too\n";
      return 2;
    }
    if (opts.clock_drift_ppm > 500000) {
      return bad("--clock-drift-ppm", "0..500000", std::to_string(opts.clock_drift_ppm));
    }
    b.clock_drift_ppm = opts.clock_drift_ppm;
  }
  if (b.lease && (b.changes > 0 || b.snapshot_every > 0 || b.spec_network || opts.symmetry ||
                  cfg_symmetry || b.sessions)) {
    // Clocks tell the servers apart (no renaming), and the gets --reads sends
    // are what a lease serves.
    err << "raftkv explore: --lease runs on the runtime's network with client 0's puts and "
           "--reads' gets; it takes neither --sessions, --changes, --snapshot-every, --symmetry "
           "nor the spec's network (--network spec, --cfg, --compare-tlc)\n";
    return 2;
  }
  if (b.changes > 0 &&
      (b.check_quorum || b.snapshot_every > 0 || b.spec_network || opts.symmetry || cfg_symmetry)) {
    // The quorum check and snapshots count a majority of all the servers,
    // and a renaming would have to rename the members inside every
    // configuration entry in flight; none of them knows configurations yet.
    err << "raftkv explore: --changes runs on the runtime's network; it takes neither "
           "--check-quorum, --snapshot-every, --symmetry nor the spec's network (--network "
           "spec, --cfg, --compare-tlc)\n";
    return 2;
  }
  if (opts.max_depth < 0) return bad("--max-depth", "at least 0", std::to_string(opts.max_depth));
  b.max_depth = opts.max_depth;
  b.depth_first = opts.depth_first;
  if (b.depth_first && b.max_depth > 0) {
    // A state first reached deep would not be expanded again when reached
    // by a shorter path, so a depth limit would cut states it need not.
    err << "raftkv explore: --depth-first and --max-depth do not go together\n";
    return 2;
  }
  if (!(opts.time_limit_s >= 0)) {
    return bad("--time-limit-s", "at least 0", std::to_string(opts.time_limit_s));
  }
  b.time_limit_s = opts.time_limit_s;
  if (opts.max_states < 0) {
    return bad("--max-states", "at least 0", std::to_string(opts.max_states));
  }
  b.max_states = opts.max_states;
  std::optional<PlantedBugs> planted = parse_planted_bugs(opts.planted_bugs, "explore", err);
  if (!planted) return 2;
  // The config's planted bugs (DedupLastSeqOnly, PlantedVoteTwice, ...) too.
  for (const std::string& name : planted_bug_list(cfg_bugs)) plant_bug(*planted, name);
  const PlantedBugs& bugs = *planted;
  if (!opts.trace_path.empty() && same_file(opts.trace_path, opts.out_path)) {
    err << "raftkv explore: --trace and --out name the same file '" << opts.trace_path << "'\n";
    return 2;
  }

  // Symmetry reduction (--symmetry, or a SYMMETRY line in --cfg) keeps one
  // state of each set that differs only in the servers' names, so its views
  // can only be compared with TLC's up to those names.
  b.symmetry = opts.symmetry || cfg_symmetry;
  bool symmetry = opts.tlc_symmetry || b.symmetry;
  ViewComparison tlc(opts.compare_tlc, b, symmetry);
  if (!opts.compare_tlc.empty() && !tlc.read(err)) return 2;

  out << "explore: servers " << b.servers << ", max-term " << b.max_term << ", max-log "
      << b.max_log << ", max-msgs " << b.max_msgs << ", max-crashes " << b.max_crashes
      << ", commands " << b.commands << (b.sessions ? " (client 1's session)" : "")
      << ", leader_noop " << (b.leader_noop ? "true" : "false");
  if (b.pre_vote) out << ", pre-vote";
  if (b.check_quorum) out << ", check-quorum";
  if (b.transfers > 0) out << ", transfers " << b.transfers;
  if (b.changes > 0) out << ", changes " << b.changes;
  if (b.joiners > 0) out << ", joiners " << b.joiners;
  if (b.lease) {
    out << ", lease (clock drift " << b.clock_drift_ppm << " ppm, ticks " << b.ticks << ")";
  }
  if (b.reads > 0) out << ", reads " << b.reads;
  if (b.read_index) out << ", read-index";
  if (b.snapshot_every > 0) out << ", snapshot-every " << b.snapshot_every;
  if (b.spec_network) out << ", the spec's network";
  if (b.depth_first) out << ", depth-first";
  if (b.symmetry) out << ", symmetry reduction";
  if (b.max_depth > 0) out << ", max-depth " << b.max_depth;
  if (b.time_limit_s > 0) out << ", time-limit " << b.time_limit_s << " s";
  if (b.max_states > 0) out << ", max-states " << b.max_states;
  for (const std::string& name : planted_bug_list(bugs)) out << ", planted " << name;
  out << '\n' << std::flush;

  ExploreResult r;
  std::unordered_set<Key, KeyHash> code_views;
  std::function<void(const View&)> on_view;
  if (!opts.compare_tlc.empty()) {
    on_view = [&](const View& v) { code_views.insert(key_of(tlc.canon(v))); };
  }
  {
    // The progress line: states expanded of states found (the rest is the
    // queue), with the rate of expansion.
    Progress progress(err, "explore", "states expanded");
    r = explore(
        b, bugs, [&](int64_t expanded, int64_t found) { progress.update(expanded, found); },
        on_view);
    progress.finish();
  }
  int code = 0;
  if (r.violation) {
    code = 1;
    out << "VIOLATION " << r.invariant << " at depth " << r.violation_depth << ": " << r.detail
        << '\n';
    if (!write_file_atomically(opts.out_path, r.scenario, "explore", err)) return 2;
    out << "counterexample: " << opts.out_path << " (" << r.violation_depth << " inputs)\n";
    if (!opts.trace_path.empty()) {
      std::istringstream in(r.scenario);
      std::ostringstream trace;
      ReplayOptions ro;
      ro.trace_out = &trace;
      try {
        replay(in, opts.out_path, ro);
      } catch (const std::exception& e) {
        err << "raftkv explore: replaying the counterexample failed: " << e.what() << '\n';
        return 2;
      }
      if (!write_file_atomically(opts.trace_path, trace.str(), "explore", err)) return 2;
      std::string verdict;
      try {
        check::Report rep = check::check_trace_file(opts.trace_path);
        verdict = rep.violation ? "VIOLATION " + rep.violation->check : "no violation";
      } catch (const std::exception& e) {
        verdict = std::string("unreadable: ") + e.what();
      }
      out << "trace: " << opts.trace_path << " (raftkv check: " << verdict << ")\n";
    }
  } else {
    out << (r.complete ? "no violation within the bounds\n"
                       : "no violation found before the depth, time or state limit (incomplete)\n");
  }
  double rate = r.seconds > 0 ? static_cast<double>(r.distinct) / r.seconds : 0;
  out << "explore: " << r.distinct << " distinct states ("
      << (b.spec_network ? "within the bounds; " : "") << r.pruned
      << (b.spec_network ? " successors past the bounds, checked, not kept), "
                         : " past the bounds), ")
      << r.transitions << " transitions, max depth " << r.max_depth << ", " << std::fixed
      << std::setprecision(2) << r.seconds << " s, " << std::setprecision(0) << rate
      << " states/s, " << r.bytes_per_state << " bytes per stored state\n";
  if (!opts.compare_tlc.empty() && !r.violation) {
    if (!r.complete) {
      out << "compare-tlc: the exploration did not finish, so its states are not compared\n";
      return 1;
    }
    std::unordered_set<Key, KeyHash> only_tlc, only_code;
    for (const Key& k : tlc.tlc()) {
      if (!code_views.count(k)) only_tlc.insert(k);
    }
    for (const Key& k : code_views) {
      if (!tlc.tlc().count(k)) only_code.insert(k);
    }
    out << "compare-tlc: the view: each node's role, term, vote, log and, if running, commit, "
           "applied, store, sessions and verified, a candidate's or leader's votes, a "
           "leader's next, match, probe and csent; the set of messages sent; the histories "
           "elected and committed; the crashes"
        << (symmetry ? "; up to the servers' names (TLC's symmetry)" : "") << '\n';
    out << "compare-tlc: TLC " << tlc.tlc().size() << " distinct views (" << tlc.lines()
        << " states written); the code " << code_views.size() << " distinct views of " << r.distinct
        << " distinct states within the bounds\n";
    if (only_tlc.empty() && only_code.empty()) {
      out << "compare-tlc: SAME views: the code reached every state TLC reached, and no other\n";
    } else {
      code = 1;
      out << "compare-tlc: DIFFERENT: " << only_tlc.size() << " views only TLC reached, "
          << only_code.size() << " only the code reached\n";
      std::vector<std::string> examples;
      if (!only_tlc.empty() && tlc.read(err, &only_tlc, &examples)) {
        for (const std::string& e : examples) out << "  only TLC reached: " << e << '\n';
      }
      if (!only_code.empty()) {
        // Explored again, keeping the views this time.
        std::vector<std::string> mine;
        explore(b, bugs, {}, [&](const View& v) {
          std::string c = tlc.canon(v);
          if (mine.size() < 3 && only_code.count(key_of(c))) mine.push_back(c);
        });
        for (const std::string& e : mine) out << "  only the code reached: " << e << '\n';
      }
    }
  }
  return code;
}

}  // namespace raftkv
