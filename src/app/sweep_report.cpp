// `raftkv sweep-report`: merges the results files of a sweep's shards
// (app/sweep.h) into one report. The report (stdout) depends only on the
// seeds' results, never on how they were split into files or in what order
// the files come, so a sharded sweep and one process give the same report;
// what was read (files, lines, duplicates) goes to stderr.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/sweep.h"

namespace raftkv {
namespace {

using ojson = nlohmann::ordered_json;

struct BadInput {
  std::string message;  // "FILE:LINE: ..."
};

// The figures a result line carries, in the report's order; `decimals` 0 for counts.
struct Figure {
  const char* name;
  int decimals;
};
constexpr Figure kFigures[] = {
    {"committed_ops", 0},  {"client_ops", 0},      {"client_unknown", 0},
    {"elections", 0},      {"leaders", 0},         {"faults", 0},
    {"messages", 0},       {"messages_per_op", 2}, {"latency_p50_ms", 0},
    {"latency_p99_ms", 0}, {"availability", 4},    {"longest_unavailable_ms", 0},
    {"virtual_ms", 0},
};
const char* const kVerdicts[] = {"ok", "violation", "inconclusive", "error"};

struct Header {
  std::string config;
  std::string digest;
  uint64_t first = 0, last = 0;
  uint64_t shard = 0, shards = 1;
  std::vector<std::string> bugs;
  std::string where;  // FILE:1
};

struct SeedLine {
  ojson line;  // as read, without "trace"
  std::optional<std::string> trace;
  std::string where;
};

uint64_t get_uint(const ojson& j, const char* key, const std::string& where, uint64_t max) {
  auto it = j.find(key);
  if (it == j.end()) throw BadInput{where + ": missing field '" + key + "'"};
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max)
    throw BadInput{where + ": field '" + key + "' must be a whole number from 0 to " +
                   std::to_string(max) + ", not " + it->dump()};
  return it->get<uint64_t>();
}

std::string get_string(const ojson& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw BadInput{where + ": missing field '" + key + "'"};
  if (!it->is_string()) throw BadInput{where + ": field '" + key + "' must be a string"};
  return it->get<std::string>();
}

Header read_header(const ojson& j, const std::string& where) {
  if (!j.is_object()) throw BadInput{where + ": the header must be a JSON object"};
  auto format = j.find("format");
  if (format == j.end() || *format != sweep::kFormat) {
    throw BadInput{where +
                   ": not a results file of `raftkv sweep` (line 1 must have \"format\": \"" +
                   std::string(sweep::kFormat) + "\")"};
  }
  uint64_t version = get_uint(j, "version", where, UINT32_MAX);
  if (version != static_cast<uint64_t>(sweep::kVersion)) {
    throw BadInput{where + ": version is " + std::to_string(version) +
                   "; this raftkv reads version " + std::to_string(sweep::kVersion) +
                   " sweep results"};
  }
  Header h;
  h.where = where;
  h.config = get_string(j, "config", where);
  h.digest = get_string(j, "config_digest", where);
  auto pair = [&](const char* key, uint64_t& a, uint64_t& b) {
    auto it = j.find(key);
    if (it == j.end()) throw BadInput{where + ": missing field '" + std::string(key) + "'"};
    if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_unsigned() ||
        !(*it)[1].is_number_unsigned())
      throw BadInput{where + ": field '" + std::string(key) + "' must be a pair of whole numbers"};
    a = (*it)[0].get<uint64_t>();
    b = (*it)[1].get<uint64_t>();
  };
  pair("seeds", h.first, h.last);
  pair("shard", h.shard, h.shards);
  if (h.first > h.last || h.last >= (uint64_t{1} << 31))
    throw BadInput{where + ": field 'seeds' must be [A, B] with A <= B < 2^31"};
  if (h.shards == 0 || h.shard >= h.shards)
    throw BadInput{where + ": field 'shard' must be [I, N] with I < N"};
  auto bugs = j.find("planted_bugs");
  if (bugs == j.end()) throw BadInput{where + ": missing field 'planted_bugs'"};
  if (!bugs->is_array()) throw BadInput{where + ": field 'planted_bugs' must be a list of names"};
  for (const auto& b : *bugs) {
    if (!b.is_string()) throw BadInput{where + ": field 'planted_bugs' must be a list of names"};
    h.bugs.push_back(b.get<std::string>());
  }
  for (const auto& [key, value] : j.items()) {
    static const std::set<std::string> known = {"format", "version", "config",      "config_digest",
                                                "seeds",  "shard",   "planted_bugs"};
    if (!known.count(key)) throw BadInput{where + ": unknown field '" + key + "' in the header"};
  }
  return h;
}

