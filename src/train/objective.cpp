// The objective registry and the built-in objectives.
#include "train/objective.hpp"

#include "core/registry.hpp"
#include "pde/objective.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gsnn {
namespace {

// Mean squared error of the mean, in standardised target units.
class MseObjective : public Objective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    const auto mse = (model->scale_targets(b.y) - model->forward(b.x).mean).pow(2).mean();
    return {mse, {{"mse", mse}}};
  }
  // The noise is not trained by MSE: sigma_n^2 = mean residual^2 - mean model variance.
  void finish(Network& model, const Batch& data) const override {
    torch::NoGradGuard guard;
    model->set_noise_std(1e-8);
    const auto pred = model->forward(data.x);
    const auto residual2 = (model->scale_targets(data.y) - pred.mean).pow(2).mean();
    const double noise2 = (residual2 - pred.var.mean()).item<double>();
    model->set_noise_std(std::sqrt(std::max(noise2, 1e-12)));
  }
};

// Gaussian negative log-likelihood of the whole predictive distribution.
class NllObjective : public Objective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    const auto pred = model->forward(b.x);
    const auto var = pred.var.clamp_min(kNllVarianceFloor);
    const auto err2 = (model->scale_targets(b.y) - pred.mean).pow(2);
    const auto nll = (0.5 * torch::log(2.0 * M_PI * var) + 0.5 * err2 / var).mean();
    return {nll, {{"nll", nll}}};
  }
};

// Softmax cross-entropy of the logits against class indices, in nats.
class CrossEntropyObjective : public Objective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    const auto logits = model->forward(b.x).mean;
    const auto ce =
        torch::nn::functional::cross_entropy(logits, b.y.reshape({-1}).to(torch::kLong));
    return {ce, {{"cross_entropy", ce}}};
  }
};

template <class T>
std::function<std::shared_ptr<const Objective>()> maker() {
  return [] { return std::make_shared<const T>(); };
}

Registry<ObjectiveInfo>& registry() {
  static Registry<ObjectiveInfo> r{
      "loss",
      {
          {"mse",
           "mean squared error of the mean (noise then set by moment matching)",
           {"regression"},
           maker<MseObjective>()},
          {"nll",
           "Gaussian negative log-likelihood of N(mean, var + noise^2)",
           {"regression"},
           maker<NllObjective>()},
          {"cross_entropy",
           "softmax cross-entropy of the class logits",
           {"classification"},
           maker<CrossEntropyObjective>()},
          {"pde",
           "physics-informed: weighted interior (-Lap u + kappa u - f) and boundary (u - g) "
           "squared residuals",
           {"pde"},
           make_pde_objective},
      }};
  return r;
}

}  // namespace

void Objective::finish(Network&, const Batch&) const {}

const std::vector<ObjectiveInfo>& objectives() { return registry().all(); }
void register_objective(ObjectiveInfo info) { registry().add(std::move(info)); }
const ObjectiveInfo& find_objective(const std::string& name) { return registry().find(name); }

std::shared_ptr<const Objective> make_objective(const std::string& name, const std::string& kind) {
  const auto& info = find_objective(name);
  if (std::find(info.kinds.begin(), info.kinds.end(), kind) == info.kinds.end())
    throw std::invalid_argument(
        fmt::format("loss '{}' does not apply to {} tasks (it applies to: {})", name, kind,
                    fmt::join(info.kinds, ", ")));
  return info.make();
}

}  // namespace gsnn
