// Files from others are data: no command runs from a label or a path, names
// from files stay inside their directory, no good model is lost, and every
// bad value is refused with a message that names it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/csv.hpp"
#include "experiment/runner.hpp"
#include "experiment/spec.hpp"
#include "gsnn/predictor.hpp"
#include "io/files.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "report/gnuplot.hpp"
#include "report/report.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"
#include "train/trainer.hpp"

namespace gsnn {
namespace {
namespace fs = std::filesystem;

TEST(NoCommandExecution, GnuplotTakesLabelsAndPathsAsText) {
  test::TempDir dir;
  const auto trap = dir.file("ran");
  const auto sub = dir.file("a$(touch " + trap + "1)`touch " + trap + "2`'\"");
  fs::create_directories(sub);
  PlotSpec spec;
  spec.path = sub + "/p.png";
  spec.title = "`touch " + trap + "3` $(touch " + trap + "4) 'quote' \"dq\" @x";
  spec.xlabel = spec.title;
  spec.ylabel = "y";
  spec.series.push_back({spec.title, {0, 1}, {1, 2}, {}, {}, "lines"});
  plot_lines(spec);
  EXPECT_TRUE(fs::exists(spec.path));
  for (int i = 1; i <= 4; ++i) EXPECT_FALSE(fs::exists(trap + std::to_string(i))) << i;
}

TEST(NoCommandExecution, ReportEscapesLabelsInHtml) {
  test::TempDir dir;
  auto e = parse_experiment({{"name", "x"},
                             {"tasks", {"smooth2d"}},
                             {"training", {{"steps", 10}, {"eval_every", 5}}},
                             {"model",
                              {{{"family", "mlp-relu"},
                                {"label", "a\"><script>`touch gsnn_html_trap`"},
                                {"options", {{"width", 4}}}}}}},
                            "test", nullptr);
  e.output = dir.file("results");
  RunOptions o;
  o.progress = false;
  run_experiment(e, o);
  write_report(dir.file("results"), dir.file("report"));
  const auto html = test::read_all(dir.file("report/index.html"));
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("a&quot;&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_FALSE(fs::exists("gsnn_html_trap"));
}

TEST(NoCommandExecution, ReportRefusesMalformedTaskData) {
  test::TempDir dir;
  auto e = parse_experiment({{"name", "x"},
                             {"tasks", {"noisy-sine"}},
                             {"training", {{"steps", 10}, {"eval_every", 5}}},
                             {"model", {{{"family", "mlp-relu"}, {"options", {{"width", 4}}}}}}},
                            "test", nullptr);
  e.output = dir.file("results");
  RunOptions o;
  o.progress = false;
  run_experiment(e, o);
  std::ofstream(dir.file("results/noisy-sine/train.csv")) << "x\n1\n2\n";
  const auto error =
      test::error_message([&] { write_report(dir.file("results"), dir.file("report")); });
  EXPECT_NE(error.find("train.csv: expected 2 columns"), std::string::npos) << error;
}

std::string experiment_error(const nlohmann::json& doc) {
  return test::error_message([&] { parse_experiment(doc, "e.toml", nullptr); });
}

TEST(NamesFromFiles, AreNamesNotPaths) {
  const nlohmann::json model = {{{"family", "mlp-relu"}}};
  for (const std::string bad : {"..", ".", "a/b", "../x", "a\\b", ""}) {
    auto e = experiment_error(
        {{"tasks", {"smooth2d"}}, {"model", {{{"family", "mlp-relu"}, {"label", bad}}}}});
    EXPECT_NE(e.find("model[0].label"), std::string::npos) << bad << ": " << e;
    e = experiment_error({{"name", bad}, {"tasks", {"smooth2d"}}, {"model", model}});
    EXPECT_NE(e.find("key 'name'"), std::string::npos) << bad << ": " << e;
  }
  for (const std::string bad : {"/tmp/x", "../x", "a/../../b"}) {
    const auto e = experiment_error({{"output", bad}, {"tasks", {"smooth2d"}}, {"model", model}});
    EXPECT_NE(e.find("key 'output'"), std::string::npos) << bad << ": " << e;
  }
  test::TempDir dir;
  const auto csv = dir.write("d.csv", "x,y\n1,2\n2,3\n3,4\n4,5\n5,6\n");
  const auto e = experiment_error(
      {{"csv", {{{"name", ".."}, {"file", csv}, {"inputs", {"x"}}, {"targets", {"y"}}}}},
       {"model", model}});
  EXPECT_NE(e.find("csv[0].name"), std::string::npos) << e;
  EXPECT_EQ(file_safe(".."), "_");
}

TEST(NamesFromFiles, CsvPathsResolveBesideTheExperimentFile) {
  test::TempDir dir;
  fs::create_directories(dir.file("sub"));
  std::ofstream(dir.file("sub/d.csv")) << "x,y\n1,2\n2,3\n3,4\n4,5\n5,6\n";
  const auto path = dir.write("sub/e.toml",
                              "[[csv]]\nname = \"d\"\nfile = \"d.csv\"\ninputs = [\"x\"]\n"
                              "targets = [\"y\"]\n[[model]]\nfamily = \"mlp-relu\"\n");
  const auto e = load_experiment(path);
  EXPECT_EQ(fs::path(e.tasks[0].definition["csv"].get<std::string>()),
            fs::path(dir.file("sub")) / "d.csv");
}

class ModelDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto data = find_task("smooth2d").generate(3);
    FitRequest r;
    r.model = resolve_model("mlp-relu", {{"width", 4}});
    r.training.steps = 5;
    r.training.progress = false;
    model_ = fit_model(data.train, data.validation, r).model;
    save_model(model_, dir_.file("m"));
  }
  nlohmann::json description() const {
    return nlohmann::json::parse(test::read_all(dir_.file("m/model.json")));
  }
  void rewrite(const nlohmann::json& j) const { std::ofstream(dir_.file("m/model.json")) << j; }
  std::string load_error() const {
    return test::error_message([&] { load_model(dir_.file("m")); });
  }
  test::TempDir dir_;
  TrainedModel model_;
};

TEST_F(ModelDirectory, WeightsStayInsideTheDirectory) {
  std::ofstream(dir_.file("other.safetensors")) << "x";
  for (const std::string& bad :
       std::vector<std::string>{"../other.safetensors", dir_.file("other.safetensors"), "..", ""}) {
    auto j = description();
    j["weights"] = bad;
    rewrite(j);
    EXPECT_NE(load_error().find("must name a file inside the model directory"), std::string::npos)
        << bad;
  }
  save_model(model_, dir_.file("m"));
  auto j = description();
  j.erase("weights_checksum");
  rewrite(j);
  EXPECT_NE(load_error().find("weights_checksum"), std::string::npos) << load_error();
}

TEST_F(ModelDirectory, BadValuesAreRefusedNotBroadcast) {
  // A scaling tensor too short for the inputs, with a matching checksum.
  auto file = read_safetensors(dir_.file("m/weights.safetensors"));
  file.tensors["input_scale"] = torch::ones({1});
  NamedTensors short_scale(file.tensors.begin(), file.tensors.end());
  write_safetensors(dir_.file("m/weights.safetensors"), short_scale);
  auto j = description();
  j["weights_checksum"] = file_checksum(dir_.file("m/weights.safetensors"));
  rewrite(j);
  EXPECT_NE(load_error().find("'input_scale' has shape [1], the model needs [2]"),
            std::string::npos)
      << load_error();
  save_model(model_, dir_.file("m"));
  j = description();
  j["dtype"] = "int64";
  rewrite(j);
  EXPECT_NE(load_error().find("\"dtype\" must be"), std::string::npos) << load_error();
  // An integer tensor in the weights file, with a matching checksum.
  save_model(model_, dir_.file("m"));
  NamedTensors tensors;
  for (const auto& [name, t] : read_safetensors(dir_.file("m/weights.safetensors")).tensors)
    tensors.emplace_back(name, t.to(torch::kInt64));
  write_safetensors(dir_.file("m/weights.safetensors"), tensors);
  j = description();
  j["weights_checksum"] = file_checksum(dir_.file("m/weights.safetensors"));
  rewrite(j);
  EXPECT_NE(load_error().find("the model needs Float"), std::string::npos) << load_error();
  // Names become predict's CSV header: control characters and repeats are refused.
  save_model(model_, dir_.file("m"));
  j = description();
  j["outputs"] = {"y\x1b", "z"};
  rewrite(j);
  EXPECT_NE(load_error().find("without control characters"), std::string::npos) << load_error();
  j["outputs"] = {"y", "y"};
  rewrite(j);
  EXPECT_NE(load_error().find("\"outputs\" names 'y' twice"), std::string::npos) << load_error();
}

TEST_F(ModelDirectory, PredictorThrowsOnlyRuntimeErrors) {
  rewrite(nlohmann::json::array({1, 2}));
  EXPECT_THROW(Predictor::load(dir_.file("m")), std::runtime_error);
  rewrite({{"format", "gsnn-model"}, {"format_version", "1"}});
  EXPECT_THROW(Predictor::load(dir_.file("m")), std::runtime_error);
}

TEST_F(ModelDirectory, SavingNeverLosesAGoodModel) {
  // A model that did not train to finite weights is not saved over a good one.
  auto broken = load_model(dir_.file("m"));
  {
    torch::NoGradGuard guard;
    broken.network->parameters().front().fill_(NAN);
  }
  const auto error = test::error_message([&] { save_model(broken, dir_.file("m")); });
  EXPECT_NE(error.find("not saved"), std::string::npos) << error;
  EXPECT_NO_THROW(load_model(dir_.file("m")));
  // Neither is one whose scaler overflowed (data values near 1e308).
  broken = load_model(dir_.file("m"));
  {
    const auto s = broken.network->scaling();
    broken.network->set_scaling(s[0], s[1], s[2], torch::full({1}, INFINITY));
  }
  EXPECT_NE(test::error_message([&] { save_model(broken, dir_.file("m")); }).find("target_scale"),
            std::string::npos);
  // A directory with other files is never replaced by a model.
  std::ofstream(dir_.file("m/notes.txt")) << "mine";
  EXPECT_NE(test::error_message([&] { save_model(model_, dir_.file("m")); }).find("notes.txt"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(dir_.file("m/notes.txt")));
  fs::remove(dir_.file("m/notes.txt"));
  // Replacing a model leaves a complete, loadable directory and no leftovers.
  save_model(model_, dir_.file("m"));
  EXPECT_NO_THROW(load_model(dir_.file("m")));
  for (const auto& entry : fs::directory_iterator(dir_.file("")))
    EXPECT_EQ(entry.path().filename().string().rfind("m.", 0), std::string::npos) << entry.path();
}

TEST(Writers, NeverReplaceWhatIsNotARegularFile) {
  test::TempDir dir;
  const auto fifo = dir.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(
      test::error_message([&] { write_file_atomically(fifo, "x"); }).find("not a regular file"),
      std::string::npos);
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_FALSE(fs::exists(fifo + ".tmp"));
}

TEST(Writers, ASignalLeavesNoTemporaryFile) {
  // A child writing two files is killed by SIGTERM: it dies of the signal
  // and nothing but the committed file remains.
  test::TempDir dir;
  const auto committed = dir.file("done.csv"), pending = dir.file("half.csv");
  EXPECT_EXIT(
      {
        remove_temporaries_on_signals();
        // More files than the handler's slots, each committed: their slots are freed.
        for (int i = 0; i < 100; ++i) write_file_atomically(committed, "a\n1\n");
        std::ofstream(temporary_beside(pending)) << "a\n1\n2";
        CsvWriter writer(dir.file("rows.csv"), {"a"});
        writer.write({{1.0, 2.0}});
        std::raise(SIGTERM);
      },
      ::testing::KilledBySignal(SIGTERM), "");
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.file("")))
    left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"done.csv"});
}

