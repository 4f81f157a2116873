// Seed 001's hybrid Gaussian-ReLU networks and objectives: each combination
// reduces to its pure path with the other switched off, propagated variance
// against Monte Carlo, the mixture NLL against a direct computation and
// finite differences, Huber against MSE, the gate penalties on a collapsed
// gate, the smoothness penalty against finite differences, and learning.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "gsnn/predictor.hpp"
#include "io/model_file.hpp"
#include "nn/gsnn_model.hpp"
#include "nn/hybrid.hpp"
#include "nn/mlp.hpp"
#include "tasks/builtin.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

std::shared_ptr<HybridImpl> hybrid(Combine combine, Paths paths, int64_t depth = 2,
                                   int64_t inputs = 2, uint64_t seed = 1, double tau = 0.7) {
  torch::manual_seed(seed);
  HybridOptions o;
  o.inputs = inputs;
  o.depth = depth;
  o.width = 5;
  o.combine = combine;
  o.paths = paths;
  o.tau = tau;
  auto h = std::make_shared<HybridImpl>(o);
  h->to(torch::kFloat64);
  return h;
}

torch::Tensor param(torch::nn::Module& m, const std::string& name) {
  return m.named_parameters()[name];
}

// Copies `values` into `target`'s parameters, in order.
void copy_parameters(torch::nn::Module& target, const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard guard;
  auto params = target.parameters();
  ASSERT_EQ(params.size(), values.size());
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(values[i]);
}

std::shared_ptr<GsnnImpl> gsnn_like(int64_t depth, double tau) {
  GsnnOptions g;
  g.inputs = 2;
  g.depth = depth;
  g.width = 5;
  g.tau = tau;
  auto m = std::make_shared<GsnnImpl>(g);
  m->to(torch::kFloat64);
  return m;
}

std::shared_ptr<MlpImpl> relu_mlp_like(int64_t depth) {
  MlpOptions o;
  o.inputs = 2;
  o.depth = depth;
  o.width = 5;
  auto m = std::make_shared<MlpImpl>(o);
  m->to(torch::kFloat64);
  return m;
}

Moments input_moments() {
  torch::manual_seed(9);
  return {torch::randn({6, 2}, torch::kFloat64), 0.1 * torch::rand({6, 2}, torch::kFloat64)};
}

void expect_same(const Moments& a, const Moments& b, bool compare_var = true) {
  EXPECT_TRUE(torch::allclose(a.mean, b.mean, 1e-10, 1e-12));
  if (compare_var) EXPECT_TRUE(torch::allclose(a.variance(), b.variance(), 1e-10, 1e-12));
}

TEST(Hybrid, GateAndStabiliseReduceToTheirPurePaths) {
  const auto in = input_moments();
  for (auto combine : {Combine::Gate, Combine::Stabilise}) {
    SCOPED_TRACE(combine_name(combine));
    auto g = hybrid(combine, Paths::Gaussian);
    auto gsnn = gsnn_like(2, 0.7);
    copy_parameters(*gsnn, g->parameters());
    expect_same(g->forward(in), gsnn->forward(in));

    auto r = hybrid(combine, Paths::Relu);
    auto mlp = relu_mlp_like(2);
    copy_parameters(*mlp, r->parameters());
    expect_same(r->forward({in.mean, {}}), mlp->forward({in.mean, {}}));
  }
}

// One path of a two-layer mix hybrid as plain weights: each A folded into the next layer.
std::vector<torch::Tensor> folded_mix(torch::nn::Module& h, const std::string& path) {
  const std::string linear = path + ".linear", mix = "mix_" + path;
  return {param(h, "layer0." + linear + ".weight"),
          param(h, "layer0." + linear + ".bias"),
          param(h, "layer1." + linear + ".weight").mm(param(h, "layer0." + mix + ".weight")),
          param(h, "layer1." + linear + ".bias"),
          param(h, "readout.linear.weight").mm(param(h, "layer1." + mix + ".weight")),
          param(h, "readout.linear.bias")};
}

