// Experiment parsing, sweep expansion and sizing to a parameter count.
#include "experiment/spec.hpp"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>

#include "pde/expression.hpp"
#include "tasks/kind.hpp"
#include "train/trainer.hpp"

namespace gsnn {
namespace {

// Throws with the source location of `key` in the experiment file.
struct Locator {
  const std::string& file;
  const SourceLines* lines;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    const auto where = lines ? source_location(file, *lines, key) : file + ": ";
    throw std::invalid_argument(fmt::format("{}key '{}': {}", where, key, message));
  }
  // Runs `f`; an OptionError inside is reported at prefix.<its key>.
  template <class F>
  auto at(const std::string& prefix, F&& f) const {
    try {
      return f();
    } catch (const OptionError& e) {
      fail(prefix + "." + e.key, e.what());
    } catch (const std::invalid_argument& e) {
      fail(prefix, e.what());
    } catch (const nlohmann::json::exception& e) {
      fail(prefix, std::string("wrong type: ") + e.what());
    }
  }
};

void check_keys(const Locator& at, const nlohmann::json& table, const std::string& prefix,
                const std::set<std::string>& known) {
  if (!table.is_object()) at.fail(prefix, "must be a table");
  for (const auto& [key, value] : table.items()) {
    if (known.count(key)) continue;
    at.fail(prefix.empty() ? key : prefix + "." + key,
            fmt::format("unknown key (known: {})", fmt::join(known, ", ")));
  }
}

// All combinations of the sweep's values, in file order, first key slowest.
std::vector<nlohmann::json> expand_sweep(const Locator& at, const nlohmann::json& sweep,
                                         const std::string& prefix) {
  std::vector<nlohmann::json> combos = {nlohmann::json::object()};
  for (const auto& [key, values] : sweep.items()) {
    if (!values.is_array() || values.empty())
      at.fail(prefix + "." + key, "a sweep takes a non-empty list of values");
    if (combos.size() * values.size() > kMaxRuns)
      at.fail(prefix + "." + key, fmt::format("the sweep has more than {} combinations", kMaxRuns));
    std::vector<nlohmann::json> next;
    for (const auto& c : combos)
      for (const auto& v : values) {
        auto n = c;
        n[key] = v;
        next.push_back(n);
      }
    combos = next;
  }
  return combos;
}

// Names from a file become directory names: they must stay names.
std::string checked_name(const Locator& at, const std::string& key, const nlohmann::json& value) {
  if (!value.is_string()) at.fail(key, "must be a string");
  const auto name = value.get<std::string>();
  const bool control = std::any_of(name.begin(), name.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (name.empty() || name[0] == '.' || control || name.size() > kMaxNameLength ||
      name.find_first_of("/\\") != std::string::npos)
    at.fail(key, fmt::format("'{}' is not a valid name (1 to {} bytes; no '/' or '\\', no leading "
                             "'.', no control characters)",
                             name.substr(0, kMaxNameLength), kMaxNameLength));
  return name;
}

// The results directory from a file: relative, and inside the working directory.
std::string checked_output(const Locator& at, const nlohmann::json& value) {
  if (!value.is_string()) at.fail("output", "must be a string");
  const std::filesystem::path out = value.get<std::string>();
  bool up = false;
  for (const auto& part : out) up = up || part == "..";
  const auto text = out.string();
  const bool odd = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '\\';
  });
  if (out.empty() || out.is_absolute() || up || odd)
    at.fail("output",
            "must be a relative path without '..' (use `gsnn run --out` for another place)");
  return out.string();
}

Task parse_csv_task(const Locator& at, const nlohmann::json& t, const std::string& prefix) {
  check_keys(at, t, prefix,
             {"name", "file", "inputs", "targets", "validation", "test", "loss", "kind", "dtype"});
  for (const char* key : {"name", "file", "inputs", "targets"})
    if (!t.contains(key)) at.fail(prefix + "." + key, "missing");
  try {
    const double validation = t.value("validation", 0.2), test = t.value("test", 0.2);
    if (validation <= 0 || test <= 0 || validation + test >= 1)
      at.fail(prefix + ".validation",
              "validation and test must be > 0 and sum to less than 1 (the test set is "
              "never the validation set)");
    const std::string kind = t.value("kind", "regression");
    at.at(prefix + ".kind", [&] { return find_task_kind(kind).name; });
    const std::string loss = t.value("loss", find_task_kind(kind).default_objective);
    at.at(prefix + ".loss", [&] { return make_objective(loss, kind) != nullptr; });
    // A relative file is found beside the experiment file.
    std::filesystem::path file = t.at("file").get<std::string>();
    if (file.is_relative() && at.lines) file = std::filesystem::path(at.file).parent_path() / file;
    const std::string dtype = t.value("dtype", "float32");
    if (dtype != "float32" && dtype != "float64")
      at.fail(prefix + ".dtype", "must be \"float32\" or \"float64\"");
    auto task = csv_task(checked_name(at, prefix + ".name", t.at("name")), file.string(),
                         t.at("inputs"), t.at("targets"), validation, test, loss, kind);
    if (dtype != task.dtype) {  // recorded only when not the default: old results stay valid
      task.dtype = dtype;
      task.definition["dtype"] = dtype;
    }
    return task;
  } catch (const nlohmann::json::exception& e) {
    at.fail(prefix, std::string("wrong type: ") + e.what());
  }
}

