// Each matrix kernel against a plain triple loop, on random shapes from 1x1 up, odd sizes included,
// with every micro-kernel the CPU supports; and which kernel's code runs.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <vector>

#include "gemm.hpp"
#include "mlp/kernels.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/random.hpp"

namespace mlp {
namespace {

template <typename T>
Matrix<T> random_matrix(int rows, int cols, Rng& rng) {
  Matrix<T> M(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) M(i, j) = T(rng.normal());
  return M;
}

template <typename T>
void expect_near(const Matrix<T>& actual, const Matrix<double>& expected, double tolerance) {
  ASSERT_EQ(actual.rows(), expected.rows());
  ASSERT_EQ(actual.cols(), expected.cols());
  for (int j = 0; j < actual.cols(); ++j)
    for (int i = 0; i < actual.rows(); ++i)
      ASSERT_NEAR(actual(i, j), expected(i, j), tolerance * (1 + std::abs(expected(i, j)))) << i << "," << j;
}

// (n, k, m): rows of W, columns of W, batch columns.
using Shape = std::tuple<int, int, int>;
// Tiny, odd, exactly one tile (16 x 6, 32 x 8), just past tile and block edges (MC 128, KC 256),
// 17 to 31 rows (two 16-row panels), Wᵀ packed from long runs (600 x 40: full and partial 16 x 16
// blocks), large, and single images through layers large enough to be split between threads.
const Shape shapes[] = {{1, 1, 1},     {1, 7, 3},      {5, 1, 2},     {3, 3, 1},      {7, 13, 5},
                        {16, 32, 6},   {17, 31, 7},    {16, 257, 12}, {32, 40, 8},    {33, 17, 9},
                        {31, 600, 40}, {600, 40, 20},
                        {129, 300, 13}, {128, 784, 64}, {10, 128, 257}, {65, 3, 129}, {300, 513, 70},
                        {300, 513, 1}, {129, 784, 3}, {3, 600, 40}, {8, 300, 70}};

template <typename T>
void check_all_kernels(double tolerance) {
  Rng rng(42);
  for (const auto& [n, k, m] : shapes) {
    SCOPED_TRACE(::testing::Message() << "n=" << n << " k=" << k << " m=" << m);
    const Matrix<T> W = random_matrix<T>(n, k, rng), A_prev = random_matrix<T>(k, m, rng);
    const Matrix<T> b = random_matrix<T>(n, 1, rng), dZ = random_matrix<T>(n, m, rng);

    Matrix<T> Z(n, m);
    linear_forward<T>(W, A_prev, b.data(), Z);
    Matrix<double> expected_Z(n, m);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < m; ++j) {
        double sum = b(i, 0);
        for (int p = 0; p < k; ++p) sum += double(W(i, p)) * A_prev(p, j);
        expected_Z(i, j) = sum;
      }
    expect_near(Z, expected_Z, tolerance);

    const T scale = T(0.25);
    Matrix<T> dW(n, k);
    matmul_nt<T>(dZ, A_prev, scale, dW);
    Matrix<double> expected_dW(n, k);
    for (int i = 0; i < n; ++i)
      for (int p = 0; p < k; ++p) {
        double sum = 0;
        for (int j = 0; j < m; ++j) sum += double(dZ(i, j)) * A_prev(p, j);
        expected_dW(i, p) = scale * sum;
      }
    expect_near(dW, expected_dW, tolerance);

    Matrix<T> dA(k, m);
    matmul_tn<T>(W, dZ, dA);
    Matrix<double> expected_dA(k, m);
    for (int p = 0; p < k; ++p)
      for (int j = 0; j < m; ++j) {
        double sum = 0;
        for (int i = 0; i < n; ++i) sum += double(W(i, p)) * dZ(i, j);
        expected_dA(p, j) = sum;
      }
    expect_near(dA, expected_dA, tolerance);

    Matrix<T> db(n, 1);
    row_sums<T>(dZ, scale, db.data());
    Matrix<double> expected_db(n, 1);
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int j = 0; j < m; ++j) sum += dZ(i, j);
      expected_db(i, 0) = scale * sum;
    }
    expect_near(db, expected_db, tolerance);
  }
}