TEST(Writers, ASignalRemovesAStagingDirectory) {
  // A model directory being staged, with its files, is removed by a signal.
  test::TempDir dir;
  EXPECT_EXIT(
      {
        remove_temporaries_on_signals();
        const StagingDirectory staging(dir.file("model"), {"a.json", "b.bin"});
        std::ofstream(fs::path(staging.path()) / "a.json") << "{}";
        std::ofstream(fs::path(staging.path()) / "b.bin") << "x";
        std::raise(SIGTERM);
      },
      ::testing::KilledBySignal(SIGTERM), "");
  EXPECT_TRUE(fs::is_empty(dir.file("")));
}

TEST(Writers, ASignalIgnoredAtStartStaysIgnored) {
  // nohup's SIGHUP: the process lives on, its temporary file too.
  test::TempDir dir;
  EXPECT_EXIT(
      {
        std::signal(SIGHUP, SIG_IGN);
        remove_temporaries_on_signals();
        const auto tmp = temporary_beside(dir.file("out.csv"));
        std::raise(SIGHUP);
        std::exit(fs::exists(tmp) ? 7 : 8);
      },
      ::testing::ExitedWithCode(7), "");
}

TEST(Writers, ARefusedHeaderLeavesNoTemporaryFile) {
  test::TempDir dir;
  const auto message = test::error_message([&] {
    CsvWriter(dir.file("out.csv"), {"a", "line\nbreak"});
  });
  EXPECT_NE(message.find("out.csv: a CSV column name cannot hold a line break"), std::string::npos)
      << message;
  EXPECT_TRUE(fs::is_empty(dir.file("")));
}

