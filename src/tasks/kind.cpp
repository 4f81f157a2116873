// The task-kind registry and the two built-in kinds.
#include "tasks/kind.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "core/registry.hpp"
#include "eval/metrics.hpp"

namespace gsnn {
namespace {

Registry<TaskKind>& registry() {
  static Registry<TaskKind> r{
      "task kind",
      {
          {"regression", "real-valued targets, predicted with a Gaussian (mean, std)", "mse", true,
           [](const Dataset& d) { return d.target_names; },
           [](const Prediction& p, const Dataset& d) {
             return evaluate_prediction(p.moments(), d.y).to_json();
           }},
          {"classification", "one class index per row (0, 1, ...); the model outputs logits",
           "cross_entropy", false, [](const Dataset& d) { return d.classes; },
           [](const Prediction& p, const Dataset& d) {
             return classification_metrics(p.mean, d.y);
           }},
      }};
  return r;
}

}  // namespace

const std::vector<TaskKind>& task_kinds() { return registry().all(); }
void register_task_kind(TaskKind kind) { registry().add(std::move(kind)); }
const TaskKind& find_task_kind(const std::string& name) { return registry().find(name); }

}  // namespace gsnn