TEST(Kernels, FloatMatchesReferenceWithEveryMicroKernel) {
  const MicroKernel chosen = micro_kernel();
  for (MicroKernel kernel : {MicroKernel::portable, MicroKernel::avx2, MicroKernel::avx512}) {
    if (!use_micro_kernel(kernel)) {
      std::printf("micro-kernel %s: not supported by this CPU, not tested\n", to_string(kernel).c_str());
      continue;
    }
    SCOPED_TRACE(to_string(kernel));
    check_all_kernels<float>(1e-4);
  }
  use_micro_kernel(chosen);
}
TEST(Kernels, Avx2AndAvx512KernelsGiveTheSameBits) {
  // Each sums every element in the same order, so which one runs never changes a result.
  const MicroKernel chosen = micro_kernel();
  const bool both = use_micro_kernel(MicroKernel::avx512) && use_micro_kernel(MicroKernel::avx2);
  use_micro_kernel(chosen);
  if (!both) GTEST_SKIP() << "this CPU lacks AVX-512 or AVX2";
  Rng rng(5);
  for (const auto& [n, k, m] : shapes) {
    SCOPED_TRACE(::testing::Message() << "n=" << n << " k=" << k << " m=" << m);
    const Matrix<float> W = random_matrix<float>(n, k, rng), A_prev = random_matrix<float>(k, m, rng);
    const Matrix<float> b = random_matrix<float>(n, 1, rng), dZ = random_matrix<float>(n, m, rng);
    Matrix<float> Z[2] = {{n, m}, {n, m}}, dW[2] = {{n, k}, {n, k}}, dA[2] = {{k, m}, {k, m}};
    for (int i = 0; i < 2; ++i) {
      use_micro_kernel(i == 0 ? MicroKernel::avx2 : MicroKernel::avx512);
      linear_forward<float>(W, A_prev, b.data(), Z[i]);
      matmul_nt<float>(dZ, A_prev, 0.25f, dW[i]);
      matmul_tn<float>(W, dZ, dA[i]);
    }
    for (const Matrix<float>* pair : {Z, dW, dA})
      EXPECT_EQ(0, std::memcmp(pair[0].data(), pair[1].data(), sizeof(float) * pair[0].rows() * pair[0].cols()));
  }
  use_micro_kernel(chosen);
}
// Whether the code of `kernel` fuses a b + c: the AVX2 and AVX-512 copies do; the portable copy
// only where the whole build targets a CPU with FMA (-DMLP_NATIVE=ON on such a CPU).
bool fuses([[maybe_unused]] MicroKernel kernel) {
#ifdef FP_FAST_FMAF
  return true;
#else
  return kernel != MicroKernel::portable;
#endif
}

// Fails unless the code of `kernel` ran, told apart by its rounding: a single-column product
// (the matrix-vector path) and an SGD step, each against the fused and the unfused sums computed
// here in the library's order (this file is compiled with -ffp-contract=off).
void expect_code_of(MicroKernel kernel) {
  Rng rng(11);
  const int n = 40, k = 30;
  const Matrix<float> W = random_matrix<float>(n, k, rng), x = random_matrix<float>(k, 1, rng);
  const Matrix<float> b = random_matrix<float>(n, 1, rng);
  Matrix<float> z(n, 1);
  linear_forward<float>(W, x, b.data(), z);
  int fused_differs = 0;
  for (int i = 0; i < n; ++i) {
    float fused = 0, unfused = 0;
    for (int p = 0; p < k; ++p) fused = std::fma(W(i, p), x(p, 0), fused), unfused += W(i, p) * x(p, 0);
    fused += b(i, 0), unfused += b(i, 0);
    fused_differs += fused != unfused;
    EXPECT_EQ(z(i, 0), fuses(kernel) ? fused : unfused) << "row " << i;
  }
  ASSERT_GT(fused_differs, 0) << "the product cannot tell the kernels apart";

  const std::size_t count = 1000;  // through the vectorized loop and its remainder
  const float alpha = 0.1f, lambda = 0.01f;
  std::vector<float> theta(count), gradient(count);
  for (std::size_t i = 0; i < count; ++i) theta[i] = float(rng.normal()), gradient[i] = float(rng.normal());
  std::vector<float> updated = theta;
  Optimizer sgd({.kind = OptimizerKind::sgd, .weight_decay = lambda}, count);
  sgd.step(updated, gradient, alpha);
  fused_differs = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const float g_fused = std::fma(lambda, theta[i], gradient[i]), g_unfused = lambda * theta[i] + gradient[i];
    const float fused = std::fma(-alpha, g_fused, theta[i]), unfused = -alpha * g_unfused + theta[i];
    fused_differs += fused != unfused;
    EXPECT_EQ(updated[i], fuses(kernel) ? fused : unfused) << "parameter " << i;
  }
  ASSERT_GT(fused_differs, 0) << "the SGD step cannot tell the kernels apart";
}

