// libFuzzer harness: TOML experiment files (parser, conversion, validation,
// sweeps, names) on arbitrary text. Every input must end in an experiment or
// a std::exception, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "experiment/spec.hpp"
#include "io/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    gsnn::SourceLines lines;
    const auto doc = gsnn::parse_toml(text, "fuzz.toml", &lines);
    gsnn::parse_experiment(doc, "fuzz.toml", &lines);
  } catch (const std::exception&) {
  }
  return 0;
}
