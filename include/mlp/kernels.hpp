/// @file
/// The matrix kernels the forward and backward passes are made of; all matrices column-major.
/// Each is instantiated for float and double; the outputs must not overlap the inputs.
#pragma once

#include <string>

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

/// dW += dZ A_prevᵀ: the product summed from zero over the m columns, then added to dW, rounded
/// once: the same bits as matmul_nt with scale 1 into a buffer, then an elementwise dW += buffer.
/// m <= max_accumulate_columns.   dZ (n, m), A_prev (k, m), dW (n, k).
template <typename T>
void matmul_nt_add(MatrixView<const T> dZ, MatrixView<const T> A_prev, MatrixView<T> dW);
/// The widest product matmul_nt_add sums in one piece (the depth block of the matrix product).
constexpr int max_accumulate_columns = 256;

/// dA_prev = Wᵀ dZ.   W (n, k), dZ (n, m), dA_prev (k, m).
template <typename T>
void matmul_tn(MatrixView<const T> W, MatrixView<const T> dZ, MatrixView<T> dA_prev);

/// db = scale · Σ_columns dZ.   dZ (n, m), db (n).
template <typename T>
void row_sums(MatrixView<const T> dZ, T scale, T* db);

/// The innermost loop of the float matrix products. The fastest one the CPU supports is chosen at
/// start-up; tests and benchmarks switch between them to hold one against another.
enum class MicroKernel { portable, avx2, avx512 };
/// The micro-kernel in use now.
MicroKernel micro_kernel();
/// Switches the float products to `kernel` for the whole process.
/// @return false, and changes nothing, if the CPU lacks the instructions.
bool use_micro_kernel(MicroKernel kernel);
/// "portable", "avx2" or "avx512".
std::string to_string(MicroKernel kernel);

}  // namespace mlp
