// run_experiment: sizing, skipping, checkpoints, evaluation, result files.
#include "experiment/runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <thread>

#include "data/csv.hpp"
#include "eval/metrics.hpp"
#include "experiment/spec.hpp"
#include "gsnn/version.hpp"
#include "io/config.hpp"
#include "io/files.hpp"
#include "io/safetensors.hpp"
#include "tasks/kind.hpp"
#include "train/fit.hpp"

namespace gsnn {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_json(const fs::path& path) {
  if (!fs::exists(fs::symlink_status(path))) return nullptr;
  // Not a regular file, too large, damaged: reported, treated as absent, rewritten.
  try {
    return nlohmann::json::parse(read_text_file(path.string(), kMaxJsonBytes));
  } catch (const std::exception& e) {
    fmt::print(stderr, "warning: ignoring {}: {}\n", path.string(), e.what());
    return nullptr;
  }
}

nlohmann::json machine() {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  return {{"hostname", host},
          {"cores", std::thread::hardware_concurrency()},
          {"torch_threads", at::get_num_threads()}};
}

std::string now_iso() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json curve_json(const std::vector<CurvePoint>& curve) {
  auto out = nlohmann::json::array();
  for (const auto& p : curve) {
    nlohmann::json parts = nlohmann::json::object();
    for (const auto& [name, value] : p.parts) parts[name] = value;
    out.push_back(
        {{"step", p.step},
         {"train_loss", p.train_loss},
         {"validation_loss", std::isnan(p.validation_loss) ? nlohmann::json(nullptr)
                                                           : nlohmann::json(p.validation_loss)},
         {"seconds", p.seconds},
         {"parts", parts}});
  }
  return out;
}

// JSON has no infinity or NaN (nlohmann writes null): read null back as `missing`.
double number_or(const nlohmann::json& j, double missing) {
  return j.is_number() ? j.get<double>() : missing;
}

std::vector<CurvePoint> curve_from_json(const nlohmann::json& j) {
  std::vector<CurvePoint> out;
  for (const auto& p : j) {
    if (!p.at("step").is_number_integer())
      throw std::runtime_error("curve: 'step' must be an integer");
    CurvePoint point{p.at("step").get<int64_t>(),
                     number_or(p.at("train_loss"), NAN),
                     number_or(p.at("validation_loss"), NAN),
                     p.at("seconds"),
                     {}};
    const auto parts = p.value("parts", nlohmann::json::object());
    for (const auto& [name, value] : parts.items())
      point.parts.emplace_back(name, number_or(value, NAN));
    out.push_back(point);
  }
  return out;
}

// Checkpoint = saved model + trainer state (tensors in safetensors, the rest in JSON).
void save_checkpoint(const fs::path& dir, const TrainedModel& model, const TrainState& s,
                     const nlohmann::json& config) {
  const auto fresh = dir.string() + ".new";
  fs::remove_all(fresh);
  save_model(model, (fs::path(fresh) / "model").string());
  NamedTensors tensors;
  for (size_t i = 0; i < s.kept.size(); ++i)
    tensors.emplace_back(fmt::format("kept.{}", i), s.kept[i]);
  for (size_t i = 0; i < s.exp_avg.size(); ++i) {
    tensors.emplace_back(fmt::format("exp_avg.{}", i), s.exp_avg[i]);
    tensors.emplace_back(fmt::format("exp_avg_sq.{}", i), s.exp_avg_sq[i]);
  }
  if (s.batch_order.defined()) tensors.emplace_back("batch_order", s.batch_order);
  tensors.emplace_back("rng_state", s.rng_state.to(torch::kInt64));
  write_safetensors((fs::path(fresh) / "state.safetensors").string(), tensors);
  const nlohmann::json state = {{"config", config},
                                {"step", s.step},
                                {"curve", curve_json(s.curve)},
                                {"best_validation", s.best_validation},
                                {"best_step", s.best_step},
                                {"checks_without_improvement", s.checks_without_improvement},
                                {"seconds", s.seconds},
                                {"kept", s.kept.size()},
                                {"adam_steps", s.adam_steps},
                                {"batch_cursor", s.batch_cursor}};
  write_file_atomically((fs::path(fresh) / "state.json").string(), state.dump());
  // Swap by renames only, so that a complete checkpoint exists at every moment:
  // dir -> dir.old, dir.new -> dir, then drop dir.old.
  const auto old = dir.string() + ".old";
  fs::remove_all(old);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(fresh, dir);
  fs::remove_all(old);
}

// Reads one checkpoint directory; false if it is absent or for another configuration.
// Reads one checkpoint directory; false if it is absent or for another
// configuration. Every field is checked against the run and the model: a
// checkpoint is data from disk, and a bad one must be skipped, not trusted.
bool read_checkpoint(const fs::path& d, const nlohmann::json& config, TrainedModel& model,
                     TrainState& s) {
  const auto state = read_json(d / "state.json");
  if (state.is_null() || state.value("config", nlohmann::json()) != config) return false;
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(fmt::format("{}: {}", (d / "state.json").string(), what));
  };
  auto integer = [&](const char* key, int64_t lo, int64_t hi) {
    const auto& v = state.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      fail(fmt::format("'{}' must be an integer in [{}, {}]", key, lo, hi));
    return v.get<int64_t>();
  };
  const int64_t steps = config.at("training").at("steps");
  model = load_model((d / "model").string());
  const auto params = model.network->parameters();
  const auto all = params.size() + model.network->buffers().size();
  const auto t = read_safetensors((d / "state.safetensors").string());
  const int64_t eval_every = config.at("training").at("eval_every");
  s.step = integer("step", 1, steps - 1);
  s.curve = curve_from_json(state.at("curve"));
  // The curve is what training wrote: increasing steps, the last within one
  // check interval of `step`, and the best validation one of its values.
  int64_t last = 0;
  double best = INFINITY;
  for (const auto& p : s.curve) {
    if (p.step <= last || p.step > s.step) fail("the curve does not match 'step'");
    last = p.step;
    if (std::isfinite(p.validation_loss)) best = std::min(best, p.validation_loss);
  }
  if (s.step - last >= eval_every) fail("the curve does not match 'step'");
  s.best_validation = number_or(state.at("best_validation"), INFINITY);
  if (s.best_validation != best && !(std::isinf(best) && std::isinf(s.best_validation)))
    fail("'best_validation' is not the best validation loss of the curve");
  s.best_step = integer("best_step", 0, s.step);
  s.checks_without_improvement = integer("checks_without_improvement", 0, s.step);
  s.seconds = number_or(state.at("seconds"), 0);
  if (integer("kept", 0, static_cast<int64_t>(all)) != static_cast<int64_t>(all))
    fail("'kept' does not match the model");
  auto expected = params;
  for (const auto& b : model.network->buffers()) expected.push_back(b);
  for (size_t i = 0; i < all; ++i) {
    s.kept.push_back(t.tensors.at(fmt::format("kept.{}", i)));
    if (s.kept.back().sizes() != expected[i].sizes() ||
        !torch::isfinite(s.kept.back()).all().item<bool>())
      fail("kept weights do not match the model");
  }
  s.adam_steps = json_integers(state.at("adam_steps"), "'adam_steps'");
  if (s.adam_steps.size() != params.size()) fail("'adam_steps' does not match the model");
  for (size_t i = 0; i < s.adam_steps.size(); ++i) {
    if (s.adam_steps[i] < 0 || s.adam_steps[i] > s.step) fail("'adam_steps' out of range");
    s.exp_avg.push_back(t.tensors.at(fmt::format("exp_avg.{}", i)));
    s.exp_avg_sq.push_back(t.tensors.at(fmt::format("exp_avg_sq.{}", i)));
    if (s.exp_avg.back().sizes() != params[i].sizes() ||
        s.exp_avg_sq.back().sizes() != params[i].sizes())
      fail("optimiser moments do not match the model");
    if (!torch::isfinite(s.exp_avg.back()).all().item<bool>() ||
        !torch::isfinite(s.exp_avg_sq.back()).all().item<bool>() ||
        !(s.exp_avg_sq.back() >= 0).all().item<bool>())
      fail("optimiser moments are not finite (or a second moment is negative)");
  }
  if (t.tensors.count("batch_order")) s.batch_order = t.tensors.at("batch_order");
  s.batch_cursor = integer("batch_cursor", 0, std::numeric_limits<int32_t>::max());
  s.rng_state = t.tensors.at("rng_state");
  try {  // a state the generator rejects is a damaged checkpoint, not a fatal error
    if (s.rng_state.scalar_type() != torch::kInt64) throw std::runtime_error("dtype");
    s.rng_state = s.rng_state.to(torch::kUInt8);
    at::make_generator<at::CPUGeneratorImpl>().set_state(s.rng_state);
  } catch (const std::exception&) {
    fail("'rng_state' is not a random-generator state");
  }
  return true;
}

