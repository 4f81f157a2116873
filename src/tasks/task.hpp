// Built-in tasks: exactly specified data sets (domain, sample counts, noise,
// seed) so every result can be regenerated. docs/tasks.md describes each.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "eval/robustness.hpp"
#include "nn/registry.hpp"

namespace gsnn {

struct NamedSet {
  std::string name;
  Dataset data;
  // Optional [n, inputs]: the analytic gradient of a one-target regression
  // function at data.x; results then hold the model's "gradient_rel_l2" there.
  torch::Tensor gradient = {};
};

struct TaskData {
  Dataset train, validation;
  // Evaluation sets: "test" (in-domain) first, then the regions the task
  // defines, e.g. "out_of_domain", "inside_hull", "outside_hull".
  std::vector<NamedSet> evaluation;
  // Input box covering every evaluation set: plots and smoothness measures.
  std::vector<std::pair<double, double>> domain;
  const Dataset* find(const std::string& name) const;  // nullptr if absent
};

struct Task {
  std::string name;
  std::string summary;  // one line, for `gsnn tasks`
  std::string loss;     // default objective (see train/objective.hpp); "" = the kind's default
  std::function<TaskData(uint64_t data_seed)> generate;
  // What defines the data (compared when deciding whether a result is stale).
  nlohmann::json definition;
  std::string kind = "regression";  // see tasks/kind.hpp
  std::string dtype = "float32";    // precision models are trained in (pde tasks: float64)
  // The training option "scaling" when a model does not set it; "" = its default.
  std::string scaling = "";
  // A task with options (e.g. function2d's level): their specs, and how the
  // task is built for given options (validated there; OptionError names a
  // bad key). Empty for tasks without options.
  std::vector<OptionSpec> options = {};
  std::function<Task(const nlohmann::json& options)> configure = {};
  // Tasks that draw a new training batch at every step (seed 004's annulus):
  // the batch for `step` (1, 2, ...), as many rows as `train`, drawn like
  // it. Models trained by gradient steps use these batches; the fixed
  // `train` set is what a directly fitted model (GP) and train metrics see.
  std::function<Dataset(int64_t step, uint64_t data_seed)> fresh_train = {};
  // Classification tasks: accuracy under noise and L2 attacks on the test
  // set, recorded as "robustness" in every result (eval/robustness.hpp).
  std::optional<RobustnessOptions> robustness = {};
};

// A task over a user's CSV file: rows split with `split_seed` (the data seed
// of an experiment), domain = bounding box of the inputs. A "classification"
// kind takes one target column of class indices (see label_classes).
Task csv_task(const std::string& name, const std::string& path,
              const std::vector<std::string>& inputs, const std::vector<std::string>& targets,
              double validation_fraction, double test_fraction, const std::string& loss,
              const std::string& kind = "regression");

// Built-in tasks, and any added with register_task (the name must be new).
const std::vector<Task>& all_tasks();
void register_task(Task task);
const Task& find_task(const std::string& name);  // throws std::invalid_argument
// The task `name` with `options` (validated against its specs; OptionError
// names a bad key). Options given make the name "name[key=value,...]", so
// two configurations of one task keep their results apart.
Task configure_task(const std::string& name, const nlohmann::json& options);

}  // namespace gsnn
