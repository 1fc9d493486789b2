// The packed, cache-blocked matrix product behind the kernels, with micro-kernels chosen at run time.
#pragma once

namespace mlp::detail {

// C = alpha op(A) op(B) + beta C, all column-major; op(X) is X or Xᵀ. op(A) is (M, K), op(B) is
// (K, N), C is (M, N). With beta = 0, C is only written, never read.
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, double alpha, const double* A, int lda,
          const double* B, int ldb, double beta, double* C, int ldc);

}  // namespace mlp::detail
