---------------------------- MODULE MCRaftKVView ----------------------------
(***************************************************************************)
(* Conformance of the code with the spec (issue 17; spec/README.md,        *)
(* "Conformance: the code reaches the spec's states"). TLC checks MCSpec   *)
(* and, through the invariant MCWriteView, appends one JSON line per       *)
(* distinct state within MCConstraint to the file named by the environment *)
(* variable RAFTKV_VIEW: the state's view, the variables both the code and *)
(* the spec have (each node's record, the messages sent).                  *)
(* `raftkv explore --compare-tlc FILE` explores the code at the same       *)
(* bounds on the spec's network and compares the set of views the code     *)
(* reaches with this one. It is an invariant only for its side effect: it  *)
(* is always TRUE (Serialize answers exit value 0).                       *)
(***************************************************************************)
EXTENDS MCRaftKV, Json, IOUtils

ViewFile == IF "RAFTKV_VIEW" \in DOMAIN IOEnv THEN IOEnv.RAFTKV_VIEW ELSE "views.jsonl"

\* The node fields the view compares (app/spec_view.h). The others (pvotes,
\* live, heard, reads, rround, racked, xfer, tnsent, lease, snap) stay at
\* their initial values with PreVote, CheckQuorum, ReadIndex, LeaderTransfer,
\* LeaseRead and Snapshots off, as in MCRaftKVConform.cfg.
ViewNode(s) == [role |-> s.role, term |-> s.term, vote |-> s.vote, log |-> s.log,
                commit |-> s.commit, applied |-> s.applied, store |-> s.store,
                sessions |-> s.sessions, verified |-> s.verified, votes |-> s.votes,
                next |-> s.next, match |-> s.match, probe |-> s.probe, csent |-> s.csent]

\* TLC evaluates an invariant on a state outside the CONSTRAINT too (and on
\* each generation of it, as it is never stored): those are not written.
MCWriteView ==
    \/ ~MCConstraint
    \/ Serialize(ToJson([node |-> [i \in Server |-> ViewNode(node[i])], msgs |-> msgs,
                         elected |-> elected, committed |-> committed,
                         crashes |-> crashes]) \o "\n",
                 ViewFile, [format |-> "TXT", charset |-> "UTF-8",
                            openOptions |-> <<"WRITE", "CREATE", "APPEND">>]).exitValue = 0
=============================================================================
