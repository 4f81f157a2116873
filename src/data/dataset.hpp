// In-memory data of every task kind (float64, CPU), seeded splits and the
// standardisation that every trained model carries as buffers.
#pragma once

#include <torch/types.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "moments/moments.hpp"

namespace gsnn {

struct Dataset {
  torch::Tensor x;  // [n, input_shape...], float64 (a table: [n, inputs])
  torch::Tensor y;  // [n, targets], float64 (classification: one column of class indices)
  std::vector<std::string> input_names;   // one per input column of a table
  std::vector<std::string> target_names;  // one per target column
  std::vector<std::string> classes;       // classification: the class names, index order
  // Optional [n, 1], 0 or 1: the regime each row belongs to, where a task
  // knows it (seed 001's piecewise tasks); the multihead objective learns it.
  torch::Tensor regime = {};

  int64_t size() const { return x.defined() ? x.size(0) : 0; }
  Dataset rows(const torch::Tensor& index) const;
};

// Classification data: checks that `y` is one column of class indices 0, 1,
// ... (at most kMaxClasses) and names the classes "0", "1", ... up to the
// largest index. `source` names the data in messages.
constexpr int64_t kMaxClasses = 100000;
void label_classes(Dataset& data, const std::string& source);

struct DataSplit {
  Dataset train, validation, test;
};

// 0 .. n-1 in an order drawn from Random(seed) (the same on every platform), int64.
torch::Tensor shuffled_indices(int64_t n, uint64_t seed);

// Shuffles with `seed`, then cuts validation and test fractions off the end.
DataSplit split_dataset(const Dataset& data, double validation_fraction, double test_fraction,
                        uint64_t seed);

// Affine standardisation of inputs and targets, fitted on the training data
// and handed to Network::set_scaling: per column for tables and targets, one
// mean and scale over all values for images and sequences (inputs with more
// than one axis per example). Constant features (spread below 1e-12 of
// their magnitude) keep scale 1; any other spread is used. Means and spreads
// are taken over each column divided by its largest magnitude, so that sums
// neither overflow (values of 1e306) nor square to zero (values of 1e-160).
struct Standardizer {
  torch::Tensor x_mean, x_scale;  // float64, [input_shape...]
  torch::Tensor y_mean, y_scale;  // float64, [targets]

  static Standardizer fit(const Dataset& data);
  // The "scaler" object of version-1 model files (checked: scales finite, > 0).
  static Standardizer from_json(const nlohmann::json& j);
};

// The seed of draw stream `stream` (a step, a round) of `seed`, by hashing
// both: Random(seed + k * 0x9E3779B97F4A7C15) would be Random(seed) k draws
// on, so streams seeded by such sums repeat each other shifted.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

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
