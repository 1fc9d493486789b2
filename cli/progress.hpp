// What the subcommands print besides results: --quiet and --verbose, and training progress (a live
// bar per epoch on a terminal, plain lines otherwise).
#pragma once

#include <chrono>
#include <string>

#include <mlp/training.hpp>

namespace CLI {
class App;
}  // namespace CLI

namespace mlp::cli {

// --quiet,-q and --verbose,-v, which every subcommand has and which exclude each other; the help
// texts say what each does for that subcommand.
void add_verbosity_flags(CLI::App& command, bool& quiet, bool& verbose, const std::string& quiet_help,
                         const std::string& verbose_help);

// Wall-clock seconds since construction, for the timings --verbose prints.
class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// --verbose of `mlp train`: what was loaded from where, and how long it took.
void print_data_summary(const Dataset& train, const Dataset* validation, const Dataset* test, double seconds);

class Progress {
 public:
  // verbose adds, after each epoch's line, its learning rate, the time spent evaluating and in
  // all, and an estimate of the time left.
  Progress(int epochs, bool quiet, bool verbose = false);
  void batch(const BatchProgress& progress);
  void epoch(const EpochMetrics& metrics);

 private:
  int epochs_;
  bool quiet_;
  bool verbose_;
  bool terminal_;
  double last_draw_ = -1;
  Stopwatch clock_;
  double last_epoch_end_ = 0;
};

}  // namespace mlp::cli
