// The registry of built-in tasks and their generators.
#include "tasks/task.hpp"

#include "core/registry.hpp"
#include "data/csv.hpp"
#include "io/files.hpp"
#include "pde/problem.hpp"
#include "tasks/builtin.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {

Dataset sample_dataset(int64_t n, int64_t dim, const std::function<void(int64_t, double*)>& point,
                       const std::function<double(const double*)>& f,
                       std::vector<std::string> inputs) {
  auto x = torch::empty({n, dim}, torch::kFloat64);
  auto y = torch::empty({n, 1}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    double* row = x.data_ptr<double>() + i * dim;
    point(i, row);
    y.data_ptr<double>()[i] = f(row);
  }
  return {x, y, std::move(inputs), {"y"}};
}

namespace {

// sin(pi x1) sin(pi x2) on [-1, 1]^2, noise-free.
// train 256 and validation 64 uniform points; test on a 50 x 50 grid.
TaskData smooth2d(uint64_t seed) {
  Random rng(seed);
  auto f = [](const double* x) { return std::sin(M_PI * x[0]) * std::sin(M_PI * x[1]); };
  auto uniform = [&](int64_t, double* x) {
    x[0] = rng.uniform(-1, 1);
    x[1] = rng.uniform(-1, 1);
  };
  auto grid = [](int64_t i, double* x) {
    x[0] = -1 + 2.0 * (i % 50) / 49;
    x[1] = -1 + 2.0 * (i / 50) / 49;
  };
  TaskData d;
  d.train = sample_dataset(256, 2, uniform, f, {"x1", "x2"});
  d.validation = sample_dataset(64, 2, uniform, f, {"x1", "x2"});
  d.evaluation = {{"test", sample_dataset(2500, 2, grid, f, {"x1", "x2"})}};
  d.domain = {{-1, 1}, {-1, 1}};
  return d;
}

// y = sin(x) + eps, eps ~ N(0, 0.5^2) (004 section 3.3). Train 200 and
// validation 50 uniform x in [-2 pi, 2 pi]; test 500 uniform in-domain;
// out-of-domain 500 uniform on [-3 pi, -2 pi] u [2 pi, 3 pi]. All noisy.
TaskData noisy_sine(uint64_t seed) {
  Random rng(seed);
  auto f = [&](const double* x) { return std::sin(x[0]) + rng.normal(0, 0.5); };
  auto inside = [&](int64_t, double* x) { x[0] = rng.uniform(-2 * M_PI, 2 * M_PI); };
  auto outside = [&](int64_t, double* x) {
    const double u = rng.uniform(-M_PI, M_PI);  // |u| in [0, pi] -> [2 pi, 3 pi] with sign
    x[0] = u < 0 ? -2 * M_PI + u : 2 * M_PI + u;
  };
  TaskData d;
  d.train = sample_dataset(200, 1, inside, f, {"x"});
  d.validation = sample_dataset(50, 1, inside, f, {"x"});
  d.evaluation = {{"test", sample_dataset(500, 1, inside, f, {"x"})},
                  {"out_of_domain", sample_dataset(500, 1, outside, f, {"x"})}};
  d.domain = {{-3 * M_PI, 3 * M_PI}};
  return d;
}

}  // namespace

const Dataset* TaskData::find(const std::string& name) const {
  for (const auto& e : evaluation)
    if (e.name == name) return &e.data;
  return nullptr;
}

Task csv_task(const std::string& name, const std::string& path,
              const std::vector<std::string>& inputs, const std::vector<std::string>& targets,
              double validation_fraction, double test_fraction, const std::string& loss,
              const std::string& kind) {
  Task t;
  t.name = name;
  t.summary = "CSV file " + path;
  t.loss = loss;
  t.kind = kind;
  // The file's contents (not its name or date) decide whether results are stale.
  t.definition = {{"csv", path},           {"inputs", inputs},
                  {"targets", targets},    {"validation", validation_fraction},
                  {"test", test_fraction}, {"loss", loss},
                  {"kind", kind},          {"file_checksum", file_checksum(path)}};
  t.generate = [=](uint64_t seed) {
    auto all = select_columns(read_csv(path), path, inputs, targets);
    if (kind == "classification") label_classes(all, path);
    const auto split = split_dataset(all, validation_fraction, test_fraction, seed);
    TaskData d;
    d.train = split.train;
    d.validation = split.validation;
    d.evaluation = {{"test", split.test}};
    const auto lo = std::get<0>(all.x.min(0)), hi = std::get<0>(all.x.max(0));
    for (int64_t i = 0; i < all.x.size(1); ++i)
      d.domain.emplace_back(lo[i].item<double>(), hi[i].item<double>());
    return d;
  };
  return t;
}

namespace {
std::vector<Task> builtin_tasks() {
  std::vector<Task> tasks{
      {"smooth2d",
       "sin(pi x1) sin(pi x2) on [-1,1]^2, 256 noise-free training points",
       "mse",
       smooth2d,
       {{"builtin", "smooth2d"}}},
      {"noisy-sine",
       "sin(x) + N(0, 0.5^2) on [-2pi, 2pi], 200 points; extrapolate to 3pi",
       "nll",
       noisy_sine,
       {{"builtin", "noisy-sine"}}},
      function2d_task({}),
      addition_disc_task({}),
      multiplication_disc_task({}),
      addition_annulus_task({}),
      fashion_mnist_task({}),
      fashion_reconstruction_task({}),
      four_signals_task({}),
      pde_task(poisson2d_problem()),
      pde_task(helmholtz2d_problem()),
  };
  for (auto& t : piecewise_tasks()) tasks.push_back(std::move(t));
  return tasks;
}

Registry<Task>& registry() {
  static Registry<Task> tasks{"task", builtin_tasks()};
  return tasks;
}
}  // namespace

const std::vector<Task>& all_tasks() { return registry().all(); }
void register_task(Task task) { registry().add(std::move(task)); }
const Task& find_task(const std::string& name) { return registry().find(name); }

Task configure_task(const std::string& name, const nlohmann::json& options) {
  const auto& base = find_task(name);
  if (options.is_null() || options.empty()) return base;
  if (!base.configure)
    throw std::invalid_argument("task " + name + " has no options (gsnn tasks lists them)");
  auto task = base.configure(options);  // validates them
  task.name = name + "[" + option_label(options) + "]";
  return task;
}

}  // namespace gsnn
