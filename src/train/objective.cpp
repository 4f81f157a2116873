// The objective registry and the built-in objectives.
#include "train/objective.hpp"

#include "core/registry.hpp"
#include "pde/objective.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gsnn {
namespace {

// The noise of a model trained on its mean alone, by moment matching:
// sigma_n^2 = mean residual^2 - mean model variance.
void match_noise_to_residuals(Network& model, const Batch& data) {
  torch::NoGradGuard guard;
  model->set_noise_std(1e-8);
  const auto pred = model->forward(data.x);
  const auto residual2 = (model->scale_targets(data.y) - pred.mean).pow(2).mean();
  const double noise2 = (residual2 - pred.var.mean()).item<double>();
  model->set_noise_std(std::sqrt(std::max(noise2, 1e-12)));
}

// A loss rho(r) of the mean's residual r (standardised target units), averaged.
class ResidualObjective : public Objective {
 public:
  ResidualObjective(std::string name, std::function<torch::Tensor(const torch::Tensor&)> rho)
      : name_(std::move(name)), rho_(std::move(rho)) {}
  LossParts loss(Network& model, const Batch& b) const override {
    const auto value = rho_(model->scale_targets(b.y) - model->forward(b.x).mean).mean();
    return {value, {{name_, value}}};
  }
  void finish(Network& model, const Batch& data) const override {
    match_noise_to_residuals(model, data);
  }

 private:
  std::string name_;
  std::function<torch::Tensor(const torch::Tensor&)> rho_;
};

// Huber: r^2/2 inside |r| <= delta, then linear (delta |r| - delta^2/2).
torch::Tensor huber(const torch::Tensor& r, double delta) {
  const auto a = r.abs();
  return torch::where(a <= delta, 0.5 * r.square(), delta * (a - 0.5 * delta));
}

// Pseudo-Huber: delta^2 (sqrt(1 + (r/delta)^2) - 1), smooth everywhere.
torch::Tensor pseudo_huber(const torch::Tensor& r, double delta) {
  return delta * delta * (torch::sqrt(1 + (r / delta).square()) - 1);
}

// What the two-expert objectives read from a prediction.
struct Experts {
  torch::Tensor mean, var, logit;  // [n, 2, outputs] x2, [n, 1]
};

const std::vector<std::string> kExpertExtras = {"expert_mean", "expert_var", "gate_logit"};
const char* const kNeedsExperts =
    "needs a model of two experts with a gate (model hybrid with combine = experts and both "
    "paths, not symmetrised)";

Experts experts_of(const Prediction& p, const std::string& loss) {
  for (const auto& key : kExpertExtras)
    if (!p.extras.count(key)) throw std::invalid_argument("loss '" + loss + "' " + kNeedsExperts);
  return {p.extras.at("expert_mean"), p.extras.at("expert_var"), p.extras.at("gate_logit")};
}

// The two-expert objectives' requirement.
class ExpertObjective : public Objective {
 public:
  std::vector<std::string> needed_extras() const override { return kExpertExtras; }
  std::string needs_message() const override { return kNeedsExperts; }
};

// The mixture's log-density per row: logsumexp over experts k of
// log pi_k + sum_outputs log N(y; m_k, s_k^2), with log pi from log-sigmoids
// (finite for any logit).
torch::Tensor mixture_log_density(const Experts& e, const torch::Tensor& y) {
  const auto var = e.var.clamp_min(kNllVarianceFloor);
  const auto log_n =
      (-0.5 * torch::log(2 * M_PI * var) - 0.5 * (y.unsqueeze(1) - e.mean).square() / var).sum(2);
  const auto log_pi = torch::cat({torch::log_sigmoid(e.logit), torch::log_sigmoid(-e.logit)}, 1);
  return torch::logsumexp(log_pi + log_n, 1);
}

// Two-expert mixture NLL (seed 001), per target value like nll.
class MoeObjective : public ExpertObjective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    const auto e = experts_of(model->forward(b.x), "moe");
    const auto value = -mixture_log_density(e, model->scale_targets(b.y)).mean() / b.y.size(1);
    return {value, {{"moe", value}}};
  }
  // The mixture's variance (experts' noise included) is the predictive one.
  void finish(Network& model, const Batch&) const override { model->set_noise_std(0); }
};

