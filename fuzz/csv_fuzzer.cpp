// libFuzzer harness: the CSV reader and column selection on arbitrary bytes.
// Every input must end in a table or a std::exception, never a crash.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto table = gsnn::read_csv(in, "fuzz.csv");
    if (table.header.size() >= 2) {
      auto d = gsnn::select_columns(table, "fuzz.csv", {table.header[0]}, {table.header[1]});
      gsnn::label_classes(d, "fuzz.csv");
    }
  } catch (const std::exception&) {
  }
  return 0;
}