// The newest complete checkpoint of a run (a kill can leave it under .new or
// .old during a swap); a damaged one is reported and skipped, never fatal.
bool load_checkpoint(const fs::path& dir, const nlohmann::json& config, TrainedModel& model,
                     TrainState& s) {
  for (const auto& d : {dir, fs::path(dir.string() + ".new"), fs::path(dir.string() + ".old")}) {
    try {
      s = TrainState{};
      if (read_checkpoint(d, config, model, s)) return true;
    } catch (const std::exception& e) {
      fmt::print(stderr, "warning: ignoring damaged checkpoint {}: {}\n", d.string(), e.what());
    }
  }
  return false;
}

void write_dataset_csv(const std::string& path, const Dataset& d) {
  std::vector<std::string> header = d.input_names;
  header.insert(header.end(), d.target_names.begin(), d.target_names.end());
  const auto all = torch::cat({d.x, d.y}, 1).contiguous();
  std::vector<std::vector<double>> columns(all.size(1));
  for (int64_t c = 0; c < all.size(1); ++c) {
    const auto col = all.select(1, c).contiguous();
    columns[c].assign(col.data_ptr<double>(), col.data_ptr<double>() + col.numel());
  }
  write_csv(path, header, columns);
}

}  // namespace

std::string run_directory(const Experiment& e, const std::string& task, const std::string& label,
                          uint64_t seed) {
  return (fs::path(e.output) / file_safe(task) / file_safe(label) / fmt::format("seed-{}", seed))
      .string();
}

