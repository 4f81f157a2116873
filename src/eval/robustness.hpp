// Robustness of a classifier (seed 004 section 3.5, figure 5): accuracy on
// test inputs under additive white Gaussian noise of growing std, and under
// L2-bounded adversarial perturbations of growing size eps:
//   fgm: one fast-gradient step in L2 form, delta = eps g / |g|
//        (g = gradient of the cross-entropy in the input);
//   pgd: `pgd_steps` steps of delta += a g / |g|, each followed by projection
//        onto the ball |delta| <= eps, from delta = 0, a = 2.5 eps / steps
//        (the step rule of Madry et al. 2018).
// Norms are per example over all input values, in the inputs' own units
// (for fashion-mnist: pixels in [0, 1]); perturbed inputs are not clipped
// to the data range.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "data/dataset.hpp"
#include "nn/model.hpp"

namespace gsnn {

struct RobustnessOptions {
  std::vector<double> noise_std;  // white-noise levels (0 = clean)
  std::vector<double> l2_eps;     // perturbation sizes (0 = clean)
  int64_t pgd_steps = 10;
  int64_t points = 1000;  // the first this many test examples
};

// An L2 attack on class logits: the perturbation [n, ...] with |delta_i| <= eps.
enum class L2Attack { FastGradient, ProjectedGradient };
torch::Tensor l2_perturbation(Network& network, const torch::Tensor& x, const torch::Tensor& y,
                              double eps, L2Attack attack, int64_t pgd_steps);

// {"points", "noise": {"std", "accuracy"}, "fgm_l2": {"eps", "accuracy"},
//  "pgd_l2": {"eps", "accuracy"}}; the noise is drawn from `seed`.
nlohmann::json robustness_curves(Network& network, const Dataset& test,
                                 const RobustnessOptions& options, uint64_t seed);

}  // namespace gsnn
