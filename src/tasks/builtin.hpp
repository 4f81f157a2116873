// Generators of the built-in tasks that live in files of their own, and the
// sampling helper they share. tasks/task.cpp registers them.
#pragma once

#include <array>
#include <functional>

#include "tasks/task.hpp"

namespace gsnn {

// n points drawn by `point(i, row)` (dim values each), targets f(row), one target "y".
Dataset sample_dataset(int64_t n, int64_t dim, const std::function<void(int64_t, double*)>& point,
                       const std::function<double(const double*)>& f,
                       std::vector<std::string> inputs);

// Seed 002 section 4.1: the 2-D target at difficulty level 1-4 (tasks/function2d.cpp).
Task function2d_task(const nlohmann::json& options);
double function2d_target(int64_t level, double x1, double x2);

// Seed 004's arithmetic on the unit disc and the annulus (tasks/arithmetic.cpp).
Task addition_disc_task(const nlohmann::json& options);
Task multiplication_disc_task(const nlohmann::json& options);
Task addition_annulus_task(const nlohmann::json& options);

// Seed 001's piecewise-smooth tasks (tasks/piecewise.cpp): jump-kink,
// phase-circle, stress-strain, boundary-layer, conditional-arithmetic.
std::vector<Task> piecewise_tasks();
// The function of the piecewise task `name` and its analytic gradient.
struct PiecewiseFunction {
  std::function<double(const double*)> value;
  std::function<void(const double*, double*)> gradient;
};
PiecewiseFunction piecewise_function(const std::string& name);

// Fashion-MNIST from Debian's dataset-fashion-mnist (tasks/fashion_mnist.cpp):
// classes, or the images themselves as targets (reconstruction).
Task fashion_mnist_task(const nlohmann::json& options);
Task fashion_reconstruction_task(const nlohmann::json& options);

// Seed 002 eq. (5): sequences of four signals and the target at the last step
// (tasks/four_signals.cpp); the coefficients a_i, b_i drawn from a seed, and
// y(t) for coefficients a, b.
Task four_signals_task(const nlohmann::json& options);
std::pair<std::array<double, 4>, std::array<double, 4>> four_signals_coefficients(uint64_t seed);
double four_signals_target(const std::array<double, 4>& a, const std::array<double, 4>& b,
                           double t);

}  // namespace gsnn
