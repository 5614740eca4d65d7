// raftkv: command line entry point. Parses flags with CLI11 and hands off to
// the subcommands in src/app. Exit codes: 0 ok, 1 a safety problem was found (replicas
// diverged, a check failed, replay diverged), 2 bad input (flags, config or
// trace file), 3 `check --liveness`: a stated liveness bound was missed.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "app/atomic_file.h"
#include "app/commands.h"
#include "app/import_tla.h"

namespace {

// --verbosity, --node and --client: how much of the narrative to print, and
// about whom (spec/narrative.md). The same three flags for run and replay.
void add_narrative_flags(CLI::App* cmd, raftkv::NarrateOptions& o) {
  cmd->add_option("--verbosity,-V", o.verbosity,
                  "Narrative detail: 1 events (elections, votes and why, faults, refusals, "
                  "commits, client operations), 2 steps (also appends, applies, messages "
                  "carrying entries), 3 all (also nextIndex/matchIndex bookkeeping, persists, "
                  "heartbeats and acks)")
      ->check(CLI::Range(1, 3))
      ->capture_default_str();
  // One id per flag, repeated for several, so that a vector option does not
  // swallow the config path or trace file that follows it.
  cmd->add_option("--node", o.nodes,
                  "Narrate only this node: its lines and the messages from or to it "
                  "(repeat the flag for several)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--client", o.clients,
                  "Narrate only this client: its lines and the lines about its requests "
                  "(repeat the flag for several)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::PositiveNumber);
}

bool narrative_flags_given(CLI::App* cmd) {
  return cmd->count("--verbosity") + cmd->count("--node") + cmd->count("--client") > 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "raftkv: a deterministic emulator of a key-value store replicated with Raft.\n"
      "Every run can be recorded as a JSON-lines trace (schema: spec/trace-schema.md)."};
  app.require_subcommand(1);

  raftkv::RunOptions run;
  std::string positional_config;
  std::string seed_text;
  auto* run_cmd = app.add_subcommand("run", "Run the emulation described by a TOML config");
  run_cmd->add_option("--config,-c", run.config_path,
                      "TOML config file (default: ./config.toml if there is one, else the "
                      "built-in defaults)");
  run_cmd->add_option("config_file", positional_config, "TOML config file (same as --config)");
  auto* seed_opt =
      run_cmd->add_option("--seed,-s", seed_text, "RNG seed, 0 to 2^31 - 1 (overrides the config)");
  run_cmd->add_option("--trace,-t", run.trace_path, "Write the JSON-lines trace to this file");
  run_cmd->add_flag("--quiet,-q", run.quiet, "Print only the summary, no narrative");
  add_narrative_flags(run_cmd, run.narrative);
  // One name per --plant-bug: a vector option would otherwise swallow the
  // config path that follows it (`--plant-bug vote_twice crash.toml`).
  run_cmd
      ->add_option("--plant-bug", run.planted_bugs,
                   "Plant a named protocol bug (one name; repeat the flag for several)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run_cmd->add_flag("--check", run.check,
                    "Run every check of `raftkv check` on this run; exit 1 on a violation");
  run_cmd->add_option("--view", run.view_path,
                      "Write the run's view (as `raftkv view` does) to this HTML file");

  raftkv::CheckCommandOptions check;
  auto* check_cmd = app.add_subcommand(
      "check", "Verify election safety, log matching, KV semantics and more on traces");
  check_cmd->add_option("traces", check.traces, "Trace files (JSON lines)")->required();
  check_cmd->add_flag("--no-linearizability", check.skip_linearizability,
                      "Skip the linearizability search of the client history");
  check_cmd->add_flag("--no-liveness", check.skip_liveness,
                      "Skip the liveness checks (leader, convergence, client deadlines)");
  check_cmd
      ->add_option("--liveness-bound-ms", check.liveness_bound_ms,
                   "Bound of the leader and convergence checks (default: 10 x "
                   "election_timeout_max_ms of the trace)")
      ->check(CLI::PositiveNumber);
  // Taken as text: check_command judges the values and says what is wrong in one line.
  check_cmd->add_flag("--liveness", check.liveness,
                      "Judge the liveness figures against the bounds given below; exit 3 when "
                      "one is missed");
  std::string max_unavailable_text, min_availability_text;
  auto* max_unavailable_opt =
      check_cmd
          ->add_option("--max-unavailable-ms", max_unavailable_text,
                       "With --liveness: the longest time (ms) without a leader that a majority "
                       "follows")
          ->option_text("N");
  auto* min_availability_opt =
      check_cmd
          ->add_option("--min-availability", min_availability_text,
                       "With --liveness: the least fraction (0..1) of the run with a leader that "
                       "a majority follows")
          ->option_text("F");
  check_cmd->footer(
      "Exit: 0 every trace passes (and meets every stated liveness bound), 1 a check is "
      "violated, 2 bad input (malformed trace, bad flag), 3 --liveness: a stated bound is "
      "missed. Several traces: 2 over 1 over 3.");

  raftkv::ReplayCommandOptions replay;
  auto* replay_cmd = app.add_subcommand(
      "replay", "Re-drive the node code with a trace's inputs and compare, or run a scenario");
  replay_cmd->add_option("input", replay.input_path, "Trace or scenario file (JSON lines)")
      ->required();
  replay_cmd->add_flag(
      "--narrate,-n", replay.narrate,
      "Print the narrative of the trace (implied by --verbosity, --node, --client)");
  add_narrative_flags(replay_cmd, replay.narrative);
  replay_cmd->add_option("--trace,-t", replay.trace_path,
                         "Scenario input: write the resulting trace to this file");

  std::string export_in, export_out;
  auto* export_cmd = app.add_subcommand(
      "export-tla", "Regroup a trace into one line per step for TLA+ trace validation");
  export_cmd->add_option("trace", export_in, "Trace file (JSON lines)")->required();
  export_cmd->add_option("out", export_out, "Output file (JSON lines, one step per line)")
      ->required();

  std::string shiviz_in, shiviz_out;
  auto* shiviz_cmd = app.add_subcommand(
      "export-shiviz", "Write a trace as a ShiViz log (hosts, vector clocks, events)");
  shiviz_cmd->add_option("trace", shiviz_in, "Trace file (JSON lines)")->required();
  shiviz_cmd
      ->add_option("out", shiviz_out,
                   "Output file: the parsing regex on line 1, then one event per line")
      ->required();

  raftkv::ViewOptions view;
  auto* view_cmd = app.add_subcommand(
      "view",
      "Write one self-contained HTML page showing a trace: space-time diagram, logs at a "
      "moment, client operations, plots and the verdict of `raftkv check`");
  view_cmd->add_option("trace", view.trace_path, "Trace file (JSON lines)")->required();
  view_cmd->add_option("--out,-o", view.out_path,
                       "Output HTML file (default: the trace's path with .html)");
  view_cmd
      ->add_option("--max-events", view.max_events,
                   "At most this many events in the page (0: all); a longer trace shows those "
                   "around its violation, or its first ones")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  raftkv::BenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Measure emulator throughput (tracing off and on)");
  bench_cmd->add_option("--ops", bench.ops, "Committed client operations per scenario")
      ->capture_default_str();
  bench_cmd->add_flag("--json", bench.json, "Print the figures as JSON");
  bench_cmd->add_option("--tracing", bench.tracing, "off, on or both")->capture_default_str();
  bench_cmd
      ->add_option("--scenario", bench.scenario,
                   "5x3, 51x16, all, agreement (messages per agreement, seeds 1-10) or "
                   "catch-up (refused probes while a restarted follower catches up)")
      ->capture_default_str();

  raftkv::SweepOptions sweep;
  uint64_t sweep_shards = 0;
  auto* sweep_cmd = app.add_subcommand(
      "sweep",
      "Run a config under every seed of a range (or of one shard of it), each with every check "
      "of `raftkv check`; one JSON line per seed");
  sweep_cmd->add_option("config", sweep.config_path, "TOML config file")->required();
  sweep_cmd->add_option("--seeds", sweep.seeds, "Seeds A..B (inclusive) or one seed N")->required();
  sweep_cmd->add_option("--shard", sweep.shard,
                        "Run shard I of N: the seeds s with s mod N == I (default: from "
                        "JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or PARALLEL_SEQ, else all)");
  auto* shards_opt = sweep_cmd->add_option(
      "--shards", sweep_shards,
      "The number of shards, when the environment gives only this shard's index (Kubernetes "
      "JOB_COMPLETION_INDEX, GNU parallel PARALLEL_SEQ); also RAFTKV_SHARDS");
  sweep_cmd
      ->add_option("--jobs,-j", sweep.jobs, "Seeds run at once on this machine (0: every core)")
      ->capture_default_str();
  sweep_cmd->add_option("--out,-o", sweep.out_path,
                        "Write the results here (JSON lines, complete or not at all); default "
                        "stdout");
  sweep_cmd->add_option("--trace-dir", sweep.trace_dir,
                        "Where failing seeds' traces go (default: beside --out, else the current "
                        "directory)");
  sweep_cmd
      ->add_option("--plant-bug", sweep.planted_bugs,
                   "Plant a named protocol bug (one name; repeat the flag for several)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sweep_cmd->footer(
      "Exit: 0 every seed passes, 1 some seed violates a check (its trace is written), 2 bad "
      "input. Merge shards' results with `raftkv sweep-report`.");

  raftkv::SweepReportOptions sweep_report;
  auto* sweep_report_cmd = app.add_subcommand(
      "sweep-report",
      "Merge `raftkv sweep` results (shards in any order, duplicates allowed): verdicts, failing "
      "seeds with the command that reproduces each, missing seeds, figures' distributions");
  sweep_report_cmd->add_option("files", sweep_report.files, "Results files (JSON lines)")
      ->required();
  sweep_report_cmd->add_flag("--json", sweep_report.json, "Print the report as JSON");
  sweep_report_cmd->footer(
      "Exit: 0 every seed of the range reported and passing, 1 some seed failed, 2 bad input, 3 "
      "none failed but some seeds are missing.");

  raftkv::ExploreOptions explore;
  auto* explore_cmd = app.add_subcommand(
      "explore",
      "Explore every schedule of the node code within bounds (breadth-first) and check Raft's "
      "safety guarantees at each state; a violation is written as a scenario");
  explore_cmd
      ->add_option("--preset", explore.preset, "Bounds: small, figure8, client, change or lease")
      ->capture_default_str();
  // The bounds' options are -1 until given (the preset's value): a negative
  // value typed is refused here, never taken for "not given".
  const CLI::Validator not_negative(
      [](std::string& value) {
        return !value.empty() && value[0] == '-' ? "must not be negative, got " + value
                                                 : std::string();
      },
      "NONNEGATIVE");
  explore_cmd->add_option("--servers", explore.servers, "Servers (default: the preset's)")
      ->check(not_negative);
  explore_cmd
      ->add_option("--max-term", explore.max_term, "States with a term above this are not expanded")
      ->check(not_negative);
  explore_cmd->add_option("--max-log", explore.max_log, "States with a longer log are not expanded")
      ->check(not_negative);
  explore_cmd
      ->add_option("--max-msgs", explore.max_msgs,
                   "States with more messages in flight are not expanded; a message is "
                   "duplicated only while fewer are")
      ->check(not_negative);
  explore_cmd->add_option("--max-crashes", explore.max_crashes, "Crashes along one schedule")
      ->check(not_negative);
  explore_cmd
      ->add_option("--commands", explore.commands,
                   "Client Puts along one schedule (distinct keys and values)")
      ->check(not_negative);
  explore_cmd->add_option("--leader-noop", explore.leader_noop,
                          "true or false: a new leader appends a no-op (default: the preset's)");
  explore_cmd->add_flag("--sessions", explore.sessions,
                        "Client commands are client 1's session (put a, then delete a, each "
                        "sent again as retries within --commands) and KVSemantics is checked");
  explore_cmd->add_option("--max-depth", explore.max_depth, "Inputs along a schedule (0: no limit)")
      ->capture_default_str();
  explore_cmd
      ->add_option("--time-limit-s", explore.time_limit_s, "Stop after this long (0: no limit)")
      ->capture_default_str();
  explore_cmd
      ->add_option("--max-states", explore.max_states,
                   "Stop after finding this many distinct states (0: no limit); bounds memory")
      ->capture_default_str();
  explore_cmd
      ->add_option("--plant-bug", explore.planted_bugs,
                   "Plant a named protocol bug (one name; repeat the flag for several)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  explore_cmd->add_option("--out,-o", explore.out_path, "Where a counterexample's scenario goes")
      ->capture_default_str();
  explore_cmd->add_option("--trace", explore.trace_path,
                          "Also replay a counterexample and write its trace here");
  explore_cmd->add_option("--network", explore.network,
                          "runtime (messages in flight, lost or duplicated; the default) or spec "
                          "(RaftKV.tla's: every message ever sent stays deliverable; --max-msgs "
                          "bounds the messages sent; --commands N: MCRaftKV's first N commands)");
  explore_cmd->add_option("--compare-tlc", explore.compare_tlc,
                          "Compare the states reached (seen through the spec's variables) with "
                          "TLC's, written by spec/MCRaftKVView.tla; implies --network spec");
  explore_cmd->add_option("--cfg", explore.tlc_config,
                          "Take the bounds, LeaderNoop, PreVote, CheckQuorum, planted bugs and "
                          "SYMMETRY (symmetry reduction) from this TLC config of MCRaftKV (e.g. "
                          "spec/MCRaftKVConform.cfg); implies --network "
                          "spec; flags given override it");
  explore_cmd->add_flag("--depth-first", explore.depth_first,
                        "Depth-first: the same states with far less memory, but a "
                        "counterexample found is not the shortest");
  explore_cmd->add_flag("--pre-vote", explore.pre_vote,
                        "[raft] pre_vote: an election timeout starts a pre-vote round (thesis "
                        "§9.6); a pre-vote that changes a term or vote is a violation");
  explore_cmd->add_flag("--check-quorum", explore.check_quorum,
                        "[raft] check_quorum: a leader's quorum check timer is an input too "
                        "(thesis §6.2); a check that keeps a leader no majority answered, or "
                        "deposes one a majority answered, is a violation");
  explore_cmd
      ->add_option("--reads", explore.reads,
                   "Gets of k1 from client 2 along one path, each at a leader: an answer "
                   "must be linearizable (k1's value after a committed prefix between "
                   "those committed when it arrived and when it was answered; default 0)")
      ->check(not_negative);
  explore_cmd->add_flag("--read-index", explore.read_index,
                        "[raft] read_mode = \"read_index\": gets are answered without a log "
                        "entry, after a round of ReadConfirm a majority answers (thesis §6.4)");
  explore_cmd
      ->add_option("--transfers", explore.transfers,
                   "Leadership transfers asked along one path (thesis §3.10): a leader is "
                   "asked to hand leadership to another server, or gives a transfer up; "
                   "a TimeoutNow to a target whose log lacks the leader's is a violation "
                   "(default 0)")
      ->check(not_negative);
  explore_cmd->add_flag("--lease", explore.lease,
                        "[raft] read_mode = \"lease\" (thesis §6.4.1), with check_quorum and "
                        "--reads' gets: nodes have drifting clocks, time moves on at a tick "
                        "input, and election timers and quorum checks fire as the runtime "
                        "fires them on the node's clock (the lease preset has it)");
  explore_cmd
      ->add_option("--ticks", explore.ticks,
                   "With --lease: ticks of true time along one path, each to the next instant "
                   "a timer comes due or a promise or lease runs out (default 4)")
      ->check(not_negative);
  explore_cmd
      ->add_option("--clock-drift-ppm", explore.clock_drift_ppm,
                   "With --lease: [timing] clock_drift_ppm, node 1's clock slowest and the "
                   "last node's fastest (0..500000, default 200000)")
      ->check(not_negative);
  explore_cmd
      ->add_option(
          "--changes", explore.changes,
          "Membership changes asked along one path (thesis §4.1): a leader is asked "
          "to remove a voter of its configuration (or add a joiner); durability is then judged by "
          "LeaderCompleteness and StateMachineSafety (default 0; the change preset 2)")
      ->check(not_negative);
  explore_cmd
      ->add_option("--joiners", explore.joiners,
                   "With --changes: servers that may join (ids after --servers'), each booted "
                   "once by a join input, that a leader may be asked to add (as a learner, "
                   "promoted once caught up; thesis §4.2.1; 0..3, default 0)")
      ->check(not_negative);
  explore_cmd
      ->add_option("--snapshot-every", explore.snapshot_every,
                   "[raft] snapshot_every: a node snapshots once it applied this many entries "
                   "past its last snapshot, and a leader sends InstallSnapshot to a follower "
                   "that needs compacted entries (Raft §7); a snapshot of an entry not "
                   "committed is a violation (default 0: none)")
      ->check(not_negative);
  explore_cmd->add_flag("--symmetry", explore.symmetry,
                        "Symmetry reduction: states that differ only in the servers' names "
                        "are one state (as TLC's SYMMETRY Permutations(Server)); implied by a "
                        "SYMMETRY line in --cfg");
  explore_cmd->add_flag("--tlc-symmetry", explore.tlc_symmetry,
                        "TLC ran with SYMMETRY Permutations(Server): compare the views up to "
                        "the servers' names");
  explore_cmd->footer(
      "Exit: 0 no violation within the bounds (and, with --compare-tlc, the same states as "
      "TLC's), 1 a violation (its scenario is written) or states TLC did not reach or the "
      "code did not, 2 bad input.");

  raftkv::ImportTlaOptions import_tla;
  auto* import_tla_cmd = app.add_subcommand(
      "import-tla",
      "Turn a TLC counterexample of spec/RaftKV.tla (TLC's -dumpTrace json output) into a "
      "scenario that drives the real node code through the same states, or name the state "
      "where code and spec part");
  import_tla_cmd->add_option("tlc_trace", import_tla.input, "TLC's `-dumpTrace json FILE` output")
      ->required();
  import_tla_cmd->add_option("--cfg", import_tla.tlc_config,
                             "The TLC config the trace came from: its LeaderNoop, PreVote, "
                             "CheckQuorum and planted-bug constants set the code's");
  import_tla_cmd->add_option("--leader-noop", import_tla.leader_noop,
                             "true or false: a new leader appends a no-op (default: the "
                             "config's LeaderNoop, else true)");
  import_tla_cmd
      ->add_option("--plant-bug", import_tla.planted_bugs,
                   "Also plant this bug in the code (one name; repeat the flag for several)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  import_tla_cmd->add_flag("--correct-code", import_tla.correct_code,
                           "Run the code with no planted bug, whatever the config plants in the "
                           "spec: shows where the correct code refuses the counterexample");
  import_tla_cmd->add_option("--out,-o", import_tla.out_path,
                             "The scenario (default: the trace's name with .scenario.jsonl)");
  import_tla_cmd->add_option("--trace", import_tla.trace_path,
                             "Also replay the scenario, write its trace here and check it");
  import_tla_cmd->add_flag("--quiet,-q", import_tla.quiet, "Do not list the steps found");
  import_tla_cmd->footer(
      "Exit: 0 every TLC state reached (the scenario is written), 1 code and spec part at a "
      "state (the scenario of the steps before it is written), 2 bad input.");

  // CLI11 words a stray first word as an unexpected argument; name it as
  // the unknown command it is, with the config's kind of suggestion.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
    }
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::cerr << raftkv::unknown_command_message(argv[1], names) << '\n';
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // every flag error is "bad input"
  }

