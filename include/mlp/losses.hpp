/// @file
/// Output layers and their losses, one matched pair per task, and the output error dZ[L] = A[L] - Y.
#pragma once

#include <string>
#include <string_view>

#include "mlp/matrix.hpp"

namespace mlp {

/// What the network is for, which fixes its output layer and loss:
/// binary: 1 sigmoid unit + binary cross-entropy; multiclass: k softmax units + categorical
/// cross-entropy; regression: k identity units + squared error (1/2m) Σ ‖a - y‖².
enum class Task { binary, multiclass, regression };

/// "binary", "multiclass" or "regression" -> the Task.
/// @throws Error naming `option` for any other name
Task parse_task(std::string_view name, std::string_view option = "--task");
/// The name parse_task() reads.
std::string to_string(Task task);

/// A[L] = g[L](Z[L]) for the task: sigmoid, softmax over each column (max subtracted first), or
/// the identity. Z and A are (n[L], m).
template <typename T>
void output_forward(Task task, MatrixView<const T> Z, MatrixView<T> A);

/// The loss J, mean over the m columns, computed from the logits Z[L] so that it never takes
/// log(0): binary  max(z,0) - z y + log(1 + e^-|z|);  multiclass  Σ_i y_i (logsumexp(z) - z_i);
/// regression  (1/2) ‖z - y‖².  Accumulated in double.
/// @param Z the logits Z[L] (n[L], m), not the probabilities A[L]
/// @param Y the targets (n[L], m): 0/1 for binary, one-hot columns for multiclass
template <typename T>
double loss(Task task, MatrixView<const T> Z, MatrixView<const T> Y);
/// The same summed over the columns, not divided by m: loss() is loss_sum() / m.
template <typename T>
double loss_sum(Task task, MatrixView<const T> Z, MatrixView<const T> Y);

/// dZ[L] = A[L] - Y: the derivative of J·m with respect to Z[L] for each matched pair above.
template <typename T>
void output_error(MatrixView<const T> A, MatrixView<const T> Y, MatrixView<T> dZ);

/// The predicted class of one column of A[L]: argmax for multiclass; for binary, 1 when the
/// probability a[0] >= threshold, else 0. The one rule for a binary decision: evaluation,
/// `mlp predict` and `mlp show` all decide through it.
/// @param a the column's first element
/// @param units n[L]
/// @param threshold binary only: the probability from which on the class is 1
template <typename T>
int predicted_class(Task task, const T* a, int units, double threshold = 0.5);

}  // namespace mlp
