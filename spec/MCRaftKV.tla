------------------------------ MODULE MCRaftKV ------------------------------
(***************************************************************************)
(* Model-checking configuration for RaftKV (bounds in MCRaftKV.cfg):       *)
(* three servers (model values, with symmetry), terms up to MaxTerm, logs  *)
(* up to MaxLogLen entries (the last index, counting entries compacted    *)
(* into a snapshot), at most MaxMsgs distinct messages ever sent          *)
(* (the network keeps every message, so this bounds the length of the     *)
(* behaviours explored), at most MaxCrashes crashes, and client commands   *)
(* over two keys, two values and two clients.                              *)
(***************************************************************************)
EXTENDS RaftKV

CONSTANTS MaxTerm,      \* no node goes past this term
          MaxLogLen,    \* no log grows past this length
          MaxMsgs,      \* distinct messages sent in a behaviour
          MaxCrashes    \* crashes in a behaviour

VARIABLE crashes        \* crashes so far

Cmd(op, k, v, c, n) == [op |-> op, key |-> k, value |-> v, client |-> c, seq |-> n]

\* Two keys ("a", "b"), two values ("x", "y"), two clients (1, 2); the
\* first NumCommands of these are handed to leaders (fewer, fewer states).
\* A leader may be handed the same command more than once, which is what a
\* client's retry does, so the dedup table is exercised whenever a log
\* holds a command twice.
CONSTANT NumCommands
MCCommandSeq ==
    << Cmd("put", "a", "x", 1, 1), Cmd("get", "a", "", 2, 1),
       Cmd("put", "b", "y", 2, 2), Cmd("delete", "a", "", 1, 2) >>
MCCommands == {MCCommandSeq[k] : k \in 1..NumCommands}

\* MCRaftKVClient.cfg and MCRaftKVStaleRetry.cfg: two requests of one client
\* (put a, then delete a). A leader may be handed either any number of times,
\* in any order, so a log can hold the put, the delete and a retry of the put
\* after it: the stale retry of issue 9. With DedupLastSeqOnly (the old rule)
\* TLC finds the put taking effect twice, or after the delete, violating
\* ExactlyOnce and KVSemantics.
MCClientCommands == {Cmd("put", "a", "x", 1, 1), Cmd("delete", "a", "", 1, 2)}

\* Not an invariant of the protocol but a witness for MCRaftKVClient.cfg's
\* bounds: it is false once a node has applied the no-op, the put (seq 1),
\* the delete (seq 2) and a retry of the put, in that order. tools/tla-check
\* model requires TLC to report it violated, which shows that those bounds
\* reach two requests of one client plus a retry, all applied.
ClientRetryNotApplied ==
    ~\E i \in Server :
        /\ node[i].applied >= 4
        /\ <<node[i].log[1].cmd.op, node[i].log[2].cmd.seq, node[i].log[3].cmd.seq,
             node[i].log[4].cmd.seq>> = <<"noop", 1, 2, 1>>

\* Witnesses for MCRaftKVPreVote.cfg's bounds (not invariants of the
\* protocol): tools/tla-check model requires TLC to report each violated,
\* which shows that those bounds reach a follower refusing a pre-vote
\* because it hears from a live leader (FollowerNeverDeniesLeaderLive), a
\* follower that accepted its leader's AppendEntries and then stopped
\* counting on it, by its own election timeout, the only way in the same
\* term without a crash (LiveNeverLapses), and a second leader elected
\* after a first one (NoSecondLeader: with PreVote every election starts
\* with a pre-vote round).
FollowerNeverDeniesLeaderLive ==
    ~\E m \in msgs : /\ m.type = "PreVoteResponse" /\ m.reason = "leader_live"
                    /\ \A e \in elected : e.leader # m.from   \* never a leader
LiveNeverLapses ==
    ~\E j \in Server :
        /\ ~node[j].live
        /\ \E m \in msgs : /\ m.type = "AppendEntriesResponse" /\ m.success
                        /\ m.from = j /\ m.term = node[j].term
NoSecondLeader == Cardinality(elected) <= 1

