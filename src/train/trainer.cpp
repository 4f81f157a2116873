// train_network: the optimisation loop, parameter groups, stages, snapshots,
// checks and early stopping.
#include "train/trainer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "train/optimizers.hpp"
#include "train/progress.hpp"

namespace gsnn {

const std::vector<OptionSpec>& TrainOptions::specs() {
  static const std::vector<OptionSpec> s = [] {
    const TrainOptions d;  // the defaults, declared once
    std::vector<std::string> optimizer_names, schedule_names;
    for (const auto& o : optimizers()) optimizer_names.push_back(o.name);
    for (const auto& o : schedules()) schedule_names.push_back(o.name);
    return std::vector<OptionSpec>{
        {"optimizer", d.optimizer, "optimiser", optimizer_names},
        {"lr", d.lr, "initial learning rate (> 0)", {}, 1e-12, 1e6},
        {"lr_schedule", d.lr_schedule, "learning-rate schedule", schedule_names},
        {"lr_final_ratio",
         d.lr_final_ratio,
         "final lr as a fraction of lr, in (0, 1] (cosine, exponential)",
         {},
         1e-12},
        {"weight_decay",
         d.weight_decay,
         "weight decay (L2 for adam, decoupled for adamw)",
         {},
         0,
         1e6},
        {"steps", d.steps, "optimiser steps (lbfgs: iterations)", {}, 1, 1e9},
        {"lbfgs_steps",
         d.lbfgs_steps,
         "after the steps: this many L-BFGS iterations (strong-Wolfe line search, lr 1, full "
         "batch), 0 = none",
         {},
         0,
         1e9},
        {"batch_size", d.batch_size, "mini-batch size, 0 = full batch", {}, 0, 1e9},
        {"loss", d.loss, "objective: mse, nll (regression), cross_entropy (classification), ..."},
        {"clip_norm", d.clip_norm, "gradient-norm clipping, 0 = off", {}, 0, 1e30},
        {"eval_every", d.eval_every, "steps between validation checks / curve points", {}, 1, 1e9},
        {"patience",
         d.patience,
         "early stop after this many checks without improvement, 0 = off",
         {},
         0,
         1e9},
        {"noise_init",
         d.noise_init,
         "initial output noise std (standardised units)",
         {},
         1e-6,
         1e6},
        {"scaling",
         d.scaling,
         "data scaling the model sees: standard (inputs and targets standardised), targets "
         "(inputs in their own units, e.g. for length scales in those units), none",
         {"standard", "targets", "none"}},
        {"seed", d.seed, "random seed (initialisation, mini-batches)", {}, 0},
        {"group_lr",
         nlohmann::json::object(),
         "lr multiplier per parameter group, e.g. {tau = 0.1} (groups: weights, tau, noise, ...)",
         {},
         0,
         1e6},
        {"freeze",
         nlohmann::json::object(),
         "steps a parameter group stays frozen at the start, e.g. {weights = 500}",
         {},
         0,
         1e9},
        {"loss_options", nlohmann::json::object(),
         "the objective's options, e.g. {delta = 0.1} for huber (`gsnn tasks` lists them)"},
        {"penalty",
         nlohmann::json::object(),
         "weight per model penalty, e.g. {gate_entropy = 0.1, smoothness = 1e-3} (hybrid: "
         "gate_entropy, gate_balance, smoothness)",
         {},
         0,
         1e12},
        {"penalty_steps",
         d.penalty_steps,
         "penalty weights decay linearly to 0 over this many steps, 0 = constant",
         {},
         0,
         1e9},
    };
  }();
  return s;
}

// JSON <-> TrainOptions field by field (`progress` is a run-time choice, not an option).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainOptions, optimizer, lr, lr_schedule, lr_final_ratio,
                                   weight_decay, steps, lbfgs_steps, batch_size, loss, clip_norm,
                                   eval_every, patience, noise_init, scaling, seed, group_lr,
                                   freeze, loss_options, penalty, penalty_steps)

TrainOptions TrainOptions::from_json(const nlohmann::json& options) {
  auto o = resolve_options("training", specs(), options).get<TrainOptions>();
  try {
    find_objective(o.loss);
  } catch (const std::invalid_argument& e) {
    throw OptionError("loss", std::string("training: ") + e.what());
  }
  resolve_objective_options(o.loss, o.loss_options);  // names the bad key
  for (const auto& [group, steps] : o.freeze)
    if (steps != std::floor(steps))
      throw OptionError("freeze." + group, "training: freeze takes whole numbers of steps");
  return o;
}

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = *this;
  // Left out when unused, so results written before the option existed stay current.
  if (lbfgs_steps == 0) j.erase("lbfgs_steps");
  if (scaling == "standard") j.erase("scaling");
  for (const char* key : {"loss_options", "penalty"})
    if (j[key].empty()) j.erase(key);
  if (penalty_steps == 0) j.erase("penalty_steps");
  return j;
}

