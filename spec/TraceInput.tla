------------------------------ MODULE TraceInput ------------------------------
(***************************************************************************)
(* The trace TraceRaftKV validates, read once: the raw lines as the        *)
(* emulator writes them (spec/trace-schema.md) and TraceLog, the same      *)
(* lines with every node line's state made whole.                          *)
(*                                                                         *)
(* Why a module of its own, which TraceRaftKV extends before RaftKV: TLC    *)
(* evaluates each zero-arity constant definition once, before checking,    *)
(* module by module, and a definition it has not reached yet is evaluated  *)
(* afresh wherever it is used. RaftKV's constant definitions use Server,   *)
(* which TraceRaftKV.cfg maps to TraceServer, the node ids a scan of the   *)
(* whole trace gives. With these definitions after RaftKV's, every use of  *)
(* Server there read and parsed the trace file again, once per line        *)
(* scanned: default.jsonl took 37-40 s to start, chaos.jsonl more than 8   *)
(* minutes. Here, first, they are evaluated once (default.jsonl: 12-15 s   *)
(* in all, chaos.jsonl about a minute).                                    *)
(***************************************************************************)
EXTENDS Json, IOUtils, Sequences, Naturals, FiniteSets, TLC

TraceMaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x

TraceFile == IF "JSON" \in DOMAIN IOEnv THEN IOEnv.JSON ELSE "trace.jsonl"

TraceRaw == ndJsonDeserialize(TraceFile)
TraceHeader == TraceRaw[1]
RawLog == Tail(TraceRaw)        \* the events as written; RawLog[k] is line k + 1 of the file

ASSUME TraceHeader.format = "raftkv-trace" /\ TraceHeader.version \in {3, 4}

\* Schema version 4: a node line (one with a `node` field) writes only the
\* fields of its `state` that differ from its node's previous line's, and
\* leaves `state` out when none does (version 3 wrote a changed state whole,
\* which reads the same way). TraceLog is RawLog with every node line's state
\* made whole, so every check below sees each node line's full state, as in
\* version 2. It is built once (zero-arity constant definitions are
\* evaluated once; SubSeq makes each a sequence of values, not a function
\* evaluated anew at each access): FieldLines[n][i] is the increasing
\* sequence of the numbers of node n's lines whose state has field
\* StateFields[i] (one pass per node and field), and a line takes each field
\* from the last of those at or before it, found by binary search (recursion
\* depth log2 of the trace's length), so the whole costs O(n log n) for n
\* lines, not O(n^2).
NodeLine(k) == "node" \in DOMAIN RawLog[k]
HasState(k) == "state" \in DOMAIN RawLog[k]
StateFields == <<"applied", "commit", "last_index", "last_term", "role", "term", "vote">>
HasField(k, f) == HasState(k) /\ f \in DOMAIN RawLog[k].state
LineNums == SubSeq([k \in 1..Len(RawLog) |-> k], 1, Len(RawLog))
\* The node ids: 1..num_nodes, and any server added later (its `join` line).
TraceJoined == {RawLog[k].node : k \in {k \in DOMAIN RawLog : RawLog[k].event = "join"}}
TraceNodeIds == 1..TraceMaxOf({TraceHeader.config.num_nodes} \cup TraceJoined)
FieldLines ==
    SubSeq([n \in TraceNodeIds |->
               SubSeq([i \in 1..Len(StateFields) |->
                          SelectSeq(LineNums, LAMBDA k : NodeLine(k) /\ RawLog[k].node = n
                                                          /\ HasField(k, StateFields[i]))],
                      1, Len(StateFields))],
           1, Cardinality(TraceNodeIds))
\* The position in s (increasing) of its last element below k, searching
\* positions lo..hi (everything before lo is below k, everything after hi is
\* not); 0 if there is none.
RECURSIVE LastBelow(_, _, _, _)
LastBelow(s, k, lo, hi) ==
    IF lo > hi THEN hi
    ELSE LET mid == (lo + hi) \div 2
         IN IF s[mid] < k THEN LastBelow(s, k, mid + 1, hi) ELSE LastBelow(s, k, lo, mid - 1)
\* Field StateFields[i] of node line k's state: the value the last line of its
\* node at or before k that wrote the field gave it. A node's first state
\* must have every field (the trace is malformed otherwise).
StateField(k, i) ==
    LET n == RawLog[k].node
        lines == FieldLines[n][i]
        pos == LastBelow(lines, k + 1, 1, Len(lines))
    IN IF pos = 0
       THEN Assert(FALSE, <<"TraceRaftKV: trace line", k + 1, "node", n, "has no",
                            StateFields[i], "in its state and no earlier line of its node has">>)
       ELSE RawLog[lines[pos]].state[StateFields[i]]
WholeState(k) ==
    [applied |-> StateField(k, 1), commit |-> StateField(k, 2), last_index |-> StateField(k, 3),
     last_term |-> StateField(k, 4), role |-> StateField(k, 5), term |-> StateField(k, 6),
     vote |-> StateField(k, 7)]
\* Whether line k's state has every field (then it is used as it is).
StateIsWhole(k) == \A i \in 1..Len(StateFields) : HasField(k, StateFields[i])
TraceLog ==                     \* the events, whole; TraceLog[k] is line k + 1 of the file
    SubSeq([k \in 1..Len(RawLog) |->
               IF NodeLine(k) /\ ~StateIsWhole(k)
               THEN ("state" :> WholeState(k)) @@ RawLog[k]
               ELSE RawLog[k]],
           1, Len(RawLog))

ASSUME \A k \in 1..Len(TraceLog) : NodeLine(k) => "state" \in DOMAIN TraceLog[k]

=============================================================================
