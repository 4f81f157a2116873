// Collocation data of a PDE problem, and the built-in problems.
#include "pde/problem.hpp"

#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <stdexcept>

#include "data/dataset.hpp"

namespace gsnn {
namespace {

std::vector<OptionSpec> collocation_options() {
  return {
      {"interior", int64_t{2500}, "interior collocation points", {}, 1, 1e6},
      {"boundary",
       int64_t{400},
       "boundary collocation points (spread over the four sides)",
       {},
       4,
       1e6},
      {"sampling",
       "uniform",
       "uniform: random points (Random(data_seed)); grid: a regular grid of about as many "
       "interior points and evenly spaced boundary points",
       {"uniform", "grid"}},
      {"boundary_weight",
       1.0,
       "weight of the boundary residuals against the interior ones",
       {},
       1e-12,
       1e12},
      {"grid", int64_t{101}, "points per side of the grid the error is measured on", {}, 2, 1001},
      {"resample_every",
       int64_t{0},
       "draw new uniform collocation points every this many steps of the first optimiser (the "
       "L-BFGS polish keeps the first set); 0 = never",
       {},
       0,
       1e9},
  };
}

struct Points {
  std::vector<double> x, y;
};

// n interior points: uniform, or the inner nodes of a regular sqrt(n) grid.
Points interior_points(const PdeProblem& p, int64_t n, bool grid, Random& rng) {
  Points pts;
  if (grid) {
    const auto side = std::max<int64_t>(1, std::llround(std::sqrt(double(n))));
    for (int64_t i = 1; i <= side; ++i)
      for (int64_t j = 1; j <= side; ++j) {
        pts.x.push_back(p.x0 + (p.x1 - p.x0) * double(i) / double(side + 1));
        pts.y.push_back(p.y0 + (p.y1 - p.y0) * double(j) / double(side + 1));
      }
    return pts;
  }
  for (int64_t i = 0; i < n; ++i) {
    pts.x.push_back(rng.uniform(p.x0, p.x1));
    pts.y.push_back(rng.uniform(p.y0, p.y1));
  }
  return pts;
}

// n boundary points: a side chosen in proportion to its length, then a
// uniform position on it; or n/4 evenly spaced points per side.
Points boundary_points(const PdeProblem& p, int64_t n, bool grid, Random& rng) {
  Points pts;
  const double w = p.x1 - p.x0, h = p.y1 - p.y0;
  auto add = [&](double along, int side) {  // along in [0, 1)
    const double xs[] = {p.x0 + along * w, p.x1, p.x1 - along * w, p.x0};
    const double ys[] = {p.y0, p.y0 + along * h, p.y1, p.y1 - along * h};
    pts.x.push_back(xs[side]);
    pts.y.push_back(ys[side]);
  };
  if (grid) {
    const int64_t per_side = n / 4;
    for (int side = 0; side < 4; ++side)
      for (int64_t i = 0; i < per_side; ++i) add(double(i) / double(per_side), side);
    return pts;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double s = rng.uniform(0, 2 * (w + h));
    const int side = s < w ? 0 : s < w + h ? 1 : s < 2 * w + h ? 2 : 3;
    const double start[] = {0, w, w + h, 2 * w + h}, length[] = {w, h, w, h};
    add((s - start[side]) / length[side], side);
  }
  return pts;
}

torch::Tensor column(const std::vector<double>& v) {
  return torch::tensor(v, torch::kFloat64).reshape({-1, 1});
}

Dataset collocation_set(const PdeProblem& p, const Points& inside, const Points& edge,
                        double boundary_weight) {
  const auto xi = column(inside.x), yi = column(inside.y);
  const auto xb = column(edge.x), yb = column(edge.y);
  const int64_t ni = xi.size(0), nb = xb.size(0);
  auto rows = [&](const torch::Tensor& target, double boundary, int64_t n, double weight) {
    return torch::cat({target, torch::full({n, 1}, boundary, torch::kFloat64),
                       torch::full({n, 1}, p.kappa, torch::kFloat64),
                       torch::full({n, 1}, weight, torch::kFloat64)},
                      1);
  };
  Dataset d;
  d.x = torch::cat({torch::cat({xi, yi}, 1), torch::cat({xb, yb}, 1)});
  d.y = torch::cat(
      {rows(p.source(xi, yi), 0, ni, 1.0), rows(p.boundary(xb, yb), 1, nb, boundary_weight)});
  d.input_names = {"x", "y"};
  d.target_names = pde_columns();
  return d;
}

}  // namespace

const std::vector<std::string>& pde_columns() {
  static const std::vector<std::string> names = {"target", "boundary", "kappa", "weight"};
  return names;
}

Task pde_task(const PdeProblem& problem, const nlohmann::json& given) {
  const auto o = resolve_options("task " + problem.name, collocation_options(), given);
  Task t;
  t.name = problem.name;
  t.summary = problem.summary;
  t.kind = "pde";
  t.loss = "pde";
  t.dtype = "float64";
  t.definition = {{"pde", problem.definition}, {"options", o}};
  t.options = collocation_options();
  t.configure = [problem](const nlohmann::json& options) { return pde_task(problem, options); };
  const bool grid = o.at("sampling") == "grid";
  const int64_t interior = o.at("interior"), boundary = o.at("boundary");
  const double weight = o.at("boundary_weight");
  // The training points: the first draws of `rng`.
  auto training_set = [problem, grid, interior, boundary, weight](Random& rng) {
    return collocation_set(problem, interior_points(problem, interior, grid, rng),
                           boundary_points(problem, boundary, grid, rng), weight);
  };
  if (const int64_t every = o.at("resample_every"); every > 0) {
    if (grid)
      throw OptionError("resample_every", "task " + problem.name +
                                              ": resample_every needs sampling = \"uniform\" (a "
                                              "grid is the same at every draw)");
    // Round r > 0 of `every` steps trains on the points of
    // Random(derive_seed(seed, r)); round 0 on the task's points. The last
    // round's set is kept: it is asked for at every step of the round.
    struct Drawn {
      uint64_t seed = 0;
      int64_t round = -1;
      Dataset points;
    };
    auto last = std::make_shared<Drawn>();
    t.fresh_train = [training_set, every, last](int64_t step, uint64_t seed) {
      const int64_t round = (step - 1) / every;
      if (last->round != round || last->seed != seed) {
        Random rng(round == 0 ? seed : derive_seed(seed, static_cast<uint64_t>(round)));
        *last = {seed, round, training_set(rng)};
      }
      return last->points;
    };
  } else {
    t.definition["options"].erase("resample_every");  // results from before the option stay current
  }
  t.generate = [problem, o, training_set](uint64_t seed) {
    Random rng(seed);
    TaskData d;
    d.train = training_set(rng);
    // Validation: fresh random points, a fifth as many (also with grid sampling).
    const int64_t interior = o.at("interior"), boundary = o.at("boundary");
    d.validation = collocation_set(problem, interior_points(problem, interior / 5 + 1, false, rng),
                                   boundary_points(problem, boundary / 5 + 4, false, rng),
                                   o.at("boundary_weight"));
    if (problem.exact) {
      const int64_t side = o.at("grid");
      const auto gx = torch::linspace(problem.x0, problem.x1, side, torch::kFloat64);
      const auto gy = torch::linspace(problem.y0, problem.y1, side, torch::kFloat64);
      const auto mesh = torch::meshgrid({gx, gy}, "xy");
      const auto x = mesh[0].reshape({-1, 1}), y = mesh[1].reshape({-1, 1});
      d.evaluation = {
          {"test", Dataset{torch::cat({x, y}, 1), problem.exact(x, y), {"x", "y"}, {"u"}, {}}}};
    }
    d.domain = {{problem.x0, problem.x1}, {problem.y0, problem.y1}};
    return d;
  };
  return t;
}

PdeProblem poisson2d_problem() {
  PdeProblem p;
  p.name = "poisson2d";
  p.summary =
      "seed 002 eq. (4): -Lap u = 2 pi^2 sin(pi x) sin(pi y) on [-1,1]^2, u = 0 on the edge";
  auto u = [](const torch::Tensor& x, const torch::Tensor& y) {
    return torch::sin(M_PI * x) * torch::sin(M_PI * y);
  };
  p.exact = u;
  p.source = [u](const torch::Tensor& x, const torch::Tensor& y) {
    return 2 * M_PI * M_PI * u(x, y);
  };
  p.boundary = [](const torch::Tensor& x, const torch::Tensor&) { return torch::zeros_like(x); };
  p.definition = {{"problem", "poisson2d"}, {"version", 1}};
  return p;
}

PdeProblem helmholtz2d_problem() {
  PdeProblem p;
  p.name = "helmholtz2d";
  p.summary =
      "-Lap u - (4 pi)^2 u = f on [-1,1]^2, u = sin(pi x) sin(4 pi y): multi-scale, near resonance";
  constexpr double k = 4 * M_PI;
  p.kappa = -k * k;
  auto u = [](const torch::Tensor& x, const torch::Tensor& y) {
    return torch::sin(M_PI * x) * torch::sin(4 * M_PI * y);
  };
  p.exact = u;
  // -Lap u = (1 + 16) pi^2 u, so f = (17 pi^2 - k^2) u = pi^2 u.
  p.source = [u](const torch::Tensor& x, const torch::Tensor& y) {
    return (17 * M_PI * M_PI - k * k) * u(x, y);
  };
  p.boundary = [](const torch::Tensor& x, const torch::Tensor&) { return torch::zeros_like(x); };
  p.definition = {{"problem", "helmholtz2d"}, {"version", 1}};
  return p;
}

}  // namespace gsnn
