// `raftkv explore` (issue 17): bounded breadth-first exploration of every
// schedule of the real node code (raft/node.cpp through raft/node_set.h), not
// of a model of it.
//
// A state is every node (its whole in-memory state, or for a crashed node
// what its storage holds), which nodes are up, the network as a multiset of
// in-flight messages (their order and ids do not matter), the crashes and
// client commands used so far, and three history variables the invariants
// need (the leaders of each term, the entries known committed, the entries
// applied at each index). Each enabled input is a successor: deliver a
// message, deliver it and keep a copy (duplication), drop it, an election
// timeout at a follower or candidate, a heartbeat at a leader, a client Put
// at a leader, a crash, a restart (and, as flags ask, quorum checks,
// transfers, gets, membership changes, ticks of the clocks leases read;
// with snapshot_every, snapshots and InstallSnapshot come from the nodes
// themselves). States past the bounds are checked but not
// expanded. Breadth-first, so the first violation found is a shortest one; it
// is written as a scenario (spec/scenario-format.md) that `raftkv replay`
// runs on the code and `raftkv check` finds violating.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "app/spec_view.h"
#include "raft/planted_bugs.h"

namespace raftkv {

struct ExploreBounds {
  int servers = 3;
  int64_t max_term = 2;  // states with a term above it are not expanded
  int64_t max_log = 2;   // states with a longer log are not expanded
  int max_msgs = 2;      // states with more in flight are not expanded; no duplication at it
  int max_crashes = 0;   // crashes along one path
  int commands = 1;      // client commands along one path (each a distinct Put; with
                         // sessions, client 1's requests and their retries)
  // Client 1's session instead of client 0's Puts: its requests put a, then
  // delete a, each sent (again, as a retry) any number of times within
  // `commands`; KVSemantics (exactly-once in client order) is checked too.
  bool sessions = false;
  bool leader_noop = true;  // §8: a new leader appends a no-op ([raft] leader_noop)
  // [raft] pre_vote (thesis §9.6, `--pre-vote`): an election timeout starts a
  // pre-vote round; PreVoteKeepsTermsAndVotes is checked at each step.
  bool pre_vote = false;
  // [raft] check_quorum (thesis §6.2, §4.2.3, `--check-quorum`): a leader's
  // quorum check timer is an input too; CheckQuorum is checked at each check.
  bool check_quorum = false;
  // Leadership transfers (thesis §3.10, `--transfers`) asked of a leader along
  // one path: a leader with none under way may be asked to hand leadership
  // to any other server, and one with a transfer under way may give it up
  // (its transfer timer). LeaderTransfer is checked at each TimeoutNow sent.
  int transfers = 0;
  // Gets (`--reads`, `--read-index`): up to `reads` gets of key k1 from client
  // 2 along one path, each at a leader, answered through the log or, with
  // read_index ([raft] read_mode = "read_index", thesis §6.4), without a log
  // entry. Each answer must be linearizable: the value of k1 after some
  // committed prefix of the log at least as long as any committed when the
  // get arrived and no longer than what is committed when it is answered.
  bool read_index = false;
  int reads = 0;
  // [raft] snapshot_every (Raft §7, `--snapshot-every`): a node snapshots its
  // state machine once it applied this many entries past its last snapshot,
  // and a leader sends InstallSnapshot to a follower that needs compacted
  // entries. SnapshotCommitted is checked at every state. 0: no snapshots.
  int64_t snapshot_every = 0;
  // [raft] read_mode = "lease" (thesis §6.4.1, `--lease`; with check_quorum,
  // as the config requires, and --reads' gets): each node has a clock, and
  // true time moves on only at a Tick input, at most `ticks` times along a
  // path, to the next instant at which an input can have another effect: an
  // election timer or quorum check coming due, a promise or lease running
  // out (Explorer::next_instant). Node i's clock runs at its own fixed
  // rate, spread over 1 +- drift as in a run (config/clock.h: node 1
  // slowest, the last node fastest); a follower's or candidate's election
  // timer fires once the minimum election timeout E (the default
  // [timing]'s 150 ms) has passed on its clock since the node last
  // restarted it, or later, and a leader's quorum check exactly E of its
  // clock after the last (time does not move on past it), as the runtime
  // fires them. Heartbeats and a transfer's give-up may fire at any time. No
  // symmetry reduction: the clocks tell the servers apart.
  bool lease = false;
  int ticks = 0;
  int64_t clock_drift_ppm = 200'000;
  // Membership changes (thesis §4.1, `--changes`) asked of a leader along
  // one path: a leader may be asked to remove any voter of its configuration
  // (itself included) or to add a joiner not in it (`joiners`); the node
  // refuses what §4.1 forbids, e.g. a second change before the first is
  // committed. A removed server keeps running
  // (the runtime would shut it down once its removal is committed): it may
  // still answer, but never stands. Durability (CommittedOnMajority) is not
  // judged with changes: which servers form "a majority" depends on the
  // configuration; LeaderCompleteness and StateMachineSafety, which name no
  // majority, are. 0: none.
  int changes = 0;
  // Servers that may join (`--joiners`): ids servers + 1 .. servers +
  // joiners, each booted once, empty, by a join input, and added by a
  // leader asked to (a change, as a learner the leader promotes to voter
  // once it caught up, thesis §4.2.1). 0: none.
  int joiners = 0;
  // Explore only schedules of a directed shape (states outside it are
  // checked but not expanded; every state explored is still one the code
  // reaches, so a violation found is real). No heartbeats: a new leader's
  // AppendEntries and the retries after a refusal carry the entries.
  //   Figure8 (the figure8 preset; Explorer::figure8_shape): a search
  //     directed as MCRaftKVCommitOldTerm.cfg directs TLC's.
  //   Change (the change preset; Explorer::change_shape): one candidate a
  //     term, the leader of term 1 standing again in term 3 against another
  //     leader in term 2, the shape of the single-server-change bug
  //     (Ongaro, raft-dev, 2015).
  //   Lease (the lease preset; Explorer::lease_shape): S1 leads term 1 and
  //     S3 term 2, with S2's vote, as a lease outliving its promise needs.
  enum class Shape { None, Figure8, Change, Lease };
  Shape shape = Shape::None;
  // RaftKV.tla's network instead of the runtime's (`--network spec`): the
  // network is the set of every message ever sent, each deliverable to a
  // running node any number of times (never delivering one is its loss, so
  // there is no drop and no duplication); max_msgs bounds the messages ever
  // sent (MCRaftKV's MaxMsgs); client commands are MCRaftKV's MCCommands,
  // the first `commands` of its MCCommandSeq, each handed to any leader any
  // number of times. The model TLC checks, run on the code.
  bool spec_network = false;
  // Depth-first instead of breadth-first (`--depth-first`): the same states,
  // in another order, with the memory of a path instead of a frontier (the
  // breadth-first frontier at MCRaftKV.cfg's bounds passed 19 GB). A
  // counterexample found is then not the shortest.
  bool depth_first = false;
  // Node-id symmetry reduction (`--symmetry`): states that differ only in the
  // servers' names are one state (the least encoding under every renaming),
  // as TLC's SYMMETRY Permutations(Server). The servers are interchangeable
  // (every one starts alike, the inputs are offered to each alike, and the
  // node code never orders servers by id), so each renaming of a reachable
  // state is reachable, and checking one of them checks all: the invariants
  // do not name servers. Only the renamings that order the servers by
  // rename-free features are encoded (Explorer::encode): mostly one a state.
  bool symmetry = false;
  int64_t max_depth = 0;    // 0: none
  double time_limit_s = 0;  // 0: none
  // Stop (incomplete) once this many distinct states are found: the queue of
  // states still to expand holds whole clusters, a few hundred bytes each, and
  // a breadth-first search that cannot finish would otherwise fill the memory
  // (the figure8 preset passed 6 GB at 10 million states). 0: none.
  int64_t max_states = 4'000'000;
};

// The named bounds: "small" (the default), "figure8", "client", "change" and
// "lease". False: no such preset.
bool explore_preset(const std::string& name, ExploreBounds* bounds);

struct ExploreResult {
  bool violation = false;
  std::string invariant;  // ElectionSafety, LogMatching, ... or ProtocolBug
  std::string detail;     // one line: who and where
  int64_t violation_depth = 0;
  std::string scenario;     // the path to it, as a scenario file's text
  int64_t distinct = 0;     // distinct states found (the initial one included)
  int64_t transitions = 0;  // successors computed
  int64_t pruned = 0;       // states past the bounds (checked, not expanded); on the
                            // spec's network, successors past them (not kept, as TLC)
  int64_t max_depth = 0;    // the deepest state found
  bool complete = true;     // false: stopped by the depth, time or state limit
  double seconds = 0;
  double bytes_per_state = 0;  // the visited set and path records, per distinct state
};

// `progress(expanded, found)`: called now and then (states expanded, states found).
// `on_view`, if given, is called with the spec's view (app/spec_view.h) of
// every distinct state within the bounds: what `--compare-tlc` compares with
// the views of TLC's states.
ExploreResult explore(const ExploreBounds& bounds, const PlantedBugs& bugs,
                      const std::function<void(int64_t, int64_t)>& progress = {},
                      const std::function<void(const View&)>& on_view = {});

}  // namespace raftkv
