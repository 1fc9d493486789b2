/// @file
/// Inverted dropout on hidden layers: random masks while training, nothing at evaluation.
#pragma once

#include "mlp/matrix.hpp"
#include "mlp/random.hpp"

namespace mlp {

/// Fills the mask D with 0 (a dropped unit, probability `rate`) or 1/(1 - rate) (a kept one).
/// Scaling the kept units while training keeps E[A ⊙ D] = A, so evaluation uses A unchanged.
/// One draw from `rng` per element, in column order: the same seed gives the same masks.
template <typename T>
void draw_dropout_mask(double rate, Rng& rng, MatrixView<T> D);

/// out = A ⊙ D, elementwise; `out` may be the same memory as A.
template <typename T>
void hadamard(MatrixView<const T> A, MatrixView<const T> D, MatrixView<T> out);

}  // namespace mlp
