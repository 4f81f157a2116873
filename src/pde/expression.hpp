// PDE problems from a user's file: source, boundary values and exact
// solution as expressions in x and y (muparser syntax: + - * / ^, sin, cos,
// tan, exp, log, sqrt, abs, ..., the constants pi and e). Expressions are
// data: they are parsed, never run by a shell, and bounded in length.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "pde/problem.hpp"

namespace gsnn {

constexpr size_t kMaxExpressionLength = 10000;

// A field evaluating `expression` at every point. Throws OptionError(key,
// "... at position N ...") if the expression does not parse or uses a
// variable other than x and y.
Field expression_field(const std::string& key, const std::string& expression);

// A problem from a [[pde]] table: name, domain = [[x0, x1], [y0, y1]],
// kappa (default 0), source, boundary, exact (optional). Throws OptionError
// naming the key at fault.
PdeProblem problem_from_table(const nlohmann::json& table);

}  // namespace gsnn