// Validates a seed's line; returns it without its "trace" (which names where
// one shard wrote the file, not what the seed did).
SeedLine read_result(ojson j, const Header& h, const std::string& where) {
  if (!j.is_object()) throw BadInput{where + ": a seed's line must be a JSON object"};
  SeedLine r;
  r.where = where;
  uint64_t seed = get_uint(j, "seed", where, (uint64_t{1} << 31) - 1);
  if (seed < h.first || seed > h.last || seed % h.shards != h.shard) {
    throw BadInput{where + ": seed " + std::to_string(seed) + " is not one of this file's shard " +
                   std::to_string(h.shard) + "/" + std::to_string(h.shards) + " of " +
                   std::to_string(h.first) + ".." + std::to_string(h.last)};
  }
  std::string verdict = get_string(j, "verdict", where);
  if (std::find(std::begin(kVerdicts), std::end(kVerdicts), verdict) == std::end(kVerdicts))
    throw BadInput{where + ": verdict '" + verdict +
                   "' is not ok, violation, inconclusive or error"};
  auto check = j.find("check");
  if (check == j.end() || !(check->is_null() || check->is_string()))
    throw BadInput{where + ": field 'check' must be a check's name or null"};
  if (verdict != "ok" && verdict != "error" && check->is_null())
    throw BadInput{where + ": a '" + verdict + "' verdict names its check"};
  if (j.contains("explanation")) get_string(j, "explanation", where);
  if (j.contains("trace")) {
    r.trace = get_string(j, "trace", where);
    j.erase("trace");
  }
  auto complete = j.find("complete");
  if (complete == j.end() || !complete->is_boolean())
    throw BadInput{where + ": field 'complete' must be true or false"};
  for (const Figure& f : kFigures) {
    auto it = j.find(f.name);
    if (it == j.end()) throw BadInput{where + ": missing field '" + std::string(f.name) + "'"};
    if (!it->is_number() || (f.decimals == 0 && !it->is_number_unsigned()) || it->get<double>() < 0)
      throw BadInput{where + ": field '" + std::string(f.name) + "' must be a number >= 0"};
  }
  for (const auto& [key, value] : j.items()) {
    static const std::set<std::string> known = [] {
      std::set<std::string> k = {"seed", "verdict", "check", "explanation", "complete"};
      for (const Figure& f : kFigures) k.insert(f.name);
      return k;
    }();
    if (!known.count(key)) throw BadInput{where + ": unknown field '" + key + "'"};
  }
  r.line = std::move(j);
  return r;
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string format_number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "3, 7..9, 12" for sorted seeds, at most `limit` runs (then "and N more").
std::string seed_list(const std::vector<std::pair<uint64_t, uint64_t>>& runs, size_t limit) {
  std::string s;
  for (size_t i = 0; i < runs.size() && i < limit; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(runs[i].first);
    if (runs[i].second > runs[i].first) s += ".." + std::to_string(runs[i].second);
  }
  if (runs.size() > limit) s += ", and " + std::to_string(runs.size() - limit) + " more run(s)";
  return s;
}

}  // namespace

