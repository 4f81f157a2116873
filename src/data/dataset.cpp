// Dataset rows/splits, Standardizer and the splitmix64 generator.
#include "data/dataset.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {

Dataset Dataset::rows(const torch::Tensor& index) const {
  return {x.index_select(0, index),
          y.index_select(0, index),
          input_names,
          target_names,
          classes,
          regime.defined() ? regime.index_select(0, index) : torch::Tensor()};
}

void label_classes(Dataset& d, const std::string& source) {
  if (d.y.dim() != 2 || d.y.size(1) != 1)
    throw std::invalid_argument(source + ": classification takes exactly one target column");
  const auto y = d.y.reshape({-1});
  if (!(y == y.round()).all().item<bool>() || !(y >= 0).all().item<bool>() ||
      !(y < kMaxClasses).all().item<bool>())
    throw std::invalid_argument(fmt::format(
        "{}: class labels must be whole numbers 0, 1, ... below {}", source, kMaxClasses));
  const auto classes = static_cast<int64_t>(y.max().item<double>()) + 1;
  d.classes.clear();
  for (int64_t c = 0; c < classes; ++c) d.classes.push_back(std::to_string(c));
}

torch::Tensor shuffled_indices(int64_t n, uint64_t seed) {
  // Fisher-Yates with our own generator: identical on every platform.
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Random rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.uniform(0, 1) * (i + 1));
    std::swap(order[i], order[std::min(j, i)]);
  }
  return torch::tensor(order, torch::kInt64);
}

DataSplit split_dataset(const Dataset& data, double validation_fraction, double test_fraction,
                        uint64_t seed) {
  if (validation_fraction < 0 || test_fraction < 0 || validation_fraction + test_fraction >= 1)
    throw std::invalid_argument("split: fractions must be >= 0 and sum to less than 1");
  const int64_t n = data.size();
  const auto n_val = static_cast<int64_t>(std::round(n * validation_fraction));
  const auto n_test = static_cast<int64_t>(std::round(n * test_fraction));
  const int64_t n_train = n - n_val - n_test;
  if (n_train < 1) throw std::invalid_argument("split: no rows left for training");
  // A fraction asked for but rounded to no rows would silently drop that set.
  if ((validation_fraction > 0 && n_val == 0) || (test_fraction > 0 && n_test == 0))
    throw std::invalid_argument(fmt::format(
        "split: a fraction of {} rows rounds to 0 rows (validation {}, test {}): use a larger "
        "fraction or 0",
        n, validation_fraction, test_fraction));
  const auto index = shuffled_indices(n, seed);
  return {data.rows(index.slice(0, 0, n_train)),
          data.rows(index.slice(0, n_train, n_train + n_val)),
          data.rows(index.slice(0, n_train + n_val, n))};
}

namespace {
// A column is constant when its spread is below 1e-12 of its magnitude:
// rounding noise, not data. Any other spread is the data's scale, however
// small or large (a fixed floor of 1e-12 mistook columns of scale 1e-30 for
// constants and fitted them in the wrong units). The spread is taken of the
// column over its largest magnitude, so that squares neither underflow
// (values of 1e-160) nor overflow (values of 1e300); whether the model's
// dtype holds the scale is checked where the dtype is known (train/fit.cpp).
// Each column's largest magnitude (1 for a column of zeros): what sums and
// squares are taken over, so that they neither overflow nor underflow.
torch::Tensor column_unit(const torch::Tensor& t) {
  const auto magnitude = t.abs().amax(0);
  return torch::where(magnitude > 0, magnitude, torch::ones_like(magnitude));
}
torch::Tensor safe_mean(const torch::Tensor& t) {
  const auto unit = column_unit(t);
  return (t / unit).mean(0) * unit;
}
torch::Tensor safe_scale(const torch::Tensor& t) {
  if (t.size(0) < 2) return torch::ones(t.sizes().slice(1), torch::kFloat64);
  const auto unit = column_unit(t);
  const auto s = (t / unit).std(0) * unit;
  return torch::where(s > 1e-12 * t.abs().amax(0), s, torch::ones_like(s));
}
torch::Tensor from_json_vector(const nlohmann::json& j) {
  return torch::tensor(j.get<std::vector<double>>(), torch::kFloat64);
}
}  // namespace

Standardizer Standardizer::fit(const Dataset& data) {
  if (data.x.dim() <= 2)  // a table: per column
    return {safe_mean(data.x), safe_scale(data.x), safe_mean(data.y), safe_scale(data.y)};
  // Images and sequences: one mean and one scale for all values. Per-pixel
  // scales blow up near-constant pixels (an image's border) and make the
  // model hypersensitive to any change there.
  const auto all = data.x.reshape({-1, 1});
  const auto shape = data.x.sizes().slice(1);
  return {torch::full(shape, safe_mean(all)[0].item<double>(), torch::kFloat64),
          torch::full(shape, safe_scale(all)[0].item<double>(), torch::kFloat64), safe_mean(data.y),
          safe_scale(data.y)};
}

Standardizer Standardizer::from_json(const nlohmann::json& j) {
  Standardizer s{from_json_vector(j.at("input_mean")), from_json_vector(j.at("input_scale")),
                 from_json_vector(j.at("target_mean")), from_json_vector(j.at("target_scale"))};
  for (const auto& t : {s.x_scale, s.y_scale})
    if (!(t > 0).all().item<bool>() || !torch::isfinite(t).all().item<bool>())
      throw std::runtime_error("scaler: scales must be finite and > 0");
  return s;
}

namespace {
uint64_t mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

uint64_t derive_seed(uint64_t seed, uint64_t stream) { return mix64(mix64(seed) ^ mix64(~stream)); }

Random::Random(uint64_t seed) : state_(seed) {}

uint64_t Random::next() { return mix64(state_ += 0x9E3779B97F4A7C15ULL); }  // splitmix64

double Random::uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Random::normal(double mean, double std) {  // Box-Muller
  double u1 = uniform(0, 1);
  while (u1 <= 0) u1 = uniform(0, 1);
  const double u2 = uniform(0, 1);
  return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace gsnn
