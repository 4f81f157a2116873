// gsnn's inference API: load a model saved by `gsnn fit` (or save_model) and
// predict means and standard deviations from plain arrays. This header does
// not include LibTorch. A Predictor is immutable after load(); predict() may
// be called from many threads at once.
//
//   auto p = gsnn::Predictor::load("model_dir");
//   std::vector<double> mean(n), std(n);
//   p.predict(x.data(), n, mean.data(), std.data());   // x: n rows of p.num_inputs()
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace gsnn {

class Predictor {
 public:
  // Throws std::runtime_error with the file and the problem if the model
  // cannot be read.
  static Predictor load(const std::string& directory);

  std::size_t num_inputs() const;
  std::size_t num_outputs() const;
  const std::vector<std::string>& input_names() const;
  const std::vector<std::string>& output_names() const;

  // inputs: rows * num_inputs() values, row-major, in the training data's
  // units. mean and std: rows * num_outputs() values each (std may be null).
  // std is the predictive standard deviation (model variance + noise).
  void predict(const double* inputs, std::size_t rows, double* mean, double* std) const;

  // The same for inputs measured with noise: input_std holds rows *
  // num_inputs() standard deviations (same units and layout as inputs). The
  // Gaussian path carries them to the output std; throws
  // std::invalid_argument for model families without one (the MLPs).
  void predict(const double* inputs, const double* input_std, std::size_t rows, double* mean,
               double* std) const;

 private:
  struct State;
  explicit Predictor(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

}  // namespace gsnn
