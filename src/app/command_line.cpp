// Checks of the command line that follow the config's rules, so that a flag
// and the config key it overrides accept the same values and a misspelt name
// gets the same kind of hint as a misspelt config key.
#include <charconv>
#include <ostream>
#include <string_view>

#include "app/commands.h"
#include "config/config.h"
#include "config/fields.h"

namespace raftkv {

std::optional<uint64_t> parse_seed_flag(const std::string& text, std::ostream& err) {
  std::string_view digits = text;
  bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != digits.npos) {
    err << "raftkv run: --seed must be an integer, got '" << text << "'\n";
    return std::nullopt;
  }
  if (negative && digits.find_first_not_of('0') != digits.npos) {
    err << "raftkv run: --seed must be >= 0, got " << text << '\n';
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size() ||
      value > static_cast<uint64_t>(kConfigIntMax)) {
    err << "raftkv run: --seed must be below 2^31, got " << text << '\n';
    return std::nullopt;
  }
  return value;
}

std::optional<PlantedBugs> parse_planted_bugs(const std::vector<std::string>& names,
                                              const std::string& command, std::ostream& err) {
  PlantedBugs bugs;
  for (const std::string& name : names) {
    if (!plant_bug(bugs, name)) {
      const std::vector<std::string>& known = planted_bug_names();
      std::vector<std::string_view> candidates(known.begin(), known.end());
      err << "raftkv " << command << ": unknown planted bug '" << name << "'"
          << name_hint(name, candidates) << '\n';
      return std::nullopt;
    }
  }
  return bugs;
}

std::string unknown_command_message(const std::string& word,
                                    const std::vector<std::string>& commands) {
  std::vector<std::string_view> names(commands.begin(), commands.end());
  return "raftkv: unknown command '" + word + "'" + name_hint(word, names) + "; see raftkv --help";
}

}  // namespace raftkv
