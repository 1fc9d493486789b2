// A packed, cache-blocked matrix product (the BLIS scheme) with an AVX2+FMA micro-kernel and a
// portable one, and a split of the output between threads when the product is large enough.
#include "gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "mlp/kernels.hpp"

namespace mlp {

namespace {

// Blocking: a KC x NR panel of B stays in L1, an MC x KC block of A in L2, KC x NC of B in L3.
constexpr int KC = 256;
constexpr int MC = 128;   // a multiple of every MR
constexpr int NC = 3072;  // a multiple of every NR
// The tile of C one micro-kernel call computes: MR x NR, 16 x 6 floats or 8 x 6 doubles, two
// vectors of 8 floats (or 4 doubles) tall.
template <typename T>
constexpr int tile_rows = 64 / int(sizeof(T));
template <typename T>
constexpr int tile_cols = 6;
// Columns of A up to this long are read in place (see gemm_serial).
constexpr int direct_a_max_rows = 512;

// A micro-kernel computes one MR x NR tile: C = alpha op(A) op(B) + beta C over kc steps of k.
// Step p reads the MR values a[p * a_step + i] and the NR values b[p * b_step + j * b_col]: a
// packed panel (a_step = MR; b_step = NR, b_col = 1) or the matrix itself where its layout allows.
template <typename T>
using MicroKernelFn = void (*)(int kc, const T* a, std::ptrdiff_t a_step, const T* b, std::ptrdiff_t b_step,
                               std::ptrdiff_t b_col, T* C, int ldc, T alpha, T beta);

template <int MR, int NR, typename T>
void portable_kernel(int kc, const T* a, std::ptrdiff_t a_step, const T* b, std::ptrdiff_t b_step,
                     std::ptrdiff_t b_col, T* C, int ldc, T alpha, T beta) {
  T acc[NR][MR] = {};
  for (int p = 0; p < kc; ++p, a += a_step, b += b_step)
    for (int j = 0; j < NR; ++j)
      for (int i = 0; i < MR; ++i) acc[j][i] += a[i] * b[j * b_col];
  for (int j = 0; j < NR; ++j) {
    T* c = C + static_cast<std::ptrdiff_t>(j) * ldc;
    for (int i = 0; i < MR; ++i) c[i] = alpha * acc[j][i] + (beta == T(0) ? T(0) : beta * c[i]);
  }
}

// 16 x 6 with 8-float vectors: 12 accumulators, 2 loads of A and 1 broadcast of B per step.
__attribute__((target("avx2,fma"))) void avx2_kernel(int kc, const float* a, std::ptrdiff_t a_step, const float* b,
                                                     std::ptrdiff_t b_step, std::ptrdiff_t b_col, float* C, int ldc,
                                                     float alpha, float beta) {
  __m256 c0[6], c1[6];
  for (int j = 0; j < 6; ++j) c0[j] = c1[j] = _mm256_setzero_ps();
  for (int p = 0; p < kc; ++p, a += a_step, b += b_step) {
    const __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8);
#pragma GCC unroll 6
    for (int j = 0; j < 6; ++j) {
      const __m256 bj = _mm256_broadcast_ss(b + j * b_col);
      c0[j] = _mm256_fmadd_ps(a0, bj, c0[j]);
      c1[j] = _mm256_fmadd_ps(a1, bj, c1[j]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) {
    float* c = C + static_cast<std::ptrdiff_t>(j) * ldc;
    if (beta == 0.0f) {
      _mm256_storeu_ps(c, _mm256_mul_ps(va, c0[j]));
      _mm256_storeu_ps(c + 8, _mm256_mul_ps(va, c1[j]));
    } else {
      _mm256_storeu_ps(c, _mm256_fmadd_ps(va, c0[j], _mm256_mul_ps(vb, _mm256_loadu_ps(c))));
      _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(va, c1[j], _mm256_mul_ps(vb, _mm256_loadu_ps(c + 8))));
    }
  }
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

MicroKernel selected = cpu_has_avx2() ? MicroKernel::avx2 : MicroKernel::portable;

MicroKernelFn<float> float_kernel() {
  return selected == MicroKernel::avx2 ? avx2_kernel : portable_kernel<tile_rows<float>, tile_cols<float>, float>;
}
MicroKernelFn<double> double_kernel() { return portable_kernel<tile_rows<double>, tile_cols<double>, double>; }

// The steps k0..k0+kc of `width` vectors that start `stride` apart and run `step_k` apart per k,
// interleaved: out[p * width + i] = first[i * stride + p * step_k]; missing vectors (i >= count)
// are zeros.
template <int width, typename T>
void interleave(const T* first, std::ptrdiff_t stride, std::ptrdiff_t step_k, int count, int kc, T* out) {
  if (count == width && stride == 1) {  // each step is `width` consecutive values: a plain copy
    for (int p = 0; p < kc; ++p)
#pragma GCC unroll 16
      for (int i = 0; i < width; ++i) out[p * width + i] = first[p * step_k + i];
    return;
  }
  const T* source[width];
  for (int i = 0; i < width; ++i) source[i] = first + (i < count ? i : 0) * stride;
  if (step_k == 1 && count == width) {  // `width` contiguous runs, read side by side
    for (int p = 0; p < kc; ++p)
#pragma GCC unroll 16
      for (int i = 0; i < width; ++i) out[p * width + i] = source[i][p];
    return;
  }
  for (int p = 0; p < kc; ++p)
    for (int i = 0; i < width; ++i) out[p * width + i] = i < count ? source[i][p * step_k] : T(0);
}

// Rows [i0, i0+m) x depth [k0, k0+kc) of op(A), as panels of MR rows, each step of k holding MR
// consecutive values, zero-padded to full panels.
template <int MR, typename T>
void pack_a(const T* A, int lda, bool ta, int i0, int m, int k0, int kc, T* out) {
  // Step i of a panel moves along a column of A (stride 1) or, transposed, along a row (stride lda).
  const std::ptrdiff_t step_i = ta ? lda : 1, step_k = ta ? 1 : lda;
  for (int r = 0; r < m; r += MR, out += static_cast<std::ptrdiff_t>(MR) * kc) {
    const T* first = A + (i0 + r) * step_i + k0 * step_k;
    interleave<MR>(first, step_i, step_k, std::min(MR, m - r), kc, out);
  }
}

// Depth [k0, k0+kc) x columns [j0, j0+n) of op(B), as panels of NR columns, each step of k
// holding NR consecutive values, zero-padded to full panels.
template <int NR, typename T>
void pack_b(const T* B, int ldb, bool tb, int k0, int kc, int j0, int n, T* out) {
  const std::ptrdiff_t step_j = tb ? 1 : ldb, step_k = tb ? ldb : 1;
  for (int c = 0; c < n; c += NR, out += static_cast<std::ptrdiff_t>(NR) * kc) {
    const T* first = B + (j0 + c) * step_j + k0 * step_k;
    interleave<NR>(first, step_j, step_k, std::min(NR, n - c), kc, out);
  }
}

// c = alpha A b + beta c for `rows` <= ROWS rows of A (column-major, lda) and a vector b read
// b_step apart. With rows == ROWS the sums have a fixed size and live in registers.
template <int ROWS, typename T>
void column_sum(int rows, int K, const T* A, int lda, const T* b, std::ptrdiff_t b_step, T alpha, T beta, T* c) {
  T sum[ROWS] = {};
  if (rows == ROWS) {
    for (int k = 0; k < K; ++k, A += lda, b += b_step)
      for (int i = 0; i < ROWS; ++i) sum[i] += A[i] * *b;
  } else {
    for (int k = 0; k < K; ++k, A += lda, b += b_step)
      for (int i = 0; i < rows; ++i) sum[i] += A[i] * *b;
  }
  for (int i = 0; i < rows; ++i) c[i] = alpha * sum[i] + (beta == T(0) ? T(0) : beta * c[i]);
}

// C = alpha A op(B) + beta C for fewer columns than a tile (one image at inference): each column
// of C is a sum of columns of A, taken 64 rows at a time so that the partial sums stay in
// registers while A streams by; a tile would waste most of its work.
template <typename T>
void gemm_few_columns(bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb, T beta, T* C,
                      int ldc) {
  for (int j = 0; j < N; ++j) {
    const T* b = B + (tb ? j : static_cast<std::ptrdiff_t>(j) * ldb);
    const std::ptrdiff_t b_step = tb ? ldb : 1;
    T* c = C + static_cast<std::ptrdiff_t>(j) * ldc;
    int i0 = 0;
    for (; i0 + 64 <= M; i0 += 64) column_sum<64>(64, K, A + i0, lda, b, b_step, alpha, beta, c + i0);
    if (i0 < M) column_sum<64>(M - i0, K, A + i0, lda, b, b_step, alpha, beta, c + i0);
  }
}

template <typename T>
void gemm_serial(MicroKernelFn<T> kernel, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda,
                 const T* B, int ldb, T beta, T* C, int ldc) {
  if (K == 0) {
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < M; ++i) {
        T& c = C[i + static_cast<std::ptrdiff_t>(j) * ldc];
        c = beta == T(0) ? T(0) : beta * c;
      }
    return;
  }
  constexpr int MR = tile_rows<T>, NR = tile_cols<T>;
  thread_local std::vector<T> a_block, b_block;  // only ever grown: resizing would refill them
  if (a_block.size() < std::size_t(MC) * KC) a_block.resize(std::size_t(MC) * KC);
  if (b_block.size() < std::size_t(KC) * (NC + NR)) b_block.resize(std::size_t(KC) * (NC + NR));
  T tile[MR * NR];

  // Where op(A) is A, a full panel of MR rows is already MR consecutive values per step of k, and
  // where op(B) is B, a panel of NR columns is NR runs along k: the kernel can read them in place,
  // saving the copy that dominates small products. A is read in place only while its columns are
  // short: a panel of long columns would touch a new page at every step of k.
  const bool direct_a = !ta && lda <= direct_a_max_rows;
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const T beta_block = pc == 0 ? beta : T(1);  // later depth blocks accumulate
      if (tb) pack_b<NR>(B, ldb, tb, pc, kc, jc, nc, b_block.data());
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        if (!direct_a) pack_a<MR>(A, lda, ta, ic, mc, pc, kc, a_block.data());
        for (int jr = 0; jr < nc; jr += NR) {
          const int cols = std::min(NR, nc - jr);
          const T* b = b_block.data() + static_cast<std::ptrdiff_t>(jr) * kc;
          std::ptrdiff_t b_step = NR, b_col = 1;
          if (!tb && cols == NR) {
            b = B + pc + static_cast<std::ptrdiff_t>(jc + jr) * ldb, b_step = 1, b_col = ldb;
          } else if (!tb) {
            pack_b<NR>(B, ldb, tb, pc, kc, jc + jr, cols, b_block.data());
            b = b_block.data();
          }
          for (int ir = 0; ir < mc; ir += MR) {
            const int rows = std::min(MR, mc - ir);
            const T* a = a_block.data() + static_cast<std::ptrdiff_t>(ir) * kc;
            std::ptrdiff_t a_step = MR;
            if (direct_a && rows == MR) {
              a = A + (ic + ir) + static_cast<std::ptrdiff_t>(pc) * lda, a_step = lda;
            } else if (direct_a) {
              pack_a<MR>(A, lda, ta, ic + ir, rows, pc, kc, a_block.data());
              a = a_block.data();
            }
            T* c = C + (ic + ir) + static_cast<std::ptrdiff_t>(jc + jr) * ldc;
            if (rows == MR && cols == NR) {
              kernel(kc, a, a_step, b, b_step, b_col, c, ldc, alpha, beta_block);
              continue;
            }
            // An edge tile: compute the full tile aside, keep the part inside C.
            for (int j = 0; j < NR; ++j)
              for (int i = 0; i < MR; ++i)
                tile[i + j * MR] = beta_block != T(0) && i < rows && j < cols ? c[i + static_cast<std::ptrdiff_t>(j) * ldc] : T(0);
            kernel(kc, a, a_step, b, b_step, b_col, tile, MR, alpha, beta_block);
            for (int j = 0; j < cols; ++j)
              for (int i = 0; i < rows; ++i) c[i + static_cast<std::ptrdiff_t>(j) * ldc] = tile[i + j * MR];
          }
        }
      }
    }
  }
}

