// write_report: aggregation over seeds, figures, and the HTML page.
#include "report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "data/csv.hpp"
#include "eval/metrics.hpp"
#include "experiment/runner.hpp"
#include "experiment/spec.hpp"
#include "gsnn/version.hpp"
#include "io/files.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "report/gnuplot.hpp"

namespace gsnn {
namespace fs = std::filesystem;
namespace {

struct Run {
  nlohmann::json record;
  fs::path dir;
};

double lookup(const nlohmann::json& j, const std::vector<std::string>& path) {
  const nlohmann::json* node = &j;
  for (const auto& k : path) {
    if (!node->is_object() || !node->contains(k)) return NAN;
    node = &(*node)[k];
  }
  return node->is_number() ? node->get<double>() : NAN;
}

struct Column {
  std::string title;
  std::vector<std::string> path;  // into the record
  Better better = Better::None;
  double nominal = NAN;
};

// The table's columns, from what the results contain: the parameter count;
// for the test set every registered metric the registry shows there (and
// unregistered numbers, without a "best"); for the other evaluation sets
// the metrics shown for every set; then smoothness and time.
std::vector<Column> columns_of(const std::vector<Run>& runs) {
  std::vector<std::string> sets = {"test"};
  for (const auto& r : runs)
    for (const auto& [set, values] : r.record.at("metrics").items())
      if (set != "train" && std::find(sets.begin(), sets.end(), set) == sets.end())
        sets.push_back(set);
  std::vector<Column> out = {{"params", {"parameters"}}};
  for (const auto& set : sets) {
    std::vector<std::string> names;  // registry order, then unregistered ones
    for (const auto& info : metric_infos()) names.push_back(info.name);
    for (const auto& r : runs) {
      const auto values = r.record.at("metrics").value(set, nlohmann::json::object());
      for (const auto& [name, value] : values.items())
        if (value.is_number() && !find_metric(name) &&
            std::find(names.begin(), names.end(), name) == names.end())
          names.push_back(name);
    }
    std::string set_title = set;
    std::replace(set_title.begin(), set_title.end(), '_', ' ');
    for (const auto& name : names) {
      const auto* info = find_metric(name);
      const bool shown =
          info ? info->shown == Shown::EverySet || (info->shown == Shown::TestOnly && set == "test")
               : set == "test";
      if (!shown) continue;
      bool present = false;
      for (const auto& r : runs)
        present = present || std::isfinite(lookup(r.record, {"metrics", set, name}));
      if (!present) continue;
      out.push_back({set_title + " " + (info ? info->title : name),
                     {"metrics", set, name},
                     info ? info->better : Better::None,
                     info ? info->nominal : NAN});
    }
  }
  out.push_back({"f'' (mean sq.)", {"smoothness", "second_difference"}});
  out.push_back({"Lipschitz", {"smoothness", "lipschitz"}});
  out.push_back({"seconds", {"seconds"}});
  return out;
}

struct Stat {
  double mean = NAN, std = NAN;
  int n = 0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  std::vector<double> ok;
  for (double x : v)
    if (std::isfinite(x)) ok.push_back(x);
  s.n = static_cast<int>(ok.size());
  if (ok.empty()) return s;
  double sum = 0;
  for (double x : ok) sum += x;
  s.mean = sum / ok.size();
  double ss = 0;
  for (double x : ok) ss += (x - s.mean) * (x - s.mean);
  s.std = ok.size() > 1 ? std::sqrt(ss / (ok.size() - 1)) : 0.0;
  return s;
}

std::string num(double v) {
  if (!std::isfinite(v)) return "–";
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5)) return fmt::format("{:.2e}", v);
  return fmt::format("{:.4g}", v);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else if (c == '\'')
      out += "&#39;";
    else
      out += c;
  }
  return out;
}

