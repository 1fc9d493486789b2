// Whole-file reads through zlib (which passes plain files through) and atomic writes.
#include "mlp/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
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

// "<path>.tmp." and six random letters: a name for the finished temporary file (linkat retries
// if it exists).
std::string temporary_name(const std::string& path) {
  static thread_local std::mt19937_64 random(std::random_device{}() ^ std::uint64_t(getpid()) << 32);
  const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string name = path + ".tmp.";
  for (int i = 0; i < 6; ++i) name += letters[random() % 62];
  return name;
}

// Removes the "<path>.tmp.XXXXXX" files of writers that were killed before their rename. Each
// writer holds an exclusive flock on its temporary file from before it has a name until after
// the rename, so one that can be locked has no writer any more. (With a named temporary file,
// the fallback below, there is an instant between mkstemp and flock in which a concurrent writer
// of the same path could take a fresh file for abandoned; that writer's rename then fails.)
void remove_abandoned_temporaries(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string folder = folder_of(path), prefix = path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp.";
  DIR* dir = opendir(folder.c_str());
  if (!dir) return;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.size() != prefix.size() + 6 || !name.starts_with(prefix)) continue;
    const std::string abandoned = folder + "/" + std::string(name);
    const int fd = open(abandoned.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) unlink(abandoned.c_str());
    close(fd);
  }
  closedir(dir);
}

}  // namespace

void check_writable(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) throw Error(path + ": is a directory, expected a file");
  const std::string folder = folder_of(path);
  const int code = stat(folder.c_str(), &info) != 0     ? errno
                   : !S_ISDIR(info.st_mode)                ? ENOTDIR
                   : access(folder.c_str(), W_OK | X_OK) != 0 ? errno
                                                            : 0;
  if (code != 0) throw Error(path + ": cannot create a file in " + folder + ": " + std::strerror(code));
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, std::span<const std::string_view>(&bytes, 1));
}

void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces) {
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) throw Error(path + ": is a directory, expected a file");
  const std::string folder = folder_of(path);
  remove_abandoned_temporaries(path);

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
  // Held until the rename: while it is, remove_abandoned_temporaries leaves this file alone.
  flock(fd, LOCK_EX);
  auto fail = [&](const std::string& what, int code) {
    if (!temporary.empty()) unlink(temporary.c_str());
    close(fd);
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
  if (std::rename(temporary.c_str(), path.c_str()) != 0) fail("cannot rename the finished file into place", errno);
  // After the fsync above a close cannot lose data; its error is reported all the same.
  if (close(fd) != 0) throw Error(path + ": close failed: " + std::strerror(errno));
  // Make the rename itself durable: without this, a power cut can bring back the old file (or,
  // on a new path, no file). Best effort: the new file is in place whatever this says.
  const int directory = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    fsync(directory);
    close(directory);
  }
}

}  // namespace mlp
