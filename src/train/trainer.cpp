// train_regressor: the optimisation loop, schedules, snapshots and early stop.
#include "train/trainer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "train/progress.hpp"

namespace gsnn {

const std::vector<OptionSpec>& TrainOptions::specs() {
  static const std::vector<OptionSpec> s = {
      {"optimizer", "adam", "optimiser", {"adam", "adamw", "lbfgs"}},
      {"lr", 1e-2, "initial learning rate (> 0)", {}, 1e-12},
      {"lr_schedule", "cosine", "learning-rate schedule", {"constant", "cosine", "exponential"}},
      {"lr_final_ratio",
       0.01,
       "final lr as a fraction of lr, in (0, 1] (cosine, exponential)",
       {},
       1e-12},
      {"weight_decay", 0.0, "weight decay (L2 for adam, decoupled for adamw)", {}, 0},
      {"steps", 2000, "optimiser steps", {}, 1},
      {"batch_size", 0, "mini-batch size, 0 = full batch", {}, 0},
      {"loss", "mse", "training loss on the predictive Gaussian", {"mse", "nll"}},
      {"clip_norm", 0.0, "gradient-norm clipping, 0 = off", {}, 0},
      {"eval_every", 50, "steps between validation checks / curve points", {}, 1},
      {"patience", 0, "early stop after this many checks without improvement, 0 = off", {}, 0},
      {"noise_init", 0.1, "initial output noise std (standardised units)", {}, 1e-6},
      {"seed", 0, "random seed (initialisation, mini-batches)", {}, 0},
  };
  return s;
}

// JSON <-> TrainOptions field by field (`progress` is a run-time choice, not an option).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainOptions, optimizer, lr, lr_schedule, lr_final_ratio,
                                   weight_decay, steps, batch_size, loss, clip_norm, eval_every,
                                   patience, noise_init, seed)

TrainOptions TrainOptions::from_json(const nlohmann::json& options) {
  return resolve_options("training", specs(), options).get<TrainOptions>();
}

nlohmann::json TrainOptions::to_json() const { return *this; }

namespace {

using Snapshot = std::vector<torch::Tensor>;

Snapshot take_snapshot(torch::nn::Module& m) {
  Snapshot s;
  for (const auto& p : m.parameters()) s.push_back(p.detach().clone());
  return s;
}

void restore_snapshot(torch::nn::Module& m, const Snapshot& s) {
  torch::NoGradGuard guard;
  auto params = m.parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(s[i]);
}

double scheduled_lr(const TrainOptions& o, int64_t step) {
  const double t = static_cast<double>(step) / std::max<int64_t>(o.steps, 1);
  if (o.lr_schedule == "cosine")
    return o.lr * (o.lr_final_ratio + (1 - o.lr_final_ratio) * 0.5 * (1 + std::cos(M_PI * t)));
  if (o.lr_schedule == "exponential") return o.lr * std::pow(o.lr_final_ratio, t);
  return o.lr;
}

// Adam/AdamW with weight decay on the weights only: decaying the noise and
// tau parameters would pull sigma_n and a learned tau towards softplus(0).
template <class Opt, class Options>
std::unique_ptr<torch::optim::Optimizer> adam_like(const TrainOptions& o, Regressor& model) {
  std::vector<torch::Tensor> decayed, scales;
  for (const auto& p : model->named_parameters()) {
    const auto& name = p.key();
    auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    const bool scale = ends_with("tau_rho") || ends_with("noise_rho");
    (scale ? scales : decayed).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed,
                      std::make_unique<Options>(Options(o.lr).weight_decay(o.weight_decay)));
  if (!scales.empty())
    groups.emplace_back(scales, std::make_unique<Options>(Options(o.lr).weight_decay(0.0)));
  return std::make_unique<Opt>(groups, Options(o.lr).weight_decay(o.weight_decay));
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, Regressor& model) {
  if (o.optimizer == "adam")
    return adam_like<torch::optim::Adam, torch::optim::AdamOptions>(o, model);
  if (o.optimizer == "adamw")
    return adam_like<torch::optim::AdamW, torch::optim::AdamWOptions>(o, model);
  if (o.optimizer == "lbfgs")
    return std::make_unique<torch::optim::LBFGS>(
        model->parameters(),
        torch::optim::LBFGSOptions(o.lr).history_size(50).line_search_fn("strong_wolfe"));
  throw std::invalid_argument("unknown optimizer '" + o.optimizer + "'");
}

}  // namespace

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

