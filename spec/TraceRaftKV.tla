---------------------------- MODULE TraceRaftKV ----------------------------
(***************************************************************************)
(* Trace validation of a raftkv JSON-lines trace against RaftKV, in the    *)
(* style of Cirstea, Kuppe, Merz et al. ("Validating Traces of Distributed *)
(* Programs Against TLA+ Specifications", the etcd raft and CCF work): the *)
(* trace is read with the Json community module, each step of the trace is *)
(* mapped to one RaftKV action constrained by the values the trace logged, *)
(* and TLC checks that the whole trace is a behaviour of the spec.         *)
(*                                                                         *)
(* The trace file is named by the environment variable JSON (IOEnv).       *)
(* It is the raw trace the emulator writes (spec/trace-schema.md, version *)
(* 4, or 3); no export step is needed. The state fields version 4 leaves  *)
(* out are put back once, when the trace is read (TraceLog, TraceInput).  *)
(*                                                                         *)
(* A trace step is an input event (start, deliver, timeout, crash,         *)
(* restart) with the effect events that follow it up to the next input or *)
(* runtime event (drop and duplicate events, which the network writes      *)
(* right after a send, may sit among them and are ignored there). The      *)
(* input fixes the RaftKV step (ReceiveStep, ClientStep, TimeoutStep,      *)
(* HeartbeatStep, Crash, Restart); that step is then required to agree     *)
(* with everything the trace logged: the node's post-state, the protocol   *)
(* messages sent (as a set), the log changes (append/truncate), the apply  *)
(* results, the leader's progress (nextIndex/matchIndex), the persist      *)
(* event, become_leader's votes, commit and term_update events. Runtime    *)
(* events (client_*, partition, heal, cut, uncut) are stuttering steps of  *)
(* RaftKV; drop and duplicate of a protocol message require that it was    *)
(* sent, and end compares every node's final state and store size with the *)
(* spec's.                                                                 *)
(*                                                                         *)
(* Clients are not part of RaftKV; what they are told is checked here with *)
(* two variables of trace validation only: applyRes, the result RaftKV's   *)
(* state machine gave each (client, seq) the first time it was applied (at *)
(* any node), and lastReply, the last ClientReply each client received.    *)
(* A ClientReply a node sends with a definite result (ok, key_exists,      *)
(* not_found) must carry applyRes of its (client, seq); a client_complete  *)
(* with a definite result must carry the result of its client's last       *)
(* ClientReply, which must be for the same client_seq and come from the    *)
(* node the completion names, and applyRes of its (client, client_seq);    *)
(* any other completion must be unknown (never stale or not_leader).       *)
(*                                                                         *)
(* Acceptance: l is the index of the next trace event; the trace is        *)
(* accepted iff l reaches Len(TraceLog) + 1 (property TraceAccepted). A    *)
(* step that does not match leaves TLC without a successor state, which it *)
(* reports as a deadlock (TraceRaftKV.cfg keeps deadlock checking on) and  *)
(* then as a violation of TraceAccepted. The failing check is printed      *)
(* ("TraceRaftKV: trace line N ... mismatch: what", expected vs actual).   *)
(***************************************************************************)
EXTENDS TraceInput, RaftKV, Json, IOUtils, Sequences, Naturals, FiniteSets, TLC

-----------------------------------------------------------------------------
(* The trace *)

\* The trace is read by TraceInput (TraceFile, TraceHeader, RawLog, TraceLog,
\* TraceNodeIds): see there why it is a module of its own, extended first.

\* Schema version 2: a deliver names its message by msg_id, the id of the
\* message an earlier send (or client_send, for a ClientRequest, or inject,
\* for a scenario's hand-made message) carried.
\* SentById maps each id to that message. It is a zero-arity constant
\* definition, which TLC evaluates once: the send lines in file order
\* (SentSeq, whose ids increase, as the schema requires), and a binary search
\* of it for each id, so building the map costs O(n log n), not O(n^2).
SentSeq == SelectSeq(TraceLog, LAMBDA e : e.event \in {"send", "client_send", "inject"})
RECURSIVE SentPos(_, _, _)
SentPos(id, lo, hi) ==
    IF lo > hi THEN 0
    ELSE LET mid == (lo + hi) \div 2
         IN CASE SentSeq[mid].msg.id = id -> mid
              [] SentSeq[mid].msg.id < id -> SentPos(id, mid + 1, hi)
              [] OTHER -> SentPos(id, lo, mid - 1)
SentById == [id \in {SentSeq[k].msg.id : k \in DOMAIN SentSeq} |->
                SentSeq[SentPos(id, 1, Len(SentSeq))].msg]

\* Constants of RaftKV, taken from the trace header (TraceRaftKV.cfg maps them).
\* Membership changes (thesis section 4.1): the bootstrap voters are
\* 1..num_nodes; a server added later appears first in its `join` line.
TraceServer == TraceNodeIds
TraceInitVoters == 1..TraceHeader.config.num_nodes
TraceMembership == \E k \in DOMAIN RawLog : RawLog[k].event \in {"join", "change", "membership"}
TraceNil == 0
TraceLeaderNoop == TraceHeader.config.leader_noop
\* The header's [raft] switches (spec/trace-schema.md: `raft` is present only
\* when a switch is on, and each switch only when true; read_mode only when
\* not "log"). RaftKV models pre_vote, check_quorum and read_mode =
\* "read_index" or "lease"; a trace made with any other switch or read mode
\* is not a behaviour it can describe, so the ASSUMEs below reject it (exit 10).
TraceRaftSwitches == IF "raft" \in DOMAIN TraceHeader.config THEN TraceHeader.config.raft
                     ELSE EmptyFn
ASSUME DOMAIN TraceRaftSwitches \subseteq {"pre_vote", "check_quorum", "read_mode",
                                           "snapshot_every", "snapshot_chunk_bytes"}
ASSUME "read_mode" \in DOMAIN TraceRaftSwitches =>
           TraceRaftSwitches.read_mode \in {"read_index", "lease"}
TracePreVote == "pre_vote" \in DOMAIN TraceRaftSwitches /\ TraceRaftSwitches.pre_vote = TRUE
TraceCheckQuorum == "check_quorum" \in DOMAIN TraceRaftSwitches /\
                    TraceRaftSwitches.check_quorum = TRUE
\* read_mode "lease" is ReadIndex with leases (RaftKV: LeaseRead => ReadIndex).
TraceReadIndex == "read_mode" \in DOMAIN TraceRaftSwitches
TraceLeaseRead == TraceReadIndex /\ TraceRaftSwitches.read_mode = "lease"
\* Leadership transfer needs no switch: it is an input (the `transfer` event,
\* from the fault transfer_leader or a scenario), which a trace without one
\* never has.
TraceLeaderTransfer == TRUE
\* Log compaction (section 7): [raft] snapshot_every > 0. snapshot_chunk_bytes
\* (written only when not 0) cuts InstallSnapshot into chunks, which RaftKV
\* does not model: see "Snapshots" below. Alone it has no effect.
TraceSnapshotEvery == IF "snapshot_every" \in DOMAIN TraceRaftSwitches
                      THEN TraceRaftSwitches.snapshot_every ELSE 0
TraceSnapshots == TraceSnapshotEvery > 0
TraceCommands == {}   \* client commands come from the trace's ClientRequest messages

(* Event names, as in spec/trace-schema.md. Every event of the trace must  *)
(* have one of these names: an unknown name fails the ASSUME below.        *)
InputEvents == {"start", "deliver", "timeout", "crash", "restart", "transfer", "join", "leave",
                "change"}
EffectEvents == {"term_update", "become_candidate", "become_leader", "become_follower",
                 "vote", "truncate", "append", "progress", "commit", "apply", "persist",
                 "send", "reject_client", "become_precandidate", "prevote", "step_down",
                 "read", "transfer_abort", "snapshot", "install_snapshot", "membership",
                 "reject_change"}
NetEvents == {"drop", "duplicate"}
RuntimeEvents == NetEvents \cup
                 {"inject", "client_invoke", "client_send", "client_complete", "client_receive",
                  "client_retry", "partition", "heal", "cut", "uncut", "network",
                  "fault_skipped", "end"}
KnownEvents == InputEvents \cup EffectEvents \cup RuntimeEvents

ASSUME \A k \in 1..Len(TraceLog) : TraceLog[k].event \in KnownEvents

ProtocolTypes == {"RequestVote", "RequestVoteResponse", "AppendEntries",
                  "AppendEntriesResponse", "CommitNotification", "PreVote", "PreVoteResponse",
                  "ReadConfirm", "ReadConfirmResponse", "TimeoutNow", "InstallSnapshot",
                  "InstallSnapshotResponse"}

\* A traced entry as a RaftKV entry: a configuration entry's voters and
\* learners, arrays in the trace, are sets in RaftKV (ConfigCmd).
SetOf(a) == {a[k] : k \in DOMAIN a}
EntryOf(e) == IF e.cmd.op = "config"
              THEN [term |-> e.term, cmd |-> ConfigCmd(SetOf(e.cmd.voters), SetOf(e.cmd.learners))]
              ELSE e
EntriesOf(es) == [k \in DOMAIN es |-> EntryOf(es[k])]

\* A traced protocol message as a RaftKV message (the same fields, without id;
\* a RequestVote's transfer, written only when true, is FALSE when absent).
MsgOf(m) ==
    CASE m.type = "RequestVote" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             last_log_index |-> m.last_log_index, last_log_term |-> m.last_log_term,
             transfer |-> "transfer" \in DOMAIN m /\ m.transfer = TRUE]
      [] m.type = "PreVote" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             last_log_index |-> m.last_log_index, last_log_term |-> m.last_log_term]
      [] m.type \in {"RequestVoteResponse", "PreVoteResponse"} ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             granted |-> m.granted, reason |-> m.reason]
      [] m.type = "AppendEntries" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             prev_log_index |-> m.prev_log_index, prev_log_term |-> m.prev_log_term,
             entries |-> EntriesOf(m.entries), leader_commit |-> m.leader_commit]
      [] m.type = "AppendEntriesResponse" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             success |-> m.success, prev_log_index |-> m.prev_log_index,
             match_index |-> m.match_index,
             conflict_index |-> m.conflict_index, conflict_term |-> m.conflict_term,
             reason |-> m.reason]
      [] m.type = "CommitNotification" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             leader_commit |-> m.leader_commit]
      [] m.type \in {"ReadConfirm", "ReadConfirmResponse"} ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term, round |-> m.round]
      [] m.type = "TimeoutNow" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term]
      \* A chunk (offset, data, done) as the whole snapshot's header: see Header.
      [] m.type = "InstallSnapshot" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             last_included_index |-> m.last_included_index,
             last_included_term |-> m.last_included_term]
      [] m.type = "InstallSnapshotResponse" ->
            [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
             last_included_index |-> m.last_included_index, done |-> m.done]

\* RaftKV's InstallSnapshot carries the snapshot's state machine (store and
\* dedup table), the trace's the bytes of its encoding, possibly in chunks;
\* the encoding is not decoded here. A RaftKV message is compared with a
\* traced one by its Header: an InstallSnapshot without the state (the
\* state a follower installs is then compared through the install_snapshot
\* event's store_size, and through every apply and read after it). Every
\* other message is compared whole. (A leader of a term sends one snapshot
\* per index, so the header names the RaftKV message.)
Header(m) ==
    IF m.type = "InstallSnapshot"
    THEN [type |-> m.type, from |-> m.from, to |-> m.to, term |-> m.term,
          last_included_index |-> m.last_included_index,
          last_included_term |-> m.last_included_term]
    ELSE m
\* The traced message x (MsgOf) is one of the RaftKV messages M, and which.
SentIn(x, M) == \E y \in M : Header(y) = x
SpecMsg(x, M) == CHOOSE y \in M : Header(y) = x

-----------------------------------------------------------------------------
VARIABLE l   \* the index in TraceLog of the next event to match

\* Trace validation only (RaftKV has no clients):
VARIABLES
    applyRes,   \* <<client, seq>> -> the result of its first apply, at any node
    lastReply   \* client -> the last ClientReply it received (client_receive)

\* Lease reads (read_mode "lease", thesis section 6.4.1), trace validation
\* only: what the code decides from its clock, which the trace does not show
\* (see "Lease reads" below).
VARIABLES
    promised,   \* node -> FALSE if it surely has no promise in force (it
                \* answered no ReadConfirm of its term and did not restart since
                \* its election timer last fired, or a vote it granted showed
                \* the promise over); TRUE: it may still refuse votes
    leaseVoid   \* node -> it sent a TimeoutNow since it last became leader: no
                \* lease of that term is used again (the code's lease_void_)

clientVars == <<applyRes, lastReply>>
leaseVars == <<promised, leaseVoid>>
traceVars == <<vars, l, clientVars, leaseVars>>

\* The results a client may complete with (and the definite ClientReplies).
Definite == {"ok", "key_exists", "not_found"}

Event == TraceLog[l]

\* The first index after the step that starts at l.
RECURSIVE StepEndFrom(_)
StepEndFrom(j) ==
    IF j > Len(TraceLog) \/ TraceLog[j].event \notin EffectEvents \cup NetEvents
    THEN j ELSE StepEndFrom(j + 1)

\* On a mismatch, say what did not match (TLC prints it), then fail.
Check(cond, what, expected, actual) ==
    IF cond THEN TRUE
    ELSE /\ PrintT(<<"TraceRaftKV: trace line", l + 1, "seq", Event.seq, Event.event,
                     "node", IF "node" \in DOMAIN Event THEN Event.node ELSE 0,
                     "mismatch:", what, "trace:", expected, "spec:", actual>>)
         /\ FALSE

\* Compare a RaftKV local state with a traced `state` object.
StateView(s) ==
    [term |-> s.term, vote |-> s.vote, role |-> s.role, commit |-> s.commit,
     applied |-> s.applied, last_index |-> LastIndex(s), last_term |-> LastTermOf(s)]
TraceStateView(st) ==
    [term |-> st.term, vote |-> st.vote, role |-> st.role, commit |-> st.commit,
     applied |-> st.applied, last_index |-> st.last_index, last_term |-> st.last_term]
DurableView(v) == [v EXCEPT !.commit = 0, !.applied = 0]

Only(E, name) == SelectSeq(E, LAMBDA e : e.event = name)

\* applyRes after applying cmds with results res, in order: the first result
\* of each (client, seq) is kept (noops and client 0 are not recorded: client
\* 0's requests all have seq 0 and are not deduped).
RECURSIVE RecordApplies(_, _, _)
RecordApplies(f, cmds, res) ==
    IF cmds = <<>> THEN f
    ELSE LET c == Head(cmds)
             k == <<c.client, c.seq>>
         IN RecordApplies(IF c.op = "noop" \/ c.client = 0 \/ k \in DOMAIN f THEN f
                          ELSE (k :> Head(res)) @@ f,
                          Tail(cmds), Tail(res))

\* applyRes after the reads answered in a step (ReadIndex): a get answered
\* without a log entry is recorded with its answer (the latest, should a
\* retry be answered again: a read may see a later value).
RecordReads(f, served) ==
    LET key(k) == <<served[k].cmd.client, served[k].cmd.seq>>
        keys == {key(k) : k \in DOMAIN served}
    IN [x \in keys |-> served[CHOOSE k \in DOMAIN served :
                                  key(k) = x /\ \A k2 \in DOMAIN served : key(k2) = x => k2 <= k]
                        .result] @@ f

\* (A result record even when there is none, so that TLC can compare it with
\* one: a ClientReply for a read the spec did not answer.)
ResultOf(f, k) == IF k \in DOMAIN f THEN f[k] ELSE [status |-> "never applied", value |-> ""]

\* The log, as [off, log] (the entries after index off, as RaftKV's snap.index
\* and log), as the step's truncate and append events (absolute indices) and
\* its install_snapshot and snapshot events (section 7: the log after the
\* snapshot's index, its last kept entries for an install) leave it.
RECURSIVE FoldLog(_, _)
FoldLog(x, E) ==
    IF E = <<>> THEN x
    ELSE LET e == Head(E)
             lg == x.log
             o == x.off
             x2 == CASE e.event = "truncate" ->
                          [x EXCEPT !.log = SubSeq(lg, 1, e.from_index - 1 - o)]
                     [] e.event = "append" ->
                          [x EXCEPT !.log =
                             SubSeq(lg, 1, e.first_index - 1 - o) \o EntriesOf(e.entries)
                               \o SubSeq(lg, e.first_index + Len(e.entries) - o, Len(lg))]
                     [] e.event = "install_snapshot" ->
                          [off |-> e.index,
                           log |-> SubSeq(lg, e.index - o + 1, e.index - o + e.kept)]
                     [] e.event = "snapshot" ->
                          [off |-> e.index, log |-> SubSeq(lg, e.index - o + 1, Len(lg))]
                     [] OTHER -> x
         IN FoldLog(x2, Tail(E))

\* Section 7: a node takes a snapshot at the end of a step once it has
\* applied snapshot_every entries since its last one, through its applied
\* index (the trace's `snapshot` event): RaftKV's SnapshotAt after the step
\* r. The result keeps the state before it as pre (see RaftKV's UpdateNodeA).
\* A leader postpones its snapshot while it is sending one to a follower that
\* keeps taking chunks (src/raft/node.cpp, maybe_take_snapshot: a new one would
\* send that follower back to offset 0); RaftKV lets any node snapshot an
\* applied prefix at any time, or not, so a due snapshot a leader's step does
\* not show is the implementation choosing not to, and one it shows is taken.
Due(s) == TraceSnapshots /\ s.applied - s.snap.index >= TraceSnapshotEvery
Takes(s, E) == Due(s) /\ (s.role # "leader" \/ Len(Only(E, "snapshot")) > 0)
WithSnapshot(r, E) ==
    IF Takes(r.s, E) THEN [s |-> SnapshotAt(r.s, r.s.applied), out |-> r.out, served |-> r.served,
                      pre |-> r.s]
    ELSE r

\* The checks of one node step: RaftKV's step result r at node i against the
\* effect events E of the trace step and the post-state post. (With a
\* snapshot at the end of the step, s2 is the state after it and sp the state
\* before it, which holds the entries the step applied.)
StepMatches(i, r0, E, post, inv) ==
    LET s0 == node[i]
        r == WithSnapshot(r0, E)
        s2 == r.s
        sp == r0.s
        base == StepBase(i, sp)
        sent == {MsgOf(E[k].msg) : k \in {k \in DOMAIN E : E[k].event = "send" /\
                                                        E[k].msg.type \in ProtocolTypes}}
        applies == Only(E, "apply")
        results == StepResults(i, sp)
        snaps == Only(E, "snapshot")
        installs == Only(E, "install_snapshot")
        installedNow == sp.snap # s0.snap
        folded == FoldLog([off |-> s0.snap.index, log |-> s0.log], E)
        progress == Only(E, "progress")
        peers == {progress[k].peer : k \in DOMAIN progress}
        LastProgress(p) == progress[CHOOSE k \in DOMAIN progress :
                                      progress[k].peer = p /\
                                      \A k2 \in DOMAIN progress : progress[k2].peer = p => k2 <= k]
        persists == Only(E, "persist")
        \* (a snapshot of the node's own is written with the next persist, or
        \* alone, and is no persist event; an install changes the log)
        durableChanged == \/ sp.term # s0.term \/ sp.vote # s0.vote
                          \/ sp.log # s0.log \/ sp.snap # s0.snap
        leaders == Only(E, "become_leader")
        commits == Only(E, "commit")
        termUpdates == Only(E, "term_update")
        \* A pre-vote round starts exactly at an election timeout with PreVote.
        preRounds == Only(E, "become_precandidate")
        preRoundStarted == /\ PreVote /\ Event.event = "timeout"
                           /\ Event.timer \in {"election", "start_election"}
                           /\ i \in Voters(s0)   \* thesis section 4.1: only a voter stands
        \* Each prevote decision as the PreVoteResponse it sends.
        prevotes == Only(E, "prevote")
        prevoteAnswers == {[to |-> prevotes[k].candidate, granted |-> prevotes[k].granted,
                            reason |-> prevotes[k].reason] : k \in DOMAIN prevotes}
        preResponses == {[to |-> m.to, granted |-> m.granted, reason |-> m.reason] :
                            m \in {m \in r.out : m.type = "PreVoteResponse"}}
        \* Each vote decision as the RequestVoteResponse it sends (with
        \* CheckQuorum, "leader_live": thesis section 4.2.3).
        votes == Only(E, "vote")
        voteAnswers == {[to |-> votes[k].candidate, granted |-> votes[k].granted,
                         reason |-> votes[k].reason] : k \in DOMAIN votes}
        voteResponses == {[to |-> m.to, granted |-> m.granted, reason |-> m.reason] :
                            m \in {m \in r.out : m.type = "RequestVoteResponse"}}
        \* A step-down (thesis section 6.2) is a leader becoming a follower in
        \* its term; it names the nodes it had heard from, itself included.
        stepDowns == Only(E, "step_down")
        steppedDown == s0.role = "leader" /\ s2.role = "follower" /\ s2.term = s0.term
        \* Thesis section 4.2.2: a leader that removed itself steps down
        \* once that is committed (step_down with removed, heard from none).
        removedNow == steppedDown /\ i \notin Voters(s2)
        \* Thesis section 4.1: the configuration in effect; the last
        \* membership event of a step is the configuration after it.
        mships == Only(E, "membership")
        confView(c) == [index |-> c.index, voters |-> c.voters, learners |-> c.learners]
        mshipView(x) == [index |-> x.index, voters |-> SetOf(x.voters), learners |-> SetOf(x.learners)]
        appliedCmds == [k \in 1..(sp.applied - base.applied) |-> EntryAt(sp, base.applied + k).cmd]
        newRes == RecordReads(RecordApplies(applyRes, appliedCmds, results), r.served)
        \* ReadIndex (thesis section 6.4): the reads answered, as the spec answers them.
        reads == Only(E, "read")
        readViews == [k \in DOMAIN reads |->
                        [client |-> reads[k].client, seq |-> reads[k].client_seq,
                         key |-> reads[k].key, index |-> reads[k].read_index,
                         result |-> reads[k].result,
                         lease |-> "lease" \in DOMAIN reads[k] /\ reads[k].lease = TRUE]]
        servedViews == [k \in DOMAIN r.served |->
                          [client |-> r.served[k].cmd.client, seq |-> r.served[k].cmd.seq,
                           key |-> r.served[k].cmd.key, index |-> r.served[k].index,
                           result |-> r.served[k].result, lease |-> r.served[k].lease]]
        \* Leadership transfer (thesis section 3.10): a transfer given up at its
        \* timer, naming its target.
        aborts == Only(E, "transfer_abort")
        aborted == s0.role = "leader" /\ s0.xfer # Nil /\ s2.xfer = Nil /\ s2.role = "leader"
                   /\ s2.term = s0.term
        \* ClientReplies with a definite result whose (client, seq) was applied
        \* with another result first, or never (client 0's are not compared)
        replies == {E[k].msg : k \in {k \in DOMAIN E : E[k].event = "send" /\
                                                      E[k].msg.type = "ClientReply"}}
        badReplies == {m \in replies :
                         /\ m.client # 0 /\ m.result.status \in Definite
                         /\ ResultOf(newRes, <<m.client, m.seq>>) # m.result}
    IN
    /\ Check(\A k \in DOMAIN E : E[k].node = i, "effect events of another node", E, i)
    /\ Check(StateView(s2) = TraceStateView(post), "post-state",
             TraceStateView(post), StateView(s2))
    /\ Check([off |-> s2.snap.index, log |-> s2.log] = folded,
             "log (append/truncate/install_snapshot/snapshot)", folded,
             [off |-> s2.snap.index, log |-> s2.log])
    /\ Check({Header(m) : m \in r.out} = sent, "protocol messages sent", sent,
             {Header(m) : m \in r.out})
    /\ Check(/\ Len(applies) = sp.applied - base.applied
             /\ \A k \in DOMAIN applies :
                   /\ applies[k].index = base.applied + k
                   /\ EntryOf(applies[k].entry) = EntryAt(sp, base.applied + k)
                   /\ applies[k].result = results[k],
             "apply (index, entry, KV result)", applies, results)
    /\ Check(IF installedNow
             THEN /\ Len(installs) = 1
                  /\ installs[1].index = sp.snap.index /\ installs[1].term = sp.snap.term
                  /\ installs[1].kept = Len(sp.log)
                  /\ installs[1].store_size = Cardinality(DOMAIN sp.snap.store)
             ELSE installs = <<>>,
             "install_snapshot (index, term, kept, store_size)", installs,
             IF installedNow THEN [index |-> sp.snap.index, term |-> sp.snap.term,
                                   kept |-> Len(sp.log),
                                   store_size |-> Cardinality(DOMAIN sp.snap.store)]
             ELSE "no install")
    /\ Check(IF Takes(sp, E)
             THEN /\ Len(snaps) = 1
                  /\ snaps[1].index = s2.snap.index /\ snaps[1].term = s2.snap.term
                  /\ snaps[1].store_size = Cardinality(DOMAIN s2.snap.store)
             ELSE snaps = <<>>,
             "snapshot (taken once snapshot_every entries were applied since the last)", snaps,
             IF Takes(sp, E) THEN [index |-> s2.snap.index, term |-> s2.snap.term,
                             store_size |-> Cardinality(DOMAIN s2.snap.store)]
             ELSE "no snapshot")
    /\ Check(\A p \in peers : /\ s2.next[p] = LastProgress(p).next_index
                              /\ s2.match[p] = LastProgress(p).match_index
                              /\ s2.probe[p] = (LastProgress(p).mode = "probe"),
             "progress (nextIndex/matchIndex/mode)", progress,
             [n |-> s2.next, m |-> s2.match, probe |-> s2.probe])
    /\ Check(IF durableChanged
             THEN Len(persists) = 1 /\ persists[1].term = s2.term /\ persists[1].vote = s2.vote
                  /\ persists[1].log_len = LastIndex(s2)
             ELSE persists = <<>>,
             "persist", persists, [term |-> s2.term, vote |-> s2.vote, log_len |-> LastIndex(s2)])
    /\ Check(IF s2.role = "leader" /\ s0.role # "leader"
             THEN Len(leaders) = 1 /\ {leaders[1].votes[k] : k \in DOMAIN leaders[1].votes} = s2.votes
             ELSE leaders = <<>>,
             "become_leader (votes)", leaders, s2.votes)
    \* (an installed snapshot sets the commit index with no commit event)
    /\ Check(IF s2.commit > s0.commit /\ ~installedNow
             THEN Len(commits) = 1 /\ commits[1].old_commit = s0.commit
             ELSE commits = <<>>,
             "commit", commits, s2.commit)
    /\ Check(IF s2.term > s0.term /\ s2.role = "follower"
             THEN Len(termUpdates) = 1 /\ termUpdates[1].old_term = s0.term
             ELSE termUpdates = <<>>,
             "term_update", termUpdates, s2.term)
    /\ Check(Len(preRounds) = IF preRoundStarted THEN 1 ELSE 0,
             "become_precandidate (a pre-vote round started)", preRounds, preRoundStarted)
    /\ Check(Len(prevotes) = Cardinality(preResponses) /\ prevoteAnswers = preResponses,
             "prevote (the PreVoteResponse sent)", prevotes, preResponses)
    /\ Check(Len(votes) = Cardinality(voteResponses) /\ voteAnswers = voteResponses,
             "vote (the RequestVoteResponse sent)", votes, voteResponses)
    /\ Check(IF mships = <<>> THEN Conf(s2) = Conf(s0)
             ELSE mshipView(mships[Len(mships)]) = confView(Conf(s2)),
             "membership (the configuration in effect)", mships, Conf(s2))
    /\ Check(IF removedNow
             THEN /\ Len(stepDowns) = 1 /\ stepDowns[1].heard_from = <<>>
                  /\ "removed" \in DOMAIN stepDowns[1] /\ stepDowns[1].removed = TRUE
             ELSE \A k \in DOMAIN stepDowns : ~("removed" \in DOMAIN stepDowns[k]
                                                /\ stepDowns[k].removed = TRUE),
             "step_down (removed)", stepDowns, IF removedNow THEN "removed" ELSE "not removed")
    /\ Check(IF steppedDown /\ ~removedNow
             THEN /\ Len(stepDowns) = 1
                  /\ {stepDowns[1].heard_from[k] : k \in DOMAIN stepDowns[1].heard_from}
                        = s0.heard \cup {i}
             ELSE removedNow \/ stepDowns = <<>>,
             "step_down (heard_from)", stepDowns,
             IF steppedDown THEN s0.heard \cup {i} ELSE "no step-down")
    /\ Check(Len(readViews) = Len(servedViews)
             /\ \A k \in DOMAIN readViews : readViews[k] = servedViews[k],
             "read (the gets answered, in order)", readViews, servedViews)
    /\ Check(IF aborted THEN Len(aborts) = 1 /\ aborts[1].to = s0.xfer ELSE aborts = <<>>,
             "transfer_abort", aborts, IF aborted THEN s0.xfer ELSE "no transfer given up")
    /\ Check(badReplies = {}, "ClientReply result (first apply of its client and seq)",
             badReplies,
             {[client |-> m.client, seq |-> m.seq, result |-> ResultOf(newRes, <<m.client, m.seq>>)] :
                m \in badReplies})
    /\ UpdateNodeI(i, [r EXCEPT !.s.lease = FALSE], inv)
    /\ applyRes' = newRes
    /\ UNCHANGED lastReply

\* A node step starting at l: RaftKV step r at node i (inv: readInvoked after
\* it; pr: promised[i] after it).
NodeStepP(i, r, inv, pr) ==
    LET e == StepEndFrom(l + 1)
        E == SelectSeq(SubSeq(TraceLog, l + 1, e - 1), LAMBDA x : x.event \in EffectEvents)
        post == IF E = <<>> THEN Event.state ELSE E[Len(E)].state
        \* drop and duplicate events the network wrote within the step
        N == SelectSeq(SubSeq(TraceLog, l + 1, e - 1), LAMBDA x : x.event \in NetEvents)
    IN /\ StepMatches(i, r, E, post, inv)
       /\ Check(\A k \in DOMAIN N :
                 N[k].msg.type \in ProtocolTypes => SentIn(MsgOf(N[k].msg), msgs \cup r.out),
               "dropped or duplicated message was never sent", N, r.out)
       /\ l' = e
       /\ promised' = [promised EXCEPT ![i] = pr]
       /\ leaseVoid' = [leaseVoid EXCEPT ![i] =
                          IF \E m \in r.out : m.type = "TimeoutNow" THEN TRUE
                          ELSE IF r.s.role = "leader" /\ node[i].role # "leader" THEN FALSE
                          ELSE @]

NodeStepI(i, r, inv) == NodeStepP(i, r, inv, promised[i])
NodeStep(i, r) == NodeStepI(i, r, readInvoked)

-----------------------------------------------------------------------------
(* Lease reads (read_mode "lease", thesis section 6.4.1). The code decides  *)
(* two things from its clock, which the trace does not show:               *)
(*  - whether a leader's lease is valid in a step (lease_valid(): a round   *)
(*    of its term confirmed by a majority, counted from the round's start,  *)
(*    not voided by a TimeoutNow). RaftKV's step operators take it as the  *)
(*    field lease of the state they start from (the ...StepAt forms): with *)
(*    it a get is taken with round 0 (no ReadConfirm round) and reads are   *)
(*    answered on the lease. TraceRaftKV sets it iff the trace shows it     *)
(*    used: a read answered with "lease": true, or no ReadConfirm sent      *)
(*    where RaftKV without the lease would send one (a get taken on the     *)
(*    lease; a heartbeat that leaves reads taken on the lease as they are). *)
(*    A step that uses the lease must satisfy RaftKV's LeaseHolds (no       *)
(*    server of a later term elected: the model's enabling condition of a   *)
(*    lease read, the safety the lease stands for) and LeaseMayHold (what   *)
(*    the code needs for a lease, but its clock).                           *)
(*  - whether a node's promise (made by answering a ReadConfirm of its term *)
(*    as a non-leader, or by restarting) is still in force: until a minimum *)
(*    election timeout of its clock has passed, or its election timer       *)
(*    fires, it refuses every RequestVote not of a transfer, of its term or *)
(*    later, with leader_live, adopting no term. A node that may have such  *)
(*    a promise (promised) refuses so when the trace says it does, and      *)
(*    otherwise takes the RequestVote as RaftKV does, which shows the       *)
(*    promise over. Answering the ReadConfirm also sets the node's live     *)
(*    (the code's leader_live_), which RaftKV's HandleReadConfirm leaves,   *)
(*    as the model has no promises: done here, after the step.             *)
(* The model itself answers on a lease with LeaseReadReq, abstractly;      *)
(* TraceRaftKV does not use that action.                                   *)
(***************************************************************************)

\* The effect events of the step starting at l.
StepEffects ==
    SelectSeq(SubSeq(TraceLog, l + 1, StepEndFrom(l + 1) - 1), LAMBDA x : x.event \in EffectEvents)

\* The step answers a read on the lease.
LeaseShown ==
    \E k \in DOMAIN StepEffects : /\ StepEffects[k].event = "read"
                                /\ "lease" \in DOMAIN StepEffects[k]
                                /\ StepEffects[k].lease = TRUE

\* The step sends a ReadConfirm round.
RoundShown ==
    \E k \in DOMAIN StepEffects : /\ StepEffects[k].event = "send"
                                /\ StepEffects[k].msg.type = "ReadConfirm"

\* Node i's state for a step, its lease valid (lv) or not.
LS0(i, lv) == [node[i] EXCEPT !.lease = lv]

\* What the code needs for a lease after step r of node i, its clock aside: it
\* leads, a round of its term was confirmed by a majority (extend_lease), and
\* it has sent no TimeoutNow since it became leader (lease_void_).
LeaseMayHold(i, r) ==
    /\ r.s.role = "leader"
    /\ Confirmed(r.s, i, 1)
    /\ ~leaseVoid[i]
    /\ ~\E m \in r.out : m.type = "TimeoutNow"

\* A node step whose RaftKV step is R(lv), lv: node i's lease valid.
LeaseStepP(i, R(_), inv, pr) ==
    LET r0 == R(FALSE)
        lv == /\ LeaseRead
              /\ \/ LeaseShown
                 \/ (\E m \in r0.out : m.type = "ReadConfirm") /\ ~RoundShown
    IN IF lv
       THEN LET r1 == R(TRUE) IN
            /\ Check(LeaseHolds(i),
                     "lease used (LeaseHolds: no server of a later term elected)",
                     [node |-> i, term |-> node[i].term],
                     {e \in elected : e.term > node[i].term})
            /\ Check(LeaseMayHold(i, r1),
                     "lease used without one (leader, a round of its term confirmed, no TimeoutNow)",
                     [node |-> i, term |-> node[i].term],
                     [role |-> r1.s.role, racked |-> r1.s.racked, void |-> leaseVoid[i]])
            /\ NodeStepP(i, r1, inv, pr)
       ELSE NodeStepP(i, r0, inv, pr)

LeaseStep0(i, R(_)) == LeaseStepP(i, R, readInvoked, promised[i])

(***************************************************************************)
(* Snapshots (section 7). RaftKV sends a snapshot whole; the code may cut   *)
(* its encoding into chunks (snapshot_chunk_bytes), each an InstallSnapshot *)
(* with offset, data and done, and the leader sends the next chunk when the *)
(* follower's InstallSnapshotResponse reports the previous one held. Every  *)
(* chunk is compared with RaftKV's message by its header (Header). At the  *)
(* follower, the chunk that completes the snapshot is RaftKV's install: the *)
(* step shows an install_snapshot event. Any other delivery of a chunk      *)
(* (not the last, or the last of a snapshot the follower did not hold the   *)
(* rest of) installs nothing: RaftKV's handler with whole = FALSE, which    *)
(* does everything but the install (term, step-down, the answer, done when  *)
(* the commit index covers the snapshot). At the leader, an answer that is  *)
(* not done changes nothing in RaftKV; when the trace shows the next chunk *)
(* sent for it, that is RaftKV's snapshot message to that follower again   *)
(* (NextChunk), allowed only while the leader is sending that snapshot to   *)
(* it (its nextIndex at or below the snapshot's index, the answer of its    *)
(* term and about its current snapshot). How many bytes a chunk holds, and  *)
(* the offsets, are not checked.                                            *)
(***************************************************************************)
InstallShown == \E k \in DOMAIN StepEffects : StepEffects[k].event = "install_snapshot"
ChunkShown == \E k \in DOMAIN StepEffects : /\ StepEffects[k].event = "send"
                                            /\ StepEffects[k].msg.type = "InstallSnapshot"

NextChunk(i, mm, lv) ==
    LET r == ReceiveStepAt(LS0(i, lv), i, mm) IN
    [r EXCEPT !.out = @ \cup {InstallSnapshotMsg(i, mm.from, r.s)}]
NextChunkOK(i, mm) ==
    /\ node[i].role = "leader" /\ mm.term = node[i].term
    /\ mm.last_included_index = node[i].snap.index
    /\ node[i].next[mm.from] <= node[i].snap.index

\* A delivered protocol message mm at node i.
ReceiveEvent(i, mm) ==
    LET promiseApplies == /\ LeaseRead /\ promised[i]
                          /\ mm.type = "RequestVote" /\ ~mm.transfer /\ mm.term >= node[i].term
        votes == SelectSeq(StepEffects, LAMBDA x : x.event = "vote")
        refusedLive == Len(votes) = 1 /\ votes[1].granted = FALSE /\ votes[1].reason = "leader_live"
        \* a ReadConfirm of its term (after adopting a higher one) at a non-leader
        promiseMade == /\ LeaseRead /\ mm.type = "ReadConfirm" /\ mm.term >= node[i].term
                       /\ (mm.term > node[i].term \/ node[i].role # "leader")
    IN IF promiseApplies /\ refusedLive
       THEN LeaseStep0(i, LAMBDA lv :
                Finish([s |-> LS0(i, lv),
                        out |-> {VoteResponseMsg(i, mm.from, node[i].term, FALSE, "leader_live")}], i))
       ELSE IF promiseMade
       THEN LeaseStepP(i, LAMBDA lv :
                LET r == ReceiveStepAt(LS0(i, lv), i, mm) IN [r EXCEPT !.s.live = TRUE],
                readInvoked, TRUE)
       ELSE IF mm.type = "InstallSnapshotResponse" /\ ~mm.done /\ ChunkShown
       THEN /\ Check(NextChunkOK(i, mm),
                     "InstallSnapshot chunk sent (the leader sends that snapshot to that follower)",
                     mm, [role |-> node[i].role, term |-> node[i].term, snap |-> node[i].snap.index,
                          next |-> node[i].next[mm.from]])
            /\ LeaseStep0(i, LAMBDA lv : NextChunk(i, mm, lv))
       ELSE LeaseStepP(i, LAMBDA lv : ReceiveStepX(LS0(i, lv), i, mm, InstallShown), readInvoked,
                       IF promiseApplies THEN FALSE ELSE promised[i])

\* The input event's state is the node's state before the step.
PreStateOK(i) ==
    Check(StateView(node[i]) = TraceStateView(Event.state), "pre-state",
          TraceStateView(Event.state), StateView(node[i]))

-----------------------------------------------------------------------------
(* Input events -> RaftKV actions *)

\* start: the node boots from what TraceInit gave it (RaftKV's Init, or the
\* header's initial_state).
StartEvent ==
    /\ Event.event = "start"
    /\ PreStateOK(Event.node)
    /\ NodeStep(Event.node, [s |-> node[Event.node], out |-> {}, served |-> <<>>])

\* deliver of a protocol message -> Receive (ReceiveStep).
\* deliver of a ClientRequest -> ClientRequest (ClientStep) at a leader; a
\* non-leader, or a leader with a transfer under way (thesis section 3.10),
\* only answers not_leader (reject_client): a stuttering step.
DeliverEvent ==
    /\ Event.event = "deliver"
    /\ Check(Event.msg_id \in DOMAIN SentById, "delivered message id was never sent",
             Event.msg_id, "no send or client_send carried it")
    /\ LET i == Event.node
           m == SentById[Event.msg_id]
       IN /\ Check(node[i].role # "down", "delivery to a crashed node", m, node[i].role)
          /\ PreStateOK(i)
          /\ IF m.type = "ClientRequest"
             THEN IF node[i].role = "leader" /\ node[i].xfer = Nil
                  THEN LeaseStepP(i, LAMBDA lv : ClientStepAt(LS0(i, lv), i, m.cmd),
                                  InvokeRead(m.cmd), promised[i])
                  ELSE NodeStep(i, [s |-> node[i], out |-> {}, served |-> <<>>])
             ELSE /\ Check(SentIn(MsgOf(m), msgs), "delivered message was never sent", m, "")
                  /\ ReceiveEvent(i, SpecMsg(MsgOf(m), msgs))

\* timeout: election / start_election -> Timeout; heartbeat -> Heartbeat;
\* check_quorum (CheckQuorum only) -> CheckQuorumTick (CheckQuorumStep);
\* transfer -> TransferTimeout (TransferTimeoutStep).
TimeoutEvent ==
    /\ Event.event = "timeout"
    /\ LET i == Event.node IN
       /\ PreStateOK(i)
       /\ IF Event.timer = "heartbeat"
          THEN /\ Check(node[i].role = "leader", "heartbeat at a non-leader", "leader", node[i].role)
               /\ LeaseStep0(i, LAMBDA lv : HeartbeatStepAt(LS0(i, lv), i))
          ELSE IF Event.timer = "check_quorum"
          THEN /\ Check(CheckQuorum /\ node[i].role = "leader",
                        "check_quorum timeout (CheckQuorum, at a leader)",
                        "leader with check_quorum", [check_quorum |-> CheckQuorum,
                                                     role |-> node[i].role])
               /\ LeaseStep0(i, LAMBDA lv : CheckQuorumStepAt(LS0(i, lv), i))
          ELSE IF Event.timer = "transfer"
          THEN /\ Check(node[i].role = "leader" /\ node[i].xfer # Nil,
                        "transfer timeout (at a leader with a transfer under way)",
                        "leader with a transfer", [role |-> node[i].role, xfer |-> node[i].xfer])
               /\ LeaseStep0(i, LAMBDA lv : TransferTimeoutStepAt(LS0(i, lv), i))
          ELSE /\ Check(node[i].role \in {"follower", "candidate"}, "election timeout at a leader",
                        "follower or candidate", node[i].role)
               \* the election timer ends any promise (lease reads)
               /\ NodeStepP(i, TimeoutStep(i), readInvoked, FALSE)

\* transfer (the fault transfer_leader, thesis section 3.10) -> Transfer
\* (TransferStep); at a non-leader, or to itself, it changes nothing.
TransferEvent ==
    /\ Event.event = "transfer"
    /\ LET i == Event.node IN
       /\ PreStateOK(i)
       /\ LeaseStep0(i, LAMBDA lv : TransferStepAt(LS0(i, lv), i, Event.to))

\* join (thesis section 4.1): the runtime boots a new, empty server; in
\* RaftKV it exists from the start, outside the cluster, with RaftKV's
\* initial state (nothing happened to it before). Like start, no effects.
JoinEvent ==
    /\ Event.event = "join"
    /\ PreStateOK(Event.node)
    /\ NodeStep(Event.node, [s |-> node[Event.node], out |-> {}, served |-> <<>>])

\* change (thesis section 4.1): the runtime asks a node to add or remove a
\* server -> AddServer / RemoveServer (ChangeStep) if the node accepts it,
\* else a step that changes nothing but the step's end (Finish), with
\* reject_change giving RaftKV's reason (ChangeReason).
ChangeEvent ==
    /\ Event.event = "change"
    /\ LET i == Event.node
           j == Event.target
           why == ChangeReason(node[i], Event.action, j)
           rejects == Only(StepEffects, "reject_change")
       IN /\ PreStateOK(i)
          /\ Check(IF why = "" THEN rejects = <<>>
                   ELSE Len(rejects) = 1 /\ rejects[1].reason = why
                        /\ rejects[1].action = Event.action /\ rejects[1].target = j,
                   "reject_change (reason)", rejects, why)
          /\ IF why = ""
             THEN LeaseStep0(i, LAMBDA lv : ChangeStepAt(LS0(i, lv), i, Event.action, j))
             ELSE LeaseStep0(i, LAMBDA lv : Finish(Same(LS0(i, lv)), i))

\* leave: the runtime shuts down a server whose removal is committed, for
\* good: a crash (if it runs) with no restart after it (RaftKV's server that
\* takes no more steps). As for crash, the durable fields and the role are
\* compared.
LeaveEvent ==
    /\ Event.event = "leave"
    /\ LET i == Event.node IN
       /\ IF node[i].role = "down" THEN UNCHANGED <<node, msgs, historyVars>> ELSE Crash(i)
       /\ Check(DurableView(StateView(node'[i])) = DurableView(TraceStateView(Event.state)),
                "leave state", TraceStateView(Event.state), StateView(node'[i]))
       /\ l' = StepEndFrom(l + 1)
       /\ UNCHANGED <<clientVars, leaseVars>>

\* A server that left never restarts.
LeftBefore(i) == \E k \in 1..(l - 1) : TraceLog[k].event = "leave" /\ TraceLog[k].node = i

\* crash -> Crash. The trace's crash state shows the node's last commit and
\* applied indices (the node object is frozen), so only the durable fields
\* and the role are compared.
CrashEvent ==
    /\ Event.event = "crash"
    /\ LET i == Event.node IN
       /\ Check(node[i].role # "down", "crash of a crashed node", "up", node[i].role)
       /\ Crash(i)
       /\ Check(DurableView(StateView(node'[i])) = DurableView(TraceStateView(Event.state)),
                "crash state", TraceStateView(Event.state), StateView(node'[i]))
       /\ l' = StepEndFrom(l + 1)
       /\ UNCHANGED <<clientVars, leaseVars>>

\* restart -> Restart (the node's start step that follows emits nothing).
\* With lease reads the restarted node promises, as after a ReadConfirm (it
\* may have answered one just before it crashed), and holds no lease.
RestartEvent ==
    /\ Event.event = "restart"
    /\ LET i == Event.node IN
       /\ Check(node[i].role = "down", "restart of a running node", "down", node[i].role)
       /\ Check(~LeftBefore(i), "restart of a server that left", "never", "left")
       /\ Restart(i)
       /\ Check(StateView(node'[i]) = TraceStateView(Event.state), "restart state",
                TraceStateView(Event.state), StateView(node'[i]))
       /\ l' = StepEndFrom(l + 1)
       /\ promised' = [promised EXCEPT ![i] = LeaseRead]
       /\ leaseVoid' = [leaseVoid EXCEPT ![i] = FALSE]
       /\ UNCHANGED clientVars

\* The final state of every node (store contents are compared by size).
EndNodeOK(rec) ==
    LET s == node[rec.node] IN
    IF rec.state.role = "down"
    THEN DurableView(StateView(s)) = DurableView(TraceStateView(rec.state)) /\ s.role = "down"
    ELSE StateView(s) = TraceStateView(rec.state) /\ Cardinality(DOMAIN s.store) = rec.store_size

\* A client accepts a final result: a definite one must be the result of the
\* request's first apply, and its last ClientReply's, addressed to this
\* client, for this request and from the node named. Otherwise the result
\* must be unknown (the deadline passed, no reply accepted, from 0): a stale
\* or not_leader reply is never a final result. Unknown is not compared
\* with applies (the request may or may not have taken effect).
CompletionOK ==
    LET c == Event.client
        done == [client |-> c, client_seq |-> Event.client_seq, result |-> Event.result,
                 from |-> Event.from]
        reply == IF c \in DOMAIN lastReply
                 THEN [client |-> lastReply[c].client, client_seq |-> lastReply[c].seq,
                       result |-> lastReply[c].result, from |-> lastReply[c].from]
                 ELSE "no ClientReply received"
    IN IF Event.result.status \in Definite
       THEN /\ Check(ResultOf(applyRes, <<c, Event.client_seq>>) = Event.result,
                     "client_complete vs the first apply of its client and seq",
                     Event.result, ResultOf(applyRes, <<c, Event.client_seq>>))
            /\ Check(reply = done, "client_complete vs the last ClientReply its client received",
                     done, reply)
       ELSE Check(Event.result.status = "unknown" /\ Event.from = 0,
                  "client_complete with a result not final (stale, not_leader) or unknown from a node",
                  Event.result, [status |-> "unknown", from |-> 0])

\* inject: a message made by hand (a scenario's) enters the network as if
\* its `from` node had sent it; no node takes a step.
\* An injected InstallSnapshot (section 7) carries an encoding this module
\* does not decode (see Header): it is taken to hold the state machine of
\* its sender's log through its index, "as if from had sent it": the
\* sender's snapshot at that index, or its state machine there computed from
\* its snapshot and log (RaftKV's SnapshotAt), or, for an index the sender
\* compacted past, the committed entries 1..index of the history. What the
\* receiver installs is then compared through the install_snapshot event's
\* store_size and every later apply and read.
InjectedSnapshotState(j, k) ==
    LET s == node[j] IN
    IF k = s.snap.index THEN [store |-> s.snap.store, sessions |-> s.snap.sessions]
    ELSE IF k > s.snap.index /\ k <= LastIndex(s)
    THEN [store |-> SnapshotAt(s, k).snap.store, sessions |-> SnapshotAt(s, k).snap.sessions]
    ELSE LET x == ApplyEntries(EmptyFn, EmptyFn, [n \in 1..k |-> CommittedAt(n)]) IN
         [store |-> x.store, sessions |-> x.sessions]
InjectedMsg(tm) ==
    IF tm.type = "InstallSnapshot"
    THEN LET st == InjectedSnapshotState(tm.from, tm.last_included_index) IN
         [type |-> tm.type, from |-> tm.from, to |-> tm.to, term |-> tm.term,
          last_included_index |-> tm.last_included_index,
          last_included_term |-> tm.last_included_term,
          store |-> st.store, sessions |-> st.sessions, conf |-> BootConf]
    ELSE MsgOf(tm)

InjectEvent ==
    /\ Event.event = "inject"
    /\ Check(Event.msg.type \in ProtocolTypes, "injected message type", ProtocolTypes,
             Event.msg.type)
    /\ msgs' = msgs \cup {InjectedMsg(Event.msg)}
    /\ UNCHANGED <<node, historyVars, clientVars, leaseVars>>
    /\ l' = l + 1

\* Runtime events: stuttering steps of RaftKV (with a few checks).
RuntimeEvent ==
    /\ Event.event \in RuntimeEvents \ {"inject"}
    /\ CASE Event.event \in NetEvents /\ Event.msg.type \in ProtocolTypes ->
              Check(SentIn(MsgOf(Event.msg), msgs), "dropped or duplicated message was never sent",
                    Event.msg, "")
         [] Event.event = "client_complete" -> CompletionOK
         [] Event.event = "end" ->
              Check(\A k \in DOMAIN Event.nodes : EndNodeOK(Event.nodes[k]), "final states",
                    Event.nodes, [i \in Server |-> StateView(node[i])])
         [] OTHER -> TRUE
    /\ UNCHANGED <<vars, applyRes, leaseVars>>
    /\ lastReply' = IF Event.event = "client_receive"
                    THEN (Event.client :> Event.msg) @@ lastReply
                    ELSE lastReply
    /\ l' = l + 1

-----------------------------------------------------------------------------
\* The header's initial_state (a scenario's, spec/trace-schema.md): the term,
\* vote and log some nodes hold on disk before they boot; the others start
\* as RaftKV's Init has them.
InitialState == IF "initial_state" \in DOMAIN TraceHeader THEN TraceHeader.initial_state ELSE <<>>
InitialNode(i) ==
    IF \E k \in DOMAIN InitialState : InitialState[k].node = i
    THEN LET s == InitialState[CHOOSE k \in DOMAIN InitialState : InitialState[k].node = i]
         IN [InitNode EXCEPT !.term = s.term, !.vote = s.vote, !.log = s.log]
    ELSE InitNode

\* RaftKV's Init, but for the nodes' initial state.
TraceInit ==
    /\ node = [i \in Server |-> InitialNode(i)]
    /\ msgs = {}
    /\ committed = {}
    /\ elected = {}
    /\ answered = [i \in Server |-> {}]
    /\ lapsed = {}
    /\ readInvoked = EmptyFn
    /\ readsDone = {}
    /\ installed = {}
    /\ l = 1 /\ applyRes = EmptyFn /\ lastReply = EmptyFn
    /\ promised = [i \in Server |-> FALSE] /\ leaseVoid = [i \in Server |-> FALSE]


TraceNext ==
    \/ /\ l <= Len(TraceLog)
       /\ \/ StartEvent \/ DeliverEvent \/ TimeoutEvent \/ CrashEvent \/ RestartEvent
          \/ TransferEvent \/ JoinEvent \/ ChangeEvent \/ LeaveEvent
          \/ InjectEvent \/ RuntimeEvent
    \* The whole trace matched: stutter (so that TLC reports no deadlock).
    \/ l > Len(TraceLog) /\ UNCHANGED traceVars

TraceSpec == TraceInit /\ [][TraceNext]_traceVars /\ WF_traceVars(TraceNext)

\* The trace is a behaviour of RaftKV: every line was matched.
TraceAccepted == <>(l > Len(TraceLog))

\* What TLC prints for each state of a counterexample (instead of the whole state).
TraceAlias ==
    [line |-> l + 1,
     seq |-> IF l <= Len(TraceLog) THEN Event.seq ELSE "end of trace",
     event |-> IF l <= Len(TraceLog) THEN Event.event ELSE "",
     node |-> IF l <= Len(TraceLog) /\ "node" \in DOMAIN Event THEN Event.node ELSE 0]
=============================================================================
