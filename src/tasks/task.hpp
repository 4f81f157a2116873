// Built-in tasks: exactly specified data sets (domain, sample counts, noise,
// seed) so every result can be regenerated. docs/tasks.md describes each.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace gsnn {

struct TaskData {
  Dataset train, validation, test;       // test: in-domain
  std::optional<Dataset> out_of_domain;  // where the task defines one
  int64_t input_dim() const { return train.x.size(1); }
};

struct Task {
  std::string name;
  std::string summary;  // one line, for `gsnn tasks`
  std::string loss;     // default training loss: "mse" or "nll"
  std::function<TaskData(uint64_t data_seed)> generate;
};

const std::vector<Task>& builtin_tasks();
const Task& find_task(const std::string& name);  // throws std::invalid_argument

}  // namespace gsnn