// Iterations L-BFGS has run so far (its state lives under the first parameter).
int64_t lbfgs_iterations(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params) {
  auto it = opt.state().find(state_key(params.front()));
  if (it == opt.state().end()) return 0;
  return static_cast<const torch::optim::LBFGSParamState&>(*it->second).n_iter();
}

template <class ParamState>
void export_adam(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
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
void import_adam(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
                 const TrainState& s) {
  if (s.exp_avg.size() != params.size())
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

}  // namespace

TrainResult train_regressor(Regressor& model, const torch::Tensor& x_train,
                            const torch::Tensor& y_train, const torch::Tensor& x_validation,
                            const torch::Tensor& y_validation, const TrainOptions& options,
                            const std::string& label, const TrainHooks& hooks) {
  const auto& o = options;
  if (o.steps < 1) throw std::invalid_argument("training: steps must be >= 1");
  if (o.lr_final_ratio > 1) throw std::invalid_argument("training: lr_final_ratio must be <= 1");
  if (o.patience > 0 && !(x_validation.defined() && x_validation.size(0) > 0))
    throw std::invalid_argument("training: patience (early stopping) needs validation data");
  if (o.optimizer == "lbfgs" && o.batch_size > 0)
    throw std::invalid_argument("training: lbfgs needs full batch (batch_size = 0)");
  if (o.optimizer == "lbfgs" && o.clip_norm > 0)
    throw std::invalid_argument(
        "training: clip_norm does not apply to lbfgs (its line search needs the true gradient)");
  const Loss loss_kind = parse_loss(o.loss);
  const bool has_validation = x_validation.defined() && x_validation.size(0) > 0;
  const int64_t n = x_train.size(0);
  const bool full_batch = o.batch_size == 0 || o.batch_size >= n;

  // A generator of this training's own: other trainings and other users of
  // LibTorch's global generator in the process do not change its batches.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto optimizer = make_optimizer(o, model);
  auto params = model->parameters();

  auto evaluate = [&](const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard guard;
    return loss_value(loss_kind, model->forward(x), y).item<double>();
  };

  TrainResult result;
  const auto start = std::chrono::steady_clock::now();
  double seconds_before = 0;  // from a resumed checkpoint
  auto seconds = [&] {
    return seconds_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  Snapshot kept = take_snapshot(*model);  // best validation, else last finite
  result.best_validation = std::numeric_limits<double>::infinity();
  int64_t checks_without_improvement = 0;
  Progress progress(label, o.steps, o.progress);
  torch::Tensor order;
  int64_t cursor = n;
  const bool adam_like = o.optimizer == "adam" || o.optimizer == "adamw";
  int64_t first_step = 1;
  bool converged = false;

  if (hooks.resume) {
    const auto& r = *hooks.resume;
    first_step = r.step + 1;
    result.curve = r.curve;
    result.best_validation = r.best_validation;
    result.best_step = r.best_step;
    result.steps_run = r.step;
    checks_without_improvement = r.checks_without_improvement;
    seconds_before = r.seconds;
    kept.clear();
    for (const auto& t : r.kept) kept.push_back(t.to(params.front().options()));
    if (o.optimizer == "adam") import_adam<torch::optim::AdamParamState>(*optimizer, params, r);
    if (o.optimizer == "adamw") import_adam<torch::optim::AdamWParamState>(*optimizer, params, r);
    if (r.batch_order.defined()) order = r.batch_order;
    cursor = r.batch_order.defined() ? r.batch_cursor : n;
    if (r.rng_state.defined()) generator.set_state(r.rng_state);
  }
  auto checkpoint = [&](int64_t step) {
    TrainState s;
    s.step = step;
    s.curve = result.curve;
    s.best_validation = result.best_validation;
    s.best_step = result.best_step;
    s.checks_without_improvement = checks_without_improvement;
    s.seconds = seconds();
    s.kept = kept;
    if (o.optimizer == "adam") export_adam<torch::optim::AdamParamState>(*optimizer, params, s);
    if (o.optimizer == "adamw") export_adam<torch::optim::AdamWParamState>(*optimizer, params, s);
    s.batch_order = order;
    s.batch_cursor = cursor;
    s.rng_state = generator.get_state();
    hooks.on_checkpoint(s);
  };

  const bool lbfgs = o.optimizer == "lbfgs";
  for (int64_t step = first_step; step <= o.steps; ++step) {
    const double lr = scheduled_lr(o, step - 1);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);

    torch::Tensor xb = x_train, yb = y_train;
    if (!full_batch) {
      if (cursor + o.batch_size > n) {
        order = torch::randperm(n, generator, torch::TensorOptions().dtype(torch::kInt64));
        cursor = 0;
      }
      const auto index = order.slice(0, cursor, cursor + o.batch_size).to(x_train.device());
      cursor += o.batch_size;
      xb = x_train.index_select(0, index);
      yb = y_train.index_select(0, index);
    }

    double step_loss = 0;
    auto closure = [&]() -> torch::Tensor {
      optimizer->zero_grad();
      auto loss = loss_value(loss_kind, model->forward(xb), yb);
      loss.backward();
      if (o.clip_norm > 0) torch::nn::utils::clip_grad_norm_(params, o.clip_norm);
      return loss;
    };
    if (lbfgs) {
      // One step() runs L-BFGS iterations up to the next check: each step()
      // starts with a closure evaluation of its own, so one call per
      // iteration would evaluate every point twice. A step is an iteration.
      const int64_t next_check = std::min(o.steps, (step / o.eval_every + 1) * o.eval_every);
      const int64_t wanted = step % o.eval_every == 0 ? 1 : next_check - step + 1;
      static_cast<torch::optim::LBFGSOptions&>(optimizer->param_groups()[0].options())
          .max_iter(wanted)
          .max_eval(wanted * 25);  // iterations, not evaluations, end the call
      const int64_t before = lbfgs_iterations(*optimizer, params);
      step_loss = optimizer->step(closure).item<double>();
      const int64_t done = lbfgs_iterations(*optimizer, params) - before;
      step += std::max<int64_t>(done, 1) - 1;
      // Fewer iterations than asked: L-BFGS met its tolerance (gradient or change).
      if (done < wanted && std::isfinite(step_loss)) converged = true;
    } else {
      step_loss = closure().item<double>();
      if (std::isfinite(step_loss)) optimizer->step();
    }
    result.steps_run = step;

    // A step that turns the weights non-finite shows in the next step's loss;
    // the weights themselves are only scanned where no next step follows
    // (checks and the last step), keeping the scan off the per-step path.
    const bool check = step % o.eval_every == 0 || step == o.steps || converged;
    auto params_finite = [&] {
      for (const auto& p : params)
        if (!torch::isfinite(p).all().item<bool>()) return false;
      return true;
    };
    if (!std::isfinite(step_loss) || (check && !params_finite())) {
      restore_snapshot(*model, kept);
      result.diverged = true;
      result.stop_reason = fmt::format(
          "non-finite loss at step {}; kept the weights of step {} (try a lower lr or clip_norm)",
          step, result.best_step);
      break;
    }

    if (check) {
      const double train_loss = full_batch ? evaluate(x_train, y_train) : step_loss;
      const double val_loss = has_validation ? evaluate(x_validation, y_validation)
                                             : std::numeric_limits<double>::quiet_NaN();
      result.curve.push_back({step, train_loss, val_loss, seconds()});
      const double score = has_validation ? val_loss : train_loss;
      if (std::isfinite(score) && (!has_validation || score < result.best_validation)) {
        if (score < result.best_validation) result.best_validation = score;
        result.best_step = step;
        kept = take_snapshot(*model);
        checks_without_improvement = 0;
      } else if (has_validation) {
        ++checks_without_improvement;
      }
      progress.update(step,
                      fmt::format("loss {:.3e}{}", train_loss,
                                  has_validation ? fmt::format("  val {:.3e}", val_loss) : ""));
      if (o.patience > 0 && checks_without_improvement >= o.patience) {
        result.stop_reason = "early stop";
        break;
      }
      if (converged) {
        result.stop_reason = "converged (lbfgs tolerance)";
        break;
      }
    }
    if (adam_like && hooks.checkpoint_every > 0 && hooks.on_checkpoint &&
        step % hooks.checkpoint_every == 0 && step < o.steps)
      checkpoint(step);
  }
  if (result.stop_reason.empty()) result.stop_reason = "completed";
  if (!result.diverged && has_validation) restore_snapshot(*model, kept);
  if (!has_validation) result.best_validation = std::numeric_limits<double>::quiet_NaN();

  if (loss_kind == Loss::Mse) {
    // Moment matching: sigma_n^2 = mean residual^2 - mean model variance.
    torch::NoGradGuard guard;
    const auto& x = has_validation ? x_validation : x_train;
    const auto& y = has_validation ? y_validation : y_train;
    auto pred = model->body().forward(Moments{x, torch::zeros_like(x)});
    const double noise2 = ((y - pred.mean).pow(2).mean() - pred.var.mean()).item<double>();
    model->set_noise_std(std::sqrt(std::max(noise2, 1e-12)));
  }
  result.seconds = seconds();
  progress.finish(result.stop_reason);
  return result;
}

}  // namespace gsnn
