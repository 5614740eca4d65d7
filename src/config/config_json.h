// The effective configuration as JSON, for the trace header.
#pragma once

#include <nlohmann/json.hpp>
#include "config/config.h"

namespace raftkv {

using json = nlohmann::json;

// Every key of the field table (src/config/fields.h), defaults filled in, in
// the TOML file's shape, except `keys`, which is written only when it is not
// the default 5 (so default runs keep their bytes). Probabilities are written
// as strings so the trace stays integer-only (spec/trace-schema.md).
json config_to_json(const Config& cfg);

// The inverse, for a header's config: keys it lacks keep their defaults.
// Throws nlohmann's exceptions on a value of the wrong type and ConfigError
// on an unknown fault action or nemesis kind; does not validate (the header
// came from a validated run). A probability comes back as the string the
// header holds, which has 6 significant digits.
Config config_from_json(const json& config);

}  // namespace raftkv