// A [[pde]] table: a user's problem (pde/expression.hpp) and collocation options.
Task parse_pde_task(const Locator& at, const nlohmann::json& t, const std::string& prefix) {
  check_keys(at, t, prefix, {"name", "domain", "kappa", "source", "boundary", "exact", "options"});
  if (!t.contains("name")) at.fail(prefix + ".name", "missing");
  checked_name(at, prefix + ".name", t["name"]);
  if (t.contains("options") && !t["options"].is_object())
    at.fail(prefix + ".options", "must be a table of key = value");
  const auto problem = at.at(prefix, [&] { return problem_from_table(t); });
  return at.at(prefix + ".options",
               [&] { return pde_task(problem, t.value("options", nlohmann::json::object())); });
}

// A task name, or a table {name, options, sweep}: one task per sweep combination.
std::vector<Task> parse_task(const Locator& at, const nlohmann::json& t, const std::string& key) {
  if (t.is_string()) return {at.at(key, [&] { return find_task(t); })};
  if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
    at.fail(key,
            "must be a task name, or a table {name = \"...\", options = {...}, sweep = {...}}");
  check_keys(at, t, key, {"name", "options", "sweep"});
  for (const char* table : {"options", "sweep"})
    if (t.contains(table) && !t[table].is_object())
      at.fail(key + "." + table, "must be a table of key = value");
  const std::string name = t["name"];
  const auto options = t.value("options", nlohmann::json::object());
  const auto sweep = t.value("sweep", nlohmann::json::object());
  const auto& base = at.at(key + ".name", [&]() -> const Task& { return find_task(name); });
  at.at(key + ".options", [&] { return configure_task(name, options); });
  for (const auto& item : sweep.items()) {
    const std::string option = item.key();
    if (std::none_of(base.options.begin(), base.options.end(),
                     [&](const OptionSpec& s) { return s.name == option; }))
      at.fail(key + ".sweep." + option, "task " + name + " has no option '" + option + "'");
  }
  std::vector<Task> out;
  for (const auto& combo : expand_sweep(at, sweep, key + ".sweep")) {
    auto merged = options;
    merged.update(combo);
    out.push_back(at.at(key + ".sweep", [&] { return configure_task(name, merged); }));
    if (out.back().name.size() > 2 * kMaxNameLength)
      at.fail(key, fmt::format("the task name '{}...' is longer than {} characters",
                               out.back().name.substr(0, 40), 2 * kMaxNameLength));
  }
  return out;
}

}  // namespace

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                    c == '=' || c == ',' || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_";  // never a path step
  return out;
}