// Multi-head: the gate is a regime classifier trained on the regime each row
// belongs to, and that regime's expert regresses the magnitude. Regime 1 is
// the Gaussian expert's. Labels come from the task (Batch::regime) or, where
// it has none, from the expert that fits the row better (by squared error,
// not differentiated).
class MultiheadObjective : public ExpertObjective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    const auto e = experts_of(model->forward(b.x), "multihead");
    const auto err2 = (model->scale_targets(b.y).unsqueeze(1) - e.mean).square().sum(2);  // [n, 2]
    const auto gaussian = b.regime.defined()
                              ? b.regime.reshape({-1}).to(err2.dtype())
                              : (err2.select(1, 0) <= err2.select(1, 1)).to(err2.dtype()).detach();
    const auto regression =
        (gaussian * err2.select(1, 0) + (1 - gaussian) * err2.select(1, 1)).mean() / b.y.size(1);
    const auto regime =
        torch::nn::functional::binary_cross_entropy_with_logits(e.logit.squeeze(1), gaussian);
    return {regression + regime, {{"regression", regression}, {"regime", regime}}};
  }
  void finish(Network& model, const Batch& data) const override {
    match_noise_to_residuals(model, data);
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
std::function<std::shared_ptr<const Objective>(const ObjectiveOptions&)> maker() {
  return [](const ObjectiveOptions&) { return std::make_shared<const T>(); };
}

// A residual loss rho(r, delta).
std::function<std::shared_ptr<const Objective>(const ObjectiveOptions&)> residual_maker(
    std::string name, torch::Tensor (*rho)(const torch::Tensor&, double)) {
  return [name, rho](const ObjectiveOptions& o) {
    const double delta = o.at("delta");
    return std::make_shared<const ResidualObjective>(
        name, [rho, delta](const torch::Tensor& r) { return rho(r, delta); });
  };
}

const OptionSpec kDelta{"delta",
                        1.0,
                        "threshold between the quadratic and the linear part, in target "
                        "standard deviations",
                        {},
                        1e-12,
                        1e12};

Registry<ObjectiveInfo>& registry() {
  static Registry<ObjectiveInfo> r{
      "loss",
      {
          {"mse",
           "mean squared error of the mean (noise then set by moment matching)",
           {"regression"},
           [](const ObjectiveOptions&) {
             return std::make_shared<const ResidualObjective>(
                 "mse", [](const torch::Tensor& r) { return r.square(); });
           }},
          {"huber",
           "Huber loss of the mean's residual (r^2/2 within delta, linear beyond)",
           {"regression"},
           residual_maker("huber", huber),
           {kDelta}},
          {"pseudo_huber",
           "pseudo-Huber loss delta^2 (sqrt(1 + (r/delta)^2) - 1) of the mean's residual",
           {"regression"},
           residual_maker("pseudo_huber", pseudo_huber),
           {kDelta}},
          {"moe",
           "two-expert mixture NLL -log(pi N(y; m_G, s_G^2) + (1 - pi) N(y; m_R, s_R^2)) "
           "(hybrid combine = experts)",
           {"regression"},
           maker<MoeObjective>()},
          {"multihead",
           "regime head (the gate, cross-entropy on which expert fits a row better) plus the "
           "better expert's squared error (hybrid combine = experts)",
           {"regression"},
           maker<MultiheadObjective>()},
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
           [](const ObjectiveOptions&) { return make_pde_objective(); }},
      }};
  return r;
}

}  // namespace

void Objective::finish(Network&, const Batch&) const {}

const std::vector<ObjectiveInfo>& objectives() { return registry().all(); }
void register_objective(ObjectiveInfo info) { registry().add(std::move(info)); }
const ObjectiveInfo& find_objective(const std::string& name) { return registry().find(name); }

ObjectiveOptions resolve_objective_options(const std::string& name,
                                           const std::map<std::string, double>& options) {
  const auto& info = find_objective(name);
  if (info.options.empty() && !options.empty())
    throw OptionError(
        "loss_options." + options.begin()->first,
        "loss " + name + " takes no options (loss_options has '" + options.begin()->first + "')");
  try {
    return resolve_options("loss " + name, info.options, nlohmann::json(options))
        .get<ObjectiveOptions>();
  } catch (const OptionError& e) {
    throw OptionError("loss_options." + e.key, e.what());
  }
}

std::shared_ptr<const Objective> make_objective(const std::string& name, const std::string& kind,
                                                const std::map<std::string, double>& options) {
  const auto& info = find_objective(name);
  if (std::find(info.kinds.begin(), info.kinds.end(), kind) == info.kinds.end())
    throw std::invalid_argument(
        fmt::format("loss '{}' does not apply to {} tasks (it applies to: {})", name, kind,
                    fmt::join(info.kinds, ", ")));
  return info.make(resolve_objective_options(name, options));
}

}  // namespace gsnn
