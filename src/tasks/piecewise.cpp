// Seed 001's piecewise-smooth tasks: smooth laws that switch across a known
// set (a point, a circle, a yield surface, a boundary layer, a condition).
// Each has training and validation points, evaluation sets "test" (the
// whole domain), "near_switch" (within `band` of the switching set),
// "away" (farther; it carries the analytic gradient, so results hold the
// derivative error on the smooth parts) and "out_of_domain". The counts are
// options; docs/tasks.md lists every law, domain and set.
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "tasks/builtin.hpp"

namespace gsnn {
namespace {

constexpr int64_t kMaxDraws = 1000000;  // rejection sampling gives up after this many per point

struct PiecewiseLaw {
  std::string name, summary;
  std::vector<std::string> inputs;
  std::vector<std::pair<double, double>> box;  // training domain
  double band;                                 // half-width of the near-switch region
  int64_t train;                               // default number of training points
  std::function<double(const double*)> f;
  std::function<void(const double*, double*)> gradient;  // of f, where smooth
  std::function<double(const double*)> distance;         // to the switching set
  std::function<bool(const double*)> regime;             // regime 1 (else 0), for multihead
  std::function<void(Random&, double*)> outside;         // an out-of-domain point
  std::function<void(Random&, double*)> inside = {};  // a training point (default: uniform in box)
};

void uniform_in(Random& rng, const std::vector<std::pair<double, double>>& box, double* x) {
  for (size_t i = 0; i < box.size(); ++i) x[i] = rng.uniform(box[i].first, box[i].second);
}

// A point from `draw` for which `keep` holds (rejection sampling).
template <class Draw, class Keep>
void draw_until(Draw draw, Keep keep, double* x, const std::string& task) {
  for (int64_t i = 0; i < kMaxDraws; ++i) {
    draw(x);
    if (keep(x)) return;
  }
  throw std::logic_error(task + ": rejection sampling found no point");
}

Task piecewise_task(const PiecewiseLaw& law, const nlohmann::json& given) {
  const std::vector<OptionSpec> specs = {
      {"train", law.train, "training points", {}, 1, 1000000},
      {"validation", law.train / 4, "validation points", {}, 0, 1000000},
      {"test", int64_t{1000}, "points of each evaluation set", {}, 1, 1000000},
  };
  const auto options = resolve_options("task " + law.name, specs, given);
  const int64_t n_train = options.at("train"), n_validation = options.at("validation"),
                n_test = options.at("test");
  Task t;
  t.name = law.name;
  t.summary = fmt::format("seed 001: {}; {} training points", law.summary, n_train);
  t.loss = "mse";
  t.definition = {{"builtin", law.name}, {"options", options}};
  t.options = specs;
  t.configure = [law](const nlohmann::json& o) { return piecewise_task(law, o); };
  t.generate = [law, n_train, n_validation, n_test](uint64_t seed) {
    Random rng(seed);
    const auto dim = static_cast<int64_t>(law.inputs.size());
    auto in_domain = [&](double* x) {
      if (law.inside)
        law.inside(rng, x);
      else
        uniform_in(rng, law.box, x);
    };
    auto sample = [&](int64_t n, const std::function<void(double*)>& point) {
      auto d = sample_dataset(
          n, dim, [&](int64_t, double* x) { point(x); }, law.f, law.inputs);
      d.regime = torch::empty({n, 1}, torch::kFloat64);
      for (int64_t i = 0; i < n; ++i)
        d.regime[i][0] = law.regime(d.x[i].contiguous().data_ptr<double>()) ? 1.0 : 0.0;
      return d;
    };
    auto near = [&](const double* x) { return law.distance(x) < law.band; };
    TaskData d;
    d.train = sample(n_train, in_domain);
    if (n_validation > 0) d.validation = sample(n_validation, in_domain);
    d.evaluation.push_back({"test", sample(n_test, in_domain)});
    d.evaluation.push_back({"near_switch", sample(n_test, [&](double* x) {
                              draw_until(in_domain, near, x, law.name);
                            })});
    NamedSet away{"away", sample(n_test, [&](double* x) {
                    draw_until(
                        in_domain, [&](const double* p) { return !near(p); }, x, law.name);
                  })};
    away.gradient = torch::empty({n_test, dim}, torch::kFloat64);
    for (int64_t i = 0; i < n_test; ++i)
      law.gradient(away.data.x[i].data_ptr<double>(), away.gradient[i].data_ptr<double>());
    d.evaluation.push_back(std::move(away));
    d.evaluation.push_back(
        {"out_of_domain", sample(n_test, [&](double* x) { law.outside(rng, x); })});
    d.domain = law.box;
    for (const auto& set : d.evaluation)  // plots and smoothness cover every set
      for (int64_t j = 0; j < dim; ++j) {
        const auto column = set.data.x.select(1, j);
        d.domain[j].first = std::min(d.domain[j].first, column.min().item<double>());
        d.domain[j].second = std::max(d.domain[j].second, column.max().item<double>());
      }
    return d;
  };
  return t;
}

double sign(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0; }

// (a) sin(3x) + |x + 0.4| / 2 + 1[x > 0.3] on [-1, 1]: a kink at -0.4 and a
// jump at 0.3. Out of domain: 1 < |x| < 1.5.
PiecewiseLaw jump_kink() {
  PiecewiseLaw l;
  l.name = "jump-kink";
  l.train = 256;
  l.summary = "y = sin(3x) + |x + 0.4|/2 + 1[x > 0.3] on [-1, 1] (a kink and a jump)";
  l.inputs = {"x"};
  l.box = {{-1, 1}};
  l.band = 0.05;
  l.f = [](const double* x) {
    return std::sin(3 * x[0]) + 0.5 * std::abs(x[0] + 0.4) + (x[0] > 0.3);
  };
  l.gradient = [](const double* x, double* g) {
    g[0] = 3 * std::cos(3 * x[0]) + 0.5 * sign(x[0] + 0.4);
  };
  l.distance = [](const double* x) { return std::min(std::abs(x[0] + 0.4), std::abs(x[0] - 0.3)); };
  l.regime = [](const double* x) { return x[0] > 0.3; };
  l.outside = [](Random& rng, double* x) {
    const double r = rng.uniform(1, 1.5);
    x[0] = rng.uniform(0, 1) < 0.5 ? -r : r;
  };
  return l;
}

// Out of domain for the 2-D box [-1, 1]^2: uniform in [-1.5, 1.5]^2 outside it.
void outside_square(Random& rng, double* x) {
  do {
    x[0] = rng.uniform(-1.5, 1.5);
    x[1] = rng.uniform(-1.5, 1.5);
  } while (std::abs(x[0]) <= 1 && std::abs(x[1]) <= 1);
}

// (b) a phase change: sin(2 x1) cos(2 x2) inside the circle |x| < 0.6,
// 1 + (x1^2 - x2^2)/2 outside, on [-1, 1]^2.
PiecewiseLaw phase_circle() {
  PiecewiseLaw l;
  l.name = "phase-circle";
  l.train = 1000;
  l.summary = "y = sin(2x1) cos(2x2) inside |x| < 0.6, 1 + (x1^2 - x2^2)/2 outside, on [-1,1]^2";
  l.inputs = {"x1", "x2"};
  l.box = {{-1, 1}, {-1, 1}};
  l.band = 0.05;
  auto inner = [](const double* x) { return std::hypot(x[0], x[1]) < 0.6; };
  l.f = [inner](const double* x) {
    return inner(x) ? std::sin(2 * x[0]) * std::cos(2 * x[1])
                    : 1 + 0.5 * (x[0] * x[0] - x[1] * x[1]);
  };
  l.gradient = [inner](const double* x, double* g) {
    if (inner(x)) {
      g[0] = 2 * std::cos(2 * x[0]) * std::cos(2 * x[1]);
      g[1] = -2 * std::sin(2 * x[0]) * std::sin(2 * x[1]);
    } else {
      g[0] = x[0];
      g[1] = -x[1];
    }
  };
  l.distance = [](const double* x) { return std::abs(std::hypot(x[0], x[1]) - 0.6); };
  l.regime = inner;
  l.outside = outside_square;
  return l;
}

// (c) elastic-plastic stress with linear hardening, dimensionless: strain e
// in [0, 3] (in units of the reference yield strain), temperature T in
// [0, 1]; the yield strain e_y = 1 - 0.4 T falls with temperature.
// stress = e below yield, e_y + 0.1 (e - e_y) beyond (continuous, a kink).
// Out of domain: further strain, e in [3, 4.5].
PiecewiseLaw stress_strain() {
  PiecewiseLaw l;
  l.name = "stress-strain";
  l.train = 500;
  l.summary =
      "stress of an elastic-plastic solid with hardening, yield strain 1 - 0.4 T, "
      "strain in [0, 3], T in [0, 1] (a kink at yield)";
  l.inputs = {"strain", "temperature"};
  l.box = {{0, 3}, {0, 1}};
  l.band = 0.1;
  auto yield = [](const double* x) { return 1 - 0.4 * x[1]; };
  l.f = [yield](const double* x) {
    const double ey = yield(x);
    return x[0] <= ey ? x[0] : ey + 0.1 * (x[0] - ey);
  };
  l.gradient = [yield](const double* x, double* g) {
    const bool elastic = x[0] <= yield(x);
    g[0] = elastic ? 1 : 0.1;
    g[1] = elastic ? 0 : -0.4 * 0.9;
  };
  l.distance = [yield](const double* x) { return std::abs(x[0] - yield(x)); };
  l.regime = [yield](const double* x) { return x[0] <= yield(x); };  // elastic
  l.outside = [](Random& rng, double* x) {
    x[0] = rng.uniform(3, 4.5);
    x[1] = rng.uniform(0, 1);
  };
  return l;
}

// (d) the boundary-layer solution of -eps u'' + u' = 1, u(0) = u(1) = 0:
// u = x - (exp((x - 1)/eps) - exp(-1/eps)) / (1 - exp(-1/eps)), as a
// function of (x, eps), eps log-uniform over [0.01, 0.1]. The switching set
// is the layer at x = 1: "near" is 1 - x < 5 eps (band 1 in the units of
// (1 - x)/(5 eps)). Out of domain: thicker layers, eps in [0.1, 0.2].
PiecewiseLaw boundary_layer() {
  PiecewiseLaw l;
  l.name = "boundary-layer";
  l.train = 1000;
  l.summary =
      "u(x, eps) solving -eps u'' + u' = 1, u(0) = u(1) = 0, x in [0, 1], eps "
      "log-uniform in [0.01, 0.1]";
  l.inputs = {"x", "eps"};
  l.box = {{0, 1}, {0.01, 0.1}};
  l.band = 1;
  l.inside = [](Random& rng, double* x) {
    x[0] = rng.uniform(0, 1);
    x[1] = std::pow(10.0, rng.uniform(-2, -1));
  };
  l.f = [](const double* x) {
    const double e1 = std::exp(-1 / x[1]), a = std::exp((x[0] - 1) / x[1]);
    return x[0] - (a - e1) / (1 - e1);
  };
  l.gradient = [](const double* x, double* g) {
    const double eps = x[1], e1 = std::exp(-1 / eps), a = std::exp((x[0] - 1) / eps);
    g[0] = 1 - a / (eps * (1 - e1));
    // dq/deps with da/deps = a (1 - x)/eps^2 and de1/deps = e1/eps^2.
    const double da = a * (1 - x[0]) / (eps * eps), de1 = e1 / (eps * eps);
    g[1] = -((da - de1) * (1 - e1) + (a - e1) * de1) / ((1 - e1) * (1 - e1));
  };
  l.distance = [](const double* x) { return (1 - x[0]) / (5 * x[1]); };
  l.regime = [](const double* x) { return 1 - x[0] >= 5 * x[1]; };  // outside the layer
  l.outside = [](Random& rng, double* x) {
    x[0] = rng.uniform(0, 1);
    x[1] = rng.uniform(0.1, 0.2);
  };
  return l;
}

// (e) conditional arithmetic: x1 + x2 where x3 > 0, else x1 x2, on [-1, 1]^3.
// Out of domain: (x1, x2) in [-1.5, 1.5]^2 outside [-1, 1]^2, x3 in [-1, 1].
PiecewiseLaw conditional_arithmetic() {
  PiecewiseLaw l;
  l.name = "conditional-arithmetic";
  l.train = 1000;
  l.summary = "y = x1 + x2 where x3 > 0, else x1 x2, on [-1, 1]^3";
  l.inputs = {"x1", "x2", "x3"};
  l.box = {{-1, 1}, {-1, 1}, {-1, 1}};
  l.band = 0.05;
  l.f = [](const double* x) { return x[2] > 0 ? x[0] + x[1] : x[0] * x[1]; };
  l.gradient = [](const double* x, double* g) {
    g[0] = x[2] > 0 ? 1 : x[1];
    g[1] = x[2] > 0 ? 1 : x[0];
    g[2] = 0;
  };
  l.distance = [](const double* x) { return std::abs(x[2]); };
  l.regime = [](const double* x) { return x[2] > 0; };
  l.outside = [](Random& rng, double* x) {
    outside_square(rng, x);
    x[2] = rng.uniform(-1, 1);
  };
  return l;
}

const std::vector<PiecewiseLaw>& laws() {
  static const std::vector<PiecewiseLaw> all = {jump_kink(), phase_circle(), stress_strain(),
                                                boundary_layer(), conditional_arithmetic()};
  return all;
}

}  // namespace

PiecewiseFunction piecewise_function(const std::string& name) {
  for (const auto& l : laws())
    if (l.name == name) return {l.f, l.gradient};
  throw std::invalid_argument("no piecewise task '" + name + "'");
}

std::vector<Task> piecewise_tasks() {
  std::vector<Task> tasks;
  for (const auto& law : laws()) tasks.push_back(piecewise_task(law, {}));
  return tasks;
}

}  // namespace gsnn
