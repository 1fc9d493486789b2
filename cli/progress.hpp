// Training progress on the terminal: a live bar per epoch, or plain lines when not a terminal.
#pragma once

#include <mlp/training.hpp>

namespace mlp::cli {

class Progress {
 public:
  Progress(int epochs, bool quiet);
  void batch(const BatchProgress& progress);
  void epoch(const EpochMetrics& metrics);

 private:
  int epochs_;
  bool quiet_;
  bool terminal_;
  double last_draw_ = -1;
};

}  // namespace mlp::cli