TEST(Hybrid, MixReducesToItsPurePaths) {
  // Exactly so without variance: with it, (W A) o (W A) v is not
  // (W o W)(A o A) v, the independence the next layer assumes.
  const auto in = input_moments();
  auto g = hybrid(Combine::Mix, Paths::Gaussian, 2, 2, 1, 0.0);
  auto gsnn = gsnn_like(2, 0.0);
  copy_parameters(*gsnn, folded_mix(*g, "gaussian"));
  expect_same(g->forward({in.mean, {}}), gsnn->forward({in.mean, {}}));

  auto r = hybrid(Combine::Mix, Paths::Relu);
  auto mlp = relu_mlp_like(2);
  copy_parameters(*mlp, folded_mix(*r, "relu"));
  expect_same(r->forward({in.mean, {}}), mlp->forward({in.mean, {}}));
}

std::vector<torch::Tensor> without_expert_noise(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.named_parameters())
    if (p.key() != "expert_noise_rho") out.push_back(p.value());
  return out;
}

TEST(Hybrid, ExpertsReduceToTheirPurePaths) {
  const auto in = input_moments();
  auto g = hybrid(Combine::Experts, Paths::Gaussian);
  auto gsnn = gsnn_like(2, 0.7);
  copy_parameters(*gsnn, without_expert_noise(*g));
  const auto noise2 = std::pow(kExpertNoiseInit, 2);
  const auto expected = gsnn->forward(in);
  const auto got = g->forward(in);
  EXPECT_TRUE(torch::allclose(got.mean, expected.mean, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(got.var, expected.var + noise2, 1e-7));  // rho starts in float32
  EXPECT_TRUE(torch::all(g->predict(in).extras.at("gate") == 1).item<bool>());

  auto r = hybrid(Combine::Experts, Paths::Relu);
  auto mlp = relu_mlp_like(2);
  copy_parameters(*mlp, without_expert_noise(*r));
  EXPECT_TRUE(torch::allclose(r->forward({in.mean, {}}).mean, mlp->forward({in.mean, {}}).mean));
  EXPECT_TRUE(torch::all(r->predict(in).extras.at("gate") == 0).item<bool>());
}

// erf-tanh, the Gaussian path's activation: erf(sqrt(pi) z / 2).
torch::Tensor erf_tanh(const torch::Tensor& z) { return torch::erf(std::sqrt(M_PI) / 2 * z); }

TEST(Hybrid, OneLayerVarianceMatchesMonteCarlo) {
  // A deterministic input: all randomness is the Gaussian path's tau
  // injection, independent per unit, so each unit's moments are exact.
  const auto x = torch::tensor({{0.3, -0.8}}, torch::kFloat64);
  const int64_t n = 400000;
  for (auto combine : {Combine::Mix, Combine::Gate, Combine::Stabilise}) {
    SCOPED_TRACE(combine_name(combine));
    torch::manual_seed(1);
    HybridOptions o;
    o.width = 5;
    o.combine = combine;
    o.tau = 0.7;
    HybridLayer layer(2, o);
    layer->to(torch::kFloat64);
    torch::NoGradGuard guard;
    const auto predicted = layer->forward({x, {}}).out;
    auto lin = [&](const std::string& name, const torch::Tensor& v) {
      const auto* b = layer->named_parameters().find(name + ".bias");
      const auto out = v.mm(param(*layer, name + ".weight").t());
      return b ? out + *b : out;
    };
    torch::manual_seed(4);
    const auto eps = 0.7 * torch::randn({n, 5}, torch::kFloat64);
    const auto hr = torch::relu(lin("relu.linear", x)).expand({n, 5});
    torch::Tensor hidden;
    if (combine == Combine::Mix)
      hidden = lin("mix_gaussian", erf_tanh(lin("gaussian.linear", x) + eps)) + lin("mix_relu", hr);
    else if (combine == Combine::Gate)
      hidden = hr * erf_tanh(lin("gaussian.linear", x) + eps);
    else
      hidden = hr + erf_tanh(lin("gaussian.linear", hr) + eps);
    const auto mc_var = hidden.var(0, true, true);
    EXPECT_TRUE(torch::allclose(predicted.mean, hidden.mean(0, true), 0,
                                4 * std::sqrt(mc_var.max().item<double>() / n)));
    EXPECT_TRUE(torch::allclose(predicted.variance(), mc_var, 0.015, 1e-12));
  }
}

// A regression Network around a float64 two-expert hybrid on 1 input.
Network experts_network(uint64_t seed = 2) {
  auto net = test::network(hybrid(Combine::Experts, Paths::Both, 1, 1, seed));
  net->to(torch::kFloat64);
  return net;
}

TEST(HybridObjectives, MixtureNllMatchesDirectComputation) {
  auto net = experts_network();
  const auto x = torch::linspace(-1, 1, 7, torch::kFloat64).unsqueeze(1);
  const auto y = torch::sin(3 * x);
  const auto moe = make_objective("moe", "regression");
  const double loss = moe->loss(net, {x, y}).total.item<double>();
  const auto p = net->forward(x);
  const auto pi = p.extras.at("gate"), m = p.extras.at("expert_mean"),
             v = p.extras.at("expert_var");
  auto density = [&](int k) {
    const auto mk = m.select(1, k), vk = v.select(1, k);
    return torch::exp(-0.5 * (y - mk).square() / vk) / torch::sqrt(2 * M_PI * vk);
  };
  const double direct = -torch::log(pi * density(0) + (1 - pi) * density(1)).mean().item<double>();
  EXPECT_NEAR(loss, direct, 1e-12);

  // Extreme logits: finite, and the NLL of the chosen expert alone.
  for (double logit : {800.0, -800.0}) {
    {
      torch::NoGradGuard guard;
      net->named_parameters()["body.gate_out.bias"].fill_(logit);
    }
    const double extreme = moe->loss(net, {x, y}).total.item<double>();
    const int k = logit > 0 ? 0 : 1;
    const auto mk = m.select(1, k), vk = v.select(1, k);
    const double alone =
        (0.5 * torch::log(2 * M_PI * vk) + 0.5 * (y - mk).square() / vk).mean().item<double>();
    EXPECT_TRUE(std::isfinite(extreme));
    EXPECT_NEAR(extreme, alone, 1e-9);
  }
}

TEST(HybridObjectives, MixtureNllGradientMatchesFiniteDifferences) {
  auto net = experts_network(5);
  const auto x = torch::linspace(-1, 1, 9, torch::kFloat64).unsqueeze(1);
  const auto y = torch::abs(x) + 0.3 * x;
  const auto moe = make_objective("moe", "regression");
  for (const char* name :
       {"body.gate_out.bias", "body.gate_hidden.weight", "body.gaussian_expert0.linear.weight",
        "body.relu_readout.weight", "body.expert_noise_rho"}) {
    SCOPED_TRACE(name);
    auto p = net->named_parameters()[name];
    net->zero_grad();
    moe->loss(net, {x, y}).total.backward();
    const double analytic = p.grad().flatten()[0].item<double>();
    const double h = 1e-6;
    auto at = [&](double delta) {
      torch::NoGradGuard guard;
      p.flatten()[0].add_(delta);
      const double v = moe->loss(net, {x, y}).total.item<double>();
      p.flatten()[0].sub_(delta);
      return v;
    };
    EXPECT_NEAR(analytic, (at(h) - at(-h)) / (2 * h), 1e-6 * std::max(1.0, std::abs(analytic)));
  }
}

TEST(HybridObjectives, HuberIsHalfMseWithinItsThresholdAndLinearBeyond) {
  torch::manual_seed(3);
  auto net = test::network("mlp-relu", 3);
  const auto x = torch::linspace(-1, 1, 20).unsqueeze(1);
  const auto pred = net->forward(x).mean.detach();
  const auto small = pred + 0.05 * torch::randn({20, 1});
  const double mse =
      make_objective("mse", "regression")->loss(net, {x, small}).total.item<double>();
  for (const char* name : {"huber", "pseudo_huber"}) {
    const double value = make_objective(name, "regression", {{"delta", 0.5}})
                             ->loss(net, {x, small})
                             .total.item<double>();
    // Pseudo-Huber is r^2/2 (1 - r^2/(4 delta^2) + ...): within 2% for |r| < 0.15.
    EXPECT_NEAR(value, mse / 2, std::string(name) == "huber" ? 1e-7 : 1e-2 * mse);
  }
  const auto far = pred + 3;  // |r| = 3 > delta: delta (|r| - delta / 2)
  EXPECT_NEAR(make_objective("huber", "regression", {{"delta", 0.5}})
                  ->loss(net, {x, far})
                  .total.item<double>(),
              0.5 * (3 - 0.25), 1e-5);
  EXPECT_NE(test::error_message([] {
              make_objective("huber", "regression", {{"delat", 1}});
            }).find("unknown option 'delat'"),
            std::string::npos);
}

TEST(HybridObjectives, MultiheadLearnsTheTaskRegimeWhereItIsGiven) {
  auto net = experts_network(4);
  const auto x = torch::linspace(-1, 1, 8, torch::kFloat64).unsqueeze(1);
  const auto y = x.square();
  const auto multihead = make_objective("multihead", "regression");
  const auto p = net->forward(x);
  const auto m = p.extras.at("expert_mean");
  for (int regime : {1, 0}) {  // 1: the Gaussian expert's regime
    SCOPED_TRACE(regime);
    Batch b{x, y, torch::full({8, 1}, double(regime), torch::kFloat64)};
    const auto parts = multihead->loss(net, b).parts;
    ASSERT_EQ(parts.size(), 2u);
    const auto expert = m.select(1, regime == 1 ? 0 : 1);
    EXPECT_NEAR(parts[0].second.item<double>(), (y - expert).square().mean().item<double>(), 1e-12);
    const auto logit = p.extras.at("gate_logit");
    const auto bce = regime == 1 ? -torch::log_sigmoid(logit) : -torch::log_sigmoid(-logit);
    EXPECT_NEAR(parts[1].second.item<double>(), bce.mean().item<double>(), 1e-12);
  }
}

TEST(HybridObjectives, ExpertLossesNeedExperts) {
  auto net = test::network(hybrid(Combine::Mix, Paths::Both, 1, 1));
  net->to(torch::kFloat64);
  const auto x = torch::zeros({3, 1}, torch::kFloat64);
  EXPECT_NE(test::error_message([&] {
              make_objective("moe", "regression")->loss(net, {x, x});
            }).find("two experts"),
            std::string::npos);
}

// Mean gate after training a two-expert hybrid whose gate starts collapsed
// onto the ReLU expert and whose Gaussian expert (and the experts' noise)
// is frozen, so that the loss keeps pushing the gate onto the ReLU expert,
// with and without a gate
// penalty.
double gate_after_training(const std::string& penalty) {
  auto net = experts_network(7);
  {
    torch::NoGradGuard guard;
    net->named_parameters()["body.gate_out.bias"].fill_(-6);
  }
  const auto x = torch::linspace(-2, 2, 64, torch::kFloat64).unsqueeze(1);
  const auto y = torch::abs(x) - 1;  // what the ReLU expert represents exactly
  TrainOptions o;
  o.steps = 300;
  o.lr = 0.03;
  o.progress = false;
  o.freeze = {{"gaussian", 300}, {"expert_noise", 300}};
  o.loss = "moe";
  if (!penalty.empty()) o.penalty = {{penalty, 1.0}};
  const auto result = test::train(net, x, y, {}, {}, o);
  // Gate usage is logged at every check.
  const auto& parts = result.curve.back().parts;
  EXPECT_TRUE(std::any_of(parts.begin(), parts.end(),
                          [](const auto& p) { return p.first == "gate_usage"; }));
  torch::NoGradGuard guard;
  net->eval();
  return net->forward(x).extras.at("gate").mean().item<double>();
}

TEST(HybridTraining, GatePenaltiesPushACollapsedGateBack) {
  const double collapsed = gate_after_training("");
  EXPECT_LT(collapsed, 0.05);
  for (const char* penalty : {"gate_entropy", "gate_balance"}) {
    SCOPED_TRACE(penalty);
    EXPECT_GT(gate_after_training(penalty), 0.15);
  }
}

TEST(HybridTraining, SmoothnessPenaltyIsTheReluPathsSquaredInputGradient) {
  auto body = hybrid(Combine::Experts, Paths::Both, 2, 1, 3);
  body->request_penalties({"smoothness"});
  const auto x = torch::linspace(-1, 1, 5, torch::kFloat64).unsqueeze(1);
  body->predict({x, {}});
  double recorded = NAN;
  for (const auto& [name, value] : body->take_penalties())
    if (name == "smoothness") recorded = value.item<double>();
  torch::NoGradGuard guard;
  const double h = 1e-6;
  auto relu_expert = [&](const torch::Tensor& at) {
    return body->predict({at, {}}).extras.at("expert_mean").select(1, 1);
  };
  const auto slope = (relu_expert(x + h) - relu_expert(x - h)) / (2 * h);
  EXPECT_NEAR(recorded, slope.square().mean().item<double>(), 1e-6);
  // Not recorded outside training mode, and refused where not offered.
  body->take_penalties();
  body->eval();
  body->predict({x, {}});
  EXPECT_TRUE(body->take_penalties().empty());
  auto net = test::network(hybrid(Combine::Mix, Paths::Gaussian, 1, 1));
  net->to(torch::kFloat64);
  TrainOptions o;
  o.steps = 1;
  o.progress = false;
  o.penalty = {{"smoothness", 1}};
  EXPECT_NE(test::error_message([&] {
              test::train(net, x, x, {}, {}, o);
            }).find("this model has no penalties"),
            std::string::npos);
}

TEST(HybridTraining, EachCombinationLearnsAJumpAndAKink) {
  // y = sin(2x) for x < 0.3, then 1.5 + 0.5 x: a jump and a slope change.
  const auto x = torch::linspace(-2, 2, 200).unsqueeze(1);
  const auto y = torch::where(x < 0.3, torch::sin(2 * x), 1.5 + 0.5 * x);
  for (const char* combine : {"mix", "gate", "stabilise", "experts"}) {
    SCOPED_TRACE(combine);
    torch::manual_seed(0);
    auto net = test::network(
        build_model(resolve_model("hybrid", {{"combine", combine}, {"width", 16}}), 1, 1));
    TrainOptions o;
    o.steps = 1500;
    o.progress = false;
    o.loss = std::string(combine) == "experts" ? "moe" : "mse";
    test::train(net, x, y, {}, {}, o);
    torch::NoGradGuard guard;
    net->eval();
    const double rel = ((net->forward(x).mean - y).norm() / y.norm()).item<double>();
    EXPECT_LT(rel, 0.05);
  }
}

TEST(HybridFiles, EveryCombinationRoundTrips) {
  test::TempDir dir;
  const auto data = find_task("smooth2d").generate(2);
  for (const char* combine : {"mix", "gate", "stabilise", "experts"}) {
    SCOPED_TRACE(combine);
    FitRequest r;
    r.model = resolve_model("hybrid", {{"combine", combine}, {"width", 6}});
    r.training.steps = 20;
    r.training.progress = false;
    const auto m = fit_model(data.train, {}, r).model;
    save_model(m, dir.file(combine));
    const auto loaded = load_model(dir.file(combine));
    const auto a = m.predict(data.train.x), b = loaded.predict(data.train.x);
    EXPECT_TRUE(torch::equal(a.mean, b.mean));
    EXPECT_TRUE(torch::equal(a.var, b.var));
    EXPECT_TRUE(torch::equal(a.extras.at("gate"), b.extras.at("gate")));
    EXPECT_EQ(loaded.spec.options, m.spec.options);
  }
}

TEST(HybridChecks, OptionsThatCannotApplyAreRefusedBeforeTraining) {
  auto refusal = [](const std::string& model, const nlohmann::json& options,
                    const nlohmann::json& training) {
    FitRequest r;
    r.model = resolve_model(model, options);
    r.training = TrainOptions::from_json(training);
    return test::error_message([&] { check_fit_request(ModelShape{{2}, 1}, r); });
  };
  EXPECT_NE(refusal("hybrid", {{"combine", "mix"}}, {{"loss", "moe"}}).find("two experts"),
            std::string::npos);
  // A symmetrised two-expert model keeps its gate but not its experts.
  EXPECT_NE(refusal("hybrid", {{"combine", "experts"}, {"symmetrise", true}}, {{"loss", "moe"}})
                .find("not symmetrised"),
            std::string::npos);
  EXPECT_EQ(refusal("hybrid", {{"combine", "experts"}}, {{"loss", "moe"}}), "");
  EXPECT_NE(refusal("gp", {}, {{"loss", "moe"}}).find("fitted by its own method"),
            std::string::npos);
  EXPECT_NE(refusal("gp", {}, {{"freeze", {{"weights", 5}}}}).find("fitted by its own method"),
            std::string::npos);
  EXPECT_NE(refusal("hybrid", {}, {{"optimizer", "lbfgs"}, {"penalty_steps", 10}})
                .find("first-order optimiser"),
            std::string::npos);
  EXPECT_NE(refusal("hybrid", {}, {{"freeze", {{"gate", 5}}}}).find("no parameter group 'gate'"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              TrainOptions::from_json({{"loss", "mse"}, {"loss_options", {{"delta", 1}}}});
            }).find("takes no options"),
            std::string::npos);

  torch::manual_seed(0);
  auto symmetrised = build_model(
      resolve_model("hybrid", {{"combine", "experts"}, {"symmetrise", true}, {"width", 4}}), 2, 1);
  const auto p = symmetrised->predict({torch::randn({5, 2}), {}});
  ASSERT_TRUE(p.extras.count("gate"));
  EXPECT_FALSE(p.extras.count("expert_mean"));
}