// Below this many flops a second thread costs more in waking up than it saves.
constexpr double min_parallel_flops = 4e6;

template <typename T>
void gemm_any(MicroKernelFn<T> kernel, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda,
              const T* B, int ldb, T beta, T* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  // Decided on the whole product, not per thread's share, so that results never depend on the
  // number of threads.
  if (N < tile_cols<T> && !ta && K > 0) return gemm_few_columns(tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const int threads = 2.0 * M * N * K < min_parallel_flops ? 1 : omp_get_max_threads();
  // Split the columns of C between threads when there are enough, else its rows. Every element
  // of C is summed by one thread in the same order, so results do not depend on the split.
  const bool split_columns = N >= 2 * threads * tile_cols<T> || N >= M;
  const int unit = split_columns ? tile_cols<T> : tile_rows<T>;
  const int extent = split_columns ? N : M;
  const int units = (extent + unit - 1) / unit;
  if (threads == 1 || units < 2) return gemm_serial(kernel, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#pragma omp parallel num_threads(std::min(threads, units))
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int first = units * t / nt * unit, last = std::min(extent, units * (t + 1) / nt * unit);
    if (first < last) {
      if (split_columns) {
        const T* b = tb ? B + first : B + static_cast<std::ptrdiff_t>(first) * ldb;
        gemm_serial(kernel, ta, tb, M, last - first, K, alpha, A, lda, b, ldb, beta,
                    C + static_cast<std::ptrdiff_t>(first) * ldc, ldc);
      } else {
        const T* a = ta ? A + static_cast<std::ptrdiff_t>(first) * lda : A + first;
        gemm_serial(kernel, ta, tb, last - first, N, K, alpha, a, lda, B, ldb, beta, C + first, ldc);
      }
    }
  }
}

}  // namespace

MicroKernel micro_kernel() { return selected; }

bool use_micro_kernel(MicroKernel kernel) {
  if (kernel == MicroKernel::avx2 && !cpu_has_avx2()) return false;
  selected = kernel;
  return true;
}

std::string to_string(MicroKernel kernel) { return kernel == MicroKernel::avx2 ? "avx2" : "portable"; }

namespace detail {

void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  gemm_any(float_kernel(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
          double beta, double* C, int ldc) {
  gemm_any(double_kernel(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace detail
}  // namespace mlp
