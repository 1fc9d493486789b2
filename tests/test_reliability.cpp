// Nothing lost: model files under SIGKILL at random moments, a full disk, and failing writes.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "mlp/error.hpp"
#include "mlp/file_io.hpp"
#include "mlp/model_file.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using test::ScratchDir;

Network<float> random_network(Architecture arch, std::uint64_t seed) {
  Network<float> net(std::move(arch));
  Rng rng(seed);
  net.initialize(rng);
  return net;
}

std::vector<std::string> files_in(const std::string& folder) {
  std::vector<std::string> names;
  DIR* dir = opendir(folder.c_str());
  while (const dirent* entry = dir ? readdir(dir) : nullptr)
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  if (dir) closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool same_parameters(const Network<float>& a, const Network<float>& b) {
  return a.architecture().sizes == b.architecture().sizes &&
         std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin());
}

// A scratch folder in memory (/dev/shm) where there is one, else in /tmp, or under
// $MLP_RELIABILITY_DIR: a kill test on a disk spends its time waiting for fsync (milliseconds
// a save on ext4), and what a SIGKILL can break does not depend on the flush (the kernel
// keeps what a killed process wrote; only a power cut loses unflushed data).
class FastScratchDir {
 public:
  FastScratchDir() {
    const char* chosen = std::getenv("MLP_RELIABILITY_DIR");
    std::string base = chosen ? chosen : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string name = base + "/mlp-test-XXXXXX";
    path_ = mkdtemp(name.data()) ? name : "";
  }
  ~FastScratchDir() {
    for (const std::string& name : files_in(path_)) unlink((path_ + "/" + name).c_str());
    rmdir(path_.c_str());
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child saves two 0.95 MB models by turns over one path, as fast as it can, and is killed with
// SIGKILL at a random moment within 1.3 times the time a child takes to fork and save once
// (measured first), 200 times ($MLP_RELIABILITY_KILLS): in the write, the flush, the naming, the
// rename, or the next save. After every kill the path must hold one of the two models, whole.
// Temporary files: the data is written to an unnamed file, so a kill leaves one only between
// naming the finished file and renaming it; any left must be a complete model, and the next
// save removes it.
TEST(Reliability, SaveSurvivesSigkillAtRandomMoments) {
  FastScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir / "m.safetensors";
  const Architecture arch{{784, 300, 10}};
  const Network<float> first = random_network(arch, 1), second = random_network(arch, 2);
  save_model(path, first);
  // How long a save takes in a fresh child (page faults and all), from the fork to its report.
  std::vector<double> seconds;
  for (int i = 0; i < 3; ++i) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const auto start = std::chrono::steady_clock::now();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      save_model(path, i % 2 ? first : second);
      _exit(write(pipe_fds[1], "s", 1) == 1 ? 0 : 1);
    }
    close(pipe_fds[1]);
    char byte;
    ASSERT_EQ(read(pipe_fds[0], &byte, 1), 1);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::sort(seconds.begin(), seconds.end());
  const auto window_us = static_cast<std::uint64_t>(1.3e6 * seconds[1]) + 1;
  Rng rng(7);  // the kill moments, reproducible in what is asked (the scheduler does the rest)
  const int kills = std::getenv("MLP_RELIABILITY_KILLS") ? std::atoi(std::getenv("MLP_RELIABILITY_KILLS")) : 200;
  int saves_seen = 0;
  std::set<std::string> strays;
  for (int i = 0; i < kills; ++i) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      // No OpenMP and no test framework here: save, report each finished save, until killed.
      for (int n = 0;; ++n) {
        try {
          save_model(path, n % 2 ? first : second);
        } catch (...) {
          _exit(3);
        }
        if (write(pipe_fds[1], "s", 1) != 1) _exit(4);
      }
    }
    close(pipe_fds[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(rng.below(window_us)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child failed on its own: " << status;
    char buffer[256];
    for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) saves_seen += static_cast<int>(n);
    close(pipe_fds[0]);

    const Network<float> loaded = load_model(path);  // throws, failing the test, if damaged
    ASSERT_TRUE(same_parameters(loaded, first) || same_parameters(loaded, second)) << "after kill " << i;
    for (const std::string& name : files_in(dir.path())) {
      if (name == "m.safetensors" || !strays.insert(name).second) continue;
      EXPECT_EQ(name.rfind("m.safetensors.tmp.", 0), 0u) << name;
      const Network<float> stray = load_model(dir / name);
      EXPECT_TRUE(same_parameters(stray, first) || same_parameters(stray, second)) << name;
    }
  }
  EXPECT_GT(saves_seen, 0);
  save_model(path, first);  // and the leftovers are gone
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
  std::printf("%s: %d kills within %.1f ms of starting, %d saves completed in between, every time an intact model; "
              "%zu complete temporary files left, removed by the next save\n", dir.path().c_str(), kills, window_us / 1e3, saves_seen,
              strays.size());
}

// Runs `f` in a child whose files may not grow past `limit_bytes` (RLIMIT_FSIZE, `ulimit -f`),
// with SIGXFSZ ignored so that write() fails with EFBIG instead of killing the process, as a full
// disk makes it fail with ENOSPC. Returns the Error's message, or what went wrong instead.
template <typename F>
std::string error_with_file_size_limit(rlim_t limit_bytes, F f) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "no pipe";
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{limit_bytes, limit_bytes};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(2);
    std::string message = "no error";
    try {
      f();
    } catch (const Error& e) {
      message = e.what();
    } catch (...) {
      message = "an exception other than mlp::Error";
    }
    if (write(pipe_fds[1], message.data(), message.size()) != static_cast<ssize_t>(message.size())) _exit(3);
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the child ended with status " + std::to_string(status);
  return message;
}

TEST(Reliability, FullDiskLeavesTheOldFileAndNoTemporary) {
  ScratchDir dir;
  const std::string path = dir / "m.safetensors";
  const Network<float> old_model = random_network(Architecture{{20, 5, 3}}, 1);
  save_model(path, old_model);
  const Network<float> big = random_network(Architecture{{784, 300, 10}}, 2);  // 0.95 MB
  const std::string message = error_with_file_size_limit(256 << 10, [&] { save_model(path, big); });
  EXPECT_EQ(message, path + ": write failed: File too large");
  EXPECT_TRUE(same_parameters(load_model(path), old_model));
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});

  // A new path: nothing appears at all.
  EXPECT_EQ(error_with_file_size_limit(256 << 10, [&] { save_model(dir / "new.safetensors", big); }),
            dir / "new.safetensors: write failed: File too large");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
  // The limit just above the file's size: it fits, and is whole.
  EXPECT_EQ(error_with_file_size_limit(1 << 20, [&] { save_model(path, big); }), "no error");
  EXPECT_TRUE(same_parameters(load_model(path), big));
}

TEST(Reliability, WriteErrorsNameTheFileAndLeaveNothing) {
  ScratchDir dir;
  auto error = [](auto f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  // A folder that is a file, a path that is a folder, a folder that does not exist.
  test::write_bytes(dir / "file", {1});
  EXPECT_EQ(error([&] { write_file_atomically(dir / "file/m", "x"); }),
            dir / "file/m: cannot create a file in " + dir / "file: Not a directory");
  EXPECT_EQ(error([&] { write_file_atomically(dir.path(), "x"); }), dir.path() + ": is a directory, expected a file");
  EXPECT_EQ(error([&] { write_file_atomically(dir / "no/m", "x"); }),
            dir / "no/m: cannot create a file in " + dir / "no: No such file or directory");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"file"});
}

}  // namespace
}  // namespace mlp
