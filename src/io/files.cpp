// write_file_atomically, close_or_throw, file_checksum.
#include "io/files.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace gsnn {

template <class Stream>
void close_or_throw(Stream& out, const std::string& path) {
  out.close();  // errors of the final flush (a full disk) show up here
  if (out.fail()) throw std::runtime_error(path + ": write failed");
}
template void close_or_throw<std::ofstream>(std::ofstream&, const std::string&);

void write_file_atomically(const std::string& path, const std::string& text) {
  const auto tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary);
  if (!out) throw std::runtime_error(path + ": cannot write file");
  out << text;
  close_or_throw(out, path);
  std::filesystem::rename(tmp, path);
}

std::string file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  uint64_t hash = 0xcbf29ce484222325ULL;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash ^= static_cast<unsigned char>(buffer[i]);
      hash *= 0x100000001b3ULL;
    }
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace gsnn
