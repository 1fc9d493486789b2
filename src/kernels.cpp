// Matrix kernels of the forward and backward passes, on the packed matrix product of gemm.cpp.
#include "mlp/kernels.hpp"

#include <algorithm>
#include <cassert>
#include <vector>

#include "gemm.hpp"
#include "vectorized.hpp"

namespace mlp {

template <typename T>
void linear_forward(MatrixView<const T> W, MatrixView<const T> A_prev, const T* b, MatrixView<T> Z) {
  // Start every column from b so that the product accumulates onto it.
  for (int j = 0; j < Z.cols; ++j) std::copy(b, b + Z.rows, Z.col(j));
  detail::gemm(false, false, Z.rows, Z.cols, W.cols, T(1), W.data, W.rows, A_prev.data, A_prev.rows, T(1), Z.data,
               Z.rows);
}

template <typename T>
void matmul_nt(MatrixView<const T> dZ, MatrixView<const T> A_prev, T scale, MatrixView<T> dW) {
  detail::gemm(false, true, dW.rows, dW.cols, dZ.cols, scale, dZ.data, dZ.rows, A_prev.data, A_prev.rows, T(0),
               dW.data, dW.rows);
}

template <typename T>
void matmul_nt_shards(MatrixView<const T> dZ, MatrixView<const T> A_prev, int shard, MatrixView<T> dW) {
  assert(shard > 0 && max_fold_columns % shard == 0);
  detail::gemm(false, true, dW.rows, dW.cols, dZ.cols, T(1), dZ.data, dZ.rows, A_prev.data, A_prev.rows, T(0),
               dW.data, dW.rows, shard);
}

template <typename T>
void matmul_tn(MatrixView<const T> W, MatrixView<const T> dZ, MatrixView<T> dA_prev) {
  detail::gemm(true, false, dA_prev.rows, dA_prev.cols, W.rows, T(1), W.data, W.rows, dZ.data, dZ.rows, T(0),
               dA_prev.data, dA_prev.rows);
}

template <typename T>
void row_sums(MatrixView<const T> dZ, T scale, T* db) {
  vectorized([&](auto) MLP_VECTOR_BODY {
    for (int i = 0; i < dZ.rows; ++i) db[i] = 0;
    for (int j = 0; j < dZ.cols; ++j) {
      const T* dz = dZ.col(j);
      for (int i = 0; i < dZ.rows; ++i) db[i] += dz[i];
    }
    for (int i = 0; i < dZ.rows; ++i) db[i] *= scale;
  });
}

template <typename T>
void scale_in_place(std::span<T> x, T scale) {
  vectorized([&](auto) MLP_VECTOR_BODY {
    for (std::size_t i = 0; i < x.size(); ++i) x[i] *= scale;
  });
}

template <typename T>
void row_sums_shards(MatrixView<const T> dZ, int shard, T* db) {
  thread_local std::vector<T> sum;  // one shard's sums; kept, as every batch needs it again
  sum.resize(dZ.rows);
  for (int first = 0; first < dZ.cols; first += shard) {
    row_sums<T>({dZ.col(first), dZ.rows, std::min(shard, dZ.cols - first)}, T(1), first == 0 ? db : sum.data());
    if (first > 0)
      for (int i = 0; i < dZ.rows; ++i) db[i] += sum[i];
  }
  if (dZ.cols == 0) std::fill(db, db + dZ.rows, T(0));
}

#define MLP_INSTANTIATE(T)                                                                  \
  template void linear_forward(MatrixView<const T>, MatrixView<const T>, const T*,          \
                               MatrixView<T>);                                              \
  template void matmul_nt(MatrixView<const T>, MatrixView<const T>, T, MatrixView<T>);      \
  template void matmul_nt_shards(MatrixView<const T>, MatrixView<const T>, int, MatrixView<T>); \
  template void row_sums_shards(MatrixView<const T>, int, T*);                              \
  template void scale_in_place(std::span<T>, T);                                            \
  template void matmul_tn(MatrixView<const T>, MatrixView<const T>, MatrixView<T>);         \
  template void row_sums(MatrixView<const T>, T, T*);
MLP_INSTANTIATE(float)
MLP_INSTANTIATE(double)
#undef MLP_INSTANTIATE

}  // namespace mlp
