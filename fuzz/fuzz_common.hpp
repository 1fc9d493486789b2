// Shared by the fuzz targets: the readers take paths, so each input is written to a file in
// memory (/dev/shm, else the temporary folder) first, and only mlp::Error may escape a reader.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "mlp/error.hpp"

namespace fuzz {

// A file created once per process and rewritten for every input.
class ScratchFile {
 public:
  explicit ScratchFile(const char* tag) {
    for (std::string folder : {"/dev/shm", std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp"}) {
      path_ = folder + "/mlp-fuzz-" + tag + "-XXXXXX";
      fd_ = mkstemp(path_.data());
      if (fd_ >= 0) return;
    }
    std::perror("mlp fuzz: cannot create a scratch file");
    std::abort();
  }
  ~ScratchFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = pwrite(fd_, data + done, size - done, done);
      if (n <= 0) std::abort();
      done += n;
    }
    return path_;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Runs `read`; mlp::Error is the documented way to fail, anything else is a finding.
template <typename Read>
void expect_only_mlp_errors(Read&& read) {
  try {
    read();
  } catch (const mlp::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlp fuzz: an exception other than mlp::Error escaped: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "mlp fuzz: a non-std exception escaped\n");
    std::abort();
  }
}

}  // namespace fuzz