\* Witnesses for MCRaftKVCheckQuorum.cfg's bounds (not invariants of the
\* protocol): tools/tla-check model requires TLC to report each violated,
\* which shows that those bounds reach a leader stepping down at a failed
\* quorum check (NoStepDown: a node elected in its current term is a
\* follower again; without a crash, MaxCrashes = 0, only a step-down does
\* that), a node refusing a RequestVote of a higher term because it has a
\* live leader (NoLeaderLiveRefusal). (That checks which a majority
\* answered are reached too is shown by a broken variant that steps down at
\* every check: QuorumCheckSound fails, spec/README.md.)
NoStepDown ==
    ~\E i \in Server : /\ node[i].role = "follower"
                      /\ [term |-> node[i].term, leader |-> i] \in elected
NoLeaderLiveRefusal ==
    ~\E m \in msgs : m.type = "RequestVoteResponse" /\ m.reason = "leader_live"

\* Witnesses for MCRaftKVReadIndex.cfg's bounds (not invariants of the
\* protocol): tools/tla-check model requires TLC to report it violated, which
\* shows that those bounds reach a get answered by ReadIndex (thesis section
\* 6.4), so that ReadsLinearizable is not checked vacuously.
NoReadAnswered == readsDone = {}
\* ... and a get answered with the value a put wrote (ok, not not_found).
NoReadOfPut == \A r \in readsDone : r.result.status # "ok"
\* Witness for MCRaftKVLease.cfg: a get answered on a lease.
NoLeaseReadAnswered == \A r \in readsDone : ~r.lease

\* Witness for MCRaftKVTransfer.cfg's bounds: a leader elected in an election
\* its candidate started on a TimeoutNow (thesis section 3.10), i.e. a
\* leadership transfer completed.
NoTransferLeader ==
    ~\E e \in elected : \E m \in msgs : m.type = "RequestVote" /\ m.transfer
                                        /\ m.from = e.leader /\ m.term = e.term

\* Witnesses for MCRaftKVSnapshot.cfg's bounds (section 7): tools/tla-check
\* model requires TLC to report each violated, which shows that those bounds
\* reach a follower installing a leader's snapshot (NoInstall) and one that
\* keeps the entries of its log after the snapshot's index because its entry
\* there has the snapshot's term (NoInstallKeepsSuffix: the case that the
\* planted bug install_discards_log gets wrong).
NoInstall == installed = {}
NoInstallKeepsSuffix == \A x \in installed : x.kept = 0
\* ... and an AppendEntries of a follower's term whose prev_log_index is below
\* its snapshot's index, on its way (its entries through that index count as
\* held).
NoAppendBelowSnapshot ==
    ~\E m \in msgs : /\ m.type = "AppendEntries" /\ m.term = node[m.to].term
                    /\ m.prev_log_index < node[m.to].snap.index

\* Membership changes (thesis section 4.1). MCRaftKVMembership.cfg: the
\* servers not in InitVoters are a separate symmetry class (they start as
\* non-members).
MCMemberSymmetry == Permutations(InitVoters) \cup Permutations(Server \ InitVoters)
\* Witnesses for MCRaftKVMembership.cfg's bounds (not invariants): a learner
\* promoted to voter (a configuration entry with a voter not in InitVoters),
\* a server removed (one with an initial voter missing), and a leader that
\* removed itself and stepped down once that was committed.
NoPromotion ==
    ~\E i \in Server : \E k \in DOMAIN node[i].log :
        node[i].log[k].cmd.op = "config" /\ ~(node[i].log[k].cmd.voters \subseteq InitVoters)
NoRemoval ==
    ~\E i \in Server : \E k \in DOMAIN node[i].log :
        node[i].log[k].cmd.op = "config" /\ ~(InitVoters \subseteq
            node[i].log[k].cmd.voters \cup node[i].log[k].cmd.learners)
NoRemovedLeaderStepsDown ==
    ~\E i \in Server : /\ node[i].role = "follower" /\ i \notin Voters(node[i])
                      /\ [term |-> node[i].term, leader |-> i] \in elected

MCInit == Init /\ crashes = 0

