// TOML -> JSON conversion with toml++.
#include "io/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>

#include <fstream>
#include <iterator>

#include <cstdint>
#include <stdexcept>
#include "io/files.hpp"

namespace gsnn {
namespace {

nlohmann::json convert(const toml::node& node, const std::string& path, const std::string& key,
                       SourceLines* lines) {
  if (lines && !key.empty()) (*lines)[key] = static_cast<int64_t>(node.source().begin.line);
  const std::string prefix = key.empty() ? "" : key + ".";
  if (auto t = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : *t) {
      const std::string name(k.str());
      out[name] = convert(v, path, prefix + name, lines);
      if (lines)  // the key's own line, rather than its value's
        (*lines)[prefix + name] = static_cast<int64_t>(k.source().begin.line);
    }
    return out;
  }
  if (auto a = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < a->size(); ++i)
      out.push_back(convert(*a->get(i), path, key + "[" + std::to_string(i) + "]", lines));
    return out;
  }
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_string()) return v->get();
  const auto& src = node.source();
  throw std::runtime_error(fmt::format("{}:{}:{}: key '{}': dates and times are not supported",
                                       path, src.begin.line, src.begin.column, key));
}

}  // namespace

nlohmann::json read_toml(const std::string& path, SourceLines* lines) {
  return parse_toml(read_text_file(path, kMaxTomlBytes), path, lines);
}

nlohmann::json parse_toml(const std::string& text, const std::string& path, SourceLines* lines) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw std::runtime_error(
        fmt::format("{}:{}:{}: {}", path, src.begin.line, src.begin.column, e.description()));
  }
  return convert(table, path, "", lines);
}

std::string source_location(const std::string& file, const SourceLines& lines,
                            const std::string& key_path) {
  std::string key = key_path;
  while (!key.empty()) {
    auto it = lines.find(key);
    if (it != lines.end() && it->second > 0) return fmt::format("{}:{}: ", file, it->second);
    const auto cut = key.find_last_of(".[");
    key = cut == std::string::npos ? "" : key.substr(0, cut);
  }
  return file + ": ";
}

std::vector<int64_t> json_integers(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) throw std::invalid_argument(what + " must be a list of integers");
  std::vector<int64_t> out;
  for (const auto& v : j) {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX))
      throw std::invalid_argument(what + " must be a list of integers");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

std::pair<std::string, nlohmann::json> parse_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("expected key=value, got '" + text + "'");
  const auto key = text.substr(0, eq);
  const auto value = text.substr(eq + 1);
  try {
    auto j = nlohmann::json::parse(value);
    if (j.is_number() || j.is_boolean() || j.is_string()) return {key, j};
  } catch (const nlohmann::json::exception&) {
  }
  return {key, value};
}

}  // namespace gsnn
