// Whole-file reads through zlib (which passes plain files through) and atomic writes.
#include "mlp/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mlp/error.hpp"

namespace mlp {

std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) throw Error(path + ": " + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) throw Error(path + ": is a directory, expected a file");

  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw Error(path + ": " + std::strerror(errno ? errno : ENOMEM));
  gzbuffer(file, 1 << 17);
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t chunk = 1 << 20;
  for (;;) {
    const std::size_t have = bytes.size();
    const std::size_t want = std::min(chunk, max_bytes + 1 - have);
    bytes.resize(have + want);
    const int got = gzread(file, bytes.data() + have, static_cast<unsigned>(want));
    if (got < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw Error(path + ": " + (code == Z_ERRNO ? std::strerror(errno) : "corrupt gzip data (" + message + ")"));
    }
    bytes.resize(have + static_cast<std::size_t>(got));
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
