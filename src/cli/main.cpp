// The gsnn command: subcommands for training, prediction and the demo.
#include <fmt/format.h>

#include <c10/util/Exception.h>
#include <fmt/ranges.h>

#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "gsnn/version.hpp"
#include "io/files.hpp"

namespace {

// An error message as printed: it may quote a name or key from a file (a
// 100 KB option name, terminal escape codes), so control characters other
// than line breaks are shown as \xNN and the whole is cut at 4000 characters.
std::string printable(const std::string& message) {
  std::string out;
  for (unsigned char c : message.substr(0, 4000))
    out += (c < 0x20 && c != '\n') || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, c);
  return message.size() > 4000 ? out + "... (cut)" : out;
}

}  // namespace

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
  const auto named = [&](CLI::App* sub) { return sub->check_name(argv[1]); };
  if (argc > 1 && argv[1][0] != '-' && app.get_subcommands(named).empty()) {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    fmt::print(stderr, "gsnn: error: unknown command '{}' (commands: {})\n",
               printable(std::string(argv[1]).substr(0, 60)), fmt::join(names, ", "));
    return 2;
  }
  gsnn::remove_temporaries_on_signals();  // Ctrl-C or a kill leaves no half-written file
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // --help, --version, or a bad flag (escaped)
    std::ostringstream out, err;
    const int rc = app.exit(e, out, err);
    fmt::print("{}", out.str());
    fmt::print(stderr, "{}", printable(err.str()));
    return rc;
  } catch (const c10::Error& e) {  // LibTorch: its message, without the C++ backtrace
    fmt::print(stderr, "gsnn: error: {}\n", printable(e.what_without_backtrace()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gsnn: error: {}\n", printable(e.what()));
    return 1;
  }
  return 0;
}