// A result file is data from elsewhere: every key the report reads is checked
// first, so a bad file is reported by name and key instead of failing deep inside.
void check_record(const nlohmann::json& j, const std::string& path) {
  auto fail = [&](const std::string& key, const char* what) {
    throw std::runtime_error(fmt::format("{}: key '{}' must be {}", path, key, what));
  };
  for (const char* key : {"experiment", "task", "model_label"})
    if (!j.contains(key) || !j[key].is_string()) fail(key, "a string");
  if (j.contains("kind") && !j["kind"].is_string()) fail("kind", "a string");
  if (!j.contains("parameters") || !j["parameters"].is_number()) fail("parameters", "a number");
  if (!j.contains("seed") || !j["seed"].is_number_integer()) fail("seed", "an integer");
  if (!j.contains("training") || !j["training"].is_object() ||
      !j["training"].value("loss", nlohmann::json()).is_string())
    fail("training", "a table with a string 'loss'");
  if (j.contains("sweep") && !j["sweep"].is_object()) fail("sweep", "a table");
  if (j.contains("diverged") && !j["diverged"].is_boolean()) fail("diverged", "true or false");
  if (!j.contains("metrics") || !j["metrics"].is_object()) fail("metrics", "a table");
  for (const auto& [set, values] : j["metrics"].items())
    if (!values.is_object()) fail("metrics." + set, "a table");
  if (!j.contains("curve") || !j["curve"].is_array()) fail("curve", "a list");
  for (const auto& p : j["curve"]) {
    if (!p.is_object() || !p.value("step", nlohmann::json()).is_number_integer())
      fail("curve", "a list of tables with an integer 'step'");
    for (const char* key : {"train_loss", "validation_loss"})
      if (!p.contains(key) || !(p[key].is_number() || p[key].is_null()))
        fail(std::string("curve.") + key, "a number or null");
    if (p.contains("parts") && !p["parts"].is_object()) fail("curve.parts", "a table");
  }
  if (!j.contains("domain") || !j["domain"].is_array()) fail("domain", "a list");
  for (const auto& range : j["domain"])
    if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number())
      fail("domain", "a list of [low, high] pairs");
}

// A line of the mean over seeds at each step; `positive` turns false at a
// value <= 0 (no log scale then).
Series mean_series(const std::string& title, const std::map<int64_t, std::vector<double>>& at,
                   bool& positive) {
  // One check (a short run) is a point: a line through it would draw nothing.
  Series s{title, {}, {}, {}, {}, at.size() == 1 ? "points pt 7 ps 1.5" : "lines"};
  for (const auto& [step, v] : at) {
    s.x.push_back(step);
    s.y.push_back(stat(v).mean);
    positive = positive && s.y.back() > 0;
  }
  return s;
}

// What a run was asked to do, without its seed: runs that share it are seeds
// of one configuration.
nlohmann::json config_without_seed(const nlohmann::json& record) {
  auto config = record.value("config", nlohmann::json::object());
  if (config.is_object() && config.contains("training") && config["training"].is_object())
    config["training"].erase("seed");
  return config;
}

// Base label of a swept model: "gsnn[depth=2]" -> "gsnn".
std::string base_label(const std::string& label) { return label.substr(0, label.find('[')); }

class TaskReport {
 public:
  // `index` numbers the section: figure files are named by it, never by
  // names from the results (which may collide after sanitising, or be long).
  TaskReport(std::string key, std::vector<Run> runs, fs::path out, int index)
      : key_(std::move(key)), runs_(std::move(runs)), out_(std::move(out)), index_(index) {
    columns_ = columns_of(runs_);
    // Runs average over seeds only when they share a configuration: a label
    // with several configurations gets one row per configuration.
    std::map<std::string, std::vector<nlohmann::json>> configs;
    std::vector<size_t> config_of;
    for (const auto& r : runs_) {
      auto& list = configs[r.record.at("model_label").get<std::string>()];
      const auto config = config_without_seed(r.record);
      auto it = std::find(list.begin(), list.end(), config);
      config_of.push_back(it - list.begin());
      if (it == list.end()) list.push_back(config);
    }
    for (size_t i = 0; i < runs_.size(); ++i) {
      std::string label = runs_[i].record.at("model_label");
      if (configs[label].size() > 1)
        label += fmt::format(" (configuration {} of {})", config_of[i] + 1, configs[label].size());
      if (!by_model_.count(label)) order_.push_back(label);
      by_model_[label].push_back(&runs_[i]);
    }
  }

