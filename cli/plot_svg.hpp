// Learning curves as an SVG picture: loss and accuracy per epoch, for `mlp train --plot`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <mlp/training.hpp>

namespace mlp::cli {

// Collects each epoch's metrics and draws them: a loss panel and, for classification, an
// accuracy panel, each with the training, validation (if any) and test (if any) curves, one
// marker per epoch. The SVG is text, drawn by hand: no plotting library needed.
class LearningCurves {
 public:
  void add(const EpochMetrics& metrics);
  std::string svg() const;

 private:
  struct Epoch {
    int epoch = 0;
    double loss[3] = {};                    // train, validation, test
    std::optional<double> accuracy[3];      // in %, likewise
    bool has[3] = {};                       // validation and test may be absent
  };
  std::vector<Epoch> epochs_;
};

}  // namespace mlp::cli
