// Experiment files (every rejection names file, line and key), sizing to a
// parameter count, resumable runs, checkpoint continuation, metrics and the
// HTML/PNG report.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "eval/metrics.hpp"
#include "experiment/runner.hpp"
#include "experiment/spec.hpp"
#include "report/report.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

std::string experiment_error(const std::string& toml) {
  test::TempDir dir;
  const auto path = dir.write("e.toml", toml);
  return test::error_message([&] { load_experiment(path); });
}

const char* kGood = R"(name = "t"
tasks = ["smooth2d"]
seeds = 2
[training]
steps = 20
[[model]]
family = "gsnn"
[model.options]
width = 8
[model.sweep]
depth = [1, 2]
tau_schedule = ["constant", "learned"]
[[model]]
family = "mlp-relu"
)";

TEST(ExperimentFile, ParsesAndExpandsSweeps) {
  test::TempDir dir;
  const auto e = load_experiment(dir.write("e.toml", kGood));
  ASSERT_EQ(e.models.size(), 5u);
  EXPECT_EQ(e.models[0].label, "gsnn[depth=1,tau_schedule=constant]");
  EXPECT_EQ(e.models[3].spec.options["tau_schedule"], "learned");
  EXPECT_EQ(e.models[3].spec.options["width"], 8);
  EXPECT_EQ(e.seeds, (std::vector<uint64_t>{0, 1}));
}

TEST(ExperimentFile, RejectsBadFilesWithLineAndKey) {
  auto e = experiment_error("tasks = [\"smooth3d\"]\n[[model]]\nfamily = \"gsnn\"\n");
  EXPECT_NE(e.find("e.toml:1: key 'tasks[0]'"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown task 'smooth3d'"), std::string::npos) << e;

  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gsnn\"\n[model.options]\ndepht = 2\n");
  EXPECT_NE(e.find("e.toml:5: key 'model[0].options.depht'"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown option 'depht'"), std::string::npos) << e;

  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[training]\nsteps = \"many\"\n[[model]]\nfamily = \"gsnn\"\n");
  EXPECT_NE(e.find("e.toml:3: key 'training.steps'"), std::string::npos) << e;
  EXPECT_NE(e.find("must be an integer"), std::string::npos) << e;

  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[training]\nsteps = -10\n[[model]]\nfamily = \"gsnn\"\n");
  EXPECT_NE(e.find("e.toml:3: key 'training.steps'"), std::string::npos) << e;
  EXPECT_NE(e.find("must be >= 1"), std::string::npos) << e;

  e = experiment_error("tasks = [\"smooth2d\"]\nmodels = 3\n");
  EXPECT_NE(e.find("e.toml:2: key 'models': unknown key"), std::string::npos) << e;

  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gsnn\"\n[model.sweep]\ndepth = 3\n");
  EXPECT_NE(e.find("key 'model[0].sweep.depth'"), std::string::npos) << e;

  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gsnn\"\n[model.sweep]\nwidht = [3]\n");
  EXPECT_NE(e.find("unknown option 'widht'"), std::string::npos) << e;

  // An option that acts only with another is refused when it acts in no
  // combination of the sweep, named where it is written: in the options, or
  // in the sweep. A sweep over its switch uses it where it acts.
  const std::string autoencoder = "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"autoencoder\"\n";
  EXPECT_EQ(experiment_error(autoencoder + "options = { components = 8 }\n"
                                           "sweep = { gmnm = [true] }\n"),
            "");
  EXPECT_EQ(experiment_error(autoencoder + "options = { components = 8 }\n"
                                           "sweep = { gmnm = [true, false] }\n"),
            "");
  e = experiment_error(autoencoder + "options = { components = 8 }\n");
  EXPECT_NE(e.find("e.toml:4: key 'model[0].options.components': model autoencoder: option "
                   "'components' acts only with gmnm = true (it is false)"),
            std::string::npos)
      << e;
  e = experiment_error(autoencoder + "sweep = { components = [4, 8] }\n");
  EXPECT_NE(e.find("key 'model[0].sweep.components': in every combination of the sweep, "),
            std::string::npos)
      << e;
  const std::string gsnn = "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gsnn\"\n";
  EXPECT_EQ(experiment_error(gsnn + "options = { tau_ratio = 0.7 }\n"
                                    "sweep = { tau_schedule = [\"constant\", \"geometric\"] }\n"),
            "");
  e = experiment_error(gsnn +
                       "options = { tau_ratio = 0.7 }\n"
                       "sweep = { tau_schedule = [\"constant\", \"learned\"] }\n");
  EXPECT_NE(e.find("e.toml:4: key 'model[0].options.tau_ratio': in every combination of the "
                   "sweep, model gsnn: option 'tau_ratio' acts only with tau_schedule = "
                   "\"geometric\"; remove it"),
            std::string::npos)
      << e;  // no "(it is ...)": the swept switch has several values
  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"hybrid\"\n"
      "options = { paths = \"relu\", tau = 0.3 }\n");
  EXPECT_NE(e.find("option 'tau' acts only with paths = \"both\" or \"gaussian\" (it is "
                   "\"relu\")"),
            std::string::npos)
      << e;
  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gp\"\n"
      "options = { optimize = false, restarts = 5 }\n");
  EXPECT_NE(e.find("option 'restarts' acts only with optimize = true"), std::string::npos) << e;
  // Written in the file counts, even at the default value (restarts = 2).
  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gp\"\n"
      "options = { optimize = false }\nsweep = { restarts = [2, 3] }\n");
  EXPECT_NE(e.find("key 'model[0].sweep.restarts': in every combination of the sweep"),
            std::string::npos)
      << e;
  e = experiment_error(
      "tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"hybrid\"\n"
      "options = { paths = \"gaussian\", relu_width = 8 }\n");
  EXPECT_NE(e.find("option 'relu_width' acts only with paths = \"both\" or \"relu\""),
            std::string::npos)
      << e;

  e = experiment_error("tasks = [\"smooth2d\", \"smooth2d\"]\n[[model]]\nfamily = \"gsnn\"\n");
  EXPECT_NE(e.find("appears twice"), std::string::npos) << e;

  e = experiment_error("tasks = [\"smooth2d\"]\n[[model]]\nfamily = \"gsnn\"\noptions = 3\n");
  EXPECT_NE(e.find("e.toml:4: key 'model[0].options': must be a table"), std::string::npos) << e;

  e = experiment_error("tasks = [\"smooth2d\"\n");
  EXPECT_NE(e.find("e.toml:"), std::string::npos) << e;  // TOML syntax error with position
}