namespace {

// Parameters, then buffers: everything a kept state restores.
std::vector<torch::Tensor> state_tensors(torch::nn::Module& m) {
  auto all = m.parameters();
  for (const auto& b : m.buffers()) all.push_back(b);
  return all;
}

std::vector<torch::Tensor> take_snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> s;
  for (const auto& t : state_tensors(m)) s.push_back(t.detach().clone());
  return s;
}

void restore_snapshot(torch::nn::Module& m, const std::vector<torch::Tensor>& s) {
  torch::NoGradGuard guard;
  auto all = state_tensors(m);
  if (all.size() != s.size()) throw std::runtime_error("snapshot does not match the model");
  for (size_t i = 0; i < all.size(); ++i) all[i].copy_(s[i]);
}

// What depends on the data rather than on the model.
void check_data(const TrainOptions& o, const Batch& train, bool has_validation) {
  if (train.size() < 1) throw std::invalid_argument("training: no training rows");
  if (o.patience > 0 && !has_validation)
    throw std::invalid_argument("training: patience (early stopping) needs validation data");
}

void check_optimizer(const TrainOptions& o, const OptimizerInfo& opt,
                     const std::vector<ParameterGroup>& groups) {
  if (o.steps < 1) throw std::invalid_argument("training: steps must be >= 1");
  if (!(o.lr_final_ratio > 0 && o.lr_final_ratio <= 1))
    throw std::invalid_argument("training: lr_final_ratio must be in (0, 1]");
  // L-BFGS runs the iterations between two checks in one call: a schedule
  // within them would only change at checks.
  if (opt.full_batch_only && (!o.freeze.empty() || o.penalty_steps > 0))
    throw std::invalid_argument(
        "training: freeze and penalty_steps need a first-order optimiser (" + opt.name +
        " runs its iterations between checks in one call)");
  if (opt.full_batch_only && o.batch_size > 0)
    throw std::invalid_argument("training: " + opt.name + " needs full batch (batch_size = 0)");
  if (opt.full_batch_only && o.clip_norm > 0)
    throw std::invalid_argument("training: clip_norm does not apply to " + opt.name +
                                " (its line search needs the true gradient)");
  if (!opt.per_group_options && !o.group_lr.empty())
    throw std::invalid_argument("training: group_lr does not apply to " + opt.name +
                                " (one learning rate for all parameters)");
  std::set<std::string> names;
  for (const auto& g : groups) names.insert(g.name);
  for (const auto* table : {&o.group_lr, &o.freeze})
    for (const auto& [name, value] : *table)
      if (!names.count(name))
        throw std::invalid_argument(
            fmt::format("training: the model has no parameter group '{}' (groups: {})", name,
                        fmt::join(names, ", ")));
}

void check_penalties(const TrainOptions& o, const ModelImpl& body) {
  if (body.fits_directly()) {
    if (!o.freeze.empty() || !o.group_lr.empty() || !o.penalty.empty() ||
        (o.loss != "mse" && o.loss != "nll"))
      throw std::invalid_argument(
          "training: this model is fitted by its own method (e.g. a GP by its likelihood): "
          "loss (other than mse or nll), freeze, group_lr and penalty do not apply");
    return;
  }
  const auto offered = body.penalty_names();
  for (const auto& [name, weight] : o.penalty)
    if (std::find(offered.begin(), offered.end(), name) == offered.end())
      throw std::invalid_argument(
          offered.empty() ? fmt::format("training: penalty '{}': this model has no penalties", name)
                          : fmt::format("training: penalty '{}': this model's penalties are: {}",
                                        name, fmt::join(offered, ", ")));
}

// Weight of the penalties at `step` (1, 2, ...): linear decay over penalty_steps.
double penalty_factor(const TrainOptions& o, int64_t step) {
  if (o.penalty_steps == 0) return 1;
  return std::max(0.0, 1.0 - static_cast<double>(step - 1) / o.penalty_steps);
}

// The objective's loss plus the model's weighted penalties; every recorded
// penalty and diagnostic joins the parts (minimised or not). step 0: none
// added to the total (validation checks compare the objective alone).
LossParts penalised_loss(Network& model, const Objective& objective, const Batch& batch,
                         const TrainOptions& o, int64_t step) {
  auto l = objective.loss(model, batch);
  const double factor = step > 0 ? penalty_factor(o, step) : 0.0;
  for (const auto& [name, value] : model->body().take_penalties()) {
    const auto weight = o.penalty.find(name);
    if (weight != o.penalty.end() && factor > 0)
      l.total = l.total + weight->second * factor * value;
    l.parts.emplace_back(name, value);
  }
  return l;
}

