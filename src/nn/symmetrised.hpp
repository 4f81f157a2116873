// Commutative symmetrisation (seed 004 appendix A.2.4): any model f made
// invariant to swapping its first two inputs,
//   f_sym(x) = (f(x1, x2, x3, ...) + f(x2, x1, x3, ...)) / 2.
// Every family accepts the model option `symmetrise = true` (nn/registry.cpp
// wraps what the family builds). The output variance is the mean of the two
// variances: an upper bound of the variance of the average, whatever the
// correlation of the two evaluations. A gate extra is averaged too; other
// extras (a mixture's experts) are dropped. Parameter groups, data-dependent
// initialisation and direct fitting are the wrapped model's.
// The model sees standardised inputs: prepare_model (train/fit.cpp) gives
// the first two inputs one common mean and scale, so the symmetry holds for
// the raw inputs too.
#pragma once

#include "nn/model.hpp"

namespace gsnn {

class SymmetrisedImpl : public ModelImpl {
 public:
  explicit SymmetrisedImpl(ModelPtr base);  // base takes >= 2 (flattened) inputs
  Moments forward(const Moments& input) override;
  Prediction predict(const Moments& input) override;  // extras: the mean "gate" of both
  std::vector<ParameterGroup> parameter_groups() override { return base_->parameter_groups(); }
  void initialise(const torch::Tensor& x, const torch::Tensor& y) override {
    base_->initialise(x, y);
  }
  bool fits_directly() const override { return base_->fits_directly(); }
  void fit_directly(const torch::Tensor& x, const torch::Tensor& y, uint64_t seed) override {
    base_->fit_directly(x, y, seed);
  }
  std::vector<std::string> data_sized_buffers() const override;
  void check_weights() const override { base_->check_weights(); }
  // Penalties are the wrapped model's, as recorded by its last (second) pass.
  std::vector<std::string> penalty_names() const override { return base_->penalty_names(); }
  void request_penalties(const std::vector<std::string>& names) override {
    base_->request_penalties(names);
  }
  std::vector<std::pair<std::string, torch::Tensor>> take_penalties() override {
    return base_->take_penalties();
  }

 private:
  ModelPtr base_;
};

}  // namespace gsnn