TEST(ExperimentFile, SizesToTargetParameters) {
  for (const std::string model : {"gsnn", "mlp-relu"}) {
    int64_t count = 0;
    const auto spec = size_to_parameters(resolve_model(model, {{"depth", 2}}), 3000,
                                         ModelShape{{2}, 1}, true, &count);
    EXPECT_LE(std::abs(count - 3000), 150) << model;
    EXPECT_EQ(count, count_parameters(*build_model(spec, 2, 1)) + 1);
  }
  EXPECT_THROW(
      size_to_parameters(resolve_model("gsnn", {{"depth", 1}}), 3, ModelShape{{2}, 1}, true),
      std::invalid_argument);
  // A family that cannot build at width 1 (a length-scale layer needs two
  // weights) is sized from its smallest width that builds.
  int64_t count = 0;
  size_to_parameters(resolve_model("lengthscale-tanh", {}), 1200, ModelShape{{2}, 1}, true, &count);
  EXPECT_LE(std::abs(count - 1200), 60);
  // Beyond the size option's largest value: said so, without building a model past it.
  EXPECT_NE(test::error_message([] {
              size_to_parameters(resolve_model("lstm", {}), 90000000, ModelShape{{10, 4}, 1}, true);
            })
                .find("target_params 90000000 is more than model 'lstm' has at its largest hidden "
                      "(4096: 67211266 parameters)"),
            std::string::npos);
}