  std::string html(int& figures) {
    std::string h = fmt::format("<h2>{}</h2>\n", html_escape(key_));
    h += table();
    for (const auto& f :
         {&TaskReport::learning_curves, &TaskReport::loss_parts, &TaskReport::calibration,
          &TaskReport::robustness, &TaskReport::fits, &TaskReport::error_maps,
          &TaskReport::reconstructions, &TaskReport::sweeps}) {
      for (const auto& [caption, png] : (this->*f)()) {
        h +=
            fmt::format("<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                        html_escape(png), html_escape(caption), html_escape(caption));
        ++figures;
      }
    }
    return h;
  }

 private:
  using Figures = std::vector<std::pair<std::string, std::string>>;

  std::vector<double> values(const std::string& label, const std::vector<std::string>& path) const {
    std::vector<double> v;
    for (const auto* r : by_model_.at(label)) v.push_back(lookup(r->record, path));
    return v;
  }

  std::string table() const {
    std::vector<const Column*> shown;
    for (const auto& c : columns_) {
      bool any = false;
      for (const auto& label : order_) any = any || stat(values(label, c.path)).n > 0;
      if (any) shown.push_back(&c);
    }
    std::string h = "<table>\n<tr><th>model</th><th>seeds</th>";
    for (const auto* c : shown) h += "<th>" + c->title + "</th>";
    h += "</tr>\n";
    std::map<const Column*, std::string> best;
    for (const auto* c : shown) {
      double best_score = INFINITY;
      for (const auto& label : order_) {
        const auto s = stat(values(label, c->path));
        if (s.n == 0 || c->better == Better::None) continue;
        const double score = c->better == Better::Lower    ? s.mean
                             : c->better == Better::Higher ? -s.mean
                                                           : std::abs(s.mean - c->nominal);
        if (score < best_score) best_score = score, best[c] = label;
      }
    }
    // The test set's first metric decides which seeds count as finite.
    std::vector<std::string> headline = {"parameters"};
    for (const auto& c : columns_)
      if (c.path.size() == 3 && c.path[1] == "test") {
        headline = c.path;
        break;
      }
    for (const auto& label : order_) {
      // seeds with a finite test error / all seeds, so failed runs stay visible
      const auto& runs = by_model_.at(label);
      int diverged = 0;
      for (const auto* r : runs) diverged += r->record.value("diverged", false);
      const auto finite = stat(values(label, headline)).n;
      std::string seeds = std::to_string(runs.size());
      if (finite != static_cast<int>(runs.size()))
        seeds = fmt::format("{}/{} finite", finite, runs.size());
      if (diverged) seeds += fmt::format(", {} diverged", diverged);
      h += fmt::format("<tr><td>{}</td><td>{}</td>", html_escape(label), seeds);
      for (const auto* c : shown) {
        const auto s = stat(values(label, c->path));
        std::string cell = s.n == 0                 ? "–"
                           : s.n == 1 || s.std == 0 ? num(s.mean)
                                                    : num(s.mean) + " ± " + num(s.std);
        if (best.count(c) && best.at(c) == label) cell = "<b>" + cell + "</b>";
        h += "<td>" + cell + "</td>";
      }
      h += "</tr>\n";
    }
    return h + "</table>\n";
  }

  // Results before schema 2 are all regression.
  bool regression() const {
    return runs_.front().record.value("kind", "regression") == "regression";
  }
  bool pde() const { return runs_.front().record.value("kind", "") == "pde"; }

  std::string png(const std::string& what) const { return fmt::format("s{}_{}.png", index_, what); }
  std::string model_png(const char* what, const std::string& label) const {
    const auto at = std::find(order_.begin(), order_.end(), label) - order_.begin();
    return png(fmt::format("{}_m{}", what, at));
  }

  Figures learning_curves() const {
    PlotSpec spec;
    spec.path = (out_ / png("curves")).string();
    spec.xlabel = "step";
    bool positive = true;
    bool validation = true;
    for (const auto& label : order_) {
      // mean over seeds at each recorded step (seeds share the stride)
      std::map<int64_t, std::vector<double>> at;
      for (const auto* r : by_model_.at(label))
        for (const auto& p : r->record.at("curve")) {
          const bool has_val = p.at("validation_loss").is_number();
          validation = validation && has_val;
          at[p.at("step")].push_back(has_val ? p.at("validation_loss").get<double>()
                                             : p.at("train_loss").get<double>());
        }
      auto s = mean_series(label, at, positive);
      if (!s.x.empty()) spec.series.push_back(s);  // a model fitted directly has no curve
    }
    if (spec.series.empty()) return {};
    std::set<std::string> losses;
    for (const auto& r : runs_)
      losses.insert(r.record.at("training").at("loss").get<std::string>());
    const std::string loss = losses.size() == 1 ? *losses.begin() : "each model's own loss";
    bool raw_targets = true;  // scaling "none": losses in the targets' own units
    for (const auto& r : runs_)
      raw_targets = raw_targets && r.record.at("training").value("scaling", "standard") == "none";
    spec.ylabel = fmt::format("{} loss ({}, {})", validation ? "validation" : "train", loss,
                              raw_targets ? "raw target units" : "standardised units");
    spec.title = key_ + ": learning curves (mean over seeds)";
    spec.log_y = positive;
    plot_lines(spec);
    return {{spec.title, png("curves")}};
  }

  // The objective's named parts on the training set and the tracked test
  // metrics, when there are several: one figure per part, one line per model
  // (like seed 002's figure 3).
  Figures loss_parts() const {
    std::map<std::string, std::map<std::string, std::map<int64_t, std::vector<double>>>>
        at;  // part -> model -> step -> values over seeds
    for (const auto& label : order_)
      for (const auto* r : by_model_.at(label))
        for (const auto& p : r->record.at("curve")) {
          const auto parts = p.value("parts", nlohmann::json::object());
          for (const auto& [part, value] : parts.items())
            if (value.is_number()) at[part][label][p.at("step")].push_back(value.get<double>());
        }
    if (at.size() < 2) return {};
    Figures figs;
    size_t index = 0;
    for (const auto& [part, by_model] : at) {
      PlotSpec spec;
      const auto file = png(fmt::format("parts{}", index++));
      spec.path = (out_ / file).string();
      const bool tracked = part.rfind("test_", 0) == 0;
      spec.title = fmt::format("{}: loss parts: {} ({}, mean over seeds)", key_, part,
                               tracked ? "test set, the targets' units" : "training set");
      spec.xlabel = "step";
      spec.ylabel = part;
      bool positive = true;
      for (const auto& [label, steps] : by_model)
        spec.series.push_back(mean_series(label, steps, positive));
      spec.log_y = positive;
      plot_lines(spec);
      figs.emplace_back(spec.title, file);
    }
    return figs;
  }

  // Test accuracy under white noise and L2 attacks (a result's "robustness",
  // eval/robustness.hpp), one line per model, like seed 004's figure 5.
  Figures robustness() const {
    static const std::vector<std::array<const char*, 3>> curves = {
        {"noise", "std", "white Gaussian noise: accuracy against its std"},
        {"fgm_l2", "eps", "L2 fast-gradient attack: accuracy against |delta|_2"},
        {"pgd_l2", "eps", "L2 projected-gradient attack: accuracy against |delta|_2"}};
    Figures figs;
    for (size_t c = 0; c < curves.size(); ++c) {
      const auto [name, axis, what] = curves[c];
      PlotSpec spec;
      const auto file = png(fmt::format("robustness{}", c));
      spec.path = (out_ / file).string();
      spec.title = fmt::format("{}: {} (test set, mean over seeds)", key_, what);
      spec.xlabel = axis;
      spec.ylabel = "accuracy";
      for (const auto& label : order_) {
        std::map<double, std::vector<double>> at;  // level -> accuracies over seeds
        for (const auto* r : by_model_.at(label)) {
          const auto all = r->record.value("robustness", nlohmann::json());
          if (!all.is_object() || !all.contains(name) || !all[name].is_object()) continue;
          const auto xs = all[name].value(axis, nlohmann::json()),
                     ys = all[name].value("accuracy", nlohmann::json());
          if (!xs.is_array() || !ys.is_array() || xs.size() != ys.size() || xs.size() > 1000)
            continue;
          // Only what a run can write: levels in [0, 1e6], accuracies in [0, 1].
          for (size_t i = 0; i < xs.size(); ++i)
            if (xs[i].is_number() && ys[i].is_number() && xs[i] >= 0 && xs[i] <= 1e6 &&
                ys[i] >= 0 && ys[i] <= 1)
              at[xs[i].get<double>()].push_back(ys[i].get<double>());
        }
        Series s{label, {}, {}, {}, {}, "linespoints"};
        for (const auto& [x, v] : at) s.x.push_back(x), s.y.push_back(stat(v).mean);
        if (!s.x.empty()) spec.series.push_back(s);
      }
      if (spec.series.empty()) continue;
      plot_lines(spec);
      figs.emplace_back(spec.title, file);
    }
    return figs;
  }

  Figures calibration() const {
    PlotSpec spec;
    spec.path = (out_ / png("calibration")).string();
    spec.title = key_ + ": calibration on the test set (mean over seeds)";
    spec.xlabel = "nominal coverage of the central interval";
    spec.ylabel = "observed coverage";
    Series ideal{"ideal", {0, 1}, {0, 1}, {}, {}, "lines lc rgb '#000000' dt 2"};
    spec.series.push_back(ideal);
    for (const auto& label : order_) {
      Series s{label, {}, {}, {}, {}, "linespoints"};
      for (int i = 0; i < 19; ++i) {
        std::vector<double> v;
        for (const auto* r : by_model_.at(label)) {
          const auto curve = r->record.at("metrics")
                                 .value("test", nlohmann::json::object())
                                 .value("coverage_curve", nlohmann::json::array());
          if (static_cast<int>(curve.size()) == 19 && curve[i].is_number())
            v.push_back(curve[i].get<double>());
        }
        if (v.empty()) continue;
        s.x.push_back(0.05 * (i + 1));
        s.y.push_back(stat(v).mean);
      }
      if (!s.x.empty()) spec.series.push_back(s);
    }
    if (spec.series.size() < 2) return {};  // no model reports a coverage curve
    plot_lines(spec);
    return {{spec.title, png("calibration")}};
  }

  // Training data written by the runner beside the task's runs.
  // `columns`: the inputs of the domain plus one target.
  bool has_task_file(const std::string& name) const {
    return fs::exists(runs_.front().dir.parent_path().parent_path() / name);
  }

  CsvTable task_table(const std::string& name, size_t columns) const {
    const auto path = (runs_.front().dir.parent_path().parent_path() / name).string();
    auto table = read_csv(path);
    if (table.header.size() < columns)
      throw std::runtime_error(
          fmt::format("{}: expected {} columns (inputs and a target), found {}", path, columns,
                      table.header.size()));
    return table;
  }

  Figures fits() const {
    const auto& domain = runs_.front().record.at("domain");
    if (!regression() || domain.size() != 1) return {};
    const double lo = domain[0][0], hi = domain[0][1];
    Figures figs;
    const auto train = task_table("train.csv", 2);
    Series points{"training data", {}, {}, {}, {}, "points pt 7 ps 0.4 lc rgb '#444444'"};
    for (const auto& row : train.rows) points.x.push_back(row[0]), points.y.push_back(row[1]);
    for (const auto& label : order_) {
      const auto* run = by_model_.at(label).front();
      const auto model = load_model((run->dir / "model").string());
      const auto x = torch::linspace(lo, hi, 600, torch::kFloat64).unsqueeze(1);
      const auto pred = model.predict(x);
      Series fit{"mean ± 2 std", {}, {}, {}, {}, "lines"};
      for (int64_t i = 0; i < 600; ++i) {
        const double m = pred.mean[i][0].item<double>(), s = pred.var[i][0].sqrt().item<double>();
        fit.x.push_back(x[i][0].item<double>());
        fit.y.push_back(m);
        fit.lower.push_back(m - 2 * s);
        fit.upper.push_back(m + 2 * s);
      }
      PlotSpec spec;
      spec.path = (out_ / model_png("fit", label)).string();
      spec.title = fmt::format("{}: {} (seed {})", key_, label, run->record.at("seed").dump());
      spec.xlabel = train.header[0];
      spec.ylabel = train.header[1];
      spec.series = {fit, points};
      plot_lines(spec);
      figs.emplace_back(spec.title, model_png("fit", label));
    }
    return figs;
  }

  Figures error_maps() const {
    const auto& domain = runs_.front().record.at("domain");
    // test.csv holds the exact values: the target (regression) or the solution (pde).
    if (!(regression() || pde()) || domain.size() != 2 || !has_task_file("test.csv")) return {};
    const auto test = task_table("test.csv", 3);
    auto x = torch::empty({static_cast<int64_t>(test.rows.size()), 2}, torch::kFloat64);
    std::vector<double> x1, x2, y;
    for (size_t i = 0; i < test.rows.size(); ++i) {
      x[i][0] = test.rows[i][0];
      x[i][1] = test.rows[i][1];
      x1.push_back(test.rows[i][0]);
      x2.push_back(test.rows[i][1]);
      y.push_back(test.rows[i][2]);
    }
    Figures figs;
    // Error against the input norm, every model in one figure (seed 004's
    // figure 2, middle): in-domain, inside-hull and outside-hull errors apart.
    PlotSpec by_norm;
    by_norm.path = (out_ / png("error_norm")).string();
    by_norm.title = fmt::format("{}: log10 |error| against |x| (first seed)", key_);
    by_norm.xlabel = "|x|";
    by_norm.ylabel = "log10 |error|";
    for (const auto& label : order_) {
      const auto* run = by_model_.at(label).front();
      const auto pred = load_model((run->dir / "model").string()).predict(x);
      std::vector<double> err;
      for (size_t i = 0; i < y.size(); ++i)
        err.push_back(std::log10(std::abs(pred.mean[i][0].item<double>() - y[i]) + 1e-12));
      if (!pde()) {
        Series s{label, {}, err, {}, {}, "points pt 7 ps 0.3"};
        for (size_t i = 0; i < y.size(); ++i) s.x.push_back(std::hypot(x1[i], x2[i]));
        by_norm.series.push_back(std::move(s));
      }
      const auto title = fmt::format("{}: log10 |error| of {} (seed {})", key_, label,
                                     run->record.at("seed").dump());
      plot_colour_map((out_ / model_png("error", label)).string(), title, x1, x2, err,
                      "log10 |error|");
      figs.emplace_back(title, model_png("error", label));
      if (!pde()) continue;
      std::vector<double> u;  // a PDE's solution map beside its error map
      for (size_t i = 0; i < y.size(); ++i) u.push_back(pred.mean[i][0].item<double>());
      const auto solution =
          fmt::format("{}: solution u of {} (seed {})", key_, label, run->record.at("seed").dump());
      plot_colour_map((out_ / model_png("solution", label)).string(), solution, x1, x2, u, "u");
      figs.emplace_back(solution, model_png("solution", label));
    }
    if (!by_norm.series.empty()) {
      plot_lines(by_norm);
      figs.emplace_back(by_norm.title, png("error_norm"));
    }
    return figs;
  }

  // Test images above each model's reconstruction of them (first seed; seed
  // 002 section 5.2), for models whose outputs are the images' pixels.
  Figures reconstructions() const {
    if (!regression() || !has_task_file(kTestImagesFile)) return {};
    const auto path = runs_.front().dir.parent_path().parent_path() / kTestImagesFile;
    const auto file = read_safetensors(path.string());
    const auto found = file.tensors.find("x");
    if (found == file.tensors.end() || found->second.dim() != 4 || found->second.size(1) != 1 ||
        found->second.size(0) > kSampleImages) {
      fmt::print(stderr,
                 "warning: no reconstruction figure: {} does not hold 'x', at most {} grey "
                 "images [n, 1, height, width]\n",
                 path.string(), kSampleImages);
      return {};
    }
    const auto x = found->second.to(torch::kFloat64);
    const int64_t height = x.size(2), width = x.size(3);
    auto images_of = [&](const torch::Tensor& t) {
      std::vector<std::vector<double>> out;
      const auto rows = t.reshape({t.size(0), -1}).contiguous();
      for (int64_t i = 0; i < rows.size(0); ++i)
        out.emplace_back(rows[i].data_ptr<double>(), rows[i].data_ptr<double>() + rows.size(1));
      return out;
    };
    std::vector<ImageRow> rows = {{"original", images_of(x)}};
    for (const auto& label : order_) {
      const auto model = load_model((by_model_.at(label).front()->dir / "model").string());
      if (model.outputs.size() != static_cast<size_t>(height * width) ||
          model.network->shape().input_shape != std::vector<int64_t>{1, height, width})
        continue;
      rows.push_back({label, images_of(model.predict(x).mean.to(torch::kFloat64))});
    }
    if (rows.size() < 2) return {};
    const auto title = fmt::format("{}: test images and their reconstructions (first seed)", key_);
    plot_image_grid((out_ / png("reconstructions")).string(), title, rows, height, width);
    return {{title, png("reconstructions")}};
  }

  Figures sweeps() const {
    // group swept models by base label; x axis = first swept option
    std::map<std::string, std::vector<std::string>> groups;
    for (const auto& label : order_)
      if (!by_model_.at(label).front()->record.value("sweep", nlohmann::json::object()).empty())
        groups[base_label(label)].push_back(label);
    Figures figs;
    // Classifiers are compared by accuracy, everything else by MSE.
    const bool error = regression() || pde();
    const std::string metric = error ? "mse" : "accuracy",
                      title = error ? "test MSE" : "test accuracy";
    for (const auto& [base, labels] : groups) {
      const auto first = by_model_.at(labels.front()).front()->record.at("sweep");
      const std::string xkey = first.begin().key();
      std::vector<std::string> xs;          // x values in order of appearance
      std::map<std::string, Series> lines;  // by the other options
      std::vector<std::string> line_order;
      for (const auto& label : labels) {
        auto sweep = by_model_.at(label).front()->record.at("sweep");
        const auto xv =
            sweep[xkey].is_string() ? sweep[xkey].get<std::string>() : sweep[xkey].dump();
        if (std::find(xs.begin(), xs.end(), xv) == xs.end()) xs.push_back(xv);
        sweep.erase(xkey);
        std::string rest;
        for (const auto& [k, v] : sweep.items())
          rest += (rest.empty() ? "" : ", ") + k + "=" +
                  (v.is_string() ? v.get<std::string>() : v.dump());
        if (rest.empty()) rest = base;
        if (!lines.count(rest))
          line_order.push_back(rest), lines[rest] = Series{rest, {}, {}, {}, {}, "linespoints"};
        const auto s = stat(values(label, {"metrics", "test", metric}));
        if (!std::isfinite(s.mean)) continue;  // not measured for this run
        auto& series = lines[rest];
        series.x.push_back(std::find(xs.begin(), xs.end(), xv) - xs.begin());
        series.y.push_back(s.mean);
        series.lower.push_back(error ? std::max(s.mean - s.std, s.mean * 1e-3) : s.mean - s.std);
        series.upper.push_back(s.mean + s.std);
      }
      PlotSpec spec;
      spec.path = (out_ / model_png("sweep", labels.front())).string();
      spec.title = fmt::format("{}: {} sweep, {} against {} (mean ± std over seeds)", key_, base,
                               title, xkey);
      spec.xlabel = xkey;
      spec.ylabel = title;
      spec.log_y = error;
      spec.xtics = xs;
      for (const auto& name : line_order)
        if (!lines[name].x.empty()) spec.series.push_back(lines[name]);
      if (spec.series.empty()) continue;
      plot_lines(spec);
      figs.emplace_back(spec.title, model_png("sweep", labels.front()));
    }
    return figs;
  }

  std::string key_;
  std::vector<Run> runs_;
  int index_;
  std::vector<Column> columns_;
  fs::path out_;
  std::vector<std::string> order_;
  std::map<std::string, std::vector<const Run*>> by_model_;
};

}  // namespace

