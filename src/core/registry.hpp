// A registry of named entries (model families, objectives, task kinds,
// tasks, metrics, optimisers): the one place that adds an entry, refuses a
// duplicate name and finds an entry with a message listing the known ones.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gsnn {

template <class Entry>  // Entry has a std::string `name`
class Registry {
 public:
  Registry(std::string what, std::vector<Entry> entries)
      : what_(std::move(what)), entries_(std::move(entries)) {}

  const std::vector<Entry>& all() const { return entries_; }

  void add(Entry entry) {
    if (find_or_null(entry.name))
      throw std::invalid_argument(what_ + " '" + entry.name + "' is registered already");
    entries_.push_back(std::move(entry));
  }

  const Entry* find_or_null(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }

  // Throws std::invalid_argument: "unknown WHAT 'name' (known: a, b, ...)".
  const Entry& find(const std::string& name) const {
    if (const auto* e = find_or_null(name)) return *e;
    throw std::invalid_argument(
        fmt::format("unknown {} '{}' (known: {})", what_, name, fmt::join(names(), ", ")));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }

 private:
  std::string what_;
  std::vector<Entry> entries_;
};

}  // namespace gsnn