TEST(Trainer, ResumedTrainingIsIdentical) {
  const auto x = torch::linspace(-2, 2, 40).unsqueeze(1);
  const auto y = torch::sin(2 * x);
  TrainOptions o;
  o.steps = 60;
  o.batch_size = 16;
  o.progress = false;
  o.eval_every = 10;
  auto make = [] { return test::network("gsnn", 5, 6); };
  auto straight = make();
  test::train(straight, x, y, x, y, o);

  // Interrupted after the checkpoint at step 30 (as if killed), then resumed.
  auto first = make();
  TrainState saved;
  std::vector<torch::Tensor> weights_at_checkpoint;
  TrainHooks hooks;
  hooks.checkpoint_every = 30;
  hooks.on_checkpoint = [&](const TrainState& s) {
    saved = s;
    for (auto& p : first->parameters()) weights_at_checkpoint.push_back(p.detach().clone());
    throw std::runtime_error("killed");
  };
  EXPECT_THROW(test::train(first, x, y, x, y, o, "t", hooks), std::runtime_error);
  auto resumed = make();
  {
    torch::NoGradGuard g;
    auto ps = resumed->parameters();
    for (size_t i = 0; i < ps.size(); ++i) ps[i].copy_(weights_at_checkpoint[i]);
  }
  TrainHooks resume;
  resume.resume = &saved;
  const auto r = test::train(resumed, x, y, x, y, o, "t", resume);
  EXPECT_EQ(r.steps_run, 60);
  const auto a = straight->parameters(), b = resumed->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

TEST(Metrics, CalibratedGaussianHasNominalCoverage) {
  torch::manual_seed(0);
  const auto mean = torch::randn({20000, 1}, torch::kFloat64);
  const auto var = torch::rand({20000, 1}, torch::kFloat64) + 0.5;
  const auto y = mean + var.sqrt() * torch::randn({20000, 1}, torch::kFloat64);
  const auto m = evaluate_prediction({mean, var}, y);
  EXPECT_NEAR(m.coverage50, 0.5, 0.02);
  EXPECT_NEAR(m.coverage95, 0.95, 0.01);
  EXPECT_LT(m.calibration_error, 0.01);
  EXPECT_NEAR(m.mse, var.mean().item<double>(), 0.05);
}

TEST(Metrics, SmoothnessOfKnownFunctions) {
  // f = sin(x) on [0, 2 pi]: mean f''^2 = 1/2, Lipschitz = 1
  const auto s =
      measure_smoothness([](const torch::Tensor& x) { return torch::sin(x); }, {{0, 2 * M_PI}});
  EXPECT_NEAR(s.second_difference, 0.5, 1e-3);
  EXPECT_NEAR(s.lipschitz, 1.0, 1e-3);
  // f = 3 x1 - x2^2 on [0,1]^2: f_x1x1 = 0, f_x2x2 = -2 -> mean over axes of f''^2 = 2
  const auto t = measure_smoothness(
      [](const torch::Tensor& x) {
        return (3 * x.select(1, 0) - x.select(1, 1).pow(2)).unsqueeze(1);
      },
      {{0, 1}, {0, 1}});
  EXPECT_NEAR(t.second_difference, 2.0, 1e-6);
  EXPECT_NEAR(t.lipschitz, 3.0, 1e-6);
}

TEST(Metrics, SmoothnessGridStaysBounded) {
  int64_t largest = 0;
  auto f = [&](const torch::Tensor& x) {
    largest = std::max(largest, x.size(0));
    return x.sum(1, true);
  };
  for (int d : {3, 5, 11}) {
    const auto s = measure_smoothness(f, std::vector<std::pair<double, double>>(d, {0, 1}));
    EXPECT_NEAR(s.second_difference, 0.0, 1e-9) << d;
  }
  EXPECT_LE(largest, 200000);
  const auto s = measure_smoothness(f, std::vector<std::pair<double, double>>(16, {0, 1}));
  EXPECT_TRUE(std::isnan(s.second_difference));  // 3^16 points would not fit: not measured
  EXPECT_LE(largest, 200000);
}

bool is_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in && std::string(magic, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

TEST(Runner, RunsSkipsFinishedRunsAndReports) {
  test::TempDir dir;
  for (const std::string task : {"smooth2d", "noisy-sine"}) {
    auto e = parse_experiment(
        {{"name", "tiny"},
         {"tasks", {task}},
         {"seeds", 2},
         {"training", {{"steps", 30}, {"eval_every", 10}}},
         {"model",
          {{{"family", "gsnn"}, {"options", {{"width", 6}}}, {"sweep", {{"depth", {1, 2}}}}},
           {{"family", "mlp-relu"}, {"options", {{"width", 6}}}}}}},
        "test", nullptr);
    e.output = dir.file("results");
    RunOptions o;
    o.progress = false;
    auto s = run_experiment(e, o);
    EXPECT_EQ(s.ran, 6);
    const auto result = run_directory(e, task, "gsnn[depth=2]", 1) + "/result.json";
    ASSERT_TRUE(std::filesystem::exists(result));
    std::ifstream in(result);
    const auto before = nlohmann::json::parse(in);
    EXPECT_EQ(before["schema_version"], kRunSchemaVersion);
    EXPECT_EQ(before["curve"].size(), 3u);
    EXPECT_TRUE(before["metrics"]["test"]["mse"].is_number());

    // Rerun: everything is done. Remove one result: only that run trains again,
    // with identical metrics.
    s = run_experiment(e, o);
    EXPECT_EQ(s.ran, 0);
    EXPECT_EQ(s.skipped, 6);
    std::filesystem::remove(result);
    s = run_experiment(e, o);
    EXPECT_EQ(s.ran, 1);
    std::ifstream again(result);
    const auto after = nlohmann::json::parse(again);
    EXPECT_EQ(after["metrics"], before["metrics"]);
  }
  const auto report = write_report(dir.file("results"), dir.file("report"));
  EXPECT_EQ(report.tasks, 2);
  EXPECT_EQ(report.runs, 12);
  std::ifstream html_in(dir.file("report/index.html"));
  const std::string html((std::istreambuf_iterator<char>(html_in)),
                         std::istreambuf_iterator<char>());
  for (const char* needle :
       {"<table>", "tiny / smooth2d", "tiny / noisy-sine", "test MSE", "learning curves",
        "calibration", "log10 |error|", "tiny / noisy-sine: gsnn[depth=1] (seed 0)",
        "gsnn sweep, test MSE against depth", "<b>"})
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  int pngs = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.file("report")))
    if (f.path().extension() == ".png") {
      EXPECT_TRUE(is_png(f.path().string())) << f.path();
      ++pngs;
    }
  EXPECT_EQ(pngs, report.figures);
  EXPECT_GE(pngs, 2 * 2 + 3 + 3 + 2);  // curves + calibration per task, fits, maps, sweeps
}

// Every example experiment file is valid as shipped (names, options, tasks).
TEST(ExperimentFile, ExamplesLoad) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(GSNN_SOURCE_DIR) +
                                                               "/examples/experiments")) {
    if (entry.path().extension() != ".toml") continue;
    ++files;
    EXPECT_NO_THROW(load_experiment(entry.path().string())) << entry.path();
  }
  EXPECT_GE(files, 9);
}

}  // namespace
}  // namespace gsnn
