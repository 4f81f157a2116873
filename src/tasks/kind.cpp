// The task-kind registry and the two built-in kinds.
#include "tasks/kind.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

#include "core/registry.hpp"
#include "eval/metrics.hpp"

namespace gsnn {
namespace {

Registry<TaskKind>& registry() {
  static Registry<TaskKind> r{
      "task kind",
      {
          {"regression",
           "real-valued targets, predicted with a Gaussian (mean, std)",
           "mse",
           true,
           [](const Dataset& d) { return d.target_names; },
           [](const Prediction& p, const Dataset& d) {
             auto metrics = evaluate_prediction(p.moments(), d.y).to_json();
             if (p.extras.count("gate"))
               metrics["gate"] = p.extras.at("gate").mean().item<double>();
             return metrics;
           },
           false,
           {"mse"}},
          {"classification", "one class index per row (0, 1, ...); the model outputs logits",
           "cross_entropy", false, [](const Dataset& d) { return d.classes; },
           [](const Prediction& p, const Dataset& d) {
             return classification_metrics(p.mean, d.y);
           },
           true},
          {"pde",
           "a solution u of a PDE on collocation points (pde/problem.hpp); exact u on a grid",
           "pde",
           false,
           [](const Dataset&) { return std::vector<std::string>{"u"}; },
           [](const Prediction& p, const Dataset& d) {
             // Only sets holding the exact solution (one column) are measured.
             return d.y.size(1) == 1 ? solution_metrics(p.mean, d.y) : nlohmann::json::object();
           },
           false,
           {"relative_l2", "mse"}},
      }};
  return r;
}

}  // namespace

const std::vector<TaskKind>& task_kinds() { return registry().all(); }
void register_task_kind(TaskKind kind) { registry().add(std::move(kind)); }
const TaskKind& find_task_kind(const std::string& name) { return registry().find(name); }

}  // namespace gsnn
