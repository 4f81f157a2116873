// The core's extension points, used as a new model family, objective, task
// kind or metric would use them: through the public registries only, then
// trained, evaluated, saved and reported by the ordinary runner.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/metrics.hpp"
#include "experiment/runner.hpp"
#include "gsnn/predictor.hpp"
#include "io/model_file.hpp"
#include "nn/gaussian_linear.hpp"
#include "nn/mlp.hpp"
#include "report/report.hpp"
#include "tasks/kind.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

// Three Gaussian blobs in 2-D, labels 0, 1, 2.
Dataset blobs(int64_t per_class, uint64_t seed) {
  Random rng(seed);
  const double centres[3][2] = {{-2, 0}, {2, 0}, {0, 2.5}};
  auto x = torch::empty({3 * per_class, 2}, torch::kFloat64);
  auto y = torch::empty({3 * per_class, 1}, torch::kFloat64);
  for (int64_t i = 0; i < 3 * per_class; ++i) {
    const int64_t c = i % 3;
    x[i][0] = rng.normal(centres[c][0], 0.7);
    x[i][1] = rng.normal(centres[c][1], 0.7);
    y[i][0] = static_cast<double>(c);
  }
  return {x, y, {"x1", "x2"}, {"class"}, {"a", "b", "c"}};
}

TaskData blob_data(uint64_t seed) {
  TaskData d;
  d.train = blobs(60, seed);
  d.validation = blobs(20, seed + 100);
  d.evaluation = {{"test", blobs(100, seed + 200)}};
  d.domain = {{-4, 4}, {-3, 5}};
  return d;
}

// A toy objective: the multi-class Brier score of the softmax, with its two
// halves (true class, other classes) as named parts.
class BrierObjective : public Objective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    const auto p = torch::softmax(model->forward(b.x).mean, 1);
    const auto onehot = torch::one_hot(b.y.reshape({-1}).to(torch::kLong), p.size(1)).to(p.dtype());
    const auto own = ((1 - p) * onehot).pow(2).sum(1).mean();
    const auto others = (p * (1 - onehot)).pow(2).sum(1).mean();
    return {own + others, {{"brier_true", own}, {"brier_other", others}}};
  }
};

// A toy task kind: three-class problems measured by their worst class's recall.
void register_toy_kind() {
  register_metric({"worst_recall", "worst recall", Better::Higher, NAN, Shown::EverySet});
  register_objective(
      {"brier", "multi-class Brier score", {"three-class"}, [](const ObjectiveOptions&) {
         return std::make_shared<const BrierObjective>();
       }});
  TaskKind kind;
  kind.name = "three-class";
  kind.summary = "three classes; worst-class recall";
  kind.default_objective = "brier";
  kind.regression = false;
  kind.output_names = [](const Dataset& d) { return d.classes; };
  kind.evaluate = [](const Prediction& p, const Dataset& d) {
    const auto predicted = p.mean.argmax(1);
    const auto truth = d.y.reshape({-1}).to(torch::kLong).to(predicted.device());
    double worst = 1;
    for (int64_t c = 0; c < 3; ++c) {
      const auto mine = truth == c;
      worst = std::min(worst,
                       ((predicted == c) & mine).sum().item<double>() / mine.sum().item<double>());
    }
    return nlohmann::json{{"worst_recall", worst}};
  };
  register_task_kind(kind);
  register_task({"blobs3-toy",
                 "three Gaussian blobs",
                 "",
                 blob_data,
                 {{"test", "blobs3-toy"}},
                 "three-class"});
  register_task(
      {"blobs3", "three Gaussian blobs", "", blob_data, {{"test", "blobs3"}}, "classification"});
}

