/// @file
/// Reading whole files (gzip or not) with a size limit, and writing files atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mlp {

/// The bytes of `path`, decompressed if it is gzip (recognized by its magic bytes, not its name).
/// @param max_bytes the most the (decompressed) content may hold, so that a hostile file cannot
///        exhaust memory
/// @throws Error naming the file if it cannot be read, is corrupt, or holds more than `max_bytes`
std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes);

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, and renames it over
/// `path`: a reader sees the old file or the new one, never half of one, even if the process is
/// killed or the disk fills up.
/// @throws Error naming `path` on failure ("m.safetensors: write failed: No space left on
///         device"), and then leaves no temporary file behind
///
/// The temporary file is unnamed while it is written (Linux's O_TMPFILE), and gets a name,
/// "<path>.tmp.XXXXXX" beside `path`, only once it is complete and on disk, just before the
/// rename: a process killed while writing leaves nothing; killed between the two, it leaves that
/// complete copy. Where O_TMPFILE is not supported (some network file systems) the temporary
/// file is named from the start, and a killed process can leave a partial one. Either way the
/// next write of the same path removes such leftovers (a writer holds a flock on its temporary
/// file until the rename; one nobody holds is abandoned).
void write_file_atomically(const std::string& path, std::string_view bytes);
/// The same for a file made of `pieces` one after the other (no need to join them in memory).
void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces);

/// Checks, before long work whose result would be lost, that write_file_atomically(path) can
/// work: `path` is not a folder, and its folder exists and may be written.
/// @throws Error naming `path` and the problem, as write_file_atomically would
void check_writable(const std::string& path);

}  // namespace mlp
