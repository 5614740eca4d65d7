// The config's field table: one row per key, the only place a key's path,
// member, range and meaning are written. The loader reads and range-checks
// each key from it, unknown-key suggestions come from its paths, the trace
// header's effective config is written and read back from it, and README.md's
// config table is checked against it (tests/test_config.cpp).
//
// Three keys are structured, `faults` (an array of tables whose fields depend
// on the action), `clients` (an array of tables, one per scheduled client)
// and `nemesis.kinds` (an array of names): they have a row, so
// they are known keys and appear in README, but the table cannot say how to
// read or check them, so config.cpp and config_json.cpp do that by hand.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.h"

namespace raftkv {

// The trace stores integers as JSON numbers that every consumer must read
// exactly, so every integer in a config has to fit in int32.
inline constexpr int64_t kConfigIntMax = std::numeric_limits<int32_t>::max();

// A member of Config, reachable both to read (const) and to write.
template <class T>
struct FieldRef {
  using Type = T;
  T& (*mut)(Config&);
  const T& (*get)(const Config&);
};

// FieldRef for a chain of members, e.g. member<&Config::timing,
// &TimingConfig::heartbeat_interval_ms>(): a pointer-to-member path that
// works for nested tables, where one pointer-to-member cannot.
template <auto... Members>
constexpr auto member() {
  constexpr auto at = [](auto& cfg) -> auto& { return (cfg.*....*Members); };
  using T = std::remove_cvref_t<decltype(at(std::declval<Config&>()))>;
  return FieldRef<T>{at, at};
}

// The member's C++ type is the field's type: int/int64_t are int32-range
// integers, uint64_t is an integer that must not be negative (the seed),
// double is a probability in [0, 1).
using AnyFieldRef =
    std::variant<FieldRef<int>, FieldRef<int64_t>, FieldRef<uint64_t>, FieldRef<bool>,
                 FieldRef<double>, FieldRef<ReadMode>, FieldRef<std::vector<NemesisKind>>,
                 FieldRef<std::vector<FaultConfig>>, FieldRef<std::vector<ClientConfig>>>;

// A visitor made of lambdas, for std::visit over a field's AnyFieldRef.
template <class... F>
struct Overload : F... {
  using F::operator()...;
};

struct ConfigField {
  std::string_view path;  // "num_nodes", "timing.election_timeout_min_ms"
  AnyFieldRef ref;
  // Integers: the allowed range. kConfigIntMax as max means "any int32".
  int64_t min = 0;
  int64_t max = kConfigIntMax;
  bool max_is_num_nodes = false;     // the upper bound is the value of num_nodes
  std::string_view range_note = {};  // said after a range error, e.g. why the bound
  std::string_view meaning = {};     // one line, as README's table shows it
  // `keys` came after traces of version 1 were written: the header carries it
  // only when it is not the default, so default runs keep their bytes.
  bool header_omits_default = false;

  // "" for a top-level key, else the [table] it lives in.
  std::string_view section() const;
  // The key inside its table.
  std::string_view name() const;
  // Upper bound for this config (num_nodes for max_is_num_nodes).
  int64_t max_for(const Config& cfg) const;
};

// Every key, in README order (top level, [timing], [network], [[faults]],
// [[clients]], [nemesis]). Range checks run in this order, so the first bad key reported
// is the first in the table.
const std::vector<ConfigField>& config_fields();

// The field at `path`, or nullptr.
const ConfigField* find_config_field(std::string_view path);

// README's cells for a field: the key as `[table] name`, the default, the
// allowed values.
std::string readme_key(const ConfigField& field);
std::string readme_default(const ConfigField& field);
std::string readme_range(const ConfigField& field);

// README's config table, header included, one row per field.
std::string readme_config_table();

}  // namespace raftkv
