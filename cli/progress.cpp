// Draws the per-epoch progress bar and prints one summary line per epoch.
#include "progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace mlp::cli {

Progress::Progress(int epochs, bool quiet)
    : epochs_(epochs), quiet_(quiet), terminal_(isatty(STDOUT_FILENO) != 0) {}

void Progress::batch(const BatchProgress& p) {
  if (quiet_ || !terminal_) return;
  // Redraw ten times a second at most, and always at the end of the epoch.
  if (p.samples_done < p.samples_total && p.seconds - last_draw_ < 0.1) return;
  last_draw_ = p.seconds;
  constexpr int width = 30;
  const double done = p.samples_total ? double(p.samples_done) / p.samples_total : 1.0;
  const int filled = static_cast<int>(done * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::printf("\repoch %d/%d [%s] %3.0f%%  loss %.4f  %.0f samples/s ", p.epoch, epochs_, bar.c_str(),
              100 * done, p.mean_loss, p.seconds > 0 ? p.samples_done / p.seconds : 0.0);
  std::fflush(stdout);
}

void Progress::epoch(const EpochMetrics& m) {
  last_draw_ = -1;
  if (quiet_) return;
  if (terminal_) std::printf("\r\033[K");  // replace the bar with the summary line
  std::printf("epoch %d/%d  train loss %.4f", m.epoch, epochs_, m.train_loss);
  if (m.train_accuracy) std::printf(" acc %.2f%%", 100 * *m.train_accuracy);
  if (m.validation) {
    std::printf("  val loss %.4f", m.validation->loss);
    if (m.validation->accuracy) std::printf(" acc %.2f%%", 100 * *m.validation->accuracy);
  }
  if (m.test) {
    std::printf("  test loss %.4f", m.test->loss);
    if (m.test->accuracy) std::printf(" acc %.2f%%", 100 * *m.test->accuracy);
  }
  std::printf("  %.2f s  %.0f samples/s\n", m.seconds, m.samples_per_second);
  std::fflush(stdout);
}

}  // namespace mlp::cli