namespace {

// The kind's tracked metrics of the model on `set`, named "<set>_<metric>".
std::vector<std::pair<std::string, double>> tracked_metrics(TrainedModel& model,
                                                            const TaskKind& kind,
                                                            const NamedSet& set) {
  torch::NoGradGuard guard;
  const bool training = model.network->is_training();
  model.network->eval();
  const auto metrics = kind.evaluate(model.predict(set.data.x), set.data);
  model.network->train(training);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& name : kind.tracked)
    if (metrics.contains(name))
      out.emplace_back(set.name + "_" + name, metrics[name].get<double>());
  return out;
}

nlohmann::json phases_json(const std::vector<TrainPhase>& phases) {
  auto out = nlohmann::json::array();
  for (const auto& p : phases)
    out.push_back({{"optimizer", p.optimizer},
                   {"steps", p.steps},
                   {"step_seconds", p.step_seconds},
                   {"ms_per_step", p.steps > 0 ? 1e3 * p.step_seconds / p.steps : 0.0}});
  return out;
}

// Runs `f`; a std::invalid_argument inside names the task and the model.
template <class F>
auto naming_run(const std::string& task, const std::string& model, F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(fmt::format("task {}, model {}: {}", task, model, error.what()));
  }
}

}  // namespace

RunSummary run_experiment(const Experiment& e, const RunOptions& options) {
  const DirectoryLock lock(e.output);  // one writer per results directory
  RunSummary summary;
  const size_t total = e.tasks.size() * e.models.size() * e.seeds.size();
  size_t index = 0;
  for (const auto& task : e.tasks) {
    const auto data = task.generate(e.data_seed);
    // The task's data beside its runs, for reports (training points, error maps).
    const auto task_dir = fs::path(e.output) / file_safe(task.name);
    fs::create_directories(task_dir);
    if (data.train.x.dim() == 2) {  // tables only; images and sequences are not written
      for (const char* name : {"train.csv", "test.csv"})
        for (const auto& t : e.tasks)  // never over an input of the experiment
          if (t.definition.contains("csv") &&
              same_file((task_dir / name).string(), t.definition["csv"].get<std::string>()))
            throw std::runtime_error(fmt::format(
                "{}: is the data file of task '{}'; refusing to overwrite it (use another "
                "output directory)",
                (task_dir / name).string(), t.name));
      write_dataset_csv((task_dir / "train.csv").string(), data.train);
      if (!data.evaluation.empty()) {  // e.g. a PDE without a known solution has none
        // Every evaluation set, test first: maps and fits then cover the
        // out-of-domain regions too.
        Dataset all = data.evaluation.front().data;
        std::vector<torch::Tensor> xs, ys;
        for (const auto& set : data.evaluation) xs.push_back(set.data.x), ys.push_back(set.data.y);
        all.x = torch::cat(xs), all.y = torch::cat(ys);
        write_dataset_csv((task_dir / "test.csv").string(), all);
      }
    }
    const auto& kind = find_task_kind(task.kind);
    if (data.train.x.dim() == 4 && kind.regression && !data.evaluation.empty())
      write_safetensors(
          (task_dir / kTestImagesFile).string(),
          {{"x", data.evaluation.front().data.x.slice(0, 0, kSampleImages).contiguous()}});
    const ModelShape shape{data.train.x.sizes().slice(1).vec(),
                           static_cast<int64_t>(kind.output_names(data.train).size())};
    for (const auto& model : e.models)  // before any of this task's runs
      if (model.spec.options.value("symmetrise", false) && shape.inputs() < 2)
        throw std::invalid_argument(fmt::format(
            "task {}: model {} has symmetrise = true, but the task has {} input (2 needed)",
            task.name, model.label, shape.inputs()));
    // Every model of the task is sized and checked before any of its runs.
    struct Planned {
      ModelSpec spec;
      nlohmann::json training;
    };
    std::vector<Planned> planned;
    for (const auto& model : e.models) {
      Planned p{model.spec, model.training};
      if (e.target_params)
        p.spec = size_to_parameters(p.spec, *e.target_params, shape, kind.regression);
      if (!p.training.contains("loss"))
        p.training["loss"] = task.loss.empty() ? kind.default_objective : task.loss;
      if (!p.training.contains("scaling") && !task.scaling.empty())
        p.training["scaling"] = task.scaling;
      FitRequest check;
      check.model = p.spec;
      check.training = TrainOptions::from_json(p.training);
      check.kind = task.kind;
      naming_run(task.name, model.label, [&] {
        check_fit_request(shape, check);
        // L-BFGS's history and line search assume one objective (lbfgs_steps
        // polishes on the task's fixed points instead).
        if (task.fresh_train && check.training.optimizer == "lbfgs")
          throw std::invalid_argument(
              "the task draws new training points during training, which optimizer lbfgs "
              "cannot follow; use adam (lbfgs_steps then polishes on the task's points)");
      });
      planned.push_back(std::move(p));
    }
    for (size_t m = 0; m < e.models.size(); ++m) {
      const auto& model = e.models[m];
      const auto& spec = planned[m].spec;
      auto training = planned[m].training;
      for (const auto seed : e.seeds) {
        ++index;
        training["seed"] = seed;
        const auto train_options = TrainOptions::from_json(training);
        const nlohmann::json config = {
            {"task", task.name},
            {"task_definition", task.definition},
            {"data_seed", e.data_seed},
            {"model", {{"label", model.label}, {"family", spec.family}, {"options", spec.options}}},
            {"training", train_options.to_json()},
            {"target_params",
             e.target_params ? nlohmann::json(*e.target_params) : nlohmann::json(nullptr)}};
        const fs::path dir = run_directory(e, task.name, model.label, seed);
        const auto label =
            fmt::format("[{}/{}] {} {} seed {}", index, total, task.name, model.label, seed);
        const auto existing = read_json(dir / "result.json");
        if (!existing.is_null() && existing.value("config", nlohmann::json()) == config) {
          ++summary.skipped;
          if (options.progress) fmt::print(stderr, "{} done already\n", label);
          continue;
        }
        fs::create_directories(dir);
        FitRequest request;
        request.model = spec;
        request.training = train_options;
        request.training.progress = options.progress;
        request.kind = task.kind;
        request.dtype = task.dtype;
        request.device = options.device;

        TrainedModel trained;
        TrainState resume_state;
        const bool resumed = load_checkpoint(dir / "checkpoint", config, trained, resume_state);
        if (resumed) {
          ++summary.resumed;
          trained.network->to(torch::Device(options.device));
          if (options.progress)
            fmt::print(stderr, "{} resuming at step {}\n", label, resume_state.step);
        } else {
          // Data a model cannot take (values beyond its dtype) are refused here.
          trained = naming_run(task.name, model.label,
                               [&] { return prepare_model(data.train, request); });
        }
        TrainHooks hooks;
        hooks.checkpoint_every = options.checkpoint_every;
        hooks.resume = resumed ? &resume_state : nullptr;
        hooks.on_checkpoint = [&](const TrainState& s) {
          save_checkpoint(dir / "checkpoint", trained, s, config);
        };
        if (task.fresh_train)
          hooks.fresh_batch = [&](int64_t step) {
            const auto d = task.fresh_train(step, e.data_seed);
            return Batch{d.x, d.y, d.regime};
          };
        if (!kind.tracked.empty() && !data.evaluation.empty())
          hooks.track = [&] { return tracked_metrics(trained, kind, data.evaluation.front()); };
        const auto result =
            train_model(trained, data.train, data.validation, request, label, hooks);

        const auto metrics = evaluate_model(trained, data);
        nlohmann::json smoothness = nullptr;
        if (!data.domain.empty())
          smoothness =
              measure_smoothness([&](const torch::Tensor& x) { return trained.predict(x).mean; },
                                 data.domain)
                  .to_json();
        nlohmann::json robustness = nullptr;
        if (task.robustness && !data.evaluation.empty())
          robustness = robustness_curves(trained.network, data.evaluation.front().data,
                                         *task.robustness, seed);
        if (result.diverged)  // kept weights are finite: saved, and the result says it diverged
          fmt::print(stderr, "{}: {}\n", label, result.stop_reason);
        save_model(trained, (dir / "model").string());
        const nlohmann::json record = {
            {"schema", "gsnn-run"},
            {"schema_version", kRunSchemaVersion},
            {"gsnn_version", GSNN_VERSION},
            {"experiment", e.name},
            {"config", config},
            {"task", task.name},
            {"kind", task.kind},
            {"model_label", model.label},
            {"model_name", model.name},
            {"family", spec.family},
            {"options", spec.options},
            {"sweep", model.sweep},
            {"parameters", count_parameters(*trained.network)},
            {"seed", seed},
            {"data_seed", e.data_seed},
            {"training", config["training"]},
            {"curve", curve_json(result.curve)},
            {"metrics", metrics},
            {"smoothness", smoothness},
            {"robustness", robustness},
            {"domain", data.domain},
            {"steps_run", result.steps_run},
            {"best_step", result.best_step},
            {"stop_reason", result.stop_reason},
            {"diverged", result.diverged},
            {"seconds", result.seconds},
            {"phases", phases_json(result.phases)},
            {"resumed", resumed},
            {"machine", machine()},
            {"finished_at", now_iso()},
        };
        write_file_atomically((dir / "result.json").string(), record.dump(2));
        for (const char* suffix : {"", ".new", ".old"})
          fs::remove_all(dir / (std::string("checkpoint") + suffix));
        ++summary.ran;
      }
    }
  }
  return summary;
}

}  // namespace gsnn