MCNext ==
    \/ ProtocolNext /\ UNCHANGED crashes
    \/ \E i \in Server : Crash(i) /\ crashes < MaxCrashes /\ crashes' = crashes + 1
    \/ \E i \in Server : Restart(i) /\ UNCHANGED crashes

MCSpec == MCInit /\ [][MCNext]_<<vars, crashes>>


MCConstraint ==
    /\ \A i \in Server : node[i].term <= MaxTerm /\ LastIndex(node[i]) <= MaxLogLen
    /\ Cardinality(msgs) <= MaxMsgs

MCSymmetry == Permutations(Server)

\* MCRaftKVReadIndexWithoutConfirm.cfg and MCRaftKVLeaseIgnoresDrift.cfg:
\* the planted bug's stale read needs
\* two leaders that each committed entries (18 messages), beyond the reach of
\* MCNext at a few minutes' cost. Its search is narrowed to behaviours of
\* MCSpec (a violation found is one of RaftKV): no heartbeats (nor crashes),
\* and by MCBugConstraint at most one candidate per term (no split votes),
\* no rejected AppendEntries, the leader of term 1 never learns of a later
\* term (it is cut off, as a stale leader must be), puts are taken only in
\* term 2 and gets (one read round) only in term 1: the search is directed
\* at the stale read the bug allows.
MCBugNext ==
    \/ \E i \in Server : Timeout(i) \/ CheckQuorumTick(i) \/ TransferTimeout(i)
    \/ \E i, j \in Server : Transfer(i, j)
    \/ \E i, j \in Server : AddServer(i, j) \/ RemoveServer(i, j)
    \/ \E i \in Server, c \in Commands : ClientRequest(i, c) \/ LeaseReadReq(i, c)
    \/ \E m \in msgs : Receive(m)

MCBugSpec == MCInit /\ [][MCBugNext /\ UNCHANGED crashes]_<<vars, crashes>>

MCBugConstraint ==
    /\ MCConstraint
    /\ \A m1, m2 \in msgs : (m1.type = "RequestVote" /\ m2.type = "RequestVote" /\ m1.term = m2.term)
                              => m1.from = m2.from
    /\ \A m \in msgs : m.type = "AppendEntriesResponse" => m.success
    /\ \A e \in elected : e.term = 1 => node[e.leader].term = 1
    /\ \A i \in Server : \A k \in DOMAIN node[i].log :
          node[i].log[k].cmd.op = "put" => node[i].log[k].term = 2
    /\ \A m \in msgs : m.type = "ReadConfirm" => m.term = 1 /\ m.round = 1

\* MCRaftKVCommitOldTerm.cfg (Server = 1..3, the planted bug commit_old_term,
\* LeaderNoop FALSE): Figure 8 of the Raft paper on three servers takes four
\* terms and 20 steps, beyond an undirected search (MCSpec: 760,000 distinct
\* states at depth 12 after two minutes) and beyond one directed by the
\* figure's shape alone with symmetry (1.8 million states at depth 18 after
\* 25 minutes). The search runs MCBugSpec (no heartbeats, crashes or
\* transfers: a new leader's AppendEntries and the retries after a refusal
\* carry the entries) and keeps, by MCFig8Constraint, the behaviours of
\* Figure 8's schedule: 1 stands in terms 1 and 3, 2 in terms 2 and 4; votes
\* are answered in term 1 by 2, in term 2 by 1 and 3, in term 3 by 2 and 3;
\* no AppendEntries of terms 1 and 2 is answered, and in term 3 only 3
\* answers; client commands are taken only in terms 1 and 2, and no server
\* but 2 holds the entry of term 2, nor, before term 3, but 1 the entry of
\* term 1. Every behaviour it explores is one of MCSpec; which of those
\* messages are delivered, when, and what each server answers is left to TLC.
MCFig8Constraint ==
    /\ MCConstraint
    /\ \A m \in msgs : m.type = "RequestVote" =>
          <<m.from, m.term>> \in {<<1, 1>>, <<2, 2>>, <<1, 3>>, <<2, 4>>}
    /\ \A m \in msgs : m.type = "RequestVoteResponse" =>
          <<m.from, m.term>> \in {<<2, 1>>, <<1, 2>>, <<3, 2>>, <<2, 3>>, <<3, 3>>, <<1, 4>>, <<3, 4>>}
    /\ \A m \in msgs : m.type = "AppendEntriesResponse" => m.term = 3 /\ m.from = 3
    /\ \A i \in Server : \A k \in DOMAIN node[i].log :
          LET t == node[i].log[k].term IN
          /\ t \in {1, 2}
          /\ t = 2 => i = 2
          /\ t = 1 /\ node[i].term < 3 => i = 1

