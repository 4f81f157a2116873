// Adam, AdamW and L-BFGS; constant, cosine and exponential schedules.
#include "train/optimizers.hpp"

#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/lbfgs.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "core/registry.hpp"
#include "train/trainer.hpp"

namespace gsnn {
namespace {

// Key of a parameter in Optimizer::state(): a formatted TensorImpl pointer
// in LibTorch 1.x, the pointer itself in later versions.
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
template <class Key = StateMap::key_type>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // as c10::guts::to_string does
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

template <class ParamState>
void save_adam(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
               TrainState& s) {
  s.exp_avg.clear();
  s.exp_avg_sq.clear();
  s.adam_steps.clear();
  for (const auto& p : params) {
    auto it = opt.state().find(state_key(p));
    if (it == opt.state().end()) {
      s.exp_avg.push_back(torch::zeros_like(p));
      s.exp_avg_sq.push_back(torch::zeros_like(p));
      s.adam_steps.push_back(0);
      continue;
    }
    const auto& st = static_cast<const ParamState&>(*it->second);
    s.exp_avg.push_back(st.exp_avg().clone());
    s.exp_avg_sq.push_back(st.exp_avg_sq().clone());
    s.adam_steps.push_back(st.step());
  }
}

template <class ParamState>
void load_adam(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
               const TrainState& s) {
  if (s.exp_avg.size() != params.size() || s.exp_avg_sq.size() != params.size() ||
      s.adam_steps.size() != params.size())
    throw std::runtime_error("checkpoint: optimiser state does not match the model");
  for (size_t i = 0; i < params.size(); ++i) {
    if (s.adam_steps[i] == 0) continue;
    auto st = std::make_unique<ParamState>();
    st->step(s.adam_steps[i]);
    st->exp_avg(s.exp_avg[i].to(params[i].options()).clone());
    st->exp_avg_sq(s.exp_avg_sq[i].to(params[i].options()).clone());
    opt.state()[state_key(params[i])] = std::move(st);
  }
}

// Adam-like optimisers: weight decay only on groups that take it (the
// noise and tau parameters are not pulled towards softplus(0)).
template <class Opt, class Options, class ParamState>
OptimizerInfo adam_like(std::string name, std::string summary) {
  OptimizerInfo info;
  info.name = std::move(name);
  info.summary = std::move(summary);
  info.make = [](const std::vector<ParameterGroup>& groups, const TrainOptions& o) {
    std::vector<torch::optim::OptimizerParamGroup> out;
    for (const auto& g : groups)
      out.emplace_back(g.parameters, std::make_unique<Options>(Options(o.lr).weight_decay(
                                         g.weight_decay ? o.weight_decay : 0.0)));
    return std::make_unique<Opt>(std::move(out), Options(o.lr).weight_decay(o.weight_decay));
  };
  info.save_state = save_adam<ParamState>;
  info.load_state = load_adam<ParamState>;
  info.set_lr = [](torch::optim::OptimizerParamGroup& g, double lr) {
    static_cast<Options&>(g.options()).lr(lr);
  };
  return info;
}

std::vector<OptimizerInfo> make_optimizers() {
  using namespace torch::optim;
  OptimizerInfo lbfgs;
  lbfgs.name = "lbfgs";
  lbfgs.summary = "L-BFGS with a strong-Wolfe line search (full batch; a step is an iteration)";
  lbfgs.full_batch_only = true;
  lbfgs.per_group_options = false;
  lbfgs.make = [](const std::vector<ParameterGroup>& groups, const TrainOptions& o) {
    std::vector<torch::Tensor> params;
    for (auto& g : groups) params.insert(params.end(), g.parameters.begin(), g.parameters.end());
    return std::make_unique<LBFGS>(
        params, LBFGSOptions(o.lr).history_size(50).line_search_fn("strong_wolfe"));
  };
  lbfgs.set_lr = [](OptimizerParamGroup& g, double lr) {
    static_cast<LBFGSOptions&>(g.options()).lr(lr);
  };
  return {
      adam_like<Adam, AdamOptions, AdamParamState>("adam", "Adam (weight decay as L2)"),
      adam_like<AdamW, AdamWOptions, AdamWParamState>("adamw", "AdamW (decoupled weight decay)"),
      lbfgs};
}

}  // namespace

namespace {

const Registry<OptimizerInfo>& optimizer_registry() {
  static const Registry<OptimizerInfo> r{"optimizer", make_optimizers()};
  return r;
}

const Registry<ScheduleInfo>& schedule_registry() {
  static const Registry<ScheduleInfo> r{
      "lr schedule",
      {{"constant", "lr throughout", [](double, double) { return 1.0; }},
       {"cosine", "cosine from lr to lr * lr_final_ratio",
        [](double t, double r) { return r + (1 - r) * 0.5 * (1 + std::cos(M_PI * t)); }},
       {"exponential", "geometric from lr to lr * lr_final_ratio",
        [](double t, double r) { return std::pow(r, t); }}}};
  return r;
}

}  // namespace

const std::vector<OptimizerInfo>& optimizers() { return optimizer_registry().all(); }
const OptimizerInfo& find_optimizer(const std::string& name) {
  return optimizer_registry().find(name);
}
const std::vector<ScheduleInfo>& schedules() { return schedule_registry().all(); }
const ScheduleInfo& find_schedule(const std::string& name) {
  return schedule_registry().find(name);
}

int64_t lbfgs_iterations(torch::optim::Optimizer& opt) {
  // L-BFGS keeps its state under the first parameter of its (only) group.
  auto it = opt.state().find(state_key(opt.param_groups().at(0).params().at(0)));
  if (it == opt.state().end()) return 0;
  return static_cast<const torch::optim::LBFGSParamState&>(*it->second).n_iter();
}

void set_lbfgs_iterations(torch::optim::Optimizer& opt, int64_t iterations) {
  static_cast<torch::optim::LBFGSOptions&>(opt.param_groups()[0].options())
      .max_iter(iterations)
      .max_eval(iterations * 25);  // iterations, not evaluations, end the call
}

}  // namespace gsnn
