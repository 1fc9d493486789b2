// Whole-file reads through zlib (which passes plain files through) and atomic writes.
#include "mlp/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include "mlp/error.hpp"

namespace mlp {

namespace {

// How many bytes reading `path` will give, to allocate once instead of growing (growing leaves
// the discarded buffers resident): the file size, or for gzip the size its trailer records,
// trusted no further than gzip's largest possible compression ratio.
std::size_t expected_size(const std::string& path, std::size_t file_size) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return 0;
  unsigned char magic[2] = {0, 0}, trailer[4] = {0, 0, 0, 0};
  const bool gzip = std::fread(magic, 1, 2, file) == 2 && magic[0] == 0x1f && magic[1] == 0x8b &&
                    file_size >= 18 && std::fseek(file, -4, SEEK_END) == 0 && std::fread(trailer, 1, 4, file) == 4;
  std::fclose(file);
  if (!gzip) return file_size;
  const std::size_t recorded = trailer[0] | trailer[1] << 8 | trailer[2] << 16 | std::size_t(trailer[3]) << 24;
  return std::min(recorded, file_size * 1032);
}

}  // namespace

std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) throw Error(path + ": " + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) throw Error(path + ": is a directory, expected a file");

  std::vector<std::uint8_t> bytes;
  bytes.reserve(std::min(expected_size(path, info.st_size), max_bytes + 1));

  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw Error(path + ": " + std::strerror(errno ? errno : ENOMEM));
  gzbuffer(file, 1 << 17);
  auto read_into = [&](std::uint8_t* buffer, std::size_t size) {
    const int got = gzread(file, buffer, static_cast<unsigned>(size));
    if (got < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw Error(path + ": " + (code == Z_ERRNO ? std::strerror(errno) : "corrupt gzip data (" + message + ")"));
    }
    return static_cast<std::size_t>(got);
  };
  for (;;) {
    // Fill the reserved space in pieces of 1 MB; once it is full, look for more through a small
    // buffer, so that finding the end does not grow the vector (which would double it).
    std::size_t got;
    if (bytes.size() < bytes.capacity()) {
      const std::size_t have = bytes.size();
      bytes.resize(have + std::min<std::size_t>(bytes.capacity() - have, 1 << 20));
      got = read_into(bytes.data() + have, bytes.size() - have);
      bytes.resize(have + got);
    } else {
      std::uint8_t more[1 << 16];
      got = read_into(more, sizeof more);
      bytes.insert(bytes.end(), more, more + got);
    }
    if (bytes.size() > max_bytes) {
      gzclose(file);
      throw Error(path + ": larger than the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (got == 0) break;
  }
  // A gzip stream cut short reads as a clean end of file; gzclose reports it as an error.
  if (gzclose(file) != Z_OK) throw Error(path + ": truncated or corrupt gzip data");
  return bytes;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  std::string temporary = path + ".tmp.XXXXXX";
  const int fd = mkstemp(temporary.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file beside it: " + std::strerror(errno));
  auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    close(fd);
    unlink(temporary.c_str());
    throw Error(path + ": " + what + ": " + reason);
  };
  // mkstemp makes the file 0600; give the finished file the usual permissions instead.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  for (std::size_t written = 0; written < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    written += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) fail("flush to disk failed");
  if (close(fd) != 0) {
    const std::string reason = std::strerror(errno);
    unlink(temporary.c_str());
    throw Error(path + ": close failed: " + reason);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    unlink(temporary.c_str());
    throw Error(path + ": cannot rename the finished file into place: " + reason);
  }
}

}  // namespace mlp
