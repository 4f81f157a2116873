// The task-kind registry and the two built-in kinds.
#include "tasks/kind.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "eval/metrics.hpp"

namespace gsnn {
namespace {

std::vector<TaskKind>& registry() {
  static std::vector<TaskKind> r = {
      {"regression", "real-valued targets, predicted with a Gaussian (mean, std)", "mse", true,
       [](const Dataset& d) { return d.target_names; },
       [](const Prediction& p, const Dataset& d) {
         return evaluate_prediction(p.moments(), d.y).to_json();
       }},
      {"classification", "one class index per row (0, 1, ...); the model outputs logits",
       "cross_entropy", false, [](const Dataset& d) { return d.classes; },
       [](const Prediction& p, const Dataset& d) { return classification_metrics(p.mean, d.y); }},
  };
  return r;
}

}  // namespace

const std::vector<TaskKind>& task_kinds() { return registry(); }

void register_task_kind(TaskKind kind) {
  for (const auto& k : registry())
    if (k.name == kind.name)
      throw std::invalid_argument("task kind '" + kind.name + "' is registered already");
  registry().push_back(std::move(kind));
}

const TaskKind& find_task_kind(const std::string& name) {
  std::vector<std::string> known;
  for (const auto& k : registry()) {
    if (k.name == name) return k;
    known.push_back(k.name);
  }
  throw std::invalid_argument(
      fmt::format("unknown task kind '{}' (known: {})", name, fmt::join(known, ", ")));
}

}  // namespace gsnn
