// Small file helpers shared by every writer: atomic replacement and a
// content checksum.
#pragma once

#include <cstdint>
#include <string>

namespace gsnn {

// Writes text to path through path + ".tmp" and a rename, checking every
// error including the final flush; a crash leaves the old file or the new one.
void write_file_atomically(const std::string& path, const std::string& text);

// Closes `out` (flushing) and throws naming `path` if anything failed.
template <class Stream>
void close_or_throw(Stream& out, const std::string& path);

// 64-bit FNV-1a hash of a file's bytes, as 16 hex digits.
std::string file_checksum(const std::string& path);

}  // namespace gsnn
