// The gsnn command: subcommands for training, prediction and the demo.
#include <fmt/format.h>

#include <exception>

#include "cli/common.hpp"
#include "gsnn/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"gsnn " GSNN_VERSION
               ": Gaussian smoothing neural networks and baselines for numerical modelling.\n"
               "Run `gsnn COMMAND --help` for the options of a command."};
  app.set_version_flag("--version", std::string(GSNN_VERSION));
  app.require_subcommand(1);
  gsnn::cli::add_fit_command(app);
  gsnn::cli::add_predict_command(app);
  gsnn::cli::add_demo_command(app);
  gsnn::cli::add_run_command(app);
  gsnn::cli::add_report_command(app);
  gsnn::cli::add_catalog_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "gsnn: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
