// TOML configuration files, read into JSON so that one validator
// (resolve_options) checks options from files and from the command line.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace gsnn {

// Parses a TOML file; throws std::runtime_error("file:line:col: ...") on
// syntax errors. Dates and times are rejected (no gsnn option uses them).
nlohmann::json read_toml(const std::string& path);

// "key=value" from the command line: value parsed as JSON when it is a
// number, boolean or quoted string, else kept as a bare string.
std::pair<std::string, nlohmann::json> parse_assignment(const std::string& text);

}  // namespace gsnn
