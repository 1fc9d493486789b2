// Reading whole files (gzip or not) with a size limit, and writing files atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlp {

// The bytes of `path`, decompressed if it is gzip. Throws Error naming the file if it cannot be
// read, is corrupt, or holds more than `max_bytes` (so a hostile file cannot exhaust memory).
std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes);

// Writes `bytes` to a temporary file beside `path`, flushes it to disk, and renames it over
// `path`: a reader sees the old file or the new one, never half of one. Throws Error on failure
// and leaves no temporary file behind.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace mlp
