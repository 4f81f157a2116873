// TOML -> JSON conversion with toml++.
#include "io/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <stdexcept>

namespace gsnn {
namespace {

nlohmann::json convert(const toml::node& node, const std::string& path, const std::string& key) {
  if (auto t = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : *t)
      out[std::string(k.str())] = convert(v, path, std::string(k.str()));
    return out;
  }
  if (auto a = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : *a) out.push_back(convert(v, path, key));
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

nlohmann::json read_toml(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw std::runtime_error(
        fmt::format("{}:{}:{}: {}", path, src.begin.line, src.begin.column, e.description()));
  }
  return convert(table, path, "");
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