ReportSummary write_report(const std::string& results_dir, const std::string& report_dir) {
  if (!fs::is_directory(results_dir)) throw std::runtime_error(results_dir + ": not a directory");
  std::map<std::string, std::vector<Run>> groups;  // "experiment / task"
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(results_dir))
    if (entry.path().filename() == "result.json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ReportSummary summary;
  for (const auto& path : files) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(path.string(), kMaxJsonBytes));
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
    }
    if (!j.is_object() || j.value("schema", nlohmann::json()) != "gsnn-run") continue;
    const auto schema = j.value("schema_version", nlohmann::json());
    if (!schema.is_number_integer() || schema < 1 || schema > kRunSchemaVersion)
      throw std::runtime_error(path.string() + ": unsupported result schema version");
    check_record(j, path.string());
    const auto key = j.value("experiment", "experiment") + " / " + j.value("task", "?");
    groups[key].push_back({j, path.parent_path()});
    ++summary.runs;
  }
  if (summary.runs == 0) throw std::runtime_error(results_dir + ": no run results found");
  std::error_code ec;
  if (report_dir.empty() || (fs::create_directories(report_dir, ec), ec) ||
      !fs::is_directory(report_dir))
    throw std::runtime_error(fmt::format("-o {}: cannot create the report directory{}", report_dir,
                                         ec ? ": " + ec.message() : ""));
  std::string body;
  for (auto& [key, runs] : groups) {
    TaskReport task(key, runs, report_dir, summary.tasks);
    body += task.html(summary.figures);
    ++summary.tasks;
  }
  const std::string page = fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gsnn report</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
figure {{ display: inline-block; margin: 0.5em; }} img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85em; color: #555; }}
</style></head><body>
<h1>gsnn report</h1>
<p>{} runs from <code>{}</code>, gsnn {}. Tables: mean ± sample std over seeds; bold: best
in the metric's own direction (lowest error, NLL and calibration error, highest accuracy,
coverage closest to its nominal level). MSE and NLL in the targets' units; learning curves in
standardised units.</p>
{}
</body></html>
)",
                                       summary.runs, html_escape(results_dir), GSNN_VERSION, body);
  write_file_atomically((fs::path(report_dir) / "index.html").string(), page);
  return summary;
}

}  // namespace gsnn