TEST(HybridChecks, AnExperimentIsCheckedBeforeItsFirstRun) {
  test::TempDir dir;
  const auto message = test::error_message([&] {
    test::run_quietly(
        {{"name", "bad"},
         {"tasks", {{{"name", "jump-kink"}, {"options", {{"train", 16}, {"test", 10}}}}}},
         {"training", {{"steps", 5}}},
         {"model",
          {{{"family", "gsnn"}},
           {{"family", "hybrid"}, {"label", "mix-moe"}, {"training", {{"loss", "moe"}}}}}}},
        dir.file("out"));
  });
  EXPECT_NE(message.find("model mix-moe"), std::string::npos) << message;
  int results = 0;  // the gsnn model, listed first, did not train
  if (std::filesystem::exists(dir.file("out")))
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir.file("out")))
      results += f.path().filename() == "result.json";
  EXPECT_EQ(results, 0);
}

// Layers return their gate shares rather than keep them: a saved hybrid
// predicts from several threads at once (run under TSan by scripts/sanitize.sh).
TEST(HybridFiles, PredictsFromSeveralThreads) {
  test::TempDir dir;
  const auto data = find_task("smooth2d").generate(2);
  for (const char* combine : {"mix", "experts"}) {
    SCOPED_TRACE(combine);
    FitRequest r;
    r.model = resolve_model("hybrid", {{"combine", combine}, {"width", 6}});
    r.training.steps = 5;
    r.training.progress = false;
    save_model(fit_model(data.train, {}, r).model, dir.file(combine));
    const auto p = Predictor::load(dir.file(combine));
    const auto x = data.train.x.contiguous();
    EXPECT_EQ(test::concurrent_mismatches(p, x.data_ptr<double>(), x.size(0), 4, 10), 0);
  }
}