int sweep_report_command(const SweepReportOptions& opts, std::ostream& out, std::ostream& err) {
  std::vector<Header> headers;
  std::map<uint64_t, SeedLine> results;
  int64_t lines = 0, duplicates = 0;
  try {
    if (opts.files.empty()) throw BadInput{"no results file given"};
    for (const std::string& path : opts.files) {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw BadInput{path + ": cannot open: " + std::strerror(errno)};
      std::string text;
      int64_t number = 0;
      std::optional<Header> header;
      while (std::getline(in, text)) {
        ++number;
        std::string where = path + ":" + std::to_string(number);
        if (in.eof()) throw BadInput{where + ": the line has no end (a file cut short?)"};
        ojson j;
        try {
          j = ojson::parse(text);
        } catch (const nlohmann::json::exception& e) {
          throw BadInput{where + ": not JSON (" + std::string(e.what()) + ")"};
        }
        if (!header) {
          header = read_header(j, where);
          continue;
        }
        SeedLine r = read_result(std::move(j), *header, where);
        ++lines;
        uint64_t seed = r.line["seed"].get<uint64_t>();
        auto [it, fresh] = results.try_emplace(seed, r);
        if (!fresh) {
          ++duplicates;
          // A seed's result is a function of the config, the seed and the
          // planted bugs: two different ones mean two binaries.
          if (it->second.line != r.line) {
            throw BadInput{where + ": seed " + std::to_string(seed) +
                           " has a different result at " + it->second.where +
                           " (results of different raftkv builds?)"};
          }
          if (!it->second.trace) it->second.trace = r.trace;
        }
      }
      if (in.bad()) throw BadInput{path + ": read error"};
      if (!header) throw BadInput{path + ":1: empty file: no header line"};
      const Header& h = *header;
      if (!headers.empty()) {
        const Header& first = headers.front();
        if (h.digest != first.digest) {
          throw BadInput{h.where + ": config digest " + h.digest + " ('" + h.config +
                         "') differs from " + first.where + "'s " + first.digest + " ('" +
                         first.config + "'): these are sweeps of different configs"};
        }
        if (h.bugs != first.bugs) {
          throw BadInput{h.where + ": its planted bugs differ from " + first.where + "'s"};
        }
      }
      headers.push_back(h);
    }
  } catch (const BadInput& e) {
    err << "raftkv sweep-report: " << e.message << '\n';
    return 2;
  }
  err << "raftkv sweep-report: read " << opts.files.size() << " file(s), " << lines
      << " seed line(s), " << duplicates << " duplicate(s) merged\n";

  // The seeds the files' ranges cover, as disjoint sorted intervals.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const Header& h : headers) ranges.push_back({h.first, h.last});
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  uint64_t expected = 0;
  for (const auto& r : merged) expected += r.second - r.first + 1;
  // Missing seeds as runs, walking each interval beside the reported seeds.
  std::vector<std::pair<uint64_t, uint64_t>> missing;
  uint64_t missing_count = 0;
  for (const auto& [a, b] : merged) {
    uint64_t next = a;
    for (auto it = results.lower_bound(a); it != results.end() && it->first <= b; ++it) {
      if (it->first > next) {
        missing.push_back({next, it->first - 1});
        missing_count += it->first - next;
      }
      next = it->first + 1;
    }
    if (next <= b) {
      missing.push_back({next, b});
      missing_count += b - next + 1;
    }
  }
  // Shards with no file at all, for each way the seeds were split.
  std::vector<std::string> absent_shards;
  std::set<std::pair<uint64_t, uint64_t>> present;
  std::set<uint64_t> counts;
  for (const Header& h : headers) {
    present.insert({h.shard, h.shards});
    counts.insert(h.shards);
  }
  for (uint64_t n : counts) {
    if (n == 1 || n > 10000) continue;
    for (uint64_t i = 0; i < n; ++i)
      if (!present.count({i, n}))
        absent_shards.push_back(std::to_string(i) + "/" + std::to_string(n));
  }

  const Header& first = headers.front();
  std::map<std::string, int64_t> verdicts;
  for (const char* v : kVerdicts) verdicts[v] = 0;
  int64_t incomplete = 0;
  ojson failing = ojson::array(), inconclusive = ojson::array();
  for (const auto& [seed, r] : results) {
    std::string verdict = r.line["verdict"].get<std::string>();
    ++verdicts[verdict];
    if (!r.line["complete"].get<bool>()) ++incomplete;
    if (verdict == "ok") continue;
    ojson f;
    f["seed"] = seed;
    f["verdict"] = verdict;
    f["check"] = r.line["check"];
    f["explanation"] = r.line.value("explanation", "");
    f["reproduce"] = sweep::reproduce_command(first.config, seed, first.bugs);
    f["trace"] = r.trace ? ojson(*r.trace) : ojson(nullptr);
    (verdict == "inconclusive" ? inconclusive : failing).push_back(std::move(f));
  }
  ojson figures = ojson::object();
  for (const Figure& fig : kFigures) {
    std::vector<double> v;
    v.reserve(results.size());
    for (const auto& [seed, r] : results) v.push_back(r.line[fig.name].get<double>());
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    ojson d;
    auto num = [&](double x, int decimals) { return std::stod(format_number(x, decimals)); };
    int dec = fig.decimals;
    d["min"] = num(v.empty() ? 0 : v.front(), dec);
    d["p50"] = num(percentile(v, 0.50), dec);
    d["p90"] = num(percentile(v, 0.90), dec);
    d["p99"] = num(percentile(v, 0.99), dec);
    d["max"] = num(v.empty() ? 0 : v.back(), dec);
    d["mean"] = num(v.empty() ? 0 : sum / static_cast<double>(v.size()), std::max(dec, 2));
    figures[fig.name] = d;
  }

  std::string range_text;
  for (size_t i = 0; i < merged.size(); ++i)
    range_text +=
        (i ? ", " : "") + std::to_string(merged[i].first) + ".." + std::to_string(merged[i].second);
  std::set<std::string> paths;
  for (const Header& h : headers) paths.insert(h.config);

  int status = !failing.empty() ? 1 : missing_count > 0 ? kExitSeedsMissing : 0;
  if (opts.json) {
    ojson j;
    j["config"] = first.config;
    j["config_digest"] = first.digest;
    j["planted_bugs"] = first.bugs;
    j["seeds"] = ojson::array();
    for (const auto& [a, b] : merged) j["seeds"].push_back({a, b});
    j["expected"] = expected;
    j["reported"] = results.size();
    j["missing"] = ojson::array();
    for (const auto& [a, b] : missing) j["missing"].push_back({a, b});
    j["missing_count"] = missing_count;
    j["absent_shards"] = absent_shards;
    j["verdicts"] = verdicts;
    j["incomplete"] = incomplete;
    j["failing"] = failing;
    j["inconclusive"] = inconclusive;
    j["figures"] = figures;
    j["exit"] = status;
    out << j.dump(2) << '\n';
    return status;
  }

  out << "Sweep of " << first.config << " (config digest " << first.digest << ")";
  if (!first.bugs.empty()) {
    out << " with planted bug(s)";
    for (const std::string& b : first.bugs) out << ' ' << b;
  }
  out << ", seeds " << range_text << '\n';
  if (paths.size() > 1) {
    out << "  (the same config is named";
    for (const std::string& p : paths) out << " '" << p << "'";
    out << " in the files; reproduce with the first)\n";
  }
  out << "Seeds: " << results.size() << " of " << expected << " reported";
  if (missing_count > 0) out << ", " << missing_count << " missing";
  out << '\n';
  out << "Verdicts:";
  for (const char* v : kVerdicts)
    out << ' ' << v << ' ' << verdicts[v] << (v == kVerdicts[3] ? "" : ",");
  out << "; " << incomplete << " run(s) incomplete (not every request answered or replica caught "
      << "up: not a safety problem)\n";
  auto list = [&](const char* title, const ojson& seeds) {
    if (seeds.empty()) return;
    out << title << " (" << seeds.size() << "):\n";
    for (const auto& f : seeds) {
      out << "  seed " << f["seed"].get<uint64_t>() << ": " << f["verdict"].get<std::string>();
      if (f["check"].is_string()) out << ' ' << f["check"].get<std::string>();
      if (!f["explanation"].get<std::string>().empty())
        out << ": " << f["explanation"].get<std::string>();
      out << "\n    reproduce: " << f["reproduce"].get<std::string>() << '\n';
      if (f["trace"].is_string()) out << "    trace: " << f["trace"].get<std::string>() << '\n';
    }
  };
  list("Failing seeds", failing);
  list("Inconclusive seeds", inconclusive);
  if (missing_count > 0) {
    out << "Missing seeds (" << missing_count << "): " << seed_list(missing, 20) << '\n';
    for (const std::string& s : absent_shards) out << "  shard " << s << ": no results file\n";
  }
  if (!results.empty()) {
    out << "Figures over " << results.size() << " seeds (nearest-rank percentiles):\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-24s %10s %10s %10s %10s %10s %10s\n", "figure", "min",
                  "p50", "p90", "p99", "max", "mean");
    out << line;
    for (const Figure& fig : kFigures) {
      const ojson& d = figures[fig.name];
      int dec = fig.decimals;
      std::snprintf(line, sizeof line, "  %-24s %10s %10s %10s %10s %10s %10s\n", fig.name,
                    format_number(d["min"].get<double>(), dec).c_str(),
                    format_number(d["p50"].get<double>(), dec).c_str(),
                    format_number(d["p90"].get<double>(), dec).c_str(),
                    format_number(d["p99"].get<double>(), dec).c_str(),
                    format_number(d["max"].get<double>(), dec).c_str(),
                    format_number(d["mean"].get<double>(), std::max(dec, 2)).c_str());
      out << line;
    }
  }
  out << "Exit " << status
      << (status == 1   ? ": some seed failed"
          : status == 3 ? ": no seed failed, but some are missing"
                        : ": every seed of the range reported, none failed")
      << '\n';
  return status;
}

}  // namespace raftkv
