// --quiet and --verbose; the per-epoch progress bar and one summary line per epoch.
#include "progress.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>

namespace mlp::cli {

void add_verbosity_flags(CLI::App& command, bool& quiet, bool& verbose, const std::string& quiet_help,
                         const std::string& verbose_help) {
  auto* quiet_flag = command.add_flag("--quiet,-q", quiet, quiet_help);
  command.add_flag("--verbose,-v", verbose, verbose_help)->excludes(quiet_flag);
}

void print_data_summary(const Dataset& train, const Dataset* validation, const Dataset* test, double seconds) {
  std::printf("data: %zu training samples from %s", train.count, train.feature_source.c_str());
  if (validation) std::printf(", %zu held out for validation", validation->count);
  if (test) std::printf(", %zu test samples from %s", test->count, test->feature_source.c_str());
  std::printf("; %d %s per sample; loaded in %.3f s\n", train.features,
              train.pixel_input ? "pixels (0..255, scaled by 1/255)" : "float features", seconds);
}

Progress::Progress(int epochs, bool quiet, bool verbose)
    : epochs_(epochs), quiet_(quiet), verbose_(verbose), terminal_(isatty(STDOUT_FILENO) != 0) {}

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
    if (m.validation->r2) std::printf(" R² %.4f", *m.validation->r2);
  }
  if (m.test) {
    std::printf("  test loss %.4f", m.test->loss);
    if (m.test->accuracy) std::printf(" acc %.2f%%", 100 * *m.test->accuracy);
    if (m.test->r2) std::printf(" R² %.4f", *m.test->r2);
  }
  std::printf("  %.2f s  %.0f samples/s\n", m.seconds, m.samples_per_second);
  if (verbose_) {
    // The epoch's wall time beyond its training passes is the evaluation of the held-out sets.
    const double now = clock_.seconds(), wall = now - last_epoch_end_;
    last_epoch_end_ = now;
    std::printf("  epoch %d: learning rate %g, %.3f s training, %.3f s evaluating, %.1f s elapsed, about %.0f s left\n",
                m.epoch, m.learning_rate, m.seconds, std::max(0.0, wall - m.seconds), now, now / m.epoch * (epochs_ - m.epoch));
  }
  std::fflush(stdout);
}

}  // namespace mlp::cli
