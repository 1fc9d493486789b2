// Matrix kernels of the forward and backward passes, on Eigen's matrix products.
#include "mlp/kernels.hpp"

#include <algorithm>

#include <Eigen/Core>

namespace mlp {

template <typename T>
using EigenMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

template <typename T>
static Eigen::Map<const EigenMatrix<T>> map(MatrixView<const T> M) {
  return {M.data, M.rows, M.cols};
}
template <typename T>
static Eigen::Map<EigenMatrix<T>> map(MatrixView<T> M) {
  return {M.data, M.rows, M.cols};
}

template <typename T>
void linear_forward(MatrixView<const T> W, MatrixView<const T> A_prev, const T* b,
                    MatrixView<T> Z) {
  // Start every column from b so that the product accumulates onto it: one pass over Z.
  for (int j = 0; j < Z.cols; ++j) std::copy(b, b + Z.rows, Z.col(j));
  map(Z).noalias() += map(W) * map(A_prev);
}

template <typename T>
void matmul_nt(MatrixView<const T> dZ, MatrixView<const T> A_prev, T scale, MatrixView<T> dW) {
  map(dW).noalias() = scale * map(dZ) * map(A_prev).transpose();
}

template <typename T>
void matmul_tn(MatrixView<const T> W, MatrixView<const T> dZ, MatrixView<T> dA_prev) {
  map(dA_prev).noalias() = map(W).transpose() * map(dZ);
}

template <typename T>
void row_sums(MatrixView<const T> dZ, T scale, T* db) {
  for (int i = 0; i < dZ.rows; ++i) db[i] = 0;
  for (int j = 0; j < dZ.cols; ++j) {
    const T* dz = dZ.col(j);
    for (int i = 0; i < dZ.rows; ++i) db[i] += dz[i];
  }
  for (int i = 0; i < dZ.rows; ++i) db[i] *= scale;
}

#define MLP_INSTANTIATE(T)                                                                  \
  template void linear_forward(MatrixView<const T>, MatrixView<const T>, const T*,          \
                               MatrixView<T>);                                              \
  template void matmul_nt(MatrixView<const T>, MatrixView<const T>, T, MatrixView<T>);      \
  template void matmul_tn(MatrixView<const T>, MatrixView<const T>, MatrixView<T>);         \
  template void row_sums(MatrixView<const T>, T, T*);
MLP_INSTANTIATE(float)
MLP_INSTANTIATE(double)
#undef MLP_INSTANTIATE

}  // namespace mlp