TEST(Safetensors, ShapesWhoseSizeOverflowsAreRefused) {
  // The second shape has no values, but its other dimensions overflow
  // LibTorch's strides (the IDX fuzzer found the same in read_idx).
  for (const std::string shape :
       {"[4294967296,4294967296,4294967296]", "[0,4294967296,4294967296]"}) {
    test::TempDir dir;
    const std::string header =
        R"({"w":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,0]}})";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    std::ofstream(dir.file("w.safetensors"), std::ios::binary) << bytes << header;
    const auto error = test::error_message([&] { read_safetensors(dir.file("w.safetensors")); });
    EXPECT_NE(error.find("too large"), std::string::npos) << shape << ": " << error;
  }
}

// Found by the model fuzzer: a non-integer offset or shape (4e128) was
// converted to an integer, which is undefined behaviour.
TEST(Safetensors, NonIntegerShapesAndOffsetsAreRefused) {
  test::TempDir dir;
  for (const std::string entry : {R"({"dtype":"F32","shape":[1],"data_offsets":[0,4.08889e+128]})",
                                  R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})",
                                  R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"}) {
    const std::string header = R"({"w":)" + entry + "}";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    std::ofstream(dir.file("w.safetensors"), std::ios::binary) << bytes << header << "abcd";
    const auto error = test::error_message([&] { read_safetensors(dir.file("w.safetensors")); });
    EXPECT_TRUE(error.find("must be a list of integers") != std::string::npos ||
                error.find("negative data offset") != std::string::npos)
        << entry << ": " << error;
  }
}

