// Internals of training and evaluation shared by their sources and tests; not installed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <span>
#include <vector>

#include "mlp/data.hpp"
#include "mlp/matrix.hpp"
#include "mlp/network.hpp"

namespace mlp::detail {

/// Counts the columns of A[L] whose predicted class (predicted_class, cut at `threshold` for
/// binary) is the labelled one, into `confusion` if given. `indices` are the batch's samples.
std::size_t count_correct(const Architecture& arch, MatrixView<const float> A, const Dataset& data,
                          std::span<const std::size_t> indices,
                          std::vector<std::vector<std::size_t>>* confusion, double threshold = 0.5);

/// Runs `step(indices)` over `count` samples in batches of at most batch_size, in file order.
template <typename Step>
void for_each_batch(std::size_t count, int batch_size, Step step) {
  std::vector<std::size_t> indices(std::min<std::size_t>(count, batch_size));
  for (std::size_t start = 0; start < count; start += batch_size) {
    const std::size_t m = std::min<std::size_t>(batch_size, count - start);
    std::iota(indices.begin(), indices.begin() + m, start);
    step(std::span<const std::size_t>(indices.data(), m));
  }
}

/// Picks the thread count of each training batch by timing batches. Every kernel splits its work
/// so that results are the same bits on any number of threads, so this is only about speed: where
/// the other cores are busy, every hand-off between threads may wait for the scheduler, and one
/// thread can then beat several.
/// After one warm-up batch it times batches on one thread, then on `max_threads` (each timing at
/// least `window` batches and `window_seconds`, at most 8 x window batches), runs `period` batches
/// on the faster, timing them too, then times the other count again, and so on. It compares mean
/// times over many batches because threads on a busy machine are mostly fast, with a few batches
/// a scheduler's time slice late.
class ThreadChooser {
 public:
  explicit ThreadChooser(int max_threads, int window = 4, double window_seconds = 0.01, int period = 1024);
  /// The thread count for the next batch; `last_batch_seconds` is how long the previous one took
  /// (ignored for the first batch).
  int next(double last_batch_seconds);

 private:
  void measure(int mode);  // mode 0: one thread, 1: max_threads
  int max_threads_, window_;
  double window_seconds_;
  int period_;
  long calls_ = 0;
  bool settled_ = false;       // running the faster count, else timing `mode_`
  int mode_ = 1;
  long batches_ = 0;           // in the current stretch
  double seconds_ = 0;         // of the current stretch
  double mean_[2] = {-1, -1};  // seconds per batch on one thread, on all; -1: not timed yet
};

}  // namespace mlp::detail
