// libFuzzer harness: the model-file loader. An input is split into
// model.json and weights.safetensors (the first 4 bytes give the JSON's
// length); the description's weights_checksum is set to the weights' real
// checksum so that mutations reach the loader's deeper checks. Every input
// must end in a model or a std::exception, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "io/files.hpp"
#include "io/model_file.hpp"

namespace {

const std::filesystem::path& directory() {
  static const auto dir =
      std::filesystem::temp_directory_path() / ("gsnn_model_fuzz_" + std::to_string(::getpid()));
  static const bool made = std::filesystem::create_directories(dir);
  (void)made;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint32_t json_size = data[0] | data[1] << 8 | data[2] << 16 | uint32_t{data[3]} << 24;
  if (json_size > size - 4) return 0;
  const std::string json(reinterpret_cast<const char*>(data) + 4, json_size);
  const std::string weights(reinterpret_cast<const char*>(data) + 4 + json_size,
                            size - 4 - json_size);
  const auto& dir = directory();
  std::ofstream(dir / "weights.safetensors", std::ios::binary) << weights;
  auto description = nlohmann::json::parse(json, nullptr, false);
  if (description.is_object())
    description["weights_checksum"] = gsnn::file_checksum((dir / "weights.safetensors").string());
  std::ofstream(dir / "model.json", std::ios::binary)
      << (description.is_discarded() ? json : description.dump());
  try {
    const auto model = gsnn::load_model(dir.string());
    const auto x = torch::zeros({2, static_cast<int64_t>(model.inputs.size())});
    if (model.network->shape().input_shape.size() == 1) model.predict(x);
  } catch (const std::exception&) {
  }
  return 0;
}
