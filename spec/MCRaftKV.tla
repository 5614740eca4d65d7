------------------------------ MODULE MCRaftKV ------------------------------
(***************************************************************************)
(* Model-checking configuration for RaftKV: three servers (model values,   *)
(* with symmetry), a few terms, short logs, two keys, two values, two      *)
(* clients and a bounded number of crashes. See MCRaftKV.cfg for the       *)
(* bounds and spec/README.md for the figures.                              *)
(***************************************************************************)
EXTENDS RaftKV

CONSTANTS s1, s2, s3       \* model values
CONSTANTS MaxTerm,         \* no node goes past this term
          MaxLogLen,       \* no log grows past this length
          MaxCrashes       \* crashes in a behaviour

VARIABLE crashes           \* crashes so far (bounds the fault actions)

MCServer == {s1, s2, s3}

Cmd(op, k, v, c, n) == [op |-> op, key |-> k, value |-> v, client |-> c, seq |-> n]

\* Two keys, two values, two clients. Client 1 writes "a" then reads it
\* (seq 1, 2); client 2 deletes "a" or writes "b" (seq 1). Any command may be
\* handed to a leader more than once, which is what a client retry does, so
\* the dedup table is exercised.
MCCommands ==
    { Cmd("put", "a", "x", 1, 1),
      Cmd("get", "a", "", 1, 2),
      Cmd("delete", "a", "", 2, 1),
      Cmd("put", "b", "y", 2, 1) }

MCInit == Init /\ crashes = 0

MCNext ==
    \/ ProtocolNext /\ UNCHANGED crashes
    \/ \E i \in Server : Crash(i) /\ crashes < MaxCrashes /\ crashes' = crashes + 1
    \/ \E i \in Server : Restart(i) /\ UNCHANGED crashes

MCSpec == MCInit /\ [][MCNext]_<<vars, crashes>>

MCConstraint ==
    \A i \in Server : currentTerm[i] <= MaxTerm /\ Len(log[i]) <= MaxLogLen

MCSymmetry == Permutations(MCServer)
=============================================================================
