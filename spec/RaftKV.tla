------------------------------- MODULE RaftKV -------------------------------
(***************************************************************************)
(* Raft with a key-value state machine and client dedup, exactly as the   *)
(* raftkv emulator implements it (src/raft/node.cpp, src/raft/kv.cpp):    *)
(* the Raft paper's Figure 2 for a fixed membership, plus the seed's       *)
(* CommitNotification (one per follower per burst of commits), the        *)
(* leader's flow control (probe and replicate, as in etcd-io/raft: one    *)
(* AppendEntries in flight per follower) and the conflict hint of section *)
(* 5.3. With the constant PreVote, the pre-vote phase of the Raft thesis   *)
(* (section 9.6, [raft] pre_vote): an election timeout first asks for     *)
(* pre-votes, and only a majority of them starts the real election. With  *)
(* the constant CheckQuorum ([raft] check_quorum, thesis sections 6.2 and *)
(* 4.2.3): a leader that has not heard from a majority since its previous *)
(* check steps down, and a node with a live leader disregards a           *)
(* RequestVote of a higher term. With the constant ReadIndex ([raft]      *)
(* read_mode = "read_index", thesis section 6.4): a leader answers a get   *)
(* without a log entry, once a round of ReadConfirm messages sent after    *)
(* it took the read was answered by a majority and it has applied through *)
(* the read index. With the constant LeaderTransfer (thesis section 3.10): *)
(* a leader asked to hand leadership to a target stops taking commands,    *)
(* sends TimeoutNow once the target's log matches its own, and the target  *)
(* starts an election at once (its RequestVotes marked transfer).          *)
(* With the constant LeaseRead (read_mode = "lease", thesis section       *)
(* 6.4.1), abstractly: a leader whose lease holds (no server of a later    *)
(* term has been elected) answers a get at once, with no round.            *)
(* With the constant Snapshots (log compaction, section 7, [raft]          *)
(* snapshot_every): a server replaces a committed, applied prefix of its   *)
(* log by a snapshot of its state machine, and a leader sends its snapshot *)
(* (InstallSnapshot, whole: chunks are not modelled) to a follower that    *)
(* needs an entry it discarded.                                            *)
(* With the constant MembershipChanges (thesis section 4.1, single-server  *)
(* changes with learners): a configuration entry in the log (op "config",  *)
(* voters and learners) is in effect at a server as soon as it is in its   *)
(* log, committed or not; elections, commits, quorum checks and read      *)
(* confirmations count the voters of the server's configuration; a leader *)
(* adds a server as a learner, promotes a caught-up learner to voter and  *)
(* removes a member, one change at a time and only once an entry of its   *)
(* own term is committed; a leader that removed itself steps down once    *)
(* that change is committed.                                               *)
(*                                                                         *)
(* One action is one step of the emulator: an input (a delivered message,  *)
(* a fired timer, a client request, a crash or a restart) together with    *)
(* every state change and message the node produces while handling it.    *)
(* That is also what a trace calls a step (spec/trace-schema.md), which is *)
(* how TraceRaftKV.tla maps a trace onto this spec.                        *)
(*                                                                         *)
(* Each handler is written as a pure operator from a node's local state    *)
(* (a record, see LS) to [s |-> new local state, out |-> messages sent].  *)
(* The actions (Timeout, Heartbeat, ClientRequest, Receive, Crash,         *)
(* Restart) compute that record and commit it with UpdateNode.             *)
(*                                                                         *)
(* Network: msgs is the set of every message ever sent. Delivering a       *)
(* message does not remove it, so a message can be delivered any number   *)
(* of times (duplication), in any order (reordering) or never (loss); no   *)
(* separate Drop or Duplicate action is needed.                            *)
(*                                                                         *)
(* Abstracted away: time (timers fire in any order whenever the runtime    *)
(* would let them), the client side (retries, deadlines, leader hints and  *)
(* ClientReply messages; a client request is an action that gives a        *)
(* leader a command), partitions (a partitioned message is a lost one) and *)
(* the leader's pending-reply table.                                       *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Server,      \* the node ids (1..N in a trace; model values in MCRaftKV)
    Nil,         \* "none": votedFor of a node that has not voted (0 in a trace)
    Commands,    \* the client commands ClientRequest may hand a leader
    LeaderNoop,  \* a new leader appends a no-op of its term (config leader_noop)
    DedupLastSeqOnly, \* the planted bug dedup_last_seq_only (FALSE: the correct code)
    PreVote,     \* [raft] pre_vote: thesis section 9.6 (FALSE: Figure 2 as before)
    PlantedPreVoteRaisesTerm, \* the planted bug prevote_raises_term (FALSE: the correct code)
    CheckQuorum, \* [raft] check_quorum: thesis sections 6.2, 4.2.3 (FALSE: as before)
    PlantedLeaderIgnoresQuorum, \* the planted bug leader_ignores_quorum (FALSE: the correct code)
    ReadIndex,   \* [raft] read_mode = "read_index": thesis section 6.4 (FALSE: gets go through the log)
    PlantedReadIndexWithoutConfirm, \* the planted bug read_index_without_confirm (FALSE: correct)
    LeaderTransfer, \* leadership transfer, thesis section 3.10 (FALSE: no transfer input)
    PlantedTransferBeforeCaughtUp, \* the planted bug transfer_before_caught_up (FALSE: correct)
    LeaseRead,   \* [raft] read_mode = "lease": thesis section 6.4.1, abstractly (FALSE: none)
    PlantedLeaseIgnoresDrift, \* the planted bug lease_ignores_drift, abstractly (FALSE: correct)
    Snapshots,   \* log compaction, section 7 ([raft] snapshot_every > 0) (FALSE: none)
    SnapshotUncommittedBug, \* the planted bug snapshot_uncommitted (FALSE: the correct code)
    InstallDiscardsLogBug,  \* the planted bug install_discards_log (FALSE: the correct code)
    InitVoters,  \* the bootstrap configuration's voters (1..num_nodes; Server without membership)
    MembershipChanges, \* single-server membership changes, thesis section 4.1 (FALSE: fixed)
    PlantedChangeBeforeTermCommit, \* the planted bug change_before_term_commit (FALSE: correct)
    PlantedVoteTwice, \* the planted bug vote_twice: a second vote in one term (FALSE: correct)
    PlantedCommitOldTerm \* the planted bug commit_old_term: Figure 8's rule broken (FALSE: correct)

ASSUME LeaderNoop \in BOOLEAN
ASSUME DedupLastSeqOnly \in BOOLEAN
ASSUME PreVote \in BOOLEAN
ASSUME PlantedPreVoteRaisesTerm \in BOOLEAN
ASSUME CheckQuorum \in BOOLEAN
ASSUME PlantedLeaderIgnoresQuorum \in BOOLEAN
ASSUME ReadIndex \in BOOLEAN
ASSUME PlantedReadIndexWithoutConfirm \in BOOLEAN
ASSUME LeaderTransfer \in BOOLEAN
ASSUME PlantedTransferBeforeCaughtUp \in BOOLEAN
ASSUME LeaseRead \in BOOLEAN /\ (LeaseRead => ReadIndex)
ASSUME PlantedLeaseIgnoresDrift \in BOOLEAN
ASSUME Snapshots \in BOOLEAN
ASSUME SnapshotUncommittedBug \in BOOLEAN /\ (SnapshotUncommittedBug => Snapshots)
ASSUME InstallDiscardsLogBug \in BOOLEAN /\ (InstallDiscardsLogBug => Snapshots)
ASSUME Nil \notin Server
ASSUME MembershipChanges \in BOOLEAN
ASSUME PlantedChangeBeforeTermCommit \in BOOLEAN /\ (PlantedChangeBeforeTermCommit => MembershipChanges)
ASSUME PlantedVoteTwice \in BOOLEAN
ASSUME PlantedCommitOldTerm \in BOOLEAN
\* Without membership changes every server is a voter, for good.
ASSUME InitVoters \subseteq Server /\ InitVoters # {} /\ (~MembershipChanges => InitVoters = Server)

\* Entries per AppendEntries (kMaxBatch in src/raft/node.h).
MaxBatch == 64

VARIABLES
    node,       \* node[i]: server i's local state, a record (fields below)
    msgs,       \* every message ever sent
    \* History variables, only read by the invariants.
    committed,  \* [index, entry, term]: entry was committed at index by a node in term
    elected,    \* [term, leader]: leader won an election in term
    answered,   \* answered[i]: CheckQuorum: the servers whose AppendEntriesResponse of
                \* i's term leader i received since it became leader or last checked
                \* its quorum ({} without CheckQuorum)
    lapsed,     \* [term, leader]: CheckQuorum: a quorum check of leader in term found
                \* that fewer than a majority had answered it (by answered)
    readInvoked, \* ReadIndex: get command -> the highest index committed (by any
                 \* node) when a leader first received it: the model has no
                 \* clients, and a client invokes a get before any server has it
    readsDone,  \* ReadIndex: [key, lo, hi, result, lease]: a get answered without a
                \* log entry with result, lo = readInvoked of its command, hi = the
                \* highest index committed when it was answered, lease: on a lease
    installed   \* Snapshots: [node, index, kept]: node installed a leader's snapshot
                \* through index and kept that many entries of its log after it
                \* (section 7); only the witnesses of MCRaftKV read it

historyVars == <<committed, elected, answered, lapsed, readInvoked, readsDone, installed>>
vars == <<node, msgs, historyVars>>

(***************************************************************************)
(* node[i] has the fields of Figure 2, named as in the trace's `state`:     *)
(*   term      currentTerm (persistent)                                     *)
(*   vote      votedFor, Nil = none (persistent)                            *)
(*   log       a sequence of [term, cmd] (persistent): the entries after    *)
(*             snap.index, so that entry k of the log is log[k - snap.index] *)
(*             (EntryAt); without Snapshots snap.index is 0 and log is the   *)
(*             whole log, as in Figure 2                                     *)
(*   snap      Snapshots: the last snapshot (persistent, section 7), a       *)
(*             record [index, term, store, sessions]: the entries 1..index   *)
(*             were discarded, the last of them had term term, and store and *)
(*             sessions are the state machine after applying them; index 0   *)
(*             (and an empty state) when there is none; with membership     *)
(*             changes also conf, the configuration in effect through index  *)
(*             (the code's state machine keeps it: a snapshot carries it)    *)
(*   role      "follower", "candidate", "leader" or "down" (crashed)        *)
(*   commit    commitIndex                                                  *)
(*   applied   lastApplied                                                  *)
(*   store     the KV store: a function from the keys present to values     *)
(*   sessions  client dedup: client -> [seq, result] of its last applied cmd *)
(*   votes     candidate: the nodes that granted it a vote (itself included)*)
(*   next      leader: nextIndex, a function Server -> index                *)
(*   match     leader: matchIndex, a function Server -> index               *)
(*   probe     leader: TRUE while a follower is probed (Server -> BOOLEAN)  *)
(*   csent     leader: the highest commit index sent to each follower       *)
(*   verified  highest index known to match this term's leader's log        *)
(*   pvotes    PreVote: the nodes that granted this node a pre-vote in its  *)
(*             current pre-vote round (itself included); {} when it is not  *)
(*             a pre-candidate (the code's precandidate_ is pvotes # {})    *)
(*   live      PreVote: heard from a live leader since its own election     *)
(*             timer last fired (the code's leader_live_): set by a valid   *)
(*             AppendEntries of its term, cleared by its election timeout,  *)
(*             a granted vote, a change of term and a step-down; always     *)
(*             FALSE without PreVote and CheckQuorum, as nothing else reads *)
(*             it                                                           *)
(*   heard     CheckQuorum, leader: the followers that answered it (an      *)
(*             AppendEntriesResponse or, with ReadIndex, a                  *)
(*             ReadConfirmResponse of its term) since it became leader or   *)
(*             last checked its quorum (the code's recent_active_); {}      *)
(*             otherwise                                                    *)
(*   reads     ReadIndex, leader: the gets taken and not yet answered, in   *)
(*             order, each [cmd, index, round]: index the read index (0     *)
(*             until an entry of its term is committed), round the          *)
(*             ReadConfirm round sent after it was taken (the code's        *)
(*             reads_); <<>> otherwise                                      *)
(*   rround    ReadIndex, leader: the last ReadConfirm round sent in its    *)
(*             term (read_round_)                                           *)
(*   racked    ReadIndex, leader: per follower, the highest round it        *)
(*             confirmed with a ReadConfirmResponse of the leader's term    *)
(*             (read_acked_)                                                *)
(*   xfer      LeaderTransfer, leader: the target of the transfer under     *)
(*             way, Nil if none (transfer_to_)                              *)
(*   tnsent    LeaderTransfer, leader: its TimeoutNow has gone out          *)
(*             (timeout_now_sent_)                                          *)
(*   lease     LeaseRead, trace validation only: the leader's lease is      *)
(*             valid during this step (the code's lease_valid(), which      *)
(*             reads the clock). Always FALSE here (the model answers on a  *)
(*             lease with LeaseReadReq instead); TraceRaftKV sets it in the *)
(*             state it hands a step (the ...StepAt forms) when the trace   *)
(*             shows the lease used. With it, a get is taken with round 0   *)
(*             (no ReadConfirm round), and a read whose round is 0 or not   *)
(*             confirmed is answered on the lease (ServeReads)              *)
(* Everything but term, vote, log and snap is lost in a crash.              *)
(***************************************************************************)

\* Figure 2's variables as state functions, for the invariants.
currentTerm == [i \in Server |-> node[i].term]
votedFor == [i \in Server |-> node[i].vote]
log == [i \in Server |-> node[i].log]
role == [i \in Server |-> node[i].role]
commitIndex == [i \in Server |-> node[i].commit]
lastApplied == [i \in Server |-> node[i].applied]

-----------------------------------------------------------------------------
(* Helpers *)

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
MaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x
MinOf(S) == CHOOSE x \in S : \A y \in S : x <= y

Majority == Cardinality(Server) \div 2 + 1

TermAt(lg, k) == IF k >= 1 /\ k <= Len(lg) THEN lg[k].term ELSE 0
LastTerm(lg) == TermAt(lg, Len(lg))

\* Section 7: a node's log as it holds it, after its snapshot. Indices are
\* absolute (the log's first entry is snap.index + 1); the snapshot's last
\* entry keeps its term (for the consistency check and the up-to-date check)
\* but not its command. Without a snapshot these are Len(s.log), TermAt and
\* s.log[k].
LastIndex(s) == s.snap.index + Len(s.log)
TermOf(s, k) ==
    IF k = s.snap.index THEN s.snap.term
    ELSE IF k > s.snap.index /\ k <= LastIndex(s) THEN s.log[k - s.snap.index].term
    ELSE 0
LastTermOf(s) == TermOf(s, LastIndex(s))
EntryAt(s, k) == s.log[k - s.snap.index]                  \* snap.index < k <= LastIndex(s)
Ents(s, a, b) == SubSeq(s.log, a - s.snap.index, b - s.snap.index)   \* entries a..b

(***************************************************************************)
(* Membership (thesis section 4.1). A configuration is [index, voters,     *)
(* learners]: index is the log index of the entry that made it (0: the     *)
(* bootstrap one, InitVoters and no learners). A configuration entry's     *)
(* command is ConfigCmd(voters, learners) (the trace's op "config"). A     *)
(* server's configuration in effect is the latest configuration entry in   *)
(* its log, committed or not (a truncation that removes it reverts to the  *)
(* previous one), else its snapshot's (section 7: the snapshot carries     *)
(* the configuration through its index), else the bootstrap one. A quorum  *)
(* is a majority of the voters of that configuration. Without              *)
(* MembershipChanges it is always the bootstrap one, with InitVoters =     *)
(* Server, and IsQuorum(s, S) is Cardinality(S) >= Majority.               *)
(***************************************************************************)
BootConf == [index |-> 0, voters |-> InitVoters, learners |-> {}]
ConfigCmd(v, l) == [op |-> "config", key |-> "", value |-> "", client |-> 0, seq |-> 0,
                    voters |-> v, learners |-> l]
IsConfigEntry(e) == e.cmd.op = "config"
\* The configuration after the entries of s's log through index k
\* (s.snap.index <= k <= LastIndex(s)).
ConfThrough(s, k) ==
    LET ks == {n \in (s.snap.index + 1)..k : IsConfigEntry(EntryAt(s, n))}
    IN IF ks = {} THEN s.snap.conf
       ELSE LET n == MaxOf(ks) IN
            [index |-> n, voters |-> EntryAt(s, n).cmd.voters,
             learners |-> EntryAt(s, n).cmd.learners]
Conf(s) == IF MembershipChanges THEN ConfThrough(s, LastIndex(s)) ELSE BootConf
Voters(s) == Conf(s).voters
Members(s) == Conf(s).voters \cup Conf(s).learners
\* S holds a majority of the voters of s's configuration (S may hold others).
IsQuorum(s, S) == 2 * Cardinality(S \cap Voters(s)) > Cardinality(Voters(s))

\* Functions with a changing domain (the store and the dedup table).
EmptyFn == [x \in {} |-> 0]
SetKey(f, k, v) == [x \in DOMAIN f \cup {k} |-> IF x = k THEN v ELSE f[x]]
RemoveKey(f, k) == [x \in DOMAIN f \ {k} |-> f[x]]

-----------------------------------------------------------------------------
(* The KV state machine (src/raft/kv.cpp) *)

NoopCmd == [op |-> "noop", key |-> "", value |-> "", client |-> 0, seq |-> 0]
Res(status, value) == [status |-> status, value |-> value]

\* Execute one command on a store: [store, result].
Execute(st, c) ==
    CASE c.op = "put" ->
            IF c.key \in DOMAIN st
            THEN [store |-> st, result |-> Res("key_exists", "")]
            ELSE [store |-> SetKey(st, c.key, c.value), result |-> Res("ok", "")]
      [] c.op = "get" ->
            [store |-> st,
             result |-> IF c.key \in DOMAIN st THEN Res("ok", st[c.key])
                                               ELSE Res("not_found", "")]
      [] c.op = "delete" ->
            IF c.key \in DOMAIN st
            THEN [store |-> RemoveKey(st, c.key), result |-> Res("ok", "")]
            ELSE [store |-> st, result |-> Res("not_found", "")]
      [] OTHER -> [store |-> st, result |-> Res("ok", "")]

\* Apply one command with client dedup: [store, sessions, result]. A command
\* repeating its client's last applied seq returns the remembered result and
\* changes nothing; an older seq changes nothing either and its result is
\* "stale" (with DedupLastSeqOnly, the planted bug, it executes again); no-ops
\* and client 0 (injected requests) are not deduped.
ApplyCmd(st, ss, c) ==
    IF c.op = "noop" \/ c.client = 0
    THEN LET x == Execute(st, c) IN [store |-> x.store, sessions |-> ss, result |-> x.result]
    ELSE IF c.client \in DOMAIN ss /\ ss[c.client].seq = c.seq
         THEN [store |-> st, sessions |-> ss, result |-> ss[c.client].result]
    ELSE IF c.client \in DOMAIN ss /\ c.seq < ss[c.client].seq /\ ~DedupLastSeqOnly
         THEN [store |-> st, sessions |-> ss, result |-> Res("stale", "")]
         ELSE LET x == Execute(st, c) IN
              [store |-> x.store,
               result |-> x.result,
               sessions |-> IF c.client \notin DOMAIN ss \/ c.seq > ss[c.client].seq
                            THEN SetKey(ss, c.client, [seq |-> c.seq, result |-> x.result])
                            ELSE ss]

\* Apply a sequence of entries in order: [store, sessions, results].
RECURSIVE ApplyEntries(_, _, _)
ApplyEntries(st, ss, ents) ==
    IF ents = <<>>
    THEN [store |-> st, sessions |-> ss, results |-> <<>>]
    ELSE LET r1 == ApplyCmd(st, ss, Head(ents).cmd)
             r2 == ApplyEntries(r1.store, r1.sessions, Tail(ents))
         IN [store |-> r2.store, sessions |-> r2.sessions,
             results |-> <<r1.result>> \o r2.results]

-----------------------------------------------------------------------------
(* Messages: records with exactly the fields of spec/trace-schema.md (no id). *)

\* tr: the election was started by a TimeoutNow (thesis section 3.10); the
\* trace writes the field only when TRUE (TraceRaftKV reads it as FALSE
\* when absent).
RequestVoteMsg(i, j, s, tr) ==
    [type |-> "RequestVote", from |-> i, to |-> j, term |-> s.term,
     last_log_index |-> LastIndex(s), last_log_term |-> LastTermOf(s), transfer |-> tr]

VoteResponseMsg(i, j, term, granted, reason) ==
    [type |-> "RequestVoteResponse", from |-> i, to |-> j, term |-> term,
     granted |-> granted, reason |-> reason]

\* Thesis section 9.6: a pre-candidate asks for the term it would stand in,
\* its own term + 1, with its log's last index and term.
PreVoteMsg(i, j, s) ==
    [type |-> "PreVote", from |-> i, to |-> j, term |-> s.term + 1,
     last_log_index |-> LastIndex(s), last_log_term |-> LastTermOf(s)]

\* The answer carries the term asked about, not the responder's term.
PreVoteResponseMsg(i, j, term, granted, reason) ==
    [type |-> "PreVoteResponse", from |-> i, to |-> j, term |-> term,
     granted |-> granted, reason |-> reason]

\* AppendEntries from leader i to j with the entries from nextIndex on.
AppendEntriesMsg(i, j, s) ==
    LET next == s.next[j]
        last == Min(LastIndex(s), next + MaxBatch - 1)
    IN [type |-> "AppendEntries", from |-> i, to |-> j, term |-> s.term,
        prev_log_index |-> next - 1, prev_log_term |-> TermOf(s, next - 1),
        entries |-> Ents(s, next, last), leader_commit |-> s.commit]

\* prev: the prev_log_index of the AppendEntries answered.
AppendResponseMsg(i, j, term, success, prev, match, cindex, cterm, reason) ==
    [type |-> "AppendEntriesResponse", from |-> i, to |-> j, term |-> term,
     success |-> success, prev_log_index |-> prev, match_index |-> match,
     conflict_index |-> cindex, conflict_term |-> cterm, reason |-> reason]

CommitNotificationMsg(i, j, term, commit) ==
    [type |-> "CommitNotification", from |-> i, to |-> j, term |-> term,
     leader_commit |-> commit]

\* Thesis section 6.4: the leader of term asks j to confirm it still leads,
\* for the reads taken before round; the answer carries the responder's term.
ReadConfirmMsg(i, j, term, round) ==
    [type |-> "ReadConfirm", from |-> i, to |-> j, term |-> term, round |-> round]
ReadConfirmResponseMsg(i, j, term, round) ==
    [type |-> "ReadConfirmResponse", from |-> i, to |-> j, term |-> term, round |-> round]

\* Thesis section 3.10: the leader tells the transfer's target to time out now.
TimeoutNowMsg(i, j, term) == [type |-> "TimeoutNow", from |-> i, to |-> j, term |-> term]

\* Section 7 (Figure 13): leader i's snapshot, whole (the code may cut its
\* encoding into chunks, offset and done; a chunk that is not the last
\* changes nothing this spec models, see TraceRaftKV). The state machine
\* travels as the store and the dedup table (the trace's `data` encodes
\* both); with it, the configuration through its index (conf).
InstallSnapshotMsg(i, j, s) ==
    [type |-> "InstallSnapshot", from |-> i, to |-> j, term |-> s.term,
     last_included_index |-> s.snap.index, last_included_term |-> s.snap.term,
     store |-> s.snap.store, sessions |-> s.snap.sessions, conf |-> s.snap.conf]

\* done: the responder holds the state through last_included_index (it just
\* installed it, or its commit index was there already).
InstallSnapshotResponseMsg(i, j, term, index, done) ==
    [type |-> "InstallSnapshotResponse", from |-> i, to |-> j, term |-> term,
     last_included_index |-> index, done |-> done]

-----------------------------------------------------------------------------
(* A node's local state as one record, and the pure step operators.        *)
(* Each returns [s |-> new local state, out |-> set of messages sent].      *)

InitNext == [j \in Server |-> 1]
InitMatch == [j \in Server |-> 0]
InitProbe == [j \in Server |-> TRUE]
InitCSent == [j \in Server |-> 0]

LS(i) == node[i]

Same(s) == [s |-> s, out |-> {}]

\* Section 5.1: a higher term seen in a message: adopt it, clear the vote,
\* become follower. (nextIndex/matchIndex are reset too; the code keeps them
\* but never reads them before become_leader reinitialises them.)
\* A deposed leader's reads can no longer be confirmed (thesis section 6.4:
\* their clients retry) and its transfer is over (section 3.10). (The code
\* keeps its round counters, unread until become_leader resets them.)
AdoptTerm(s, t) ==
    [s EXCEPT !.term = t, !.vote = Nil, !.role = "follower", !.verified = 0,
              !.votes = {}, !.next = InitNext, !.match = InitMatch, !.probe = InitProbe,
              !.csent = InitCSent, !.pvotes = {}, !.live = FALSE, !.heard = {},
              !.reads = <<>>, !.rround = 0, !.racked = InitMatch, !.xfer = Nil,
              !.tnsent = FALSE]

\* send_append to the followers in P. A probe leaves nextIndex where it is;
\* to a replicated follower, nextIndex moves past the entries sent
\* (pipelining). Either way the commit index sent is remembered.
\* Section 7: a follower whose nextIndex is at or below the snapshot's index
\* needs an entry (or the term of the entry before nextIndex) that the
\* leader discarded: it is sent the snapshot instead (S), and probed (no
\* other message goes to it until it answers); nextIndex stays.
SendTo(s, i, P) ==
    LET S == {j \in P : s.next[j] <= s.snap.index}
        A == P \ S
        m(j) == AppendEntriesMsg(i, j, s)
    IN
    [s |-> [s EXCEPT !.next = [j \in Server |->
                                 IF j \in A /\ ~s.probe[j] /\ Len(m(j).entries) > 0
                                 THEN m(j).prev_log_index + Len(m(j).entries) + 1
                                 ELSE s.next[j]],
                     !.csent = [j \in Server |->
                                  IF j \in A THEN Max(s.csent[j], s.commit) ELSE s.csent[j]],
                     !.probe = [j \in Server |-> j \in S \/ s.probe[j]]],
     out |-> {m(j) : j \in A} \cup {InstallSnapshotMsg(i, j, s) : j \in S}]

SendAppend(s, i, j) == SendTo(s, i, {j})

\* The heartbeat (and a new leader's first round): every follower.
BroadcastAppend(s, i) == SendTo(s, i, Members(s) \ {i})

\* Replicating, with everything sent acknowledged.
WindowFree(s, j) == ~s.probe[j] /\ s.next[j] - 1 = s.match[j]

\* New entries go at once only to followers with a free window.
ReplicateNew(s, i) ==
    SendTo(s, i, {j \in Members(s) \ {i} : WindowFree(s, j) /\ s.next[j] <= LastIndex(s)})

\* set_commit: never past the log. Followers are told at the end of the step
\* (FlushCommit).
SetCommit(s, i, n) ==
    LET idx == Min(n, LastIndex(s)) IN
    IF idx <= s.commit THEN Same(s) ELSE Same([s EXCEPT !.commit = idx])

\* The seed's CommitNotification, at the end of a leader's step, to each
\* follower with a free window that has not been sent this commit index: a
\* busy one learns it from its next AppendEntries.
FlushCommit(s, i) ==
    IF s.role # "leader" THEN Same(s)
    ELSE LET P == {j \in Members(s) \ {i} : WindowFree(s, j) /\ s.csent[j] < s.commit} IN
         [s |-> [s EXCEPT !.csent = [j \in Server |->
                                       IF j \in P THEN s.commit ELSE s.csent[j]]],
          out |-> {CommitNotificationMsg(i, j, s.term, s.commit) : j \in P}]

\* Figure 2 / section 5.4.2 (Figure 8): the largest N replicated on a majority
\* (the leader counts its whole log, if it is a voter) within the suffix of current-term entries.
\* Thesis section 4.1: the voters of the leader's configuration (the leader
\* counts itself only if it is one of them).
Replicated(s, i, n) == IsQuorum(s, {i} \cup {j \in Server \ {i} : s.match[j] >= n})
AdvanceCommit(s, i) ==
    \* Section 5.4.2 (Figure 8): only an entry of the leader's own term is
    \* committed by counting replicas; the planted bug counts older ones too.
    LET cands == {n \in (s.commit + 1)..LastIndex(s) :
                    /\ \/ \A k \in n..LastIndex(s) : TermOf(s, k) = s.term
                       \/ PlantedCommitOldTerm
                    /\ Replicated(s, i, n)}
    IN IF cands = {} THEN Same(s) ELSE SetCommit(s, i, MaxOf(cands))

\* (A candidate that timed out with PreVote and then won with late votes of
\* its candidacy is still a pre-candidate in the code; nothing reads that at
\* a leader and a change of term clears it, so pvotes is cleared here.)
BecomeLeader(s, i) ==
    LET s1 == [s EXCEPT !.role = "leader",
                        !.next = [j \in Server |-> LastIndex(s) + 1],
                        !.match = InitMatch, !.probe = InitProbe, !.csent = InitCSent,
                        !.pvotes = {}, !.heard = {}, !.reads = <<>>, !.rround = 0,
                        !.racked = InitMatch, !.xfer = Nil, !.tnsent = FALSE]
        s2 == IF LeaderNoop
              THEN [s1 EXCEPT !.log = Append(s1.log, [term |-> s1.term, cmd |-> NoopCmd])]
              ELSE s1
        r3 == BroadcastAppend(s2, i)
        r4 == AdvanceCommit(r3.s, i)
    IN [s |-> r4.s, out |-> r3.out \cup r4.out]

\* Section 5.2: term + 1, vote for self, RequestVote to every other node;
\* tr: started by a TimeoutNow (thesis section 3.10), which marks them.
StartElectionX(s, i, tr) ==
    LET s1 == [s EXCEPT !.term = s.term + 1, !.role = "candidate", !.vote = i,
                        !.verified = 0, !.votes = {i}, !.pvotes = {}]
    IN IF IsQuorum(s1, {i})
       THEN BecomeLeader(s1, i)
       ELSE [s |-> s1, out |-> {RequestVoteMsg(i, j, s1, tr) : j \in Voters(s1) \ {i}}]

StartElection(s, i) == StartElectionX(s, i, FALSE)

\* Thesis section 9.6: a pre-vote round for term + 1. Term, vote and role
\* stay as they are; the node counts its own pre-vote and asks every other
\* node (a one-node cluster has its majority at once).
StartPreVote(s, i) ==
    LET s1 == [s EXCEPT !.pvotes = {i}]
    IN IF IsQuorum(s1, {i})
       THEN StartElection(s1, i)
       ELSE [s |-> s1, out |-> {PreVoteMsg(i, j, s1) : j \in Voters(s1) \ {i}}]

\* Section 5.4.1: the candidate's log (last index and term in m) is at least
\* as up to date as s's: a later last term, or the same one and no shorter.
UpToDate(s, m) ==
    \/ m.last_log_term > LastTermOf(s)
    \/ /\ m.last_log_term = LastTermOf(s)
       /\ m.last_log_index >= LastIndex(s)

\* Thesis section 4.2.3 (with CheckQuorum): a node that has a live leader
\* (it leads, or heard from its leader since its own election timer last
\* fired) lets no RequestVote of a higher term disrupt it (the code's
\* leader_sticky()).
Sticky(s) == CheckQuorum /\ (s.role = "leader" \/ s.live)

\* RequestVote (sections 5.2, 5.4.1). s is the state after any term adoption;
\* a sticky node did not adopt the higher term and refuses, answering with
\* its own lower term (thesis section 4.2.3).
\* A leadership transfer's RequestVote (thesis section 3.10) is exempt: the
\* live leader itself asked for that election.
HandleRequestVote(s, i, m) ==
    LET upToDate == UpToDate(s, m)
        reason == IF m.term > s.term /\ Sticky(s) /\ ~m.transfer THEN "leader_live"
                  ELSE IF m.term # s.term THEN "stale_term"
                  \* Figure 2: one vote per term; the planted bug grants a second.
                  ELSE IF s.vote # Nil /\ s.vote # m.from /\ ~PlantedVoteTwice THEN "already_voted"
                  ELSE IF ~upToDate THEN "log_not_up_to_date"
                  ELSE ""
        granted == reason = ""
    \* A granted vote restarts the election timer (Figure 2), which then no
    \* longer measures the time since the leader was heard from: the node
    \* stops counting on a live leader (the code's leader_live_).
    IN [s |-> IF granted THEN [s EXCEPT !.vote = m.from, !.live = FALSE] ELSE s,
        out |-> {VoteResponseMsg(i, m.from, s.term, granted, reason)}]

HandleVoteResponse(s, i, m) ==
    IF s.role = "candidate" /\ m.term = s.term /\ m.granted
    THEN LET s1 == [s EXCEPT !.votes = @ \cup {m.from}] IN
         IF IsQuorum(s1, s1.votes) THEN BecomeLeader(s1, i) ELSE Same(s1)
    ELSE Same(s)

\* PreVote (thesis section 9.6): grant iff the term asked for is above this
\* node's term, this node neither leads nor has heard from a live leader
\* since its own election timer last fired (the thesis's "within the minimum
\* election timeout", abstracted to `live`), and the candidate's log is up to
\* date (section 5.4.1). The answer changes nothing here: no term, no vote.
HandlePreVote(s, i, m) ==
    LET reason == IF m.term <= s.term THEN "stale_term"
                  ELSE IF s.role = "leader" \/ s.live THEN "leader_live"
                  ELSE IF ~UpToDate(s, m) THEN "log_not_up_to_date"
                  ELSE ""
    IN [s |-> s, out |-> {PreVoteResponseMsg(i, m.from, m.term, reason = "", reason)}]

\* Only a grant for this node's current round (term + 1) counts; with a
\* majority of pre-votes (its own included) it starts the real election.
HandlePreVoteResponse(s, i, m) ==
    IF s.pvotes # {} /\ s.role # "leader" /\ m.term = s.term + 1 /\ m.granted
    THEN LET s1 == [s EXCEPT !.pvotes = @ \cup {m.from}] IN
         IF IsQuorum(s1, s1.pvotes) THEN StartElection(s1, i) ELSE Same(s1)
    ELSE Same(s)

\* The follower's hint on a log mismatch (the run of the conflicting term
\* is searched back to the first entry after the snapshot, section 7).
ConflictTerm(s, prev) == IF prev > LastIndex(s) THEN 0 ELSE TermOf(s, prev)
ConflictIndex(s, prev) ==
    IF prev > LastIndex(s) THEN LastIndex(s) + 1
    ELSE IF prev = 0 THEN 0
    ELSE MinOf({k \in Min(prev, s.snap.index + 1)..prev :
                  \A x \in k..prev : TermOf(s, x) = TermOf(s, prev)})

\* Merge entries after prev: keep the entries already held; at the first
\* conflict (same index, different term) delete it and all that follow.
\* Section 7: the entries through the snapshot's index (the first skip of
\* ents, when prev is below it) are committed, so this term's leader holds
\* the same ones (Leader Completeness): they count as held.
MergeLog(s, prev, ents) ==
    LET skip == IF prev < s.snap.index THEN Min(Len(ents), s.snap.index - prev) ELSE 0
        diff == {k \in (skip + 1)..Len(ents) :
                   prev + k > LastIndex(s) \/ TermOf(s, prev + k) # ents[k].term}
    IN IF diff = {} THEN s.log
       ELSE LET k0 == MinOf(diff) IN
            Ents(s, s.snap.index + 1, prev + k0 - 1) \o SubSeq(ents, k0, Len(ents))

\* AppendEntries (section 5.3). s is the state after any term adoption.
HandleAppendEntries(s, i, m) ==
    IF m.term # s.term \/ s.role = "leader"
    THEN [s |-> s, out |-> {AppendResponseMsg(i, m.from, s.term, FALSE, m.prev_log_index,
                                              0, 0, 0, "stale_term")}]
    ELSE LET \* Section 5.2: a candidate that hears from a current-term leader
             \* steps down. Thesis section 9.6: the leader is live (a pre-vote
             \* round of this node ends unanswered).
             \* Thesis section 4.2.3: likewise with CheckQuorum (the node is
             \* sticky while live).
             s0 == [s EXCEPT !.live = PreVote \/ CheckQuorum, !.pvotes = {}]
             s1 == IF s0.role = "candidate" THEN [s0 EXCEPT !.role = "follower", !.votes = {}]
                   ELSE s0
             prev == m.prev_log_index
             \* Section 7: a prev_log_index inside the snapshot is held (committed).
             prevOK == \/ prev < s1.snap.index
                       \/ prev <= LastIndex(s1) /\ TermOf(s1, prev) = m.prev_log_term
         IN IF ~prevOK
            THEN [s |-> s1,
                  out |-> {AppendResponseMsg(i, m.from, s1.term, FALSE, prev, 0,
                                             ConflictIndex(s1, prev),
                                             ConflictTerm(s1, prev), "log_mismatch")}]
            ELSE LET lastNew == prev + Len(m.entries)
                     s2 == [s1 EXCEPT !.log = MergeLog(s1, prev, m.entries),
                                      !.verified = Max(s1.verified, lastNew)]
                     r3 == IF Min(m.leader_commit, lastNew) > s2.commit
                           THEN SetCommit(s2, i, Min(m.leader_commit, lastNew))
                           ELSE Same(s2)
                 IN [s |-> r3.s,
                     out |-> r3.out \cup
                             {AppendResponseMsg(i, m.from, s1.term, TRUE, prev, lastNew,
                                                0, 0, "")}]

\* The leader's next nextIndex after a log_mismatch reply: past its last entry
\* of the conflicting term if it has one, else the follower's conflict_index.
\* (Section 7: only the entries after the snapshot are searched.)
BackUp(s, m) ==
    LET le == {k \in (s.snap.index + 1)..LastIndex(s) : TermOf(s, k) <= m.conflict_term}
        k0 == IF le = {} THEN 0 ELSE MaxOf(le)
    IN IF m.conflict_term > 0 /\ k0 > 0 /\ TermOf(s, k0) = m.conflict_term
       THEN k0 + 1 ELSE m.conflict_index

\* Thesis section 3.10, step 2: once the transfer target's log matches the
\* leader's (matchIndex = the leader's last index; with client commands
\* refused meanwhile it stays so), TimeoutNow makes it start an election it
\* can win. Sent once per transfer. The planted bug
\* transfer_before_caught_up sends it without waiting for the match.
MaybeTimeoutNow(s, i) ==
    IF s.xfer = Nil \/ s.tnsent
       \/ (s.match[s.xfer] # LastIndex(s) /\ ~PlantedTransferBeforeCaughtUp)
    THEN Same(s)
    ELSE [s |-> [s EXCEPT !.tnsent = TRUE], out |-> {TimeoutNowMsg(i, s.xfer, s.term)}]

\* A success shows the follower matches through match_index: a probe ends
\* once it matches at nextIndex - 1 or later, and a freed window takes the
\* entries appended meanwhile. A rejection is stale (and ignored) when it
\* answers a request the leader has moved past: at or below matchIndex, or,
\* while probing, any but the current probe; otherwise nextIndex backs up
\* (never below matchIndex + 1 nor above the rejected index) and a new probe
\* goes out.
\* With CheckQuorum, any answer of the leader's term, success or not, shows
\* its sender reachable (thesis section 6.2).
HandleAppendResponse(sIn, i, m) ==
    LET s == IF CheckQuorum /\ sIn.role = "leader" /\ m.term = sIn.term
             THEN [sIn EXCEPT !.heard = @ \cup {m.from}] ELSE sIn IN
    IF m.from \notin Members(sIn) THEN Same(sIn)   \* section 4.1: not replicated to
    ELSE IF s.role # "leader" \/ m.term # s.term THEN Same(s)
    ELSE LET j == m.from IN
         IF m.success
         THEN LET match == Max(s.match[j], m.match_index)
                  probe == s.probe[j] /\ m.match_index + 1 < s.next[j]
                  s1 == [s EXCEPT !.match[j] = match, !.next[j] = Max(s.next[j], match + 1),
                                  !.probe[j] = probe]
                  r2 == AdvanceCommit(s1, i)
                  r3 == IF WindowFree(r2.s, j) /\ r2.s.next[j] <= LastIndex(r2.s)
                        THEN SendAppend(r2.s, i, j)
                        ELSE Same(r2.s)
                  r4 == IF j = r3.s.xfer THEN MaybeTimeoutNow(r3.s, i) ELSE Same(r3.s)
              IN [s |-> r4.s, out |-> r2.out \cup r3.out \cup r4.out]
         ELSE LET r == m.prev_log_index
                  stale == IF s.probe[j] THEN r # s.next[j] - 1 ELSE r <= s.match[j]
              IN IF stale THEN Same(s)
                 ELSE LET next == Max(s.match[j] + 1, Min(BackUp(s, m), r))
                      IN SendAppend([s EXCEPT !.next[j] = next, !.probe[j] = TRUE], i, j)

\* The seed's CommitNotification: only this term's leader may move the commit
\* index, and only over entries verified to match its log.
HandleCommitNotification(s, i, m) ==
    IF m.term # s.term \/ s.role = "leader" THEN Same(s)
    ELSE SetCommit(s, i, Min(m.leader_commit, s.verified))

\* Thesis section 6.4 (ReadIndex). A ReadConfirm changes nothing at its
\* receiver (beyond the adoption of a higher term, before): the answer
\* carries the receiver's term, which confirms the asker if equal and
\* deposes it if higher.
HandleReadConfirm(s, i, m) ==
    [s |-> s, out |-> {ReadConfirmResponseMsg(i, m.from, s.term, m.round)}]

\* Only an answer of the leader's own term confirms (a round it answers and
\* every earlier one); with CheckQuorum it also shows its sender reachable
\* (thesis section 6.2).
HandleReadConfirmResponse(s, i, m) ==
    IF s.role # "leader" \/ m.term # s.term \/ m.from \notin Voters(s) THEN Same(s)
    ELSE Same([s EXCEPT !.racked[m.from] = Max(@, m.round),
                        !.heard = IF CheckQuorum THEN @ \cup {m.from} ELSE @])

\* Thesis section 3.10: the target of a transfer starts an election at once,
\* as if its election timer had fired but with no pre-vote round (the
\* leader wants this election). Only a TimeoutNow of its own term counts:
\* one of an older term comes from a leader since replaced. A server that is
\* not a voter of its configuration ignores it (thesis section 4.1).
HandleTimeoutNow(s, i, m) ==
    IF m.term # s.term \/ s.role = "leader" \/ i \notin Voters(s) THEN Same(s)
    ELSE StartElectionX([s EXCEPT !.live = FALSE], i, TRUE)

\* Section 7 (Figure 13), InstallSnapshot at a follower. s is the state
\* after any term adoption. Only this term's leader is heeded (a stale one
\* learns the newer term from the answer), as with AppendEntries (section
\* 5.2: a candidate steps down; the leader is live). A snapshot at or below
\* the commit index brings nothing (this node holds those entries,
\* committed, in its log or its own snapshot) and is answered done. Else
\* the snapshot replaces the state machine; the log keeps the entries after
\* the snapshot's index if its entry there has the snapshot's term ("retain
\* log entries following it": they may have been acknowledged and counted
\* for a commit), else it is discarded whole (nothing in it is known to
\* match); commit and applied become the snapshot's index. The planted bug
\* install_discards_log always discards the whole log. whole: the message
\* is installed if it can be (always in the model; trace validation passes
\* FALSE for a chunk that is not the last, or not installed, see
\* TraceRaftKV).
HandleInstallSnapshotX(s, i, m, whole) ==
    LET idx == m.last_included_index
        Reply(st, done) == [s |-> st, out |-> {InstallSnapshotResponseMsg(i, m.from, st.term,
                                                                         idx, done)}]
    IN
    IF m.term # s.term \/ s.role = "leader" THEN Reply(s, FALSE)
    ELSE LET s0 == [s EXCEPT !.live = PreVote \/ CheckQuorum, !.pvotes = {}]
             s1 == IF s0.role = "candidate" THEN [s0 EXCEPT !.role = "follower", !.votes = {}]
                   ELSE s0
             keep == /\ idx <= LastIndex(s1) /\ TermOf(s1, idx) = m.last_included_term
                     /\ ~InstallDiscardsLogBug
         IN IF idx <= s1.commit THEN Reply(s1, TRUE)
            ELSE IF ~whole THEN Reply(s1, FALSE)
            ELSE Reply([s1 EXCEPT !.log = IF keep THEN Ents(s1, idx + 1, LastIndex(s1)) ELSE <<>>,
                                  !.snap = [index |-> idx, term |-> m.last_included_term,
                                            store |-> m.store, sessions |-> m.sessions,
                                            conf |-> m.conf],
                                  !.store = m.store, !.sessions = m.sessions,
                                  !.commit = idx, !.applied = idx,
                                  !.verified = Max(s1.verified, idx)], TRUE)

HandleInstallSnapshot(s, i, m) == HandleInstallSnapshotX(s, i, m, TRUE)

\* Section 7: the follower holds the state through the snapshot's index
\* (done): matchIndex and nextIndex move there, the probe is over and
\* replication goes on from there, as after a successful AppendEntries (an
\* answer past this leader's log is not about its snapshot and is
\* ignored). An answer that is not done changes nothing (the code's chunk
\* bookkeeping aside: see TraceRaftKV). With CheckQuorum, any answer of the
\* leader's term shows its sender reachable (thesis section 6.2).
HandleInstallSnapshotResponse(sIn, i, m) ==
    LET s == IF CheckQuorum /\ sIn.role = "leader" /\ m.term = sIn.term
             THEN [sIn EXCEPT !.heard = @ \cup {m.from}] ELSE sIn
        j == m.from
        match == Max(s.match[j], m.last_included_index)
    IN
    IF m.from \notin Members(sIn) THEN Same(sIn)   \* section 4.1: not replicated to
    ELSE IF s.role # "leader" \/ m.term # s.term \/ ~m.done \/ match > LastIndex(s) THEN Same(s)
    ELSE LET s1 == [s EXCEPT !.match[j] = match, !.next[j] = Max(s.next[j], match + 1),
                             !.probe[j] = FALSE]
             r2 == AdvanceCommit(s1, i)
             r3 == IF WindowFree(r2.s, j) /\ r2.s.next[j] <= LastIndex(r2.s)
                   THEN SendAppend(r2.s, i, j)
                   ELSE Same(r2.s)
             r4 == IF j = r3.s.xfer THEN MaybeTimeoutNow(r3.s, i) ELSE Same(r3.s)
         IN [s |-> r4.s, out |-> r2.out \cup r3.out \cup r4.out]

\* End of every step: apply log[lastApplied+1 .. commitIndex] in order.
EndStep(s) ==
    LET lim == Min(s.commit, LastIndex(s)) IN
    IF s.applied >= lim THEN s
    ELSE LET r == ApplyEntries(s.store, s.sessions, Ents(s, s.applied + 1, lim)) IN
         [s EXCEPT !.applied = lim, !.store = r.store, !.sessions = r.sessions]

\* The results of the entries a step applied (TraceRaftKV compares them with
\* the trace's apply events): from the state machine before the step, or
\* from the snapshot the step installed (section 7).
StepBase(i, s2) ==
    IF s2.snap.index > node[i].applied
    THEN [applied |-> s2.snap.index, store |-> s2.snap.store, sessions |-> s2.snap.sessions]
    ELSE [applied |-> node[i].applied, store |-> node[i].store, sessions |-> node[i].sessions]
StepResults(i, s2) ==
    LET b == StepBase(i, s2) IN
    ApplyEntries(b.store, b.sessions, Ents(s2, b.applied + 1, s2.applied)).results

\* Section 7: a snapshot of the state machine through index k, which must be
\* applied (hence committed), from the previous snapshot and the entries
\* after it; the log keeps the entries after k. The planted bug
\* snapshot_uncommitted may snapshot past the commit index: the entries
\* through k are folded into the state machine (applied becomes k).
SnapshotAt(s, k) ==
    LET st == ApplyEntries(s.snap.store, s.snap.sessions, Ents(s, s.snap.index + 1, k))
    IN [s EXCEPT !.snap = [index |-> k, term |-> TermOf(s, k),
                           store |-> st.store, sessions |-> st.sessions,
                           conf |-> ConfThrough(s, k)],
                 !.log = Ents(s, k + 1, LastIndex(s)),
                 !.applied = Max(s.applied, k),
                 !.store = IF k > s.applied THEN st.store ELSE s.store,
                 !.sessions = IF k > s.applied THEN st.sessions ELSE s.sessions]

\* The indices a snapshot may be taken through: past the last snapshot, up
\* to the applied index (the planted bug: up to the last entry).
SnapshotIndices(s) ==
    (s.snap.index + 1)..(IF SnapshotUncommittedBug THEN LastIndex(s) ELSE s.applied)

\* Thesis section 6.4, step 1: the read index is the commit index, but only
\* once an entry of the leader's term is committed (until then it may not
\* know which entries are committed; its no-op settles that); 0: not yet.
ReadIndexOf(s) == IF TermOf(s, s.commit) = s.term THEN s.commit ELSE 0

\* A majority, the leader included, confirmed round (or a later one).
Confirmed(s, i, round) ==
    IsQuorum(s, {i} \cup {j \in Server \ {i} : s.racked[j] >= round})

ReadValue(st, key) == IF key \in DOMAIN st THEN Res("ok", st[key]) ELSE Res("not_found", "")

\* At the end of a leader's step, its reads (thesis section 6.4, steps 3 and
\* 4): a read without a read index takes one if it can; a read is answered
\* from the state machine once a majority confirmed a round sent after it
\* was taken (the planted bug read_index_without_confirm does not wait for
\* that) and the state machine has applied through its read index. The
\* others wait, in order. served: the answers, [cmd, index, result].
ServeReads(s, i) ==
    IF s.role # "leader" \/ s.reads = <<>> THEN [s |-> s, served |-> <<>>]
    ELSE LET rs == [k \in DOMAIN s.reads |->
                      IF s.reads[k].index = 0 THEN [s.reads[k] EXCEPT !.index = ReadIndexOf(s)]
                      ELSE s.reads[k]]
             ByRound(r) == r.round # 0 /\ Confirmed(s, i, r.round)
             ByLease(r) == ~ByRound(r) /\ s.lease
             Ready(r) == /\ r.index # 0
                         /\ PlantedReadIndexWithoutConfirm \/ ByRound(r) \/ ByLease(r)
                         /\ s.applied >= r.index
             done == SelectSeq(rs, Ready)
         IN [s |-> [s EXCEPT !.reads = SelectSeq(rs, LAMBDA r : ~Ready(r))],
             served |-> [k \in DOMAIN done |->
                            [cmd |-> done[k].cmd, index |-> done[k].index,
                             result |-> ReadValue(s.store, done[k].cmd.key),
                             lease |-> ByLease(done[k])]]]

(***************************************************************************)
(* Membership changes (thesis section 4.1), at a leader. A change is       *)
(* allowed only (a) when the leader's latest configuration entry is        *)
(* committed (at most one change under way), (b) with no leadership        *)
(* transfer under way, and (c) once the entry at its commit index has its  *)
(* term: it has committed an entry of its own term (with LeaderNoop, its   *)
(* no-op). Without (c) a new leader may change from its own configuration  *)
(* while an uncommitted configuration entry of an older term, which other  *)
(* servers hold and it does not, can still commit: two changes made from   *)
(* one configuration give two configurations whose majorities need not    *)
(* overlap (Ongaro, raft-dev, 2015). The planted bug                       *)
(* change_before_term_commit leaves out (c).                               *)
(***************************************************************************)
ChangeAllowed(s) ==
    /\ s.role = "leader"
    /\ s.xfer = Nil
    /\ Conf(s).index <= s.commit
    /\ TermOf(s, s.commit) = s.term \/ PlantedChangeBeforeTermCommit

\* Append the configuration entry (in effect at once) and replicate it.
AppendConfig(s, i, v, l) ==
    LET s1 == [s EXCEPT !.log = Append(s.log, [term |-> s.term, cmd |-> ConfigCmd(v, l)])]
        r2 == ReplicateNew(s1, i)
        r3 == AdvanceCommit(r2.s, i)
    IN [s |-> r3.s, out |-> r2.out \cup r3.out]

\* A learner that holds every committed entry (matchIndex >= commitIndex)
\* becomes a voter: from now on counting it does not stall commits behind
\* its catch-up (thesis section 4.2.1). At the end of a leader's step, one
\* learner per step (the code takes the lowest id; with one learner, as in
\* every model here, that is CHOOSE's).
MaybePromote(s, i) ==
    LET ready == {j \in Conf(s).learners : s.match[j] >= s.commit}
    IN IF ~MembershipChanges \/ ready = {} \/ ~ChangeAllowed(s) THEN Same(s)
       ELSE LET j == CHOOSE j \in ready : TRUE IN
            AppendConfig(s, i, Voters(s) \cup {j}, Conf(s).learners \ {j})

\* Thesis section 4.2.2: a leader that is not a voter of its configuration
\* (it removed itself) leads without counting itself until that
\* configuration is committed, then steps down; not a voter, it never
\* stands again. (As in the code, its progress is kept, unread: the trace
\* shows the step's last progress events.)
MaybeLeave(s, i) ==
    IF s.role = "leader" /\ i \notin Voters(s) /\ Conf(s).index <= s.commit
    THEN [s EXCEPT !.role = "follower", !.live = FALSE, !.heard = {},
                   !.votes = {}, !.reads = <<>>, !.rround = 0, !.racked = InitMatch,
                   !.xfer = Nil, !.tnsent = FALSE]
    ELSE s

(* The complete steps: the handler, then the step's end (a leader's commit *)
(* notifications, applying what is committed, answering the reads that can *)
(* be). A complete step is [s, out, served].                                *)

\* (As in the code, a leader's step ends with: apply, answer reads, promote
\* a caught-up learner (which may commit more, applied at once), notify
\* commits, step down if it removed itself.)
Finish(r, i) ==
    LET v == ServeReads(EndStep(r.s), i)
        p == MaybePromote(v.s, i)
        f == FlushCommit(EndStep(p.s), i)
    IN [s |-> MaybeLeave(f.s, i), out |-> r.out \cup p.out \cup f.out, served |-> v.served]

\* The runtime asks leader i to add j (not a member: it joins as a learner,
\* and is probed at once) or remove j (a member, voter or learner, not the
\* last voter). The actions below take only changes the leader accepts (a
\* refused one changes nothing: reject_change in the trace).
\* Why the code refuses a change (its reject_change reason), "" if it accepts.
ChangeReason(s, action, j) ==
    CASE s.role # "leader" -> "not_leader"
      [] s.xfer # Nil -> "transfer"
      [] Conf(s).index > s.commit -> "change_pending"
      [] TermOf(s, s.commit) # s.term /\ ~PlantedChangeBeforeTermCommit -> "term_not_committed"
      [] j \notin Server -> "invalid_target"
      [] action = "add" /\ j \in Members(s) -> "already_member"
      [] action = "remove" /\ j \notin Members(s) -> "not_member"
      [] action = "remove" /\ Voters(s) = {j} -> "last_voter"
      [] OTHER -> ""

ChangeOK(s, action, j) ==
    /\ ChangeAllowed(s)
    /\ IF action = "add" THEN j \notin Members(s)
       ELSE j \in Members(s) /\ Voters(s) # {j}

\* A new member's progress starts as a new leader's would, past the
\* configuration entry (the code meets it when the entry takes effect), probed.
ChangeStepAt(sIn, i, action, j) ==
    LET s0 == IF action = "add"
              THEN [sIn EXCEPT !.next[j] = LastIndex(sIn) + 2, !.match[j] = 0,
                               !.probe[j] = TRUE, !.csent[j] = 0]
              ELSE sIn
        c == Conf(s0)
        r1 == IF action = "add" THEN AppendConfig(s0, i, c.voters, c.learners \cup {j})
              ELSE AppendConfig(s0, i, c.voters \ {j}, c.learners \ {j})
        r2 == IF action = "add" THEN SendAppend(r1.s, i, j) ELSE Same(r1.s)
    IN Finish([s |-> r2.s, out |-> r1.out \cup r2.out], i)

\* Thesis section 6.4: a round of ReadConfirms to every other node.
ReadRound(s, i) ==
    LET s1 == [s EXCEPT !.rround = @ + 1] IN
    [s |-> s1, out |-> {ReadConfirmMsg(i, j, s1.term, s1.rround) : j \in Voters(s1) \ {i}}]

\* Section 5.2: an election timeout starts an election; with PreVote
\* (thesis section 9.6) it starts a pre-vote round instead. Either way the
\* node stops counting on a live leader.
\* Thesis section 4.1: a server that is not a voter of its configuration (a
\* learner, a removed server, one not yet added) never stands: its timer
\* only re-arms.
TimeoutStepAt(sIn, i) ==
    LET s0 == [sIn EXCEPT !.live = FALSE] IN
    Finish(IF i \notin Voters(s0) THEN Same(s0)
           ELSE IF PreVote THEN StartPreVote(s0, i) ELSE StartElection(s0, i), i)

\* With ReadIndex, reads still unconfirmed (their ReadConfirms or the
\* answers lost) get a new round, sent after they were taken. So do reads
\* taken on a lease (round 0, trace validation only: see lease) once the
\* lease no longer holds.
HeartbeatStepAt(sIn, i) ==
    LET r1 == BroadcastAppend(sIn, i)
        s1 == r1.s
        Unconfirmed(rd) == IF rd.round = 0 THEN ~s1.lease ELSE ~Confirmed(s1, i, rd.round)
        rr == ReadRound(s1, i)
        r2 == IF \E k \in DOMAIN s1.reads : Unconfirmed(s1.reads[k])
              THEN IF \E k \in DOMAIN s1.reads : s1.reads[k].round = 0
                   THEN [rr EXCEPT !.s.reads =
                           [k \in DOMAIN s1.reads |->
                              IF s1.reads[k].round = 0 THEN [s1.reads[k] EXCEPT !.round = rr.s.rround]
                              ELSE s1.reads[k]]]
                   ELSE rr
              ELSE Same(s1)
    IN Finish([s |-> r2.s, out |-> r1.out \cup r2.out], i)

\* Thesis section 6.2: the leader's check_quorum timer (every election
\* timeout). If a majority, itself included, answered it since its previous
\* check (or its election) it counts again from none; otherwise it steps down
\* to follower in the same term, knowing no leader, so that its clients look
\* for one that can commit. The planted bug leader_ignores_quorum never steps
\* down. (The code keeps its progress and votes there, unread until its next
\* election, which resets them: cleared here, as AdoptTerm does.)
CheckQuorumStepAt(sIn, i) ==
    LET s == sIn IN
    Finish(Same(IF IsQuorum(s, s.heard \cup {i}) \/ PlantedLeaderIgnoresQuorum
                THEN [s EXCEPT !.heard = {}]
                ELSE [s EXCEPT !.role = "follower", !.live = FALSE, !.heard = {},
                               !.votes = {}, !.next = InitNext, !.match = InitMatch,
                               !.probe = InitProbe, !.csent = InitCSent,
                               !.reads = <<>>, !.rround = 0, !.racked = InitMatch,
                               !.xfer = Nil, !.tnsent = FALSE]), i)

\* A client command at a leader: appended and replicated; with ReadIndex a
\* get is taken as a read instead (thesis section 6.4, steps 1 and 2: its
\* read index, and a ReadConfirm round sent after it was taken). A leader
\* whose lease is valid (lease, trace validation only) takes it with round 0
\* and sends no round: ServeReads answers it on the lease.
ClientStepAt(sIn, i, c) ==
    LET s0 == sIn
        s1 == [s0 EXCEPT !.log = Append(s0.log, [term |-> s0.term, cmd |-> c])]
        r2 == ReplicateNew(s1, i)
        r3 == AdvanceCommit(r2.s, i)
        rr == ReadRound(s0, i)
        sr == [rr.s EXCEPT !.reads = Append(@, [cmd |-> c, index |-> ReadIndexOf(s0),
                                                round |-> rr.s.rround])]
        sl == [s0 EXCEPT !.reads = Append(@, [cmd |-> c, index |-> ReadIndexOf(s0), round |-> 0])]
    IN IF ReadIndex /\ c.op = "get" /\ s0.lease
       THEN Finish([s |-> sl, out |-> {}], i)
       ELSE IF ReadIndex /\ c.op = "get"
       THEN Finish([s |-> sr, out |-> rr.out], i)
       ELSE Finish([s |-> r3.s, out |-> r2.out \cup r3.out], i)

\* Thesis section 6.4.1 (LeaseRead), abstractly: a leader whose lease holds
\* answers a get at once, with no ReadConfirm round, once it has a read
\* index it has applied through (otherwise the get is taken as a ReadIndex
\* read, ClientStep). Time is not modelled, so neither is the lease's length
\* nor the clock drift that bounds it: what a valid lease guarantees is the
\* enabling condition of the action (LeaseHolds, in LeaseReadReq), and this
\* step only answers.
LeaseStep(i, c) ==
    LET s0 == LS(i)
        f == Finish(Same(s0), i)
    IN [f EXCEPT !.served = Append(@, [cmd |-> c, index |-> ReadIndexOf(s0),
                                       result |-> ReadValue(s0.store, c.key), lease |-> TRUE])]

\* Thesis section 3.10: a leader asked to hand leadership to j (not itself)
\* starts a transfer (replacing one under way); step 1 brings j's log up to
\* date by normal replication (sent now if nothing is in flight to j), step
\* 2 is MaybeTimeoutNow. Anywhere else the input changes nothing.
TransferStepAt(sIn, i, j) ==
    LET s0 == sIn
        s1 == [s0 EXCEPT !.xfer = j, !.tnsent = FALSE]
        r2 == IF WindowFree(s1, j) /\ s1.next[j] <= LastIndex(s1) THEN SendAppend(s1, i, j)
              ELSE Same(s1)
        r3 == MaybeTimeoutNow(r2.s, i)
    IN IF s0.role = "leader" /\ j # i /\ j \in Server
       THEN Finish([s |-> r3.s, out |-> r2.out \cup r3.out], i)
       ELSE Finish(Same(s0), i)

\* Thesis section 3.10: a transfer not completed within an election timeout
\* is given up (the target may be down or cut off); the leader takes client
\* commands again.
TransferTimeoutStepAt(sIn, i) ==
    LET s0 == sIn IN
    Finish(Same(IF s0.role = "leader" /\ s0.xfer # Nil
                THEN [s0 EXCEPT !.xfer = Nil, !.tnsent = FALSE] ELSE s0), i)

\* Section 5.1: a higher term in a message is adopted before anything else,
\* except in PreVote and PreVoteResponse, whose term is one nobody holds yet
\* (thesis section 9.6); the planted bug prevote_raises_term adopts a
\* PreVote's.
\* With CheckQuorum, a sticky node does not adopt a RequestVote's term
\* (thesis section 4.2.3).
\* A leadership transfer's RequestVote (thesis section 3.10) is adopted even
\* so.
AdoptsTerm(s, m) ==
    \/ m.type \notin {"PreVote", "PreVoteResponse", "RequestVote"}
    \/ m.type = "RequestVote" /\ (~Sticky(s) \/ m.transfer)
    \/ m.type = "PreVote" /\ PlantedPreVoteRaisesTerm

\* whole: see HandleInstallSnapshotX (TRUE but in trace validation).
ReceiveStepX(sIn, i, m, whole) ==
    LET s0 == sIn
        s1 == IF m.term > s0.term /\ AdoptsTerm(s0, m) THEN AdoptTerm(s0, m.term) ELSE s0
        r == CASE m.type = "RequestVote"           -> HandleRequestVote(s1, i, m)
               [] m.type = "PreVote"               -> HandlePreVote(s1, i, m)
               [] m.type = "PreVoteResponse"       -> HandlePreVoteResponse(s1, i, m)
               [] m.type = "RequestVoteResponse"   -> HandleVoteResponse(s1, i, m)
               [] m.type = "AppendEntries"         -> HandleAppendEntries(s1, i, m)
               [] m.type = "AppendEntriesResponse" -> HandleAppendResponse(s1, i, m)
               [] m.type = "CommitNotification"    -> HandleCommitNotification(s1, i, m)
               [] m.type = "ReadConfirm"           -> HandleReadConfirm(s1, i, m)
               [] m.type = "ReadConfirmResponse"   -> HandleReadConfirmResponse(s1, i, m)
               [] m.type = "TimeoutNow"            -> HandleTimeoutNow(s1, i, m)
               [] m.type = "InstallSnapshot"       -> HandleInstallSnapshotX(s1, i, m, whole)
               [] m.type = "InstallSnapshotResponse" -> HandleInstallSnapshotResponse(s1, i, m)
    IN Finish(r, i)

ReceiveStepAt(sIn, i, m) == ReceiveStepX(sIn, i, m, TRUE)

\* The steps from node i's state. (TraceRaftKV uses the ...At forms, to give
\* a step its node's state with lease set: see lease.)
TimeoutStep(i) == TimeoutStepAt(LS(i), i)
HeartbeatStep(i) == HeartbeatStepAt(LS(i), i)
CheckQuorumStep(i) == CheckQuorumStepAt(LS(i), i)
ClientStep(i, c) == ClientStepAt(LS(i), i, c)
TransferStep(i, j) == TransferStepAt(LS(i), i, j)
TransferTimeoutStep(i) == TransferTimeoutStepAt(LS(i), i)
ChangeStep(i, action, j) == ChangeStepAt(LS(i), i, action, j)
ReceiveStep(i, m) == ReceiveStepAt(LS(i), i, m)

-----------------------------------------------------------------------------
(* Committing a step's result *)

\* History: keep, per (index, entry), the lowest term in which a node committed it.
\* (Section 7: the entries a step's installed snapshot covers are not in the
\* log; they were committed by the leader that sent it, SnapshotCommitted.)
AddCommits(i, s2) ==
    LET new == {[index |-> k, entry |-> EntryAt(s2, k), term |-> s2.term] :
                   k \in Max(node[i].commit, s2.snap.index) + 1..s2.commit}
        all == committed \cup new
    IN {c \in all : ~\E d \in all : d.index = c.index /\ d.entry = c.entry /\ d.term < c.term}

\* The highest index committed (the committed indices are 1..MaxIndex: a
\* node commits a prefix of its log).
MaxIndex(C) == IF C = {} THEN 0 ELSE MaxOf({c.index : c \in C})

\* readInvoked after a step that handed leader i command c (ReadIndex, a get):
\* the first receipt of a get anywhere fixes the committed index it must see.
InvokeRead(c) ==
    IF ReadIndex /\ c.op = "get" /\ c \notin DOMAIN readInvoked
    THEN (c :> MaxIndex(committed)) @@ readInvoked
    ELSE readInvoked

\* Commit step r of node i: r = [s, out, served] (a complete step, Finish);
\* inv: readInvoked after the step; ans: answered[i] after the step.
\* (Trace validation hands a step that ends with a snapshot of the node's own
\* with the state before that snapshot as r.pre: the entries the step
\* committed and then compacted are recorded from it, and an install is
\* told from a snapshot of its own.)
Pre(r) == IF "pre" \in DOMAIN r THEN r.pre ELSE r.s

UpdateNodeA(i, r, inv, ans) ==
    LET s2 == r.s
        comm == IF s2.commit > node[i].commit THEN AddCommits(i, Pre(r)) ELSE committed
    IN
    /\ node' = [node EXCEPT ![i] = s2]
    /\ msgs' = msgs \cup r.out
    /\ committed' = comm
    /\ elected' = IF s2.role = "leader" /\ node[i].role # "leader"
                  THEN elected \cup {[term |-> s2.term, leader |-> i]}
                  ELSE elected
    /\ answered' = [answered EXCEPT ![i] = ans]
    /\ readInvoked' = inv
    /\ readsDone' = readsDone \cup
                      {[key |-> r.served[k].cmd.key, lo |-> inv[r.served[k].cmd],
                        hi |-> MaxIndex(comm), result |-> r.served[k].result,
                        lease |-> r.served[k].lease] :
                         k \in DOMAIN r.served}
    /\ installed' = IF Pre(r).snap # node[i].snap
                    THEN installed \cup {[node |-> i, index |-> Pre(r).snap.index,
                                          kept |-> Len(Pre(r).log)]}
                    ELSE installed

\* answered[i] starts from none when i becomes leader.
UpdateNodeI(i, r, inv) ==
    /\ UpdateNodeA(i, r, inv, IF r.s.role = "leader" /\ node[i].role # "leader" THEN {}
                             ELSE answered[i])
    /\ UNCHANGED lapsed

UpdateNode(i, r) == UpdateNodeI(i, r, readInvoked)

DoStep(i, r) == LET rr == r IN UpdateNode(i, rr)

-----------------------------------------------------------------------------
(* The actions *)

NoSnapshot == [index |-> 0, term |-> 0, store |-> EmptyFn, sessions |-> EmptyFn, conf |-> BootConf]

InitNode == [term |-> 0, vote |-> Nil, log |-> <<>>, role |-> "follower", commit |-> 0,
             applied |-> 0, store |-> EmptyFn, sessions |-> EmptyFn, votes |-> {},
             next |-> InitNext, match |-> InitMatch, probe |-> InitProbe, csent |-> InitCSent,
             verified |-> 0, pvotes |-> {}, live |-> FALSE, heard |-> {},
             reads |-> <<>>, rround |-> 0, racked |-> InitMatch, xfer |-> Nil, tnsent |-> FALSE,
             lease |-> FALSE, snap |-> NoSnapshot]

Init ==
    /\ node = [i \in Server |-> InitNode]
    /\ msgs = {}
    /\ committed = {}
    /\ elected = {}
    /\ answered = [i \in Server |-> {}]
    /\ lapsed = {}
    /\ readInvoked = EmptyFn
    /\ readsDone = {}
    /\ installed = {}

\* Election timeout (or the runtime's StartElection poke) at a follower or candidate.
Timeout(i) ==
    /\ node[i].role \in {"follower", "candidate"}
    /\ DoStep(i, TimeoutStep(i))

\* The leader's heartbeat tick: AppendEntries to every follower from its nextIndex.
Heartbeat(i) ==
    /\ node[i].role = "leader"
    /\ DoStep(i, HeartbeatStep(i))

\* CheckQuorum (thesis section 6.2): the leader's check_quorum timer fires;
\* the timer is abstracted to "at any time while leading". The history
\* records, from answered, a check that found fewer than a majority.
CheckQuorumTick(i) ==
    /\ CheckQuorum
    /\ node[i].role = "leader"
    /\ UpdateNodeA(i, CheckQuorumStep(i), readInvoked, {})
    /\ lapsed' = IF ~IsQuorum(node[i], answered[i] \cup {i})
                 THEN lapsed \cup {[term |-> node[i].term, leader |-> i]}
                 ELSE lapsed

\* A client request reaches the leader (a non-leader only answers not_leader,
\* which changes nothing and is not modelled).
\* A leader with a transfer under way refuses it (thesis section 3.10), which
\* changes nothing either.
ClientRequest(i, c) ==
    /\ node[i].role = "leader"
    /\ node[i].xfer = Nil
    /\ LET r == ClientStep(i, c) IN UpdateNodeI(i, r, InvokeRead(c))

\* Thesis section 6.4.1, abstractly: what a valid lease promises its leader
\* is that no server of a later term has been elected (the voters that
\* answered its round vote for no one else until their election timers,
\* which outlast the lease, fire). The history elected stands for that
\* promise (it also covers a later leader since deposed or crashed, whose
\* commits a lease read must not miss). The planted bug lease_ignores_drift
\* (a lease computed without the clock-drift bound outlives the promise) is
\* a lease used whatever the promise.
LeaseHolds(i) == ~\E e \in elected : e.term > node[i].term

\* A get answered on the lease (LeaseStep): a leader with no transfer under
\* way, a read index and its state machine applied through it.
LeaseReadReq(i, c) ==
    /\ LeaseRead
    /\ c.op = "get"
    /\ node[i].role = "leader"
    /\ node[i].xfer = Nil
    /\ ReadIndexOf(node[i]) # 0
    /\ node[i].applied >= ReadIndexOf(node[i])
    /\ LeaseHolds(i) \/ PlantedLeaseIgnoresDrift
    /\ UpdateNodeI(i, LeaseStep(i, c), InvokeRead(c))

\* Thesis section 3.10: the runtime asks leader i to hand leadership to j.
Transfer(i, j) ==
    /\ LeaderTransfer
    /\ node[i].role = "leader"
    /\ j # i
    /\ DoStep(i, TransferStep(i, j))

\* Thesis section 4.1: the runtime asks leader i to add server j (as a
\* learner) or to remove member j; only a change the leader accepts is a
\* step that changes anything (ChangeOK). Learners are promoted at the end
\* of a leader's steps (MaybePromote), and a leader that removed itself
\* steps down once that is committed (MaybeLeave). A server not in InitVoters
\* exists from the start, not a member, with an empty log (its `join`); a
\* removed server that is shut down (`leave`) is one that takes no more
\* steps, which every behaviour may do already.
AddServer(i, j) ==
    /\ MembershipChanges
    /\ ChangeOK(node[i], "add", j)
    /\ DoStep(i, ChangeStep(i, "add", j))

RemoveServer(i, j) ==
    /\ MembershipChanges
    /\ ChangeOK(node[i], "remove", j)
    /\ DoStep(i, ChangeStep(i, "remove", j))

\* The transfer timer of a leader with a transfer under way fires (abstracted
\* to "at any time").
TransferTimeout(i) ==
    /\ LeaderTransfer
    /\ node[i].role = "leader"
    /\ node[i].xfer # Nil
    /\ DoStep(i, TransferTimeoutStep(i))

\* Deliveries that change nothing (stale or redundant replies and commit
\* notifications) are left out of Next: they are stuttering steps anyway, and
\* with a network that never forgets a message they would be re-tried in
\* every state. (TraceRaftKV still accepts them: it uses ReceiveStep.)
NoOp(m) ==
    LET s == node[m.to] IN
    \/ /\ m.term <= s.term
       /\ \/ m.type = "RequestVoteResponse" /\
              ~(s.role = "candidate" /\ m.term = s.term /\ m.granted /\ m.from \notin s.votes)
          \/ m.type = "AppendEntriesResponse" /\ ~(s.role = "leader" /\ m.term = s.term)
          \/ m.type = "CommitNotification" /\
              ~(s.role # "leader" /\ m.term = s.term /\ Min(m.leader_commit, s.verified) > s.commit)
          \/ m.type = "ReadConfirmResponse" /\
              ~(s.role = "leader" /\ m.term = s.term /\
                (s.racked[m.from] < m.round \/ (CheckQuorum /\ m.from \notin s.heard)))
          \/ m.type = "TimeoutNow" /\ ~(s.role # "leader" /\ m.term = s.term)
          \/ m.type = "InstallSnapshotResponse" /\ ~(s.role = "leader" /\ m.term = s.term)
    \* A PreVoteResponse's term is never adopted, whatever it is.
    \/ m.type = "PreVoteResponse" /\
        ~(s.pvotes # {} /\ s.role # "leader" /\ m.term = s.term + 1 /\ m.granted /\
          m.from \notin s.pvotes)

\* The network delivers a message (any message ever sent, to a running node).
\* The history answered: an AppendEntriesResponse of a leader's term, delivered
\* to it, is recorded whatever the handler makes of it.
Receive(m) ==
    /\ m \in msgs
    /\ node[m.to].role # "down"
    /\ ~NoOp(m)
    /\ LET r == ReceiveStep(m.to, m)
           i == m.to
       IN IF CheckQuorum /\ node[i].role = "leader"
             /\ m.type \in {"AppendEntriesResponse", "ReadConfirmResponse",
                           "InstallSnapshotResponse"}
             /\ m.term = node[i].term
          THEN UpdateNodeA(i, r, readInvoked, answered[i] \cup {m.from}) /\ UNCHANGED lapsed
          ELSE UpdateNode(i, r)

\* A crash loses everything volatile; term, vote, log and snapshot were
\* persisted at the end of the node's last step.
Crash(i) ==
    /\ node[i].role # "down"
    /\ node' = [node EXCEPT ![i] = [InitNode EXCEPT !.term = node[i].term,
                                                   !.vote = node[i].vote,
                                                   !.log = node[i].log,
                                                   !.snap = node[i].snap,
                                                   !.role = "down"]]
    /\ UNCHANGED <<msgs, historyVars>>

\* A restart: a follower with its persisted term, vote and log; commit 0, or,
\* with a snapshot (section 7), the state machine restored from it and
\* commit and applied at its index (it holds only committed entries).
Restart(i) ==
    /\ node[i].role = "down"
    /\ node' = [node EXCEPT ![i].role = "follower",
                            ![i].commit = node[i].snap.index,
                            ![i].applied = node[i].snap.index,
                            ![i].store = node[i].snap.store,
                            ![i].sessions = node[i].snap.sessions]
    /\ UNCHANGED <<msgs, historyVars>>

\* Section 7: a running server takes a snapshot of its state machine through
\* an index it has applied, at any time (the code: at the end of a step
\* once snapshot_every entries were applied since its last one; the trace
\* shows it as the step's `snapshot` event), and discards its log through
\* that index. The snapshot is written to stable storage (it survives a
\* crash). No message is sent.
TakeSnapshot(i) ==
    /\ Snapshots
    /\ node[i].role # "down"
    /\ \E k \in SnapshotIndices(node[i]) :
          node' = [node EXCEPT ![i] = SnapshotAt(node[i], k)]
    /\ UNCHANGED <<msgs, historyVars>>

ProtocolNext ==
    \/ \E i \in Server : Timeout(i) \/ Heartbeat(i) \/ CheckQuorumTick(i) \/ TransferTimeout(i)
    \/ \E i \in Server : TakeSnapshot(i)
    \/ \E i, j \in Server : Transfer(i, j)
    \/ \E i, j \in Server : AddServer(i, j) \/ RemoveServer(i, j)
    \/ \E i \in Server, c \in Commands : ClientRequest(i, c) \/ LeaseReadReq(i, c)
    \/ \E m \in msgs : Receive(m)

FaultNext == \E i \in Server : Crash(i) \/ Restart(i)

Next == ProtocolNext \/ FaultNext

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* Invariants: the names are the trace checker's (spec/checks.md). *)

Roles == {"follower", "candidate", "leader", "down"}

Entries == [term : Nat, cmd : Commands \cup {NoopCmd}]
\* An entry: of Entries, or a configuration entry (membership changes).
IsEntry(e) ==
    IF IsConfigEntry(e)
    THEN /\ MembershipChanges /\ e.term \in Nat
         /\ e.cmd = ConfigCmd(e.cmd.voters, e.cmd.learners)
         /\ e.cmd.voters \subseteq Server /\ e.cmd.learners \subseteq Server
         /\ e.cmd.voters \cap e.cmd.learners = {} /\ e.cmd.voters # {}
    ELSE e \in Entries

NodeTypeOK(s) ==
    /\ DOMAIN s = {"term", "vote", "log", "role", "commit", "applied", "store", "sessions",
                   "votes", "next", "match", "probe", "csent", "verified", "pvotes", "live",
                   "heard", "reads", "rround", "racked", "xfer", "tnsent", "lease", "snap"}
    /\ s.term \in Nat /\ s.vote \in Server \cup {Nil}
    /\ \A k \in DOMAIN s.log : IsEntry(s.log[k])
    /\ s.role \in Roles /\ s.commit \in Nat /\ s.applied \in Nat
    /\ \A k \in DOMAIN s.store : s.store[k] \in STRING
    /\ \A c \in DOMAIN s.sessions : s.sessions[c].seq \in Nat
    /\ s.votes \subseteq Server /\ s.next \in [Server -> Nat \ {0}]
    /\ s.match \in [Server -> Nat] /\ s.verified \in Nat
    /\ s.probe \in [Server -> BOOLEAN] /\ s.csent \in [Server -> Nat]
    /\ s.pvotes \subseteq Server /\ s.live \in BOOLEAN
    /\ s.heard \subseteq Server
    /\ PreVote \/ s.pvotes = {}
    /\ PreVote \/ CheckQuorum \/ ~s.live
    /\ CheckQuorum \/ s.heard = {}
    /\ s.rround \in Nat /\ s.racked \in [Server -> Nat]
    /\ \A k \in DOMAIN s.reads : s.reads[k].index \in Nat /\ s.reads[k].round \in Nat
    /\ ReadIndex \/ (s.reads = <<>> /\ s.rround = 0)
    /\ s.xfer \in Server \cup {Nil} /\ s.tnsent \in BOOLEAN
    /\ LeaderTransfer \/ s.xfer = Nil
    /\ s.lease \in BOOLEAN /\ (LeaseRead \/ ~s.lease)
    /\ s.snap.index \in Nat /\ s.snap.term \in Nat
    /\ Snapshots \/ s.snap = NoSnapshot

TypeOK ==
    /\ \A i \in Server : NodeTypeOK(node[i])
    /\ \A m \in msgs : m.from \in Server /\ m.to \in Server /\ m.term \in Nat
    /\ \A c \in committed : c.index \in Nat \ {0} /\ IsEntry(c.entry) /\ c.term \in Nat
    /\ \A e \in elected : e.term \in Nat /\ e.leader \in Server
    /\ answered \in [Server -> SUBSET Server]
    /\ \A e \in lapsed : e.term \in Nat /\ e.leader \in Server
    /\ \A c \in DOMAIN readInvoked : readInvoked[c] \in Nat
    /\ \A r \in readsDone : r.lo \in Nat /\ r.hi \in Nat /\ r.lo <= r.hi /\ r.lease \in BOOLEAN
    /\ LeaseRead \/ \A r \in readsDone : ~r.lease
    /\ \A x \in installed : x.node \in Server /\ x.index \in Nat /\ x.kept \in Nat

(***************************************************************************)
(* Section 7: a node's log after a snapshot lacks the entries it compacted. *)
(* The invariants below read every node's whole log, FullLog: an entry held *)
(* through a snapshot counts as held, and is the entry committed at its    *)
(* index (the history committed), since a snapshot covers a committed      *)
(* prefix (SnapshotCommitted, at the end, checks that). Without a snapshot *)
(* FullLog is the log, and the invariants are the ones of Figure 3.        *)
(***************************************************************************)
NotCommitted == [term |-> 0, cmd |-> NoopCmd]   \* no entry has term 0
CommittedAt(k) ==
    IF \E c \in committed : c.index = k THEN (CHOOSE c \in committed : c.index = k).entry
    ELSE NotCommitted
FullLog(s) ==
    IF s.snap.index = 0 THEN s.log
    ELSE [k \in 1..LastIndex(s) |-> IF k <= s.snap.index THEN CommittedAt(k) ELSE EntryAt(s, k)]

\* At most one leader is elected in a term (Figure 3, section 5.2).
ElectionSafety ==
    \A e1, e2 \in elected : e1.term = e2.term => e1.leader = e2.leader

\* Logs that share an entry's index and term are identical up to it (section 5.3).
LogMatching ==
    \A i, j \in Server :
        LET li == FullLog(node[i])
            lj == FullLog(node[j])
        IN \A k \in 1..Min(Len(li), Len(lj)) :
               li[k].term = lj[k].term => SubSeq(li, 1, k) = SubSeq(lj, 1, k)

\* An entry committed in a term is in the log of every leader of a higher term (section 5.4).
LeaderCompleteness ==
    \A c \in committed : \A i \in Server :
        (node[i].role = "leader" /\ node[i].term > c.term) =>
            c.index <= LastIndex(node[i]) /\ FullLog(node[i])[c.index] = c.entry

\* No two nodes commit or apply different entries at one index (section 5.4.3),
\* and only committed entries of a node's own log are applied (Figure 2).
StateMachineSafety ==
    /\ \A c, d \in committed : c.index = d.index => c.entry = d.entry
    /\ \A i \in Server :
        /\ node[i].applied <= node[i].commit
        /\ node[i].commit <= LastIndex(node[i])
        /\ \A c \in committed : c.index <= node[i].commit => FullLog(node[i])[c.index] = c.entry

(***************************************************************************)
(* Membership changes (thesis section 4.1): a leader starts a change only  *)
(* once its previous one is committed, so at most one change is ever under *)
(* way: in every server's log (through its snapshot, FullLog) every        *)
(* configuration entry but the latest is committed (the history committed  *)
(* holds it at its index). The configurations in effect then differ by at  *)
(* most the one uncommitted single-server change, whose old and new        *)
(* majorities overlap, which is what ElectionSafety and LeaderCompleteness *)
(* rest on across changes. (A leader's log may still hold two              *)
(* configuration entries past its own commit index: a new leader does not *)
(* yet know that an older one was committed.)                              *)
(***************************************************************************)
AtMostOneUncommittedChange ==
    \A i \in Server :
        LET lg == FullLog(node[i])
            ks == {k \in DOMAIN lg : lg[k].cmd.op = "config"}
        IN \A k \in ks : (\E n \in ks : n > k) =>
                            \E c \in committed : c.index = k /\ c.entry = lg[k]

(***************************************************************************)
(* KVSemantics and ExactlyOnce check the state machine against a reference *)
(* of what a client relies on, written apart from it: nothing below calls  *)
(* Execute, ApplyCmd or ApplyEntries, so a mistake there is not repeated   *)
(* here.                                                                   *)
(*                                                                         *)
(* - The seed's KV semantics of a command that takes effect: put(k, v) is  *)
(*   ok if k is absent (k := v), else key_exists; get(k) is ok with the    *)
(*   value, else not_found; delete(k) is ok if k is present (removed),     *)
(*   else not_found; a noop is ok and changes nothing.                     *)
(* - Exactly-once, in client order: a client numbers its requests 1, 2,    *)
(*   3, ... and has one in flight, so each (client, seq) takes effect at   *)
(*   most once and never after a later request of its client. A log may    *)
(*   hold a request several times (a retry, a duplicate, a late copy): a   *)
(*   client's request takes effect only if its seq is above every seq of   *)
(*   that client that took effect before it. Noops and client 0 (requests  *)
(*   injected by tests, which nobody retries) always take effect.          *)
(***************************************************************************)

\* One command that takes effect, on a store: [store, result].
RefEffect(st, c) ==
    LET has == c.key \in DOMAIN st
        r(status, value) == [status |-> status, value |-> value]
    IN CASE c.op = "put" /\ ~has ->
              [store |-> (c.key :> c.value) @@ st, result |-> r("ok", "")]
         [] c.op = "put" -> [store |-> st, result |-> r("key_exists", "")]
         [] c.op = "get" /\ has -> [store |-> st, result |-> r("ok", st[c.key])]
         [] c.op = "get" -> [store |-> st, result |-> r("not_found", "")]
         [] c.op = "delete" /\ has ->
              [store |-> [k \in DOMAIN st \ {c.key} |-> st[k]], result |-> r("ok", "")]
         [] c.op = "delete" -> [store |-> st, result |-> r("not_found", "")]
         [] c.op = "noop" -> [store |-> st, result |-> r("ok", "")]
         [] c.op = "config" -> [store |-> st, result |-> r("ok", "")]

\* The reference state after a prefix of a log: the store, and per client
\* with a request that took effect, the highest seq that did (high) and the
\* result of that request (res).
RefInit == [store |-> EmptyFn, high |-> EmptyFn, res |-> EmptyFn]

TakesEffect(ref, c) ==
    \/ c.op = "noop" \/ c.client = 0
    \/ c.client \notin DOMAIN ref.high
    \/ c.seq > ref.high[c.client]

RefStep(ref, c) ==
    IF ~TakesEffect(ref, c) THEN ref
    ELSE LET x == RefEffect(ref.store, c) IN
         IF c.op = "noop" \/ c.client = 0 THEN [ref EXCEPT !.store = x.store]
         ELSE [store |-> x.store,
               high |-> (c.client :> c.seq) @@ ref.high,
               res |-> (c.client :> x.result) @@ ref.res]

RECURSIVE RefRun(_, _)
RefRun(ref, ents) ==
    IF ents = <<>> THEN ref ELSE RefRun(RefStep(ref, Head(ents).cmd), Tail(ents))

\* The reference for node i: its log 1..lastApplied (what it has applied;
\* through a snapshot, the committed entries it stands for).
Ref(i) == RefRun(RefInit, SubSeq(FullLog(node[i]), 1, node[i].applied))

\* Exactly-once, in client order, on the store alone: each node's store is
\* the reference store (its dedup table is not read).
ExactlyOnce ==
    \A i \in Server : node[i].store = Ref(i).store

\* The state machine keeps the client's guarantee, store and dedup table: the
\* store is the reference store, and the dedup table holds exactly the
\* clients with a request that took effect, each with the highest seq that
\* did and the result the reference gives that request (what a retry of it
\* is answered).
KVSemantics ==
    \A i \in Server :
        LET ref == Ref(i) IN
        /\ node[i].store = ref.store
        /\ node[i].sessions = [c \in DOMAIN ref.high |-> [seq |-> ref.high[c],
                                                         result |-> ref.res[c]]]

\* A leader never overwrites or deletes entries in its log (Figure 3;
\* compacting them into a snapshot keeps them, section 7).
IsPrefix(a, b) == Len(a) <= Len(b) /\ a = SubSeq(b, 1, Len(a))
LeaderAppendOnly ==
    [][\A i \in Server :
         (node[i].role = "leader" /\ node'[i].role = "leader" /\ node'[i].term = node[i].term)
            => IsPrefix(FullLog(node[i]), FullLog(node[i])')]_vars

\* Terms never decrease, and a node that sees a higher term steps down (section 5.1).
TermMonotonic == [][\A i \in Server : node'[i].term >= node[i].term]_vars

(***************************************************************************)
(* The guarantee of PreVote (thesis section 9.6), which a user relies on   *)
(* so that a node that cannot win (cut off from the leader, or behind)     *)
(* does not depose a healthy leader: a pre-vote round changes no server's *)
(* currentTerm or votedFor. The steps of a round are its start (an         *)
(* election timeout with PreVote), the delivery of a PreVote and the       *)
(* delivery of a PreVoteResponse. The last may end the round with the real *)
(* election it was for, which is not part of the round: the receiver       *)
(* stands in the term the round asked about, voting for itself, and no     *)
(* other server's term or vote changes. (A one-node cluster's round ends   *)
(* at its start.) The steps are named by RaftKV's actions; what they may   *)
(* change is stated apart from the handlers.                               *)
(***************************************************************************)
TermsAndVotesKept(S) ==
    \A k \in S : node'[k].term = node[k].term /\ node'[k].vote = node[k].vote

\* Server i starts the election for term t, and nobody else's term or vote moves.
ElectionFor(i, t) ==
    /\ node'[i].term = t /\ node'[i].vote = i
    /\ TermsAndVotesKept(Server \ {i})

PreVoteKeepsTermsAndVotes ==
    [][\/ TermsAndVotesKept(Server)   \* most steps: nothing to check
       \/ /\ ~(PreVote /\ \E i \in Server :
                   Timeout(i) /\ ~(IsQuorum(node[i], {i}) /\ ElectionFor(i, node[i].term + 1)))
          /\ ~\E m \in msgs : m.type = "PreVote" /\ Receive(m)
          /\ ~\E m \in msgs : m.type = "PreVoteResponse" /\ Receive(m) /\ ~ElectionFor(m.to, m.term)
      ]_vars

(***************************************************************************)
(* The guarantees of CheckQuorum (thesis sections 6.2 and 4.2.3), stated   *)
(* from the histories answered and lapsed and the node's liveness, not    *)
(* from heard or the handlers:                                             *)
(* - LapsedLeaderStepsDown (an invariant): no server leads in a term in    *)
(*   which one of its quorum checks found that fewer than a majority,      *)
(*   itself included, had answered it since its election or previous       *)
(*   check. A client of a leader cut off from a majority learns within one *)
(*   check period that it must look elsewhere. (An action property cannot  *)
(*   say it: in a 3-node cluster, a check that keeps such a leader leading *)
(*   changes nothing in node, a stuttering step.)                          *)
(* - QuorumCheckSound: a leader's quorum check leaves it leading iff a     *)
(*   majority, itself included, answered it (an AppendEntriesResponse, or  *)
(*   with ReadIndex a ReadConfirmResponse, of its term delivered to it)    *)
(*   since it became leader or last checked: a                             *)
(*   leader that a majority can reach is not deposed by the check (the     *)
(*   cluster does not lose a working leader), and one that cannot steps    *)
(*   down at that check, not later.                                        *)
(* - StickyKeepsTermsAndVotes: a RequestVote of a higher term delivered to *)
(*   a node with a live leader (it leads, or it heard from its leader      *)
(*   since its own election timer last fired: live) changes no server's    *)
(*   term or vote: a node that merely cannot hear the leader cannot depose *)
(*   it. (A RequestVote of the node's own term may still get its vote, as  *)
(*   in Figure 2: the thesis only disregards higher terms. A leadership    *)
(*   transfer's RequestVote, marked transfer, is exempt: the live leader   *)
(*   asked for that election, thesis section 3.10.)                        *)
(***************************************************************************)
LapsedLeaderStepsDown ==
    \A i \in Server : node[i].role = "leader" => [term |-> node[i].term, leader |-> i] \notin lapsed

QuorumCheckSound ==
    [][\A i \in Server :
         CheckQuorumTick(i) =>
             (node'[i].role = "leader" <=> IsQuorum(node[i], answered[i] \cup {i}))]_vars

StickyKeepsTermsAndVotes ==
    [][\A m \in msgs :
         (/\ CheckQuorum /\ m.type = "RequestVote" /\ ~m.transfer /\ m.term > node[m.to].term
          /\ (node[m.to].role = "leader" \/ node[m.to].live)
          /\ Receive(m)) => TermsAndVotesKept(Server)]_vars

(***************************************************************************)
(* The guarantee of ReadIndex (thesis section 6.4) as a client sees it:    *)
(* reads are linearizable. A get answered without a log entry returns the  *)
(* value its key has in the state machine after some prefix of the        *)
(* committed log that holds every entry committed before the get was      *)
(* invoked (lo: the model has no clients, so the first time a leader had  *)
(* it, which is no earlier) and none committed after it was answered (hi). *)
(* Writes take effect in log order at commit, so such a prefix is a point *)
(* between invocation and response where the read may take effect. The    *)
(* committed log is read from the history committed, and the value from   *)
(* the reference RefRun above, not from the node's store, Execute or the  *)
(* read handlers.                                                          *)
(***************************************************************************)
CommittedPrefix(n) == [k \in 1..n |-> (CHOOSE c \in committed : c.index = k).entry]

RefRead(n, key) ==
    LET st == RefRun(RefInit, CommittedPrefix(n)).store IN
    IF key \in DOMAIN st THEN [status |-> "ok", value |-> st[key]]
    ELSE [status |-> "not_found", value |-> ""]

ReadsLinearizable ==
    \A r \in readsDone : \E n \in r.lo..r.hi : r.result = RefRead(n, r.key)

(***************************************************************************)
(* The guarantee of leadership transfer (thesis section 3.10): the leader  *)
(* tells the target to time out only once the target's log holds the      *)
(* leader's whole log, so that the target can win the election it starts  *)
(* (its log is as up to date as any; a target behind would lose it and    *)
(* leave the cluster without a leader for an election timeout). Stated on *)
(* the target's actual log, not on the leader's matchIndex: a TimeoutNow   *)
(* sent in a step (new in msgs) to a target in the leader's term (the only *)
(* one that acts on it) finds the leader's log a prefix of the target's.  *)
(***************************************************************************)
TimeoutNowOnlyToCaughtUp ==
    [][\A m \in msgs' \ msgs :
         (m.type = "TimeoutNow" /\ node[m.to].term = m.term) =>
             IsPrefix(FullLog(node[m.from])', FullLog(node[m.to]))]_vars

(***************************************************************************)
(* The guarantees of log compaction (section 7), as a client relies on     *)
(* them: a write that was acknowledged (applied once committed) survives,  *)
(* compaction or not.                                                      *)
(* - SnapshotCommitted: every snapshot (of a server, or in an              *)
(*   InstallSnapshot on its way) is the state machine after applying a     *)
(*   committed prefix of the log, the entries 1..index of the history      *)
(*   committed (its last one of term term), computed by the reference      *)
(*   RefRun above, not by the state machine: a snapshot never holds the    *)
(*   effect of an entry that a new leader may still replace, and a server  *)
(*   that restarts or installs it applies only committed writes.           *)
(* - CommittedOnMajority: every committed entry is held by a majority of   *)
(*   servers, in its log at its index or through a snapshot covering it.   *)
(*   Any majority that elects a leader then includes a server holding it,  *)
(*   so no later leader lacks it (LeaderCompleteness) and the write stays. *)
(*   A follower that drops entries it acknowledged (installing a snapshot  *)
(*   and discarding a suffix that matched it) breaks it.                   *)
(***************************************************************************)
RefSessions(ref) == [c \in DOMAIN ref.high |-> [seq |-> ref.high[c], result |-> ref.res[c]]]

SnapshotOK(sn) ==
    sn.index > 0 =>
        /\ \A k \in 1..sn.index : \E c \in committed : c.index = k
        /\ sn.term = CommittedAt(sn.index).term
        /\ LET ref == RefRun(RefInit, [k \in 1..sn.index |-> CommittedAt(k)]) IN
           sn.store = ref.store /\ sn.sessions = RefSessions(ref)

SnapshotCommitted ==
    /\ \A i \in Server : SnapshotOK(node[i].snap)
    /\ \A m \in msgs : m.type = "InstallSnapshot" =>
          SnapshotOK([index |-> m.last_included_index, term |-> m.last_included_term,
                      store |-> m.store, sessions |-> m.sessions])

HoldsEntry(s, c) ==
    \/ c.index <= s.snap.index
    \/ c.index <= LastIndex(s) /\ EntryAt(s, c.index) = c.entry

\* (Stated for a fixed membership: with MembershipChanges the majority that
\* holds an entry is one of the configuration that committed it, which the
\* history does not record, so it is not checked there.)
CommittedOnMajority ==
    MembershipChanges \/
    \A c \in committed : Cardinality({i \in Server : HoldsEntry(node[i], c)}) >= Majority

=============================================================================
