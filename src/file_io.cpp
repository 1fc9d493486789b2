// Whole-file reads through zlib (which passes plain files through) and atomic writes.
#include "mlp/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

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

namespace {

// Writes all of `pieces` to `fd`, going on after short writes and interrupted calls. Returns
// false with errno set on failure (ENOSPC, EFBIG past RLIMIT_FSIZE, EIO, ...).
bool write_all(int fd, std::span<const std::string_view> pieces) {
  for (const std::string_view piece : pieces)
    for (std::size_t done = 0; done < piece.size();) {
      const ssize_t n = write(fd, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;  // no progress on a regular file: do not loop forever
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
  return true;
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// "<path>.tmp." and six random letters, a name that did not exist when it was made.
std::string temporary_name(const std::string& path) {
  static thread_local std::mt19937_64 random(std::random_device{}() ^ std::uint64_t(getpid()) << 32);
  const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string name = path + ".tmp.";
  for (int i = 0; i < 6; ++i) name += letters[random() % 62];
  return name;
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, std::span<const std::string_view>(&bytes, 1));
}

void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces) {
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) throw Error(path + ": is a directory, expected a file");
  const std::string folder = folder_of(path);

  // An unnamed file in the target's folder (same file system, so the rename below is atomic),
  // with the usual permissions (0666 less the umask). Linked to a name only once complete.
  int fd = open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  std::string temporary;  // its name, once it has one
  if (fd < 0 || access("/proc/self/fd", X_OK) != 0) {
    // No O_TMPFILE here (or no /proc to link it by): a named temporary file from the start.
    if (fd >= 0) close(fd);
    temporary = path + ".tmp.XXXXXX";
    fd = mkstemp(temporary.data());
    if (fd < 0) throw Error(path + ": cannot create a file in " + folder + ": " + std::strerror(errno));
    // mkstemp makes the file 0600; give the finished file the usual permissions instead.
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
  }
  auto fail = [&](const std::string& what, int code) {
    close(fd);
    if (!temporary.empty()) unlink(temporary.c_str());
    throw Error(path + ": " + what + ": " + std::strerror(code));
  };
  if (!write_all(fd, pieces)) fail("write failed", errno);
  if (fsync(fd) != 0) fail("flush to disk failed", errno);
  if (temporary.empty()) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    for (int attempt = 0;; ++attempt) {
      temporary = temporary_name(path);
      if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temporary.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
      const int code = errno;
      temporary.clear();
      if (code != EEXIST || attempt == 100) fail("cannot name the finished file", code);
    }
  }
  if (close(fd) != 0) {
    const int code = errno;
    unlink(temporary.c_str());
    throw Error(path + ": close failed: " + std::strerror(code));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int code = errno;
    unlink(temporary.c_str());
    throw Error(path + ": cannot rename the finished file into place: " + std::strerror(code));
  }
  // Make the rename itself durable: without this, a power cut can bring back the old file (or,
  // on a new path, no file). Best effort: the new file is in place whatever this says.
  const int directory = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    fsync(directory);
    close(directory);
  }
}

}  // namespace mlp