\* MCRaftKVChangeBeforeTermCommit.cfg (Server = 1..5, InitVoters = 1..4, the
\* planted bug change_before_term_commit): two leaders in one term need three
\* terms, two changes by one leader and one by the next, and over 30 steps,
\* beyond an undirected search (and beyond MCBugSpec, tried first: depth 15
\* after a minute). The search is narrowed to behaviours of RaftKV (every
\* step is a step of Next) in which the network loses more: MCChangeBugNext
\* has no heartbeats, crashes or client requests, and delivers to 4 only
\* RequestVotes, to 5 only messages from 1, CommitNotifications only of term
\* 1 and, in terms 2 and 3, AppendEntries only to 3 (and their answers).
\* MCChangeBugConstraint keeps the behaviours where only 1 stands in term 1,
\* only 2 in term 2 and only 1 or 3 in term 3, every vote (but 1's, which
\* learns of term 2 from a RequestVote) and AppendEntries (but 5's, whose
\* first probe finds its log empty) is answered with a grant or a success, and the only changes made are those of
\* the known counterexample: in term 1 server 5 added (and promoted), in term
\* 2 server 4 removed. Which of the remaining messages are delivered, in
\* which order, and when a leader makes its changes is left to TLC.
MCDeliverable(m) ==
    /\ m.to = 4 => m.type = "RequestVote"
    /\ m.to = 5 => m.from = 1
    /\ m.type = "CommitNotification" => m.term = 1
    /\ m.type = "AppendEntries" /\ m.term > 1 => m.to = 3
    /\ m.type = "AppendEntries" /\ m.to \in {2, 3} =>
          \A k \in DOMAIN m.entries : ~(IsConfigEntry(m.entries[k]) /\ 5 \in m.entries[k].cmd.voters)

\* The election timers fire in phases: 1 first; 2 once 1 has appended the
\* promotion, 5 holds it and 2 knows the learner's addition committed; 1
\* again once some server committed the removal; 3 once 1 leads term 3.
MCPhaseOK(i) ==
    CASE node[i].term = 0 -> i = 1
      [] i = 2 -> LastIndex(node[1]) = 3 /\ LastIndex(node[5]) = 3 /\ node[2].commit >= 2
      [] i = 1 -> \E j \in Server : node[j].commit >= 4
      [] i = 3 -> node[1].role = "leader" /\ node[1].term = 3
      [] OTHER -> FALSE

MCChangeBugNext ==
    \/ \E i \in Server : MCPhaseOK(i) /\ Timeout(i)
    \/ \E i, j \in Server : AddServer(i, j) \/ RemoveServer(i, j)
    \/ \E m \in msgs : MCDeliverable(m) /\ Receive(m)

MCChangeBugSpec == MCInit /\ [][MCChangeBugNext /\ UNCHANGED crashes]_<<vars, crashes>>

MCChangeBugConstraint ==
    /\ MCConstraint
    /\ \A m \in msgs : m.type = "RequestVote" =>
          <<m.from, m.term>> \in {<<1, 1>>, <<2, 2>>, <<1, 3>>, <<3, 3>>}
    /\ \A m \in msgs : m.type = "RequestVoteResponse" /\ m.from # 1 => m.granted
    /\ \A m \in msgs : m.type = "AppendEntriesResponse" /\ m.from # 5 => m.success
    /\ \A i \in Server : \A k \in DOMAIN node[i].log :
          LET e == node[i].log[k] IN
          IsConfigEntry(e) =>
             \/ e.term = 1 /\ e.cmd.voters \cup e.cmd.learners = 1..5 /\ 4 \in e.cmd.voters
             \/ e.term = 2 /\ e.cmd = ConfigCmd({1, 2, 3}, {5})
=============================================================================
