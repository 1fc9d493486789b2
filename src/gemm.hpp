// The packed, cache-blocked matrix product behind the kernels, and the choice of the vector
// instructions that it and the other hot loops run (internal: not installed; tests and benchmarks
// include it).
#pragma once

#include <string>

namespace mlp {

// The innermost loop of the float products, which also sets the vector instructions of the
// elementwise loops (vectorized.hpp). The fastest one the CPU supports is chosen at the first
// call, or the one named by the environment variable MLP_KERNEL (portable, avx2, avx512), so that
// a test can run the code a CPU without AVX would run. Tests and benchmarks switch between them
// to hold one against another.
enum class MicroKernel { portable, avx2, avx512 };
// The micro-kernel in use now.
MicroKernel micro_kernel();
// Switches the float products and the elementwise loops to `kernel` for the whole process.
// Returns false, and changes nothing, if the CPU lacks the instructions.
bool use_micro_kernel(MicroKernel kernel);
// "portable", "avx2" or "avx512".
std::string to_string(MicroKernel kernel);

namespace detail {

// C = alpha op(A) op(B) + beta C, all column-major; op(X) is X or Xᵀ. op(A) is (M, K), op(B) is
// (K, N), C is (M, N). With beta = 0, C is only written, never read.
// With fold > 0 (a divisor of max_fold_columns; alpha 1), the sum over k is taken in runs of
// `fold`, each from zero and added to C in order: C = ((beta C + S_0) + S_1) + ..., one rounding
// per run, the same bits as each run's product into a buffer and the buffers added one by one.
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, int fold = 0);
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, double alpha, const double* A, int lda,
          const double* B, int ldb, double beta, double* C, int ldc, int fold = 0);

}  // namespace detail
}  // namespace mlp
