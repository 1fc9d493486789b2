/// @file
/// The matrix kernels the forward and backward passes are made of; all matrices column-major.
/// Each is instantiated for float and double; the outputs must not overlap the inputs.
#pragma once

#include "mlp/matrix.hpp"

namespace mlp {

/// Z = W A_prev + b, b broadcast over the columns.
/// W (n, k), A_prev (k, m), b (n), Z (n, m).
template <typename T>
void linear_forward(MatrixView<const T> W, MatrixView<const T> A_prev, const T* b,
                    MatrixView<T> Z);

/// dW = scale · dZ A_prevᵀ.   dZ (n, m), A_prev (k, m), dW (n, k). dW is overwritten, not added to.
template <typename T>
void matmul_nt(MatrixView<const T> dZ, MatrixView<const T> A_prev, T scale, MatrixView<T> dW);

/// dA_prev = Wᵀ dZ.   W (n, k), dZ (n, m), dA_prev (k, m).
template <typename T>
void matmul_tn(MatrixView<const T> W, MatrixView<const T> dZ, MatrixView<T> dA_prev);

/// db = scale · Σ_columns dZ.   dZ (n, m), db (n).
template <typename T>
void row_sums(MatrixView<const T> dZ, T scale, T* db);

}  // namespace mlp
