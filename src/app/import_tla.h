// `raftkv import-tla` (issue 17): a counterexample TLC found in RaftKV.tla,
// replayed on the real node code.
//
// TLC's error trace (`-dumpTrace json FILE`) lists the spec's states, not the
// actions between them: RaftKV's network is the set of every message ever
// sent, so which message a step received is not written anywhere. The
// importer therefore finds each step by running the code: from the code's
// state after the steps so far, it tries every input the runtime could give
// (deliver any message sent so far, again or for the first time; an election
// timeout, a heartbeat or a quorum check; a client command at a leader; a
// crash; a restart) and keeps the first whose result, seen through the spec's
// variables (each node's role, term, vote, log, commit and applied index, and
// the set of messages ever sent), is TLC's next state. The inputs found are
// written as a scenario (spec/scenario-format.md) that `raftkv replay` runs
// and `raftkv check` judges. When no input gives TLC's next state, code and
// spec part there: the importer names that step, the input that came closest
// and the variables it got wrong, and writes the scenario up to it.
#pragma once

#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/spec_view.h"
#include "raft/planted_bugs.h"

namespace raftkv {

// What the code runs with. The spec's constants of the same meaning: from a
// TLC config (read_tlc_config), then the command line.
struct ImportSettings {
  bool leader_noop = true;    // LeaderNoop
  bool pre_vote = false;      // PreVote
  bool check_quorum = false;  // CheckQuorum
  PlantedBugs bugs;           // DedupLastSeqOnly, PlantedVoteTwice, ...
  // The model's bounds, which `explore --cfg` reads: the integer constants
  // (MaxTerm, MaxLogLen, MaxMsgs, MaxCrashes, NumCommands, ...) by name, the
  // number of servers (`Server = {...}`; 0 if not given) and whether TLC
  // checks up to symmetry (a SYMMETRY line).
  std::map<std::string, int64_t> numbers;
  int servers = 0;
  bool symmetry = false;
};

// Reads a TLC config's CONSTANTS that the import needs (`Name = TRUE`,
// `Name = FALSE`) into `settings`. A switch the importer cannot drive the code
// through (ReadIndex, LeaseRead, LeaderTransfer, Snapshots, MembershipChanges
// TRUE) is an ImportInputError naming the line.
void read_tlc_config(std::istream& in, const std::string& name, ImportSettings& settings);

// Opens the TLC config at `path` and reads it as read_tlc_config does; false,
// with one line on `err` naming the command, the file and what is wrong, if it
// cannot be opened or read (the commands' exit 2).
bool load_tlc_config(const std::string& path, const char* command, ImportSettings& settings,
                     std::ostream& err);

struct ImportStep {
  int state = 0;            // TLC's number of the state this step reaches
  std::string input;        // the scenario line (without its line end)
  std::string description;  // e.g. "node 1's election timer fires"
};

struct ImportResult {
  std::string scenario;  // header and the inputs found, as a scenario file's text
  std::vector<ImportStep> steps;
  int states = 0;          // states in TLC's trace
  bool complete = false;   // every state was reached
  int parted_at = 0;       // if not: the TLC state no input reaches
  std::string parted_why;  // and why: the closest input and what it got wrong
};

// Throws ImportInputError on a malformed trace.
ImportResult import_tla_trace(std::istream& in, const std::string& name,
                              const ImportSettings& settings);

struct ImportTlaOptions {
  std::string input;                      // TLC's -dumpTrace json file
  std::string tlc_config;                 // --cfg: the TLC config it was checked with
  std::string leader_noop;                // "true"/"false": overrides the config
  std::vector<std::string> planted_bugs;  // --plant-bug: planted in the code too
  bool correct_code = false;              // --correct-code: no planted bug in the code
  std::string out_path;                   // empty: INPUT's stem + ".scenario.jsonl"
  std::string trace_path;                 // also replay and write the trace here
  bool quiet = false;
};
int import_tla_command(const ImportTlaOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace raftkv