std::vector<std::pair<std::string, double>> part_values(const LossParts& l) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, t] : l.parts) out.emplace_back(name, t.item<double>());
  return out;
}

}  // namespace

void check_training_options(const TrainOptions& o, Network& model, const Objective& objective) {
  check_penalties(o, model->body());
  if (model->body().fits_directly()) return;
  check_optimizer(o, find_optimizer(o.optimizer), model->parameter_groups());
  const auto needs = objective.needed_extras();
  if (needs.empty()) return;
  // One sample through the model shows what its predictions hold.
  torch::NoGradGuard guard;
  const auto& in = model->shape().input_shape;
  std::vector<int64_t> sizes = {1};
  sizes.insert(sizes.end(), in.begin(), in.end());
  const auto sample = model->forward(torch::zeros(sizes, reference_tensor(*model).options()));
  model->body().take_penalties();
  for (const auto& key : needs)
    if (!sample.extras.count(key))
      throw std::invalid_argument("training: loss '" + o.loss + "' " + objective.needs_message());
}

TrainResult train_network(Network& model, const Objective& objective, const Batch& train,
                          const Batch& validation, const TrainOptions& options,
                          const std::string& label, const TrainHooks& hooks) {
  const auto& o = options;
  const auto& opt_info = find_optimizer(o.optimizer);
  const auto& schedule = find_schedule(o.lr_schedule);
  const bool has_validation = validation.size() > 0;
  auto groups = model->parameter_groups();
  check_data(o, train, has_validation);
  check_training_options(o, model, objective);
  const int64_t n = train.size();
  const bool full_batch = o.batch_size == 0 || o.batch_size >= n;
  const bool lbfgs = opt_info.name == "lbfgs";

  // A generator of this training's own: other trainings and other users of
  // LibTorch's global generator in the process do not change its batches.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  std::vector<ParameterGroup> nonempty;
  std::vector<double> group_scale;  // lr multiplier per optimiser group
  for (const auto& g : groups) {
    if (g.parameters.empty()) continue;
    nonempty.push_back(g);
    group_scale.push_back(o.group_lr.count(g.name) ? o.group_lr.at(g.name) : 1.0);
  }
  auto optimizer = opt_info.make(nonempty, o);
  auto params = model->parameters();

  auto evaluate = [&](const Batch& b) {
    torch::NoGradGuard guard;
    return penalised_loss(model, objective, b, o, 0);
  };
  auto request_penalties = [&](int64_t step) {
    std::vector<std::string> names;
    if (penalty_factor(o, step) > 0)
      for (const auto& [name, weight] : o.penalty)
        if (weight > 0) names.push_back(name);
    model->body().request_penalties(names);
  };

  TrainResult result;
  const auto start = std::chrono::steady_clock::now();
  double seconds_before = 0;  // from a resumed checkpoint
  auto seconds = [&] {
    return seconds_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto kept = take_snapshot(*model);  // best validation, else last finite
  TrainPhase phase{opt_info.name};
  result.best_validation = std::numeric_limits<double>::infinity();
  int64_t checks_without_improvement = 0;
  Progress progress(label, o.steps, o.progress);
  torch::Tensor order;
  int64_t cursor = n;
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
    if (r.kept.size() != kept.size())
      throw std::runtime_error("checkpoint: kept weights do not match the model");
    for (size_t i = 0; i < kept.size(); ++i) kept[i] = r.kept[i].to(kept[i].options());
    if (opt_info.load_state) opt_info.load_state(*optimizer, params, r);
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
    opt_info.save_state(*optimizer, params, s);
    s.batch_order = order;
    s.batch_cursor = cursor;
    s.rng_state = generator.get_state();
    hooks.on_checkpoint(s);
  };

  request_penalties(first_step);
  for (int64_t step = first_step; step <= o.steps; ++step) {
    if (step == o.penalty_steps + 1) request_penalties(step);  // their weight reached 0
    const double lr =
        o.lr * schedule.factor(static_cast<double>(step - 1) / o.steps, o.lr_final_ratio);
    for (size_t k = 0; k < optimizer->param_groups().size(); ++k)
      opt_info.set_lr(optimizer->param_groups()[k],
                      lr * (opt_info.per_group_options ? group_scale[k] : 1.0));
    // Groups frozen at this step get no gradient: the optimiser skips them
    // (Adam's moments and step count included).
    std::vector<torch::Tensor> frozen;
    for (const auto& g : groups)
      if (o.freeze.count(g.name) && step <= o.freeze.at(g.name))
        frozen.insert(frozen.end(), g.parameters.begin(), g.parameters.end());

    Batch batch = train;
    if (hooks.fresh_batch) {
      batch = hooks.fresh_batch(step);
      const auto device = train.x.device();
      batch = {batch.x.to(device), batch.y.to(device),
               batch.regime.defined() ? batch.regime.to(device) : torch::Tensor()};
    } else if (!full_batch) {
      if (cursor + o.batch_size > n) {
        order = torch::randperm(n, generator, torch::TensorOptions().dtype(torch::kInt64));
        cursor = 0;
      }
      const auto index = order.slice(0, cursor, cursor + o.batch_size).to(train.x.device());
      cursor += o.batch_size;
      batch = {train.x.index_select(0, index), train.y.index_select(0, index),
               train.regime.defined() ? train.regime.index_select(0, index) : torch::Tensor()};
    }

    if (!lbfgs) {
      torch::NoGradGuard guard;
      model->body().before_step(step, [&] { return model->scale_inputs(batch.x); });
    }
    double step_loss = 0;
    const auto step_start = std::chrono::steady_clock::now();
    auto closure = [&]() -> torch::Tensor {
      optimizer->zero_grad();
      auto loss = penalised_loss(model, objective, batch, o, step).total;
      loss.backward();
      for (auto& p : frozen) p.mutable_grad() = torch::Tensor();
      if (o.clip_norm > 0) torch::nn::utils::clip_grad_norm_(params, o.clip_norm);
      return loss;
    };
    if (lbfgs) {
      // One step() runs L-BFGS iterations up to the next check: each step()
      // starts with a closure evaluation of its own, so one call per
      // iteration would evaluate every point twice. A step is an iteration.
      const int64_t next_check = std::min(o.steps, (step / o.eval_every + 1) * o.eval_every);
      const int64_t wanted = step % o.eval_every == 0 ? 1 : next_check - step + 1;
      set_lbfgs_iterations(*optimizer, wanted);
      const int64_t before = lbfgs_iterations(*optimizer);
      step_loss = optimizer->step(closure).item<double>();
      const int64_t done = lbfgs_iterations(*optimizer) - before;
      step += std::max<int64_t>(done, 1) - 1;
      // Fewer iterations than asked: L-BFGS met its tolerance (gradient or change).
      if (done < wanted && std::isfinite(step_loss)) converged = true;
    } else {
      step_loss = closure().item<double>();
      if (std::isfinite(step_loss)) optimizer->step();
    }
    phase.step_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    phase.steps = step - first_step + 1;
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
      const auto train_loss = full_batch ? evaluate(train) : LossParts{};
      const double train_value = full_batch ? train_loss.total.item<double>() : step_loss;
      const double val_loss = has_validation ? evaluate(validation).total.item<double>()
                                             : std::numeric_limits<double>::quiet_NaN();
      result.curve.push_back(
          {step, train_value, val_loss, seconds(),
           full_batch ? part_values(train_loss) : std::vector<std::pair<std::string, double>>{}});
      if (hooks.track)
        for (auto& value : hooks.track()) result.curve.back().parts.push_back(std::move(value));
      if (hooks.on_check) hooks.on_check(result.curve.back());
      const double score = has_validation ? val_loss : train_value;
      if (std::isfinite(score) && (!has_validation || score < result.best_validation)) {
        if (score < result.best_validation) result.best_validation = score;
        result.best_step = step;
        kept = take_snapshot(*model);
        checks_without_improvement = 0;
      } else if (has_validation) {
        ++checks_without_improvement;
      }
      progress.update(step,
                      fmt::format("loss {:.3e}{}", train_value,
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
    if (opt_info.save_state && hooks.checkpoint_every > 0 && hooks.on_checkpoint &&
        step % hooks.checkpoint_every == 0 && step < o.steps)
      checkpoint(step);
  }
  model->body().request_penalties({});
  model->body().take_penalties();  // frees the last step's graph
  if (result.stop_reason.empty()) result.stop_reason = "completed";
  if (!result.diverged && has_validation) restore_snapshot(*model, kept);
  if (!has_validation) result.best_validation = std::numeric_limits<double>::quiet_NaN();
  objective.finish(model, has_validation ? validation : train);
  result.seconds = seconds();
  result.phases.push_back(phase);
  progress.finish(result.stop_reason);
  return result;
}

}  // namespace gsnn