  // Ctrl-C during a long run must not leave a half-written temporary file.
  raftkv::remove_temp_file_on_interrupt();
  if (run_cmd->parsed()) {
    if (!positional_config.empty()) {
      if (run_cmd->count("--config") > 0 && positional_config != run.config_path) {
        std::cerr << "raftkv run: give the config either as --config or as a bare path, "
                     "not both\n";
        return 2;
      }
      run.config_path = positional_config;
    }
    if (seed_opt->count() > 0) {
      run.seed = raftkv::parse_seed_flag(seed_text, std::cerr);
      if (!run.seed) return 2;
    }
    if (run.quiet && narrative_flags_given(run_cmd)) {
      std::cerr << "raftkv run: --verbosity, --node and --client choose what the narrative "
                   "shows, and --quiet turns the narrative off: give one or the other\n";
      return 2;
    }
    return raftkv::run_command(run, std::cout, std::cerr);
  }
  if (check_cmd->parsed()) {
    if (max_unavailable_opt->count() > 0) check.max_unavailable_ms = max_unavailable_text;
    if (min_availability_opt->count() > 0) check.min_availability = min_availability_text;
    return raftkv::check_command(check, std::cout, std::cerr);
  }
  if (export_cmd->parsed()) {
    return raftkv::export_tla_command(export_in, export_out, std::cout, std::cerr);
  }
  if (shiviz_cmd->parsed()) {
    return raftkv::export_shiviz_command(shiviz_in, shiviz_out, std::cout, std::cerr);
  }
  if (replay_cmd->parsed()) {
    if (narrative_flags_given(replay_cmd)) replay.narrate = true;
    return raftkv::replay_command(replay, std::cout, std::cerr);
  }
  if (view_cmd->parsed()) return raftkv::view_command(view, std::cout, std::cerr);
  if (sweep_cmd->parsed()) {
    if (shards_opt->count() > 0) sweep.shards = sweep_shards;
    return raftkv::sweep_command(sweep, std::cout, std::cerr);
  }
  if (sweep_report_cmd->parsed()) {
    return raftkv::sweep_report_command(sweep_report, std::cout, std::cerr);
  }
  if (explore_cmd->parsed()) return raftkv::explore_command(explore, std::cout, std::cerr);
  if (import_tla_cmd->parsed()) {
    return raftkv::import_tla_command(import_tla, std::cout, std::cerr);
  }
  if (bench_cmd->parsed()) return raftkv::bench_command(bench, std::cout, std::cerr);
  return 2;
}
