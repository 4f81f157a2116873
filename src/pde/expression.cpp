// Expression fields (muparser) and problems from [[pde]] tables.
#include "pde/expression.hpp"

#include <fmt/format.h>
#include <muParser.h>
#include <torch/torch.h>

#include <cmath>

#include "nn/registry.hpp"

namespace gsnn {
namespace {

// A parser for `expression` bound to *x and *y; throws OptionError on any problem.
std::unique_ptr<mu::Parser> make_parser(const std::string& key, const std::string& expression,
                                        double* x, double* y) {
  if (expression.size() > kMaxExpressionLength)
    throw OptionError(key, fmt::format("{}: the expression is longer than {} characters", key,
                                       kMaxExpressionLength));
  auto parser = std::make_unique<mu::Parser>();
  try {
    parser->DefineVar("x", x);
    parser->DefineVar("y", y);
    parser->DefineConst("pi", M_PI);
    parser->DefineConst("e", M_E);
    parser->SetExpr(expression);
    parser->Eval();  // parses now: errors surface at load time, not during training
    if (parser->GetNumResults() != 1)  // "x, y" is a list, not one value
      throw OptionError(key, fmt::format("{}: bad expression \"{}\": one value expected, not a "
                                         "comma-separated list",
                                         key, expression));
  } catch (const mu::Parser::exception_type& e) {
    throw OptionError(key, fmt::format("{}: bad expression \"{}\": {} (at position {})", key,
                                       expression, e.GetMsg(), e.GetPos()));
  }
  return parser;
}

}  // namespace

Field expression_field(const std::string& key, const std::string& expression) {
  double probe_x = 0, probe_y = 0;
  make_parser(key, expression, &probe_x, &probe_y);  // validate once, at load time
  return [key, expression](const torch::Tensor& xs, const torch::Tensor& ys) {
    double x = 0, y = 0;
    const auto parser = make_parser(key, expression, &x, &y);
    const auto px = xs.to(torch::kFloat64).contiguous(), py = ys.to(torch::kFloat64).contiguous();
    auto out = torch::empty_like(px);
    const double *a = px.data_ptr<double>(), *b = py.data_ptr<double>();
    double* o = out.data_ptr<double>();
    for (int64_t i = 0; i < px.numel(); ++i) {
      x = a[i];
      y = b[i];
      o[i] = parser->Eval();
      if (!std::isfinite(o[i]))
        throw std::invalid_argument(
            fmt::format("{}: \"{}\" is not finite at (x, y) = ({}, {})", key, expression, x, y));
    }
    return out;
  };
}

PdeProblem problem_from_table(const nlohmann::json& t) {
  auto text = [&](const char* key) {
    if (!t.contains(key) || !t[key].is_string())
      throw OptionError(key,
                        std::string(key) + ": missing (an expression in x and y, as a string)");
    return t[key].get<std::string>();
  };
  PdeProblem p;
  p.name = t.at("name").get<std::string>();
  p.summary = "user PDE -Lap u + kappa u = " + text("source");
  const auto& domain = t.contains("domain") ? t["domain"] : nlohmann::json();
  auto number_pair = [](const nlohmann::json& v) {
    return v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number() &&
           std::isfinite(v[1].get<double>() - v[0].get<double>()) &&
           v[0].get<double>() < v[1].get<double>();
  };
  if (!domain.is_array() || domain.size() != 2 || !number_pair(domain[0]) ||
      !number_pair(domain[1]))
    throw OptionError("domain",
                      "domain: only rectangles are supported, written [[x0, x1], [y0, y1]] with "
                      "x0 < x1 and y0 < y1 and finite widths (circles, polygons and other shapes "
                      "are not)");
  p.x0 = domain[0][0];
  p.x1 = domain[0][1];
  p.y0 = domain[1][0];
  p.y1 = domain[1][1];
  if (t.contains("kappa")) {
    if (!t["kappa"].is_number() || !std::isfinite(t["kappa"].get<double>()))
      throw OptionError("kappa", "kappa: must be a finite number (-Lap u + kappa u = f)");
    p.kappa = t["kappa"];
  }
  p.source = expression_field("source", text("source"));
  p.boundary = expression_field("boundary", text("boundary"));
  if (t.contains("exact")) p.exact = expression_field("exact", text("exact"));
  p.definition = {{"domain", domain},
                  {"kappa", p.kappa},
                  {"source", text("source")},
                  {"boundary", text("boundary")},
                  {"exact", t.value("exact", "")}};
  return p;
}

}  // namespace gsnn
