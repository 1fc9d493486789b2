// The packed, cache-blocked matrix product behind the kernels, with micro-kernels chosen at run time.
#pragma once

namespace mlp::detail {

// C = alpha op(A) op(B) + beta C, all column-major; op(X) is X or Xᵀ. op(A) is (M, K), op(B) is
// (K, N), C is (M, N). With beta = 0, C is only written, never read.
// With fold > 0 (a divisor of max_fold_columns; alpha 1), the sum over k is taken in runs of
// `fold`, each from zero and added to C in order: C = ((beta C + S_0) + S_1) + ..., one rounding
// per run, the same bits as each run's product into a buffer and the buffers added one by one.
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, int fold = 0);
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, double alpha, const double* A, int lda,
          const double* B, int ldb, double beta, double* C, int ldc, int fold = 0);

}  // namespace mlp::detail
