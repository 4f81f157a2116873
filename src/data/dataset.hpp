// In-memory regression data (float64, CPU), seeded splits and the
// standardisation that is stored with every trained model.
#pragma once

#include <torch/types.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "moments/moments.hpp"

namespace gsnn {

struct Dataset {
  torch::Tensor x;  // [n, inputs], float64
  torch::Tensor y;  // [n, targets], float64
  std::vector<std::string> input_names;
  std::vector<std::string> target_names;

  int64_t size() const { return x.defined() ? x.size(0) : 0; }
  Dataset rows(const torch::Tensor& index) const;
};

struct DataSplit {
  Dataset train, validation, test;
};

// Shuffles with `seed`, then cuts validation and test fractions off the end.
DataSplit split_dataset(const Dataset& data, double validation_fraction, double test_fraction,
                        uint64_t seed);

// Per-column affine standardisation of inputs and targets. Constant columns
// keep scale 1.
struct Standardizer {
  torch::Tensor x_mean, x_scale, y_mean, y_scale;  // float64, [columns]

  static Standardizer fit(const Dataset& data);
  torch::Tensor inputs(const torch::Tensor& x) const;   // raw -> standard
  torch::Tensor targets(const torch::Tensor& y) const;  // raw -> standard
  Moments targets_back(const Moments& standard) const;  // standard -> raw units
  nlohmann::json to_json() const;
  static Standardizer from_json(const nlohmann::json& j);
};

// Deterministic random numbers for data generation (same on every platform).
class Random {
 public:
  explicit Random(uint64_t seed);
  double uniform(double lo, double hi);
  double normal(double mean, double std);

 private:
  uint64_t state_;
  uint64_t next();
};

}  // namespace gsnn
