// ThreadChooser (training_internal.hpp): the thread count of each training batch, from timed batches.
#include <algorithm>

#include "training_internal.hpp"

namespace mlp::detail {

ThreadChooser::ThreadChooser(int max_threads, int window, double window_seconds, int period)
    : max_threads_(std::max(max_threads, 1)), window_(std::max(window, 1)), window_seconds_(window_seconds),
      period_(std::max(period, 1)) {}

void ThreadChooser::measure(int mode) {
  settled_ = false, mode_ = mode, batches_ = 0, seconds_ = 0;
}

int ThreadChooser::next(double last_batch_seconds) {
  if (max_threads_ == 1) return 1;
  if (++calls_ == 1) {  // the warm-up batch, whose time is not counted
    measure(0);
    return max_threads_;
  }
  if (calls_ > 2) seconds_ += last_batch_seconds, ++batches_;
  const bool timed = batches_ >= 8L * window_ || (batches_ >= window_ && seconds_ >= window_seconds_);
  if (settled_ ? batches_ == period_ : timed) {
    mean_[mode_] = seconds_ / batches_;
    if (mean_[1 - mode_] < 0 || settled_) {
      measure(1 - mode_);
    } else {
      settled_ = true, mode_ = mean_[0] < mean_[1] ? 0 : 1, batches_ = 0, seconds_ = 0;
    }
  }
  return mode_ == 0 ? 1 : max_threads_;
}

}  // namespace mlp::detail
