// The effective configuration as JSON, for the trace header.
#pragma once

#include <nlohmann/json.hpp>
#include "config/config.h"

namespace raftkv {

using json = nlohmann::json;

// Every key, defaults filled in, in the TOML file's shape, except `keys`,
// which is written only when it is not the default 5 (so default runs keep
// their bytes). Probabilities are written as strings so the trace stays
// integer-only (spec/trace-schema.md).
json config_to_json(const Config& cfg);

}  // namespace raftkv
