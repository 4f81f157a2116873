// prepare_model, train_model, fit_model, evaluate_model.
#include "train/fit.hpp"

#include <fmt/format.h>

#include <chrono>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "data/csv.hpp"
#include "tasks/kind.hpp"

namespace gsnn {
namespace {

// Weight initialisation (and data-dependent initialisation such as k-means++
// centres) draws from LibTorch's global generator: seeded and used under one
// lock, so that concurrent fits stay reproducible.
std::mutex global_generator;

Batch to_batch(const Dataset& d, const torch::Device& device) {
  if (d.size() == 0) return {};
  return {d.x.to(device), d.y.to(device),
          d.regime.defined() ? d.regime.to(device) : torch::Tensor()};
}

torch::Device device_of(const TrainedModel& m) { return reference_tensor(*m.network).device(); }

// ||d mean/dx - gradient|| / ||gradient|| of a one-target model at raw inputs x, by autograd.
double gradient_relative_error(const TrainedModel& m, const torch::Tensor& x,
                               const torch::Tensor& gradient) {
  torch::AutoGradMode on(true);
  Network network = m.network;
  auto at = x.to(device_of(m), torch::kFloat64).detach().requires_grad_(true);
  const auto mean = network->predict(at).mean;
  const auto model_gradient = torch::autograd::grad({mean.sum()}, {at})[0].to(torch::kCPU);
  return ((model_gradient - gradient).norm() / gradient.norm()).item<double>();
}

// The second phase of `lbfgs_steps`: L-BFGS from where the first optimiser
// stopped (full batch, lr 1 with a strong-Wolfe line search), its curve
// appended to the first's. Not checkpointed: a run killed here resumes
// the first phase's last checkpoint and does this phase again, identically.
void polish_with_lbfgs(Network& network, const Objective& objective, const Batch& train,
                       const Batch& validation, const TrainOptions& first, const std::string& label,
                       const TrainHooks& hooks, TrainResult& result) {
  TrainOptions o = first;
  o.optimizer = "lbfgs";
  o.steps = first.lbfgs_steps;
  o.lbfgs_steps = 0;
  o.lr = 1;
  o.lr_schedule = "constant";
  o.batch_size = 0;
  o.clip_norm = 0;
  o.patience = 0;
  o.group_lr.clear();
  o.freeze.clear();
  o.penalty.clear();  // penalties shape the first phase; the polish minimises the objective
  TrainHooks h;
  h.track = hooks.track;
  h.on_check = hooks.on_check;
  const auto second = train_network(network, objective, train, validation, o, label + " lbfgs", h);
  for (auto point : second.curve) {
    point.step += result.steps_run;
    point.seconds += result.seconds;
    result.curve.push_back(point);
  }
  if (second.best_step > 0) {
    result.best_step = result.steps_run + second.best_step;
    result.best_validation = second.best_validation;
  }
  result.steps_run += second.steps_run;
  result.seconds += second.seconds;
  result.stop_reason += "; then lbfgs: " + second.stop_reason;
  result.diverged = second.diverged;
  result.phases.insert(result.phases.end(), second.phases.begin(), second.phases.end());
}

// Data whose mean or spread is beyond the model's dtype, or leaves its range once scaled,
// is named here rather than met later as a non-finite loss. `prefix` picks
// the Network's buffers: "input" or "target".
void check_scaled_values(Network& network, const torch::Tensor& scaled, const torch::Tensor& raw,
                         const std::vector<std::string>& names, const std::string& prefix,
                         bool float64) {
  const auto buffers = network->named_buffers();
  auto bad = (~torch::isfinite(scaled)).flatten(1).any(0);
  for (const auto* part : {"_mean", "_scale"})
    if (const auto* b = buffers.find(prefix + part)) bad = bad | ~torch::isfinite(b->flatten());
  // A column whose nonzero values all become 0 or subnormal (scaling "none" of
  // 1e-40 in float32), losing their digits; a tiny value beside large ones is
  // rounding, not a loss.
  const double smallest_normal =
      float64 ? std::numeric_limits<double>::min() : std::numeric_limits<float>::min();
  auto lost = (raw.flatten(1) != 0).any(0) & (scaled.flatten(1).abs() < smallest_normal).all(0);
  if (const auto* mean = buffers.find(prefix + "_mean")) lost = lost & (mean->flatten() == 0);
  const auto name = [&](int64_t column) {
    return column < static_cast<int64_t>(names.size())
               ? "column '" + shown_name(names[column]) + "'"
               : std::string("value");
  };
  const auto dtype = float64 ? "float64" : "float32";
  // float64 is advised only where it would hold the values.
  const auto advice = [&](bool float64_holds) {
    return float64 || !float64_holds
               ? ""
               : " or train in float64 (gsnn fit --dtype float64; dtype = \"float64\" in an "
                 "experiment's [[csv]] table)";
  };
  if (const auto columns = bad.nonzero(); columns.numel() > 0) {
    const auto column = columns[0][0].item<int64_t>();
    const auto largest = raw.flatten(1).select(1, column).abs().max().item<double>();
    throw std::invalid_argument(
        fmt::format("fit: {} {} (largest magnitude {:g}): its mean, spread or scaled values "
                    "are beyond {}'s range; rescale it{}",
                    prefix, name(column), largest, dtype, advice(largest < 1e300)));
  }
  if (const auto columns = lost.nonzero(); columns.numel() > 0) {
    const auto column = columns[0][0].item<int64_t>();
    const auto values = raw.flatten(1).select(1, column).abs();
    const auto smallest = values.masked_select(values > 0).min().item<double>();
    throw std::invalid_argument(
        fmt::format("fit: {} {} has values as small as {:g}, which lose their digits in {} "
                    "once scaled (below its smallest normal number); rescale it{}",
                    prefix, name(column), smallest, dtype,
                    advice(smallest >= std::numeric_limits<double>::min())));
  }
}

}  // namespace

void check_fit_request(const ModelShape& shape, const FitRequest& request) {
  const auto& kind = find_task_kind(request.kind);
  std::lock_guard<std::mutex> lock(global_generator);
  torch::manual_seed(request.training.seed);
  Network network(build_model(request.model, shape), shape, kind.regression,
                  request.training.noise_init);
  const auto objective =
      make_objective(request.training.loss, kind.name, request.training.loss_options);
  check_training_options(request.training, network, *objective);
}

TrainedModel prepare_model(const Dataset& train, const FitRequest& request) {
  if (train.size() < 1) throw std::invalid_argument("fit: no training rows");
  if (request.dtype != "float32" && request.dtype != "float64")
    throw std::invalid_argument("fit: dtype must be float32 or float64");
  const auto& kind = find_task_kind(request.kind);
  TrainedModel m;
  m.spec = request.model;
  m.kind = kind.name;
  m.inputs = train.input_names;
  m.targets = train.target_names;
  m.outputs = kind.output_names(train);
  if (m.outputs.empty())
    throw std::invalid_argument("fit: the data has no outputs (targets or classes)");
  const ModelShape shape{train.x.sizes().slice(1).vec(), static_cast<int64_t>(m.outputs.size())};
  std::lock_guard<std::mutex> lock(global_generator);
  torch::manual_seed(request.training.seed);
  m.network =
      Network(build_model(m.spec, shape), shape, kind.regression, request.training.noise_init);
  auto s = Standardizer::fit(train);
  // scaling "targets" leaves the inputs in their own units, "none" both.
  auto identity = [](torch::Tensor& mean, torch::Tensor& scale) {
    if (mean.defined()) mean = torch::zeros_like(mean), scale = torch::ones_like(scale);
  };
  if (request.training.scaling != "standard") identity(s.x_mean, s.x_scale);
  if (request.training.scaling == "none") identity(s.y_mean, s.y_scale);
  if (m.spec.options.value("symmetrise", false)) {
    // A model symmetric in its first two standardised inputs is symmetric in
    // the raw ones only if both are scaled alike: give them their mean scaling.
    for (auto* t : {&s.x_mean, &s.x_scale}) {
      auto flat = t->flatten();
      if (flat.numel() >= 2) flat.slice(0, 0, 2).fill_(flat.slice(0, 0, 2).mean().item<double>());
    }
  }
  const bool float64 = request.dtype == "float64" || find_family(m.spec.family).needs_float64;
  m.network->to(torch::Device(request.device), float64 ? torch::kFloat64 : torch::kFloat32);
  // In the model's dtype already: a float64 scale of 1e-160 must not pass through float32.
  m.network->set_scaling(s.x_mean, s.x_scale, s.y_mean, s.y_scale);
  if (m.network->body().fits_directly() && kind.name != "regression")
    throw std::invalid_argument("model " + m.spec.family +
                                " is fitted directly to regression targets; a " + kind.name +
                                " task needs a model trained by gradient steps");
  const auto x = to_batch(train, device_of(m));
  torch::NoGradGuard guard;
  const auto inputs = m.network->scale_inputs(x.x), targets = m.network->scale_targets(x.y);
  check_scaled_values(m.network, inputs, x.x, train.input_names, "input", float64);
  if (kind.regression)
    check_scaled_values(m.network, targets, x.y, train.target_names, "target", float64);
  m.network->body().initialise(inputs, targets);
  return m;
}

TrainResult train_model(TrainedModel& m, const Dataset& train, const Dataset& validation,
                        const FitRequest& request, const std::string& label,
                        const TrainHooks& hooks) {
  const auto objective =
      make_objective(request.training.loss, m.kind, request.training.loss_options);
  const auto device = device_of(m);
  const auto train_batch = to_batch(train, device), validation_batch = to_batch(validation, device);
  m.network->train();
  TrainResult result;
  auto& body = m.network->body();
  if (body.fits_directly()) {
    check_training_options(request.training, m.network, *objective);  // train_network's own
    // Fitted by the family's own method (e.g. likelihood maximisation) on
    // the standardised data: same result files, no learning curve.
    const auto start = std::chrono::steady_clock::now();
    body.fit_directly(m.network->scale_inputs(train_batch.x),
                      m.network->scale_targets(train_batch.y), request.training.seed);
    // The family's own variance is the predictive variance (a GP's includes its noise).
    if (m.network->regression()) m.network->set_noise_std(0);
    result.stop_reason = "fitted by the model's own method";
    result.best_validation = NAN;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } else {
    result = train_network(m.network, *objective, train_batch, validation_batch, request.training,
                           label, hooks);
    if (request.training.lbfgs_steps > 0 && !result.diverged)
      polish_with_lbfgs(m.network, *objective, train_batch, validation_batch, request.training,
                        label, hooks, result);
  }
  m.network->eval();
  m.training = {
      {"options", request.training.to_json()},
      {"dtype", m.network->scaling()[0].scalar_type() == torch::kFloat64 ? "float64" : "float32"},
      {"train_rows", train.size()},
      {"validation_rows", validation.size()},
      {"steps_run", result.steps_run},
      {"best_step", result.best_step},
      {"stop_reason", result.stop_reason},
      {"seconds", result.seconds}};
  return result;
}

FitOutcome fit_model(const Dataset& train, const Dataset& validation, const FitRequest& request,
                     const std::string& label) {
  FitOutcome out{prepare_model(train, request), {}};
  out.result = train_model(out.model, train, validation, request, label);
  return out;
}

nlohmann::json evaluate_model(const TrainedModel& model, const TaskData& data) {
  const auto& kind = find_task_kind(model.kind);
  nlohmann::json metrics = nlohmann::json::object();
  auto add = [&](const std::string& name, const Dataset& d) {
    if (d.size() > 0) metrics[name] = kind.evaluate(model.predict(d.x), d);
  };
  add("train", data.train);
  for (const auto& set : data.evaluation) {
    add(set.name, set.data);
    if (set.gradient.defined() && set.data.size() > 0 && kind.regression &&
        model.outputs.size() == 1)
      metrics[set.name]["gradient_rel_l2"] =
          gradient_relative_error(model, set.data.x, set.gradient);
  }
  return metrics;
}

}  // namespace gsnn