TEST(PiecewiseTasks, SetsLieWhereTheySayAndGradientsMatchFiniteDifferences) {
  for (const char* name :
       {"jump-kink", "phase-circle", "stress-strain", "boundary-layer", "conditional-arithmetic"}) {
    SCOPED_TRACE(name);
    const auto task = configure_task(name, {{"train", 50}, {"test", 200}});
    const auto data = task.generate(3);
    const auto fn = piecewise_function(name);
    ASSERT_EQ(data.evaluation.size(), 4u);
    EXPECT_EQ(data.train.size(), 50);
    for (const auto& set : data.evaluation) {
      EXPECT_EQ(set.data.size(), 200);
      for (int64_t i = 0; i < set.data.size(); ++i)  // targets are the law
        EXPECT_DOUBLE_EQ(set.data.y[i][0].item<double>(),
                         fn.value(set.data.x[i].contiguous().data_ptr<double>()));
    }
    const auto& away = data.evaluation[2];
    ASSERT_EQ(away.name, "away");
    ASSERT_TRUE(away.gradient.defined());
    const int64_t dim = away.data.x.size(1);
    for (int64_t i = 0; i < 200; i += 7) {
      auto x = away.data.x[i].clone();
      std::vector<double> g(dim);
      fn.gradient(x.data_ptr<double>(), g.data());
      for (int64_t j = 0; j < dim; ++j) {
        EXPECT_DOUBLE_EQ(away.gradient[i][j].item<double>(), g[j]);
        // Central differences with a step far below the distance to any switch.
        const double h = 1e-6 * std::max(1.0, std::abs(x[j].item<double>()));
        auto at = [&](double d) {
          auto p = x.clone();
          p[j] += d;
          return fn.value(p.data_ptr<double>());
        };
        EXPECT_NEAR(g[j], (at(h) - at(-h)) / (2 * h), 1e-5 * std::max(1.0, std::abs(g[j])));
      }
    }
    EXPECT_EQ(data.evaluation[1].name, "near_switch");
    ASSERT_TRUE(data.train.regime.defined());
    EXPECT_GT(data.train.regime.sum().item<double>(), 0);  // both regimes are drawn
    EXPECT_LT(data.train.regime.sum().item<double>(), 50);
    EXPECT_EQ(data.evaluation[3].name, "out_of_domain");
    EXPECT_FALSE(torch::equal(data.evaluation[1].data.y, away.data.y));
  }
  // Near and away split the domain at the band: jump-kink's switches are at -0.4 and 0.3.
  const auto data = configure_task("jump-kink", {{"test", 300}}).generate(1);
  const auto near = data.evaluation[1].data.x, away = data.evaluation[2].data.x;
  auto distance = [](const torch::Tensor& x) {
    return torch::minimum((x + 0.4).abs(), (x - 0.3).abs());
  };
  EXPECT_LT(distance(near).max().item<double>(), 0.05);
  EXPECT_GE(distance(away).min().item<double>(), 0.05);
  EXPECT_GT(data.evaluation[3].data.x.abs().min().item<double>(), 1.0);
  EXPECT_TRUE(torch::equal(data.evaluation[0].data.regime,
                           (data.evaluation[0].data.x > 0.3).to(torch::kFloat64)));
}

