// gsnn tasks / gsnn models: what is built in, with one line each.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/common.hpp"
#include "nn/registry.hpp"
#include "tasks/kind.hpp"
#include "tasks/task.hpp"
#include "train/trainer.hpp"

namespace gsnn::cli {
namespace {

void print_options(const std::vector<OptionSpec>& specs) {
  for (const auto& o : specs) {
    std::string choices;
    for (const auto& c : o.choices) choices += (choices.empty() ? " {" : "|") + c;
    if (!choices.empty()) choices += "}";
    if (!o.active_when.empty()) choices += " (acts only with " + active_condition(o) + ")";
    fmt::print("    {:<16} {:<10} {}{}\n", o.name, o.default_value.dump(), o.help, choices);
  }
}

}  // namespace

void add_catalog_commands(CLI::App& app) {
  app.add_subcommand("tasks", "list the built-in tasks, task kinds and objectives")->callback([] {
    for (const auto& t : all_tasks()) {
      fmt::print("{:<20} {:<15} {}\n", t.name, t.kind, t.summary);
      print_options(t.options);  // set with `gsnn run TASK -o key=value`
    }
    fmt::print("task kinds (default objective):\n");
    for (const auto& k : task_kinds())
      fmt::print("    {:<16} {:<14} {}\n", k.name, k.default_objective, k.summary);
    fmt::print("objectives (training option `loss`):\n");
    for (const auto& o : objectives()) {
      fmt::print("    {:<16} {:<14} {}\n", o.name, fmt::format("{}", fmt::join(o.kinds, ",")),
                 o.summary);
      if (!o.options.empty()) print_options(o.options);  // training option loss_options
    }
  });
  app.add_subcommand("models", "list model families, their options and defaults")->callback([] {
    for (const auto& f : model_families()) {
      fmt::print("{}: {}\n", f.name, f.summary);
      print_options(f.options);
    }
    fmt::print("options of every family:\n");
    print_options(model_wrapper_options());
    fmt::print("aliases:\n");
    for (const auto& a : model_aliases())
      fmt::print("    {:<16} = {} {}\n", a.name, a.family, a.preset.dump());
    fmt::print("training options ([training] in config files):\n");
    print_options(TrainOptions::specs());
  });
}

}  // namespace gsnn::cli
