/// @file
/// Evaluation of a trained network on labelled data (loss, accuracy, confusion, top-k, ROC AUC), and prediction.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "mlp/data.hpp"
#include "mlp/distributed.hpp"
#include "mlp/matrix.hpp"
#include "mlp/network.hpp"

namespace mlp {

/// How evaluate() turns outputs into classes, and which extra scores it computes.
struct EvaluationOptions {
  int batch_size = 1024;
  double threshold = 0.5;  ///< binary: class 1 when the probability A[L] >= threshold (predicted_class)
  int top_k = 5;           ///< multiclass with more than k classes: also the top-k accuracy
};

/// Loss, accuracy and confusion of a network on a labelled dataset.
struct Evaluation {
  std::size_t count = 0;
  double loss = 0;                 ///< mean J over the samples
  std::optional<double> accuracy;  ///< share of samples classified right; none for regression
  /// confusion[true class][predicted class], classes() x classes(); empty for regression.
  std::vector<std::vector<std::size_t>> confusion;
  int top_k = 0;                         ///< multiclass: the k of top_k_accuracy, if computed
  std::optional<double> top_k_accuracy;  ///< share whose true class is among the k most probable
  double threshold = 0.5;                ///< binary: the threshold the classes were cut at
  /// Binary: the area under the ROC curve, the probability that a random positive sample scores
  /// above a random negative one (ties count half); none if one class is absent.
  std::optional<double> roc_auc;
  /// Regression: the mean squared error over every output of every sample, its root, and R²,
  /// 1 - SSE/SST of each target averaged over the targets (scikit-learn's r2_score; a constant
  /// target gives 1 if predicted exactly, else 0).
  std::optional<double> mse, rmse, r2;

  double precision(int c) const;  ///< of class c: right among those predicted c
  double recall(int c) const;     ///< of class c: found among those truly c
  double f1(int c) const;         ///< harmonic mean of precision(c) and recall(c)
};

/// Loss, accuracy, confusion matrix and the options' extra scores of `net` on a labelled dataset.
/// With `processes` (distributed.hpp), every process evaluates its share of the batches and all
/// end with the whole evaluation: the same bits as one process alone.
Evaluation evaluate(Network<float>& net, const Dataset& data, const EvaluationOptions& options = {},
                    ProcessGroup* processes = nullptr);

/// The area under the ROC curve of scores against labels (true: positive), by the rank-sum
/// (Mann–Whitney) statistic, tied scores sharing their ranks; none without both classes.
std::optional<double> roc_auc(std::span<const float> scores, const std::vector<bool>& positive);

/// A[L] for every sample of `data`: (n[L], count), column s for sample s.
Matrix<float> predict(Network<float>& net, const Dataset& data, int batch_size = 1024);

}  // namespace mlp