TEST(Core, ToyObjectiveAndTaskKindThroughTheRunnerAndReport) {
  register_toy_kind();
  test::TempDir dir;
  auto e = parse_experiment({{"name", "toy"},
                             {"tasks", {"blobs3-toy"}},
                             {"seeds", 2},
                             {"training", {{"steps", 150}, {"eval_every", 50}, {"lr", 0.03}}},
                             {"model",
                              {{{"family", "mlp-relu"}, {"options", {{"width", 16}}}},
                               {{"family", "gsnn"}, {"options", {{"width", 16}}}}}}},
                            "test", nullptr);
  e.output = dir.file("results");
  RunOptions o;
  o.progress = false;
  EXPECT_EQ(run_experiment(e, o).ran, 4);
  const auto record = nlohmann::json::parse(
      test::read_all(run_directory(e, "blobs3-toy", "gsnn", 1) + "/result.json"));
  EXPECT_EQ(record["kind"], "three-class");
  EXPECT_EQ(record["training"]["loss"], "brier");
  EXPECT_GT(record["metrics"]["test"]["worst_recall"].get<double>(), 0.8);
  EXPECT_TRUE(record["curve"].back()["parts"].contains("brier_other"));
  // The saved model is a classifier of the new kind and loads as one.
  const auto model = load_model(run_directory(e, "blobs3-toy", "gsnn", 1) + "/model");
  EXPECT_EQ(model.kind, "three-class");
  EXPECT_EQ(model.outputs, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(model.network->regression());
  // The Predictor serves regression models only, and says so.
  const auto error = test::error_message(
      [&] { Predictor::load(run_directory(e, "blobs3-toy", "gsnn", 1) + "/model"); });
  EXPECT_NE(error.find("a three-class model; the Predictor serves regression models"),
            std::string::npos)
      << error;

  write_report(dir.file("results"), dir.file("report"));
  const auto html = test::read_all(dir.file("report/index.html"));
  for (const char* needle : {"test worst recall", "toy / blobs3-toy", "loss parts"})
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  EXPECT_EQ(html.find("test MSE"), std::string::npos);  // columns come from the results
}

TEST(Core, ClassificationKindLearnsBlobs) {
  // (blobs3 is registered by the test above; register it here if run alone)
  bool registered = false;
  for (const auto& t : all_tasks()) registered = registered || t.name == "blobs3";
  if (!registered) register_toy_kind();
  FitRequest r;
  r.kind = "classification";
  r.model = resolve_model("mlp-relu", {{"width", 16}});
  r.training.loss = "cross_entropy";
  r.training.steps = 200;
  r.training.progress = false;
  const auto data = blob_data(4);
  auto fit = fit_model(data.train, data.validation, r);
  const auto metrics = evaluate_model(fit.model, data);
  EXPECT_GT(metrics["test"]["accuracy"].get<double>(), 0.9) << metrics.dump();
  EXPECT_LT(metrics["test"]["cross_entropy"].get<double>(), 0.4) << metrics.dump();
  // A regression objective does not apply to classification.
  r.training.loss = "mse";
  const auto error = test::error_message([&] { fit_model(data.train, data.validation, r); });
  EXPECT_NE(error.find("loss 'mse' does not apply to classification"), std::string::npos) << error;
}

// Image-shaped samples [n, 1, 4, 4]: bright or dark, with noise.
TaskData tiny_images(uint64_t seed) {
  torch::manual_seed(seed);
  auto make = [](int64_t n) {
    const auto label = torch::arange(n, torch::kFloat64).remainder(2).unsqueeze(1);
    const auto x = torch::randn({n, 1, 4, 4}, torch::kFloat64) + 1.5 * label.view({n, 1, 1, 1});
    return Dataset{x, label, {}, {"label"}, {"dark", "bright"}};
  };
  TaskData d;
  d.train = make(80);
  d.validation = make(20);
  d.evaluation = {{"test", make(100)}};
  return d;  // no domain: nothing to grid over
}

TEST(Core, ImageShapedSamplesThroughTheRunner) {
  register_task({"tiny-images-toy",
                 "4x4 bright or dark",
                 "",
                 tiny_images,
                 {{"test", "tiny-images-toy"}},
                 "classification"});
  test::TempDir dir;
  const auto e =
      test::run_quietly({{"name", "img"},
                         {"tasks", {"tiny-images-toy"}},
                         {"training", {{"steps", 100}}},
                         {"model", {{{"family", "mlp-relu"}, {"options", {{"width", 8}}}}}}},
                        dir.file("results"));
  const auto run = run_directory(e, "tiny-images-toy", "mlp-relu", 0);
  const auto record = nlohmann::json::parse(test::read_all(run + "/result.json"));
  EXPECT_GT(record["metrics"]["test"]["accuracy"].get<double>(), 0.85) << record["metrics"];
  EXPECT_TRUE(record["smoothness"].is_null());
  const auto model = load_model(run + "/model");
  EXPECT_EQ(model.network->shape().input_shape, (std::vector<int64_t>{1, 4, 4}));
  EXPECT_EQ(model.network->scaling()[0].sizes(), (std::vector<int64_t>{1, 4, 4}));
  write_report(dir.file("results"), dir.file("report"));
  EXPECT_NE(test::read_all(dir.file("report/index.html")).find("test accuracy"), std::string::npos);
}

// A Nadaraya-Watson kernel smoother: fitted directly (it stores the training
// points, buffers whose size follows the data), never by gradient steps.
class KernelSmootherImpl : public ModelImpl {
 public:
  explicit KernelSmootherImpl(const ModelShape& shape) {
    x_ = register_buffer("train_x", torch::zeros({0, shape.inputs()}));
    y_ = register_buffer("train_y", torch::zeros({0, shape.outputs}));
  }
  Moments forward(const Moments& in) override {
    const auto d2 = torch::cdist(in.mean, x_).pow(2);
    const auto w = torch::softmax(-d2 / 0.02, 1);
    return {torch::matmul(w, y_), {}};
  }
  bool fits_directly() const override { return true; }
  void fit_directly(const torch::Tensor& x, const torch::Tensor& y, uint64_t) override {
    x_.set_(x.clone());
    y_.set_(y.clone());
  }
  std::vector<std::string> data_sized_buffers() const override { return {"train_x", "train_y"}; }

 private:
  torch::Tensor x_, y_;
};

TEST(Core, FamilyFittedDirectlyWithDataSizedBuffers) {
  register_model_family({"kernel-smoother-toy",
                         "Nadaraya-Watson smoother (test)",
                         false,
                         {},
                         [](const nlohmann::json&, const ModelShape& shape) -> ModelPtr {
                           return std::make_shared<KernelSmootherImpl>(shape);
                         }});
  test::TempDir dir;
  const auto e = test::run_quietly({{"name", "direct"},
                                    {"tasks", {"smooth2d"}},
                                    {"model", {{{"family", "kernel-smoother-toy"}}}}},
                                   dir.file("results"));
  const auto run = run_directory(e, "smooth2d", "kernel-smoother-toy", 0);
  const auto record = nlohmann::json::parse(test::read_all(run + "/result.json"));
  EXPECT_EQ(record["stop_reason"], "fitted by the model's own method");
  EXPECT_TRUE(record["curve"].empty());
  EXPECT_LT(record["metrics"]["test"]["mse"].get<double>(), 0.05);
  // The stored training points (256 of them) come back at their own size.
  auto model = load_model(run + "/model");
  EXPECT_EQ(model.network->body().named_buffers()["train_x"].size(0), 256);
  const auto data = find_task("smooth2d").generate(1);
  // The same predictions as in the run: recompute its test MSE from the loaded model.
  const auto metrics = evaluate_model(model, data);
  EXPECT_DOUBLE_EQ(metrics["test"]["mse"].get<double>(),
                   record["metrics"]["test"]["mse"].get<double>());
  write_report(dir.file("results"), dir.file("report"));  // no learning curve: no figure, no crash
}

// A run with one check has a one-point learning curve: drawn as a point,
// not as a line through it (which gnuplot draws as nothing).
TEST(Report, OneCheckCurvesAreDrawnAsPoints) {
  test::TempDir dir;
  test::run_quietly({{"name", "short"},
                     {"tasks", {"smooth2d"}},
                     {"training", {{"steps", 20}, {"eval_every", 20}}},
                     {"model", {{{"family", "mlp-tanh"}}}}},
                    dir.file("results"));
  write_report(dir.file("results"), dir.file("report"));
  const auto script = test::read_all(dir.file("report/s0_curves.gp"));
  EXPECT_NE(script.find("with points pt 7"), std::string::npos) << script;
  EXPECT_NE(script.find("standardised units"), std::string::npos) << script;
}

// A family that records what its data-dependent initialisation saw.
class InitRecorderImpl : public ModelImpl {
 public:
  explicit InitRecorderImpl(const ModelShape& shape)
      : linear_(register_module("linear", torch::nn::Linear(shape.inputs(), shape.outputs))) {}
  Moments forward(const Moments& in) override { return {linear_->forward(in.mean), {}}; }
  void initialise(const torch::Tensor& x, const torch::Tensor& y) override {
    seen_x = x.clone();
    seen_y = y.clone();
  }
  torch::Tensor seen_x, seen_y;

 private:
  torch::nn::Linear linear_;
};

TEST(Core, InitialisationSeesStandardisedDataAndGradientsAreInRawUnits) {
  register_model_family({"init-recorder-toy",
                         "records initialise()",
                         false,
                         {},
                         [](const nlohmann::json&, const ModelShape& shape) -> ModelPtr {
                           return std::make_shared<InitRecorderImpl>(shape);
                         }});
  auto x = torch::rand({50, 2}, torch::kFloat64) * 100 + 1000;  // far from 0, wide
  auto y = x.select(1, 0).unsqueeze(1) * 3 - 7;
  const Dataset data{x, y, {"a", "b"}, {"y"}};
  FitRequest r;
  r.model = resolve_model("init-recorder-toy", {});
  r.training.progress = false;
  auto m = prepare_model(data, r);
  const auto& body = dynamic_cast<InitRecorderImpl&>(m.network->body());
  EXPECT_LT(body.seen_x.mean(0).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(body.seen_x.std(0)[0].item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(body.seen_y.std().item<double>(), 1.0, 1e-5);

  // d prediction / d raw input by autograd equals the finite difference of predict().
  const auto x0 = x.slice(0, 0, 3).clone().requires_grad_();
  m.network->predict(x0).mean.sum().backward();
  const double h = 1e-2;
  auto shifted = x.slice(0, 0, 3).clone();
  shifted.select(1, 1) += h;
  const auto fd = (m.predict(shifted).mean - m.predict(x.slice(0, 0, 3)).mean) / h;
  EXPECT_TRUE(torch::allclose(x0.grad().select(1, 1).unsqueeze(1), fd, 1e-3, 1e-6))
      << x0.grad() << fd;
}

TEST(Core, FrozenGroupsAndGroupLearningRates) {
  const auto x = torch::linspace(-2, 2, 32).unsqueeze(1);
  const auto y = torch::sin(2 * x);
  torch::manual_seed(1);
  auto net = test::network(
      build_model(resolve_model("gsnn", {{"width", 6}, {"tau_schedule", "learned"}}), 1, 1));
  auto group = [&](const std::string& name) {
    for (const auto& g : net->parameter_groups())
      if (g.name == name) {
        std::vector<torch::Tensor> copy;
        for (const auto& p : g.parameters) copy.push_back(p.detach().clone());
        return copy;
      }
    return std::vector<torch::Tensor>{};
  };
  auto same = [](const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    for (size_t i = 0; i < a.size(); ++i)
      if (!torch::equal(a[i], b[i])) return false;
    return true;
  };
  TrainOptions o;
  o.steps = 20;
  o.eval_every = 10;
  o.progress = false;
  o.loss = "nll";
  o.freeze = {{"weights", 10}};
  o.group_lr = {{"tau", 0.0}};
  const auto weights0 = group("weights"), tau0 = group("tau"), noise0 = group("noise");
  int checks = 0;
  TrainHooks hooks;
  hooks.on_check = [&](const CurvePoint& p) {
    ++checks;
    if (p.step == 10) EXPECT_TRUE(same(group("weights"), weights0));  // frozen for 10 steps
  };
  test::train(net, x, y, {}, {}, o, "t", hooks);
  EXPECT_EQ(checks, 2);
  EXPECT_FALSE(same(group("weights"), weights0));  // trained from step 11
  EXPECT_TRUE(same(group("tau"), tau0));           // lr multiplier 0
  EXPECT_FALSE(same(group("noise"), noise0));

  o.freeze = {{"gate", 10}};
  const auto error = test::error_message([&] { test::train(net, x, y, {}, {}, o); });
  EXPECT_NE(error.find("no parameter group 'gate' (groups: noise, tau, weights)"),
            std::string::npos)
      << error;
}

TEST(Moments, AlgebraMatchesMonteCarlo) {
  torch::manual_seed(2);
  const int64_t n = 400000;
  const auto ma = torch::tensor({0.5, -1.0}, torch::kFloat64),
             va = torch::tensor({0.3, 2.0}, torch::kFloat64);
  const auto mb = torch::tensor({2.0, 0.1}, torch::kFloat64),
             vb = torch::tensor({0.5, 0.2}, torch::kFloat64);
  const auto a = ma + va.sqrt() * torch::randn({n, 2}, torch::kFloat64);
  const auto b = mb + vb.sqrt() * torch::randn({n, 2}, torch::kFloat64);
  const Moments A{ma, va}, B{mb, vb};
  const auto check = [&](const Moments& m, const torch::Tensor& samples, const char* what) {
    const auto se = (samples.var(0) / n).sqrt();
    EXPECT_TRUE(((m.mean - samples.mean(0)).abs() < 5 * se).all().item<bool>()) << what;
    EXPECT_TRUE(torch::allclose(m.variance(), samples.var(0), 0.02)) << what;
  };
  check(moments_product(A, B), a * b, "product");
  check(moments_sum(A, B), a + b, "sum");
  check(moments_scale(A, torch::tensor({3.0, -0.5}, torch::kFloat64)),
        a * torch::tensor({3.0, -0.5}, torch::kFloat64), "scale");
  const auto w = torch::tensor({{1.0, -2.0}, {0.5, 0.25}, {0.0, 3.0}}, torch::kFloat64);
  check(moments_affine(A, w, torch::ones({3}, torch::kFloat64)), torch::matmul(a, w.t()) + 1,
        "affine");
  // Deterministic operands stay deterministic: no zero variance is allocated.
  EXPECT_TRUE(moments_affine({ma, {}}, w, {}).deterministic());
  EXPECT_TRUE(moments_product({ma, {}}, {mb, {}}).deterministic());
  EXPECT_TRUE(torch::allclose(moments_product({ma, {}}, B).var, vb * ma * ma));
  MlpOptions mo;
  mo.inputs = 2;
  EXPECT_TRUE(Mlp(mo)->forward({torch::randn({3, 2}), {}}).deterministic());
}

}  // namespace
}  // namespace gsnn
