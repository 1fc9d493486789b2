/// @file
/// The matrix kernels the forward and backward passes are made of; all matrices column-major.
/// Each is instantiated for float and double; the outputs must not overlap the inputs.
#pragma once

#include <span>

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

/// dW = Σ_s dZ_s A_sᵀ over the runs s of `shard` consecutive columns (the last may be short),
/// unscaled: each run's product summed from zero, the runs added in order, one rounding each.
/// The same bits as matmul_nt (scale 1) of each run into a buffer, then the buffers added one by
/// one: how a batch split between processes sums (distributed.hpp). `shard` divides
/// max_fold_columns.   dZ (n, m), A_prev (k, m), dW (n, k).
template <typename T>
void matmul_nt_shards(MatrixView<const T> dZ, MatrixView<const T> A_prev, int shard, MatrixView<T> dW);
/// A multiple of every shard width: the depth block of the matrix product.
constexpr int max_fold_columns = 256;

/// db = Σ_s Σ_columns dZ_s over the same runs, each from zero, added in order; unscaled.
template <typename T>
void row_sums_shards(MatrixView<const T> dZ, int shard, T* db);

/// dA_prev = Wᵀ dZ.   W (n, k), dZ (n, m), dA_prev (k, m).
template <typename T>
void matmul_tn(MatrixView<const T> W, MatrixView<const T> dZ, MatrixView<T> dA_prev);

/// db = scale · Σ_columns dZ.   dZ (n, m), db (n).
template <typename T>
void row_sums(MatrixView<const T> dZ, T scale, T* db);

/// x = scale · x, each value rounded once.
template <typename T>
void scale_in_place(std::span<T> x, T scale);

}  // namespace mlp