ModelSpec size_to_parameters(const ModelSpec& spec, int64_t target, const ModelShape& shape,
                             bool regression, int64_t* count) {
  const auto& family = find_family(spec.family);
  const auto& option = family.size_option;
  if (!spec.options.contains(option))
    throw std::invalid_argument("model family '" + spec.family +
                                "' has no size option to size to target_params");
  // The search stays within the size option's own bounds.
  double largest = 1 << 20;
  for (const auto& o : family.options)
    if (o.name == option) largest = std::min(largest, o.max);
  // The count at a width, or none where the model refuses it: too small to
  // build (a layer may need two weights) or beyond the parameter limit.
  std::string refusal;
  auto count_at = [&](int64_t width) -> std::optional<int64_t> {
    auto s = spec;
    s.options[option] = width;
    torch::NoGradGuard guard;
    try {
      return count_parameters(*build_model(s, shape)) + (regression ? 1 : 0);  // + output noise
    } catch (const std::invalid_argument& e) {
      refusal = e.what();
      return std::nullopt;
    }
  };
  const auto max_width = static_cast<int64_t>(largest);
  int64_t lo = 1;  // the smallest width that builds, by doubling
  while (!count_at(lo)) {
    if (lo == max_width)
      throw std::invalid_argument(fmt::format("model '{}' builds at no {} up to {}: {}",
                                              spec.family, option, max_width, refusal));
    lo = std::min(2 * lo, max_width);
  }
  // Widths past the smallest that builds and refused are past the limit: they "reach" any target.
  auto reaches = [&](int64_t width) {
    const auto n = count_at(width);
    return !n || *n >= target;
  };
  int64_t hi = lo;
  auto at_hi = count_at(hi);  // each width is built once
  while (at_hi && *at_hi < target && hi < max_width) {
    hi = std::min(2 * hi, max_width);
    at_hi = count_at(hi);
  }
  if (at_hi && *at_hi < target)
    throw std::invalid_argument(fmt::format(
        "target_params {} is more than model '{}' has at its largest {} ({}: {} parameters)",
        target, spec.family, option, max_width, *at_hi));
  const int64_t smallest = lo;
  while (lo < hi) {  // the smallest width that reaches the target
    const int64_t mid = (lo + hi) / 2;
    if (reaches(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  const auto at_lo = count_at(lo);
  if (!at_lo)
    throw std::invalid_argument(
        fmt::format("target_params {} is more than model '{}' can have: at {} {} it refuses: {}",
                    target, spec.family, option, lo, refusal));
  int64_t best = lo, n = *at_lo;
  if (lo > smallest) {
    const auto below = *count_at(lo - 1);
    if (target - below < n - target) best = lo - 1, n = below;
  }
  if (std::abs(n - target) > 0.05 * target)
    throw std::invalid_argument(
        fmt::format("no {} brings model '{}' within 5% of {} parameters (closest: {} {} with {})",
                    option, spec.family, target, option, best, n));
  auto out = spec;
  out.options[option] = best;
  if (count) *count = n;
  return out;
}

Experiment parse_experiment(const nlohmann::json& doc, const std::string& file,
                            const SourceLines* lines) {
  const Locator at{file, lines};
  check_keys(at, doc, "",
             {"name", "tasks", "csv", "pde", "seeds", "data_seed", "output", "target_params",
              "training", "model"});
  Experiment e;
  e.name = checked_name(at, "name", doc.value("name", nlohmann::json("experiment")));
  e.output = doc.contains("output") ? checked_output(at, doc["output"]) : "results/" + e.name;
  const auto data_seed = doc.value("data_seed", nlohmann::json(1));
  if (!data_seed.is_number_integer() || data_seed.get<int64_t>() < 0)
    at.fail("data_seed", "must be a non-negative integer");
  e.data_seed = data_seed.get<uint64_t>();

  if (doc.contains("tasks")) {
    const auto& tasks = doc["tasks"];
    if (!tasks.is_array()) at.fail("tasks", "must be a list of task names");
    for (size_t i = 0; i < tasks.size(); ++i) {
      const auto key = fmt::format("tasks[{}]", i);
      for (auto& task : parse_task(at, tasks[i], key)) e.tasks.push_back(std::move(task));
    }
  }
  if (doc.contains("csv")) {
    if (!doc["csv"].is_array()) at.fail("csv", "use [[csv]] tables");
    for (size_t i = 0; i < doc["csv"].size(); ++i)
      e.tasks.push_back(parse_csv_task(at, doc["csv"][i], fmt::format("csv[{}]", i)));
  }
  if (doc.contains("pde")) {
    if (!doc["pde"].is_array()) at.fail("pde", "use [[pde]] tables");
    for (size_t i = 0; i < doc["pde"].size(); ++i)
      e.tasks.push_back(parse_pde_task(at, doc["pde"][i], fmt::format("pde[{}]", i)));
  }
  if (e.tasks.empty()) at.fail("tasks", "no task: give tasks = [...], [[csv]] or [[pde]] tables");
  std::set<std::string> task_names;  // results live in OUTPUT/<file_safe(name)>
  for (const auto& t : e.tasks)
    if (!task_names.insert(file_safe(t.name)).second)
      at.fail(doc.contains("csv") ? "csv" : "tasks", "task '" + t.name + "' appears twice");

  const auto seeds = doc.value("seeds", nlohmann::json(1));
  if (seeds.is_number_integer()) {
    if (seeds.get<int64_t>() < 1 || seeds.get<int64_t>() > static_cast<int64_t>(kMaxRuns))
      at.fail("seeds", fmt::format("must be between 1 and {}", kMaxRuns));
    for (int64_t s = 0; s < seeds.get<int64_t>(); ++s) e.seeds.push_back(s);
  } else if (seeds.is_array() && !seeds.empty() && seeds.size() <= kMaxRuns) {
    for (const auto& s : seeds) {
      if (!s.is_number_integer() || s.get<int64_t>() < 0)
        at.fail("seeds", "must be a count or a list of non-negative integers");
      e.seeds.push_back(s.get<uint64_t>());
    }
  } else {
    at.fail("seeds",
            fmt::format("must be a count or a list of at most {} non-negative integers", kMaxRuns));
  }
  if (doc.contains("target_params")) {
    const auto& t = doc["target_params"];
    if (!t.is_number_integer() || t.get<int64_t>() < 1)
      at.fail("target_params", "must be a positive integer");
    e.target_params = t.get<int64_t>();
  }

  // Shared training options; "loss" left out means: each task's own loss.
  const auto shared = doc.value("training", nlohmann::json::object());
  at.at("training", [&] { return TrainOptions::from_json(shared); });

  if (!doc.contains("model") || !doc["model"].is_array() || doc["model"].empty())
    at.fail("model", "no model: add [[model]] tables");
  std::set<std::string> labels;
  for (size_t i = 0; i < doc["model"].size(); ++i) {
    const auto prefix = fmt::format("model[{}]", i);
    const auto& m = doc["model"][i];
    check_keys(at, m, prefix, {"family", "label", "options", "sweep", "training"});
    if (!m.contains("family") || !m["family"].is_string())
      at.fail(prefix + ".family", "missing (a model family or alias, see `gsnn models`)");
    const std::string name = m["family"];
    for (const char* table : {"options", "sweep", "training"})
      if (m.contains(table) && !m[table].is_object())
        at.fail(prefix + "." + table, "must be a table of key = value");
    if (m.contains("label")) checked_name(at, prefix + ".label", m["label"]);
    const auto options = m.value("options", nlohmann::json::object());
    const auto sweep = m.value("sweep", nlohmann::json::object());
    auto training = shared;
    training.update(m.value("training", nlohmann::json::object()));
    at.at(prefix + ".training", [&] { return TrainOptions::from_json(training); });
    const std::string base_label = m.value("label", name);
    // The options with one combination of the sweep: a bad option is named
    // where it is written, in the options or in the sweep.
    auto named_at = [](const nlohmann::json& combo, const OptionError& e) {
      return OptionError((combo.contains(e.key) ? "sweep." : "options.") + e.key, e.what());
    };
    auto resolve_combination = [&](const nlohmann::json& combo) {
      auto merged = options;
      merged.update(combo);
      return at.at(prefix, [&] {
        try {
          return resolve_model(name, merged, /*refuse_inactive=*/false);
        } catch (const OptionError& e) {
          throw named_at(combo, e);
        }
      });
    };
    // An option that acts only with another (OptionSpec::active_when) is
    // refused only if it is inert in every combination: a sweep over its
    // switch (tau_schedule = ["constant", "geometric"] with tau_ratio set)
    // uses it where it acts.
    std::set<std::string> given;  // written in the file, even at the default value
    for (const auto* table : {&options, &sweep})
      for (const auto& [key, value] : table->items()) given.insert(key);
    std::optional<std::vector<OptionError>> inert_everywhere;
    const auto combos = expand_sweep(at, sweep, prefix + ".sweep");
    const bool swept = combos.size() > 1;  // then the switch's value differs between runs
    for (const auto& combo : combos) {
      ModelRun run;
      run.name = name;
      run.sweep = combo;
      run.training = training;
      run.spec = resolve_combination(combo);
      std::vector<OptionError> inert;
      for (const auto& error : inert_options(run.spec, given, /*say_value=*/!swept))
        if (!inert_everywhere ||
            std::any_of(inert_everywhere->begin(), inert_everywhere->end(),
                        [&](const OptionError& o) { return o.key == named_at(combo, error).key; }))
          inert.push_back(named_at(combo, error));
      inert_everywhere = inert;
      run.label = base_label;
      if (!combo.empty()) run.label += "[" + option_label(combo) + "]";
      if (run.label.size() > 2 * kMaxNameLength)
        at.fail(prefix + ".sweep", fmt::format("the label '{}...' is longer than {} characters",
                                               run.label.substr(0, 40), 2 * kMaxNameLength));
      if (!labels.insert(file_safe(run.label)).second)
        at.fail(prefix + ".label", "label '" + run.label + "' is used twice");
      e.models.push_back(run);
    }
    if (inert_everywhere && !inert_everywhere->empty()) {
      const auto& error = inert_everywhere->front();
      at.fail(prefix + "." + error.key,
              (swept ? "in every combination of the sweep, " : "") + std::string(error.what()));
    }
  }
  if (e.tasks.size() * e.models.size() * e.seeds.size() > kMaxRuns)
    at.fail("model", fmt::format("tasks x models x seeds is more than {} runs", kMaxRuns));
  return e;
}

Experiment load_experiment(const std::string& path) {
  SourceLines lines;
  const auto doc = read_toml(path, &lines);
  return parse_experiment(doc, path, &lines);
}

}  // namespace gsnn