TEST(PiecewiseTasks, ResultsHoldTheDerivativeErrorAndTheGate) {
  // A GP on a line: its gradient is the line's slope almost exactly.
  TaskData data;
  data.train.x = torch::linspace(-1, 1, 20, torch::kFloat64).unsqueeze(1);
  data.train.y = 2 * data.train.x + 1;
  data.train.input_names = {"x"};
  data.train.target_names = {"y"};
  NamedSet away{"away", data.train};
  away.gradient = torch::full({20, 1}, 2.0, torch::kFloat64);
  data.evaluation.push_back(away);
  FitRequest r;
  r.model = resolve_model("gp", {{"restarts", 0}});
  r.training.progress = false;
  const auto gp = fit_model(data.train, {}, r).model;
  const auto metrics = evaluate_model(gp, data);
  EXPECT_LT(metrics["away"]["gradient_rel_l2"].get<double>(), 1e-3);
  EXPECT_FALSE(metrics["train"].contains("gradient_rel_l2"));

  // A hybrid through the runner on a built-in task: every set, the
  // derivative error on "away", the gate per set.
  test::TempDir dir;
  const auto e = test::run_quietly(
      {{"name", "piecewise-smoke"},
       {"tasks", {{{"name", "jump-kink"}, {"options", {{"train", 64}, {"test", 50}}}}}},
       {"training", {{"steps", 30}, {"loss", "moe"}}},
       {"model", {{{"family", "hybrid"}, {"options", {{"width", 8}, {"combine", "experts"}}}}}}},
      dir.file("out"));
  const auto result = nlohmann::json::parse(test::read_all(
      run_directory(e, "jump-kink[test=50,train=64]", "hybrid", 0) + "/result.json"));
  for (const char* set : {"test", "near_switch", "away", "out_of_domain"}) {
    SCOPED_TRACE(set);
    EXPECT_TRUE(result["metrics"][set].contains("gate"));
    EXPECT_EQ(result["metrics"][set].contains("gradient_rel_l2"), std::string(set) == "away");
  }
}

}  // namespace
}  // namespace gsnn