TEST(Options, NonFiniteValuesAreRejectedByName) {
  for (const char* key : {"lr", "lr_final_ratio", "clip_norm", "weight_decay", "noise_init"}) {
    for (double bad : {NAN, INFINITY}) {
      const auto error = test::error_message([&] { TrainOptions::from_json({{key, bad}}); });
      EXPECT_NE(error.find(std::string("option '") + key + "' must be a finite number"),
                std::string::npos)
          << key << ": " << error;
    }
  }
  const auto error = test::error_message([&] { resolve_model("gsnn", {{"tau", std::nan("")}}); });
  EXPECT_NE(error.find("'tau' must be a finite number"), std::string::npos) << error;
}

TEST(Runner, ChangedCsvFileRerunsItsExperiment) {
  test::TempDir dir;
  auto write_csv_rows = [&](double slope) {
    std::ofstream out(dir.file("d.csv"));
    out << "x,y\n";
    for (int i = 0; i < 40; ++i) out << i << "," << slope * i << "\n";
  };
  write_csv_rows(1.0);
  const nlohmann::json doc = {
      {"name", "c"},
      {"csv",
       {{{"name", "d"}, {"file", dir.file("d.csv")}, {"inputs", {"x"}}, {"targets", {"y"}}}}},
      {"training", {{"steps", 5}, {"eval_every", 5}}},
      {"model", {{{"family", "mlp-relu"}, {"options", {{"width", 4}}}}}}};
  RunOptions o;
  o.progress = false;
  auto e = parse_experiment(doc, "test", nullptr);
  e.output = dir.file("results");
  EXPECT_EQ(run_experiment(e, o).ran, 1);
  e = parse_experiment(doc, "test", nullptr);
  e.output = dir.file("results");
  EXPECT_EQ(run_experiment(e, o).skipped, 1);
  write_csv_rows(2.0);  // same name, other contents
  e = parse_experiment(doc, "test", nullptr);
  e.output = dir.file("results");
  EXPECT_EQ(run_experiment(e, o).ran, 1);
}

}  // namespace
}  // namespace gsnn
