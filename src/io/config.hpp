// TOML configuration files, read into JSON so that one validator
// (resolve_options) checks options from files and from the command line.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gsnn {

// Source line of every key, by path: "training.steps", "model[1].options.depth".
using SourceLines = std::map<std::string, int64_t>;

// Parses a TOML file; throws std::runtime_error("file:line:col: ...") on
// syntax errors. Dates and times are rejected (no gsnn option uses them).
// With `lines`, records where each key was written.
nlohmann::json read_toml(const std::string& path, SourceLines* lines = nullptr);
// The same from text; `path` names it in messages.
nlohmann::json parse_toml(const std::string& text, const std::string& path,
                          SourceLines* lines = nullptr);

// Largest TOML file read (checked before reading).
constexpr uint64_t kMaxTomlBytes = 16 << 20;

// "file:line: " for a key path, falling back to its closest recorded parent.
std::string source_location(const std::string& file, const SourceLines& lines,
                            const std::string& key_path);

// The integers of a JSON array; throws std::invalid_argument naming `what`
// unless every element is an integer (a JSON 1e300 converted to an integer
// would be undefined behaviour).
std::vector<int64_t> json_integers(const nlohmann::json& j, const std::string& what);

// "key=value" from the command line: value parsed as JSON when it is a
// number, boolean or quoted string, else kept as a bare string.
std::pair<std::string, nlohmann::json> parse_assignment(const std::string& text);

}  // namespace gsnn