TEST(Kernels, TheSelectedKernelsCodeRuns) {
  const MicroKernel chosen = micro_kernel();
  for (MicroKernel kernel : {MicroKernel::portable, MicroKernel::avx2, MicroKernel::avx512}) {
    if (!use_micro_kernel(kernel)) continue;
    SCOPED_TRACE(to_string(kernel));
    expect_code_of(kernel);
  }
  use_micro_kernel(chosen);
}

TEST(Kernels, MlpKernelChoosesTheKernelAtStart) {
  // The suite's portable run (tests/CMakeLists.txt) sets MLP_KERNEL=portable: everything in this
  // process, products and elementwise loops, must then run the portable code.
  const char* name = std::getenv("MLP_KERNEL");
  if (name == nullptr) GTEST_SKIP() << "MLP_KERNEL is not set";
  ASSERT_EQ(to_string(micro_kernel()), name);
  expect_code_of(micro_kernel());
}

TEST(Kernels, DoubleMatchesReference) { check_all_kernels<double>(1e-12); }

TEST(Kernels, ResultsDoNotDependOnTheThreadCount) {
  // Products large enough to be split between threads, by columns, by rows, or too narrow to split.
  Rng rng(8);
  for (const auto& [n, k, m] : {Shape{300, 300, 64}, Shape{600, 800, 8}, Shape{1000, 1000, 3}, Shape{700, 500, 13}}) {
    const Matrix<float> W = random_matrix<float>(n, k, rng), A = random_matrix<float>(k, m, rng);
    const Matrix<float> b = random_matrix<float>(n, 1, rng);
    Matrix<float> one(n, m), two(n, m);
    omp_set_num_threads(1);
    linear_forward<float>(W, A, b.data(), one);
    omp_set_num_threads(2);
    linear_forward<float>(W, A, b.data(), two);
    EXPECT_TRUE(std::equal(one.data(), one.data() + one.rows() * one.cols(), two.data())) << n << "x" << k << "x" << m;
  }
}

TEST(Kernels, LinearForwardOnAViewOfFirstColumns) {
  // Batches smaller than their buffer are views of the first columns; the rest stays untouched.
  Rng rng(1);
  const Matrix<float> W = random_matrix<float>(4, 3, rng), A = random_matrix<float>(3, 8, rng);
  const float b[4] = {1, 2, 3, 4};
  Matrix<float> Z(4, 8);
  linear_forward<float>(W, A.view().first_cols(5), b, Z.view().first_cols(5));
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(Z(i, 4), 0.0f);
    for (int j = 5; j < 8; ++j) EXPECT_EQ(Z(i, j), 0.0f);
  }
}

TEST(Kernels, ScaleInPlaceRoundsEachProductOnce) {
  // 37 values: whole vectors and a tail, with every kernel the CPU has.
  Rng rng(3);
  const Matrix<float> x = random_matrix<float>(37, 1, rng);
  const MicroKernel chosen = micro_kernel();
  for (MicroKernel kernel : {MicroKernel::portable, MicroKernel::avx2, MicroKernel::avx512}) {
    if (!use_micro_kernel(kernel)) continue;
    std::vector<float> y(x.data(), x.data() + 37);
    scale_in_place<float>(y, 1.0f / 3.0f);
    for (int i = 0; i < 37; ++i) EXPECT_EQ(y[i], x(i, 0) * (1.0f / 3.0f)) << to_string(kernel) << " " << i;
  }
  use_micro_kernel(chosen);
}

}  // namespace
}  // namespace mlp
