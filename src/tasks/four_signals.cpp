// Seed 002 section 5.3, eq. (5): four latent signals x_i(t) = a_i sin t + b_i
// and the target
//   y(t) = x3(t) x4(t-0.1) - x3(t-0.5) x1(t-0.1) + x4(t) x3(t) - x2(t-0.5) x1(t-0.2)
// on t in [0.5, 100]. Sample k is the last `steps` grid times of the four
// signals, [steps, 4], and y at the last of them; the grid spaces
// samples + steps - 1 times evenly over [0.5, 100]. a_i ~ U(0.5, 1.5) and
// b_i ~ U(-0.5, 0.5) are drawn from Random(coefficient_seed), so they stay
// the same across data seeds (the summary states them); the data seed draws
// the 80/20 train/test split (a tenth of the 80 % validates). The inputs are
// named x<i>_<step>, step 0 the oldest, step-major: a CSV of them is what
// `gsnn predict` reads for a saved sequence model.
#include <fmt/format.h>

#include <array>
#include <cmath>

#include "tasks/builtin.hpp"

namespace gsnn {
namespace {

constexpr double kStart = 0.5, kEnd = 100.0;
constexpr int64_t kMaxValues = int64_t{1} << 27;  // 1 GiB of float64 inputs

std::vector<OptionSpec> four_signals_options() {
  return {{"samples", int64_t{10000}, "sequences (train + validation + test)", {}, 20, 1000000},
          {"steps", int64_t{10}, "time steps per input sequence", {}, 1, 1000},
          {"coefficient_seed", int64_t{5}, "seed of the signals' a_i and b_i", {}, 0, 1 << 30}};
}

}  // namespace

std::pair<std::array<double, 4>, std::array<double, 4>> four_signals_coefficients(uint64_t seed) {
  Random rng(seed);
  std::array<double, 4> a{}, b{};
  for (auto& v : a) v = rng.uniform(0.5, 1.5);
  for (auto& v : b) v = rng.uniform(-0.5, 0.5);
  return {a, b};
}

double four_signals_target(const std::array<double, 4>& a, const std::array<double, 4>& b,
                           double t) {
  const auto x = [&](int i, double s) { return a[i - 1] * std::sin(s) + b[i - 1]; };
  return x(3, t) * x(4, t - 0.1) - x(3, t - 0.5) * x(1, t - 0.1) + x(4, t) * x(3, t) -
         x(2, t - 0.5) * x(1, t - 0.2);
}

Task four_signals_task(const nlohmann::json& given) {
  const auto options = resolve_options("task four-signals", four_signals_options(), given);
  const int64_t samples = options.at("samples"), steps = options.at("steps");
  if (double(samples) * double(steps) * 4 > kMaxValues)
    throw OptionError("samples", fmt::format("task four-signals: samples x steps x 4 = {} values "
                                             "is more than the limit of {}",
                                             double(samples) * double(steps) * 4, kMaxValues));
  const auto [a, b] = four_signals_coefficients(options.at("coefficient_seed").get<uint64_t>());
  Task t;
  t.name = "four-signals";
  t.summary = fmt::format(
      "seed 002 eq. (5): y(t) from the last {} steps of x_i = a_i sin t + b_i, {} sequences; "
      "a = ({:.4f}, {:.4f}, {:.4f}, {:.4f}), b = ({:.4f}, {:.4f}, {:.4f}, {:.4f})",
      steps, samples, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
  t.loss = "mse";
  t.definition = {{"builtin", "four-signals"}, {"options", options}};
  t.options = four_signals_options();
  t.configure = four_signals_task;
  t.generate = [samples, steps, a = a, b = b](uint64_t seed) {
    const double dt = (kEnd - kStart) / double(samples + steps - 2);
    Dataset all;
    all.x = torch::empty({samples, steps, 4}, torch::kFloat64);
    all.y = torch::empty({samples, 1}, torch::kFloat64);
    all.target_names = {"y"};
    for (int64_t s = 0; s < steps; ++s)  // step-major, like the values of a sequence
      for (int i = 1; i <= 4; ++i) all.input_names.push_back(fmt::format("x{}_{}", i, s));
    auto x = all.x.accessor<double, 3>();
    for (int64_t k = 0; k < samples; ++k) {
      for (int64_t s = 0; s < steps; ++s)
        for (int i = 0; i < 4; ++i) x[k][s][i] = a[i] * std::sin(kStart + (k + s) * dt) + b[i];
      all.y[k][0] = four_signals_target(a, b, kStart + (k + steps - 1) * dt);
    }
    const auto split = split_dataset(all, 0.08, 0.2, seed);
    TaskData d;
    d.train = split.train;
    d.validation = split.validation;
    d.evaluation = {{"test", split.test}};
    return d;
  };
  return t;
}

}  // namespace gsnn
