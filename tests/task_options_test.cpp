// Tasks with options (function2d's level): the target's closed form, the
// protocol, option validation, names, and task sweeps in experiment files.
#include <gtest/gtest.h>

#include <cmath>

#include "experiment/spec.hpp"
#include "tasks/builtin.hpp"
#include "test_util.hpp"

namespace gsnn {
namespace {

TEST(Function2d, TargetAtEachLevel) {
  const double s = std::sin(M_PI * 0.5) * std::sin(M_PI * -0.25);
  EXPECT_DOUBLE_EQ(function2d_target(1, 0.5, -0.25), s);
  EXPECT_NEAR(function2d_target(2, 0.5, -0.25), s - 5 * (std::sinh(0.5) + std::sinh(-0.25)), 1e-12);
  // The box U = 1/1.5 on [-3.5, -2] x [2, 3], weight b = 0.1 from level 3.
  const double box = function2d_target(3, -3, 2.5) - function2d_target(2, -3, 2.5);
  EXPECT_NEAR(box, 0.1 / 1.5, 1e-12);
  EXPECT_NEAR(function2d_target(3, 0, 0) - function2d_target(2, 0, 0), 0, 1e-15);
  // Level 4 adds 40 N(x; 0, Sigma), Sigma = [[0.6, 1.1], [1.1, 3.9]] (det 1.13):
  // at 0 the density is 1 / (2 pi sqrt(1.13)); at (1, 1), x^T Sigma^-1 x = (3.9 - 2.2 + 0.6)
  // / 1.13.
  EXPECT_NEAR(function2d_target(4, 0, 0) - function2d_target(3, 0, 0),
              40 / (2 * M_PI * std::sqrt(1.13)), 1e-12);
  EXPECT_NEAR(function2d_target(4, 1, 1) - function2d_target(3, 1, 1),
              40 * std::exp(-0.5 * 2.3 / 1.13) / (2 * M_PI * std::sqrt(1.13)), 1e-12);
}

TEST(Function2d, ProtocolAndOptions) {
  const auto task = configure_task("function2d", {{"level", 4}});
  EXPECT_EQ(task.name, "function2d[level=4]");
  EXPECT_EQ(task.definition["options"]["level"], 4);
  const auto d = task.generate(7);
  EXPECT_EQ(d.train.size(), 4000);
  EXPECT_EQ(d.validation.size(), 1000);
  EXPECT_EQ(d.find("test")->size(), 4000);
  EXPECT_LE(d.train.x.abs().max().item<double>(), 4.0);
  EXPECT_TRUE(torch::equal(task.generate(7).train.x, d.train.x));  // fixed by the data seed
  EXPECT_FALSE(torch::equal(task.generate(8).train.x, d.train.x));
  const double x1 = d.train.x[0][0].item<double>(), x2 = d.train.x[0][1].item<double>();
  EXPECT_DOUBLE_EQ(d.train.y[0][0].item<double>(), function2d_target(4, x1, x2));
  EXPECT_EQ(configure_task("function2d", {}).name, "function2d");  // the default, level 1
  EXPECT_NE(test::error_message([] {
              configure_task("function2d", {{"level", 5}});
            }).find("option 'level' must be <= 4"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              configure_task("function2d", {{"levle", 2}});
            }).find("unknown option 'levle'"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              configure_task("smooth2d", {{"level", 2}});
            }).find("task smooth2d has no options"),
            std::string::npos);
}

TEST(ExperimentFile, TaskOptionsAndSweeps) {
  test::TempDir dir;
  const auto e = load_experiment(dir.write("e.toml", R"(
tasks = ["smooth2d", { name = "function2d", sweep = { level = [2, 4] } },
         { name = "function2d", options = { level = 3 } }]
[[model]]
family = "gmnm"
)"));
  ASSERT_EQ(e.tasks.size(), 4u);
  EXPECT_EQ(e.tasks[1].name, "function2d[level=2]");
  EXPECT_EQ(e.tasks[2].name, "function2d[level=4]");
  EXPECT_EQ(e.tasks[3].name, "function2d[level=3]");
  auto error = [&](const std::string& text) {
    return test::error_message([&] { load_experiment(dir.write("bad.toml", text)); });
  };
  auto e1 = error(
      "tasks = [{ name = \"function2d\", sweep = { levle = [1] } }]\n[[model]]\nfamily = "
      "\"gmnm\"\n");
  EXPECT_NE(
      e1.find("bad.toml:1: key 'tasks[0].sweep.levle': task function2d has no option 'levle'"),
      std::string::npos)
      << e1;
  e1 = error(
      "tasks = [{ name = \"function2d\", options = { level = 0 } }]\n[[model]]\nfamily = "
      "\"gmnm\"\n");
  EXPECT_NE(e1.find("key 'tasks[0].options.level'"), std::string::npos) << e1;
  e1 = error("tasks = [{ nam = \"function2d\" }]\n[[model]]\nfamily = \"gmnm\"\n");
  EXPECT_NE(e1.find("key 'tasks[0]': must be a task name, or a table"), std::string::npos) << e1;
  e1 = error(
      "tasks = [{ name = \"function2d\", sweep = { level = [2, 2] } }]\n[[model]]\nfamily = "
      "\"gmnm\"\n");
  EXPECT_NE(e1.find("appears twice"), std::string::npos) << e1;
}

TEST(ExperimentFile, SizesEveryFamilyByItsSizeOption) {
  for (const std::string model : {"gmnm", "kan", "rbf"}) {
    int64_t count = 0;
    const auto spec =
        size_to_parameters(resolve_model(model, {}), 1500, ModelShape{{2}, 1}, true, &count);
    EXPECT_LE(std::abs(count - 1500), 75) << model;
    EXPECT_EQ(count, count_parameters(*build_model(spec, 2, 1)) + 1) << model;
  }
}

}  // namespace
}  // namespace gsnn
