// A packed, cache-blocked matrix product (the BLIS scheme) with AVX-512 and AVX2+FMA micro-kernels
// and a portable one, and a split of the output between threads when the product is large enough.
#include "gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <type_traits>

#include "mlp/kernels.hpp"
#include "vectorized.hpp"

namespace mlp {

namespace {

// Blocking: a KC x NR panel of B stays in L1, an MC x KC block of A in L2, KC x NC of B in L3.
constexpr int KC = 256;
static_assert(KC % max_fold_columns == 0, "a run of a folded product never straddles two depth blocks");
constexpr int MC = 128;   // a multiple of every MR
constexpr int NC = 3072;  // a multiple of every NR
// Columns of A up to this long are read in place (see gemm_serial).
constexpr int direct_a_max_rows = 512;
// Products with fewer columns than this (one image at inference) take gemm_few_columns.
constexpr int few_columns = 6;

// A micro-kernel computes one MR x NR tile: C = alpha op(A) op(B) + beta C over kc steps of k.
// Step p reads the MR values a[p * a_step + i] and the NR values b[p * b_step + j * b_col]: a
// packed panel (a_step = MR; b_step = NR, b_col = 1) or the matrix itself where its layout allows.
// Only the top-left rows x cols of the tile are written to C; A and B are always read in full
// (the edges of packed panels are zero-padded).
template <typename T>
using MicroKernelFn = void (*)(int kc, const T* a, std::ptrdiff_t a_step, const T* b, std::ptrdiff_t b_step,
                               std::ptrdiff_t b_col, T* C, int ldc, T alpha, T beta, int rows, int cols);

// Kernels written for whole tiles get edge tiles through this: compute the whole tile aside, keep
// the part inside C.
template <int MR, int NR, typename T,
          void (*whole_tile)(int, const T*, std::ptrdiff_t, const T*, std::ptrdiff_t, std::ptrdiff_t, T*, int, T, T)>
void with_edge_tiles(int kc, const T* a, std::ptrdiff_t a_step, const T* b, std::ptrdiff_t b_step,
                     std::ptrdiff_t b_col, T* C, int ldc, T alpha, T beta, int rows, int cols) {
  if (rows == MR && cols == NR) return whole_tile(kc, a, a_step, b, b_step, b_col, C, ldc, alpha, beta);
  T tile[MR * NR];
  for (int j = 0; j < NR; ++j)
    for (int i = 0; i < MR; ++i)
      tile[i + j * MR] = beta != T(0) && i < rows && j < cols ? C[i + static_cast<std::ptrdiff_t>(j) * ldc] : T(0);
  whole_tile(kc, a, a_step, b, b_step, b_col, tile, MR, alpha, beta);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) C[i + static_cast<std::ptrdiff_t>(j) * ldc] = tile[i + j * MR];
}

template <int MR, int NR, typename T>
void portable_kernel(int kc, const T* a, std::ptrdiff_t a_step, const T* b, std::ptrdiff_t b_step,
                     std::ptrdiff_t b_col, T* C, int ldc, T alpha, T beta) {
  T acc[NR][MR] = {};
  for (int p = 0; p < kc; ++p, a += a_step, b += b_step)
    for (int j = 0; j < NR; ++j)
      for (int i = 0; i < MR; ++i) acc[j][i] = mul_add<MicroKernel::portable>(a[i], b[j * b_col], acc[j][i]);
  for (int j = 0; j < NR; ++j) {
    T* c = C + static_cast<std::ptrdiff_t>(j) * ldc;
    for (int i = 0; i < MR; ++i)
      c[i] = beta == T(0) ? alpha * acc[j][i] : mul_add<MicroKernel::portable>(alpha, acc[j][i], beta * c[i]);
  }
}

// V x 8 rows by NR columns with 8-float vectors, the AVX2 counterpart of avx512_tile below: V x NR
// accumulators, V loads of A and NR broadcasts of B per step; edge tiles are stored through masks.
// NR = 4 because 4 divides the batch sizes and 784, so that tiles are rarely edges. The part of C
// read back is prefetched first: a large C does not fit a small L3 (docs/benchmarks.md).
template <int V, int NR>
__attribute__((target("avx2,fma"))) void avx2_tile(int kc, const float* a, std::ptrdiff_t a_step, const float* b,
                                                  std::ptrdiff_t b_step, std::ptrdiff_t b_col, float* C, int ldc,
                                                  float alpha, float beta, int rows, int cols) {
  if (beta != 0.0f)
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      const float* cj = C + static_cast<std::ptrdiff_t>(j) * ldc;
      _mm_prefetch(reinterpret_cast<const char*>(cj), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(cj + 8 * V - 1), _MM_HINT_T0);
    }
  __m256 c[NR][V];
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) c[j][v] = _mm256_setzero_ps();
  for (int p = 0; p < kc; ++p, a += a_step, b += b_step) {
    __m256 av[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) av[v] = _mm256_loadu_ps(a + 8 * v);
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      const __m256 bj = _mm256_broadcast_ss(b + j * b_col);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) c[j][v] = _mm256_fmadd_ps(av[v], bj, c[j][v]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const int last_rows = rows - 8 * (V - 1);  // 1..8 rows in the last vector
  const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(last_rows), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j) {
    if (j >= cols) continue;
    float* cj = C + static_cast<std::ptrdiff_t>(j) * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      __m256 result = _mm256_mul_ps(va, c[j][v]);
      if (v < V - 1 || last_rows == 8) {
        if (beta != 0.0f) result = _mm256_fmadd_ps(va, c[j][v], _mm256_mul_ps(vb, _mm256_loadu_ps(cj + 8 * v)));
        _mm256_storeu_ps(cj + 8 * v, result);
      } else {
        if (beta != 0.0f) result = _mm256_fmadd_ps(va, c[j][v], _mm256_mul_ps(vb, _mm256_maskload_ps(cj + 8 * v, last)));
        _mm256_maskstore_ps(cj + 8 * v, last, result);
      }
    }
  }
}

// 16 x 4, or 8 x 4 for a last panel of at most 8 rows.
__attribute__((target("avx2,fma"))) void avx2_kernel(int kc, const float* a, std::ptrdiff_t a_step, const float* b,
                                                    std::ptrdiff_t b_step, std::ptrdiff_t b_col, float* C, int ldc,
                                                    float alpha, float beta, int rows, int cols) {
  if (rows <= 8) return avx2_tile<1, 4>(kc, a, a_step, b, b_step, b_col, C, ldc, alpha, beta, rows, cols);
  avx2_tile<2, 4>(kc, a, a_step, b, b_step, b_col, C, ldc, alpha, beta, rows, cols);
}

// V x 16 rows by NR columns with 16-float vectors: V x NR accumulators, V loads of A and NR
// broadcasts of B per step. Edge tiles are stored through masks, so there is no copy aside. Wider
// tiles lose: 12 columns are more streams of B than a cache set holds when B's columns are 4 KiB
// apart, and 48 rows pack transposed A slower (docs/benchmarks.md).
template <int V, int NR>
__attribute__((target("avx512f"))) void avx512_tile(int kc, const float* a, std::ptrdiff_t a_step, const float* b,
                                                    std::ptrdiff_t b_step, std::ptrdiff_t b_col, float* C, int ldc,
                                                    float alpha, float beta, int rows, int cols) {
  // Every loop over the tile is unrolled so that the sums stay in registers: with one loop left
  // GCC keeps them in memory at the start and end of each call.
  __m512 c[NR][V];
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) c[j][v] = _mm512_setzero_ps();
  for (int p = 0; p < kc; ++p, a += a_step, b += b_step) {
    __m512 av[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) av[v] = _mm512_loadu_ps(a + 16 * v);
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      const __m512 bj = _mm512_set1_ps(b[j * b_col]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) c[j][v] = _mm512_fmadd_ps(av[v], bj, c[j][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const int last_rows = rows - 16 * (V - 1);  // 1..16 rows in the last vector
  const __mmask16 last = last_rows >= 16 ? __mmask16(0xffff) : __mmask16((1u << last_rows) - 1);
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j) {
    if (j >= cols) continue;
    float* cj = C + static_cast<std::ptrdiff_t>(j) * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const __mmask16 mask = v == V - 1 ? last : __mmask16(0xffff);
      __m512 result = _mm512_mul_ps(va, c[j][v]);
      if (beta != 0.0f) result = _mm512_fmadd_ps(va, c[j][v], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mask, cj + 16 * v)));
      _mm512_mask_storeu_ps(cj + 16 * v, mask, result);
    }
  }
}

// 32 x 8, or 16 x 8 for a last panel of at most 16 rows.
__attribute__((target("avx512f"))) void avx512_kernel(int kc, const float* a, std::ptrdiff_t a_step,
                                                      const float* b, std::ptrdiff_t b_step, std::ptrdiff_t b_col,
                                                      float* C, int ldc, float alpha, float beta, int rows, int cols) {
  if (rows <= 16) return avx512_tile<1, 8>(kc, a, a_step, b, b_step, b_col, C, ldc, alpha, beta, rows, cols);
  avx512_tile<2, 8>(kc, a, a_step, b, b_step, b_col, C, ldc, alpha, beta, rows, cols);
}

// What vectorized.hpp's copies need: AVX-512 with its VL and BW parts, AVX2 with FMA.
bool cpu_supports(MicroKernel kernel) {
  __builtin_cpu_init();
  switch (kernel) {
    case MicroKernel::portable: return true;
    case MicroKernel::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case MicroKernel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && cpu_supports(MicroKernel::avx2);
  }
  return false;
}

// The fastest kernel the CPU supports, or the one MLP_KERNEL names. A name that is unknown, or
// that the CPU cannot run, is reported on stderr and ignored: the library has no caller to tell.
MicroKernel initial_kernel() {
  MicroKernel fastest = MicroKernel::portable;
  for (MicroKernel kernel : {MicroKernel::avx512, MicroKernel::avx2})
    if (cpu_supports(kernel)) {
      fastest = kernel;
      break;
    }
  const char* name = std::getenv("MLP_KERNEL");
  if (name == nullptr || *name == 0) return fastest;
  for (MicroKernel kernel : {MicroKernel::portable, MicroKernel::avx2, MicroKernel::avx512}) {
    if (to_string(kernel) != name) continue;
    if (cpu_supports(kernel)) return kernel;
    std::fprintf(stderr, "MLP_KERNEL: this CPU cannot run the %s kernel; using %s\n", name, to_string(fastest).c_str());
    return fastest;
  }
  std::fprintf(stderr, "MLP_KERNEL: unknown kernel '%s' (expected portable, avx2 or avx512); using %s\n", name,
               to_string(fastest).c_str());
  return fastest;
}

// Chosen at the first use, not at load time: no order between static initializers to rely on.
MicroKernel& selected() {
  static MicroKernel kernel = initial_kernel();
  return kernel;
}

// out[q * out_step + i] = runs[i][q] for 16 runs of 16 values: a 16 x 16 transpose in registers,
// in four rounds of shuffles (pairs of values, quadruples, 128-bit lanes, lanes again).
// GCC 12's plain unpack and lane shuffles pass an undefined vector that -Wuninitialized reports
// (GCC bug 105593); their _mask_ forms with every lane selected are the same instructions.
#define MLP_ALL __mmask16(0xffff)
#define MLP_SHUFFLE_LANES(a, b, lanes) _mm512_mask_shuffle_f32x4(a, MLP_ALL, a, b, lanes)
__attribute__((target("avx512f"))) void transpose_16x16(const float* const* runs, std::ptrdiff_t offset, float* out,
                                                        std::ptrdiff_t out_step) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(runs[i] + offset);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_mask_unpacklo_ps(r[i], MLP_ALL, r[i], r[i + 1]);      // per 128-bit lane: a0 b0 a1 b1
    t[i + 1] = _mm512_mask_unpackhi_ps(r[i], MLP_ALL, r[i], r[i + 1]);  //                   a2 b2 a3 b3
  }
  for (int g = 0; g < 16; g += 4)  // r[g + s], lane L: values 4L + s of runs g..g+3
    for (int h = 0; h < 2; ++h) {
      r[g + 2 * h] = _mm512_shuffle_ps(t[g + h], t[g + h + 2], 0x44);
      r[g + 2 * h + 1] = _mm512_shuffle_ps(t[g + h], t[g + h + 2], 0xEE);
    }
  for (int s = 0; s < 4; ++s) {
    const __m512 w0 = MLP_SHUFFLE_LANES(r[s], r[4 + s], 0x44), w1 = MLP_SHUFFLE_LANES(r[s], r[4 + s], 0xEE);
    const __m512 w2 = MLP_SHUFFLE_LANES(r[8 + s], r[12 + s], 0x44);
    const __m512 w3 = MLP_SHUFFLE_LANES(r[8 + s], r[12 + s], 0xEE);
    _mm512_storeu_ps(out + (s + 0) * out_step, MLP_SHUFFLE_LANES(w0, w2, 0x88));
    _mm512_storeu_ps(out + (s + 4) * out_step, MLP_SHUFFLE_LANES(w0, w2, 0xDD));
    _mm512_storeu_ps(out + (s + 8) * out_step, MLP_SHUFFLE_LANES(w1, w3, 0x88));
    _mm512_storeu_ps(out + (s + 12) * out_step, MLP_SHUFFLE_LANES(w1, w3, 0xDD));
  }
}
#undef MLP_SHUFFLE_LANES
#undef MLP_ALL

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
  if (step_k == 1 && count == width) {
    int p = 0;
    if constexpr (std::is_same_v<T, float> && width % 16 == 0) {
      // 16 runs x 16 steps at a time, transposed in registers: products Wᵀ dZ then run as fast as
      // W A.
      if (micro_kernel() == MicroKernel::avx512)
        for (; p + 16 <= kc; p += 16)
          for (int i = 0; i < width; i += 16) transpose_16x16(source + i, p, out + p * width + i, width);
    }
    // The rest, one run after the other: read side by side, runs a power-of-two stride apart would
    // all fall in one set of the L1 cache and evict each other before their lines were used up.
    for (int i = 0; i < width; ++i)
      for (int q = p; q < kc; ++q) out[q * width + i] = source[i][q];
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
// b_step apart. With rows == ROWS the sums have a fixed size and live in registers. Each element
// is summed as the tiles of gemm_serial sum it, so that a column of C has the same bits whether
// its product had one column or many: from zero over each depth block (KC, or `fold`), with fused
// multiply-adds where the kernel has them, then c = alpha sum + beta c, fused too.
template <MicroKernel kernel, int ROWS, typename T>
__attribute__((always_inline)) inline void column_sum(int rows, int K, const T* A, int lda, const T* b,
                                                      std::ptrdiff_t b_step, T alpha, T beta, T* c, int fold) {
  const int block = fold > 0 ? fold : KC;  // fold divides KC: the same blocks as the tiles' runs
  for (int k0 = 0; k0 < K; k0 += block) {
    const int kc = std::min(block, K - k0);
    T sum[ROWS] = {};
    const T* a = A + static_cast<std::ptrdiff_t>(k0) * lda;
    const T* bk = b + k0 * b_step;
    if (rows == ROWS) {
      for (int k = 0; k < kc; ++k, a += lda, bk += b_step)
        for (int i = 0; i < ROWS; ++i) sum[i] = mul_add<kernel>(a[i], *bk, sum[i]);
    } else {
      for (int k = 0; k < kc; ++k, a += lda, bk += b_step)
        for (int i = 0; i < rows; ++i) sum[i] = mul_add<kernel>(a[i], *bk, sum[i]);
    }
    const T beta_block = k0 == 0 ? beta : T(1);  // later blocks accumulate
    for (int i = 0; i < rows; ++i)
      c[i] = beta_block == T(0) ? alpha * sum[i] : mul_add<kernel>(alpha, sum[i], beta_block * c[i]);
  }
}

// C = alpha A op(B) + beta C for fewer columns than a tile (one image at inference): each column
// of C is a sum of columns of A, taken 64 rows at a time so that the partial sums stay in
// registers while A streams by; a tile would waste most of its work. Compiled for the selected
// kernel's vectors (the float products; the double ones stay portable).
template <typename T>
void gemm_few_columns(bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb, T beta, T* C,
                      int ldc, int fold) {
  const auto columns = [&](auto kernel) MLP_VECTOR_BODY {
    for (int j = 0; j < N; ++j) {
      const T* b = B + (tb ? j : static_cast<std::ptrdiff_t>(j) * ldb);
      const std::ptrdiff_t b_step = tb ? ldb : 1;
      T* c = C + static_cast<std::ptrdiff_t>(j) * ldc;
      int i0 = 0;
      for (; i0 + 64 <= M; i0 += 64) column_sum<kernel, 64>(64, K, A + i0, lda, b, b_step, alpha, beta, c + i0, fold);
      if (i0 < M) column_sum<kernel, 64>(M - i0, K, A + i0, lda, b, b_step, alpha, beta, c + i0, fold);
    }
  };
  if constexpr (std::is_same_v<T, float>) vectorized(columns);
  else columns(KernelTag<MicroKernel::portable>{});
}

// A thread's packing buffer, grown to what its products need and never filled: pages that no
// product touches take no memory.
template <typename T>
struct Scratch {
  std::unique_ptr<T[]> values;
  std::size_t size = 0;
  T* at_least(std::size_t n) {
    if (n > size) values.reset(new T[n]), size = n;
    return values.get();
  }
};

template <int MR, int NR, typename T>
void gemm_serial(MicroKernelFn<T> kernel, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda,
                 const T* B, int ldb, T beta, T* C, int ldc, int fold) {
  if (K == 0) {
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < M; ++i) {
        T& c = C[i + static_cast<std::ptrdiff_t>(j) * ldc];
        c = beta == T(0) ? T(0) : beta * c;
      }
    return;
  }
  const auto round_up = [](int n, int multiple) { return std::size_t((n + multiple - 1) / multiple * multiple); };
  thread_local Scratch<T> a_scratch, b_scratch;
  T* const a_block = a_scratch.at_least(round_up(std::min(M, MC), MR) * std::min(K, KC));
  T* const b_block = b_scratch.at_least(round_up(std::min(N, NC), NR) * std::min(K, KC));

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
      if (tb) pack_b<NR>(B, ldb, tb, pc, kc, jc, nc, b_block);
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        const int edge_rows = mc % MR;  // a last panel of fewer rows, read from a_block even when direct
        if (!direct_a) pack_a<MR>(A, lda, ta, ic, mc, pc, kc, a_block);
        else if (edge_rows) pack_a<MR>(A, lda, ta, ic + mc - edge_rows, edge_rows, pc, kc, a_block);
        for (int jr = 0; jr < nc; jr += NR) {
          const int cols = std::min(NR, nc - jr);
          const T* b = b_block + static_cast<std::ptrdiff_t>(jr) * kc;
          std::ptrdiff_t b_step = NR, b_col = 1;
          if (!tb && cols == NR) {
            b = B + pc + static_cast<std::ptrdiff_t>(jc + jr) * ldb, b_step = 1, b_col = ldb;
          } else if (!tb) {
            pack_b<NR>(B, ldb, tb, pc, kc, jc + jr, cols, b_block);
            b = b_block;
          }
          for (int ir = 0; ir < mc; ir += MR) {
            const int rows = std::min(MR, mc - ir);
            const T* a = a_block + (direct_a ? 0 : static_cast<std::ptrdiff_t>(ir) * kc);
            std::ptrdiff_t a_step = MR;
            if (direct_a && rows == MR) a = A + (ic + ir) + static_cast<std::ptrdiff_t>(pc) * lda, a_step = lda;
            T* c = C + (ic + ir) + static_cast<std::ptrdiff_t>(jc + jr) * ldc;
            if (fold == 0) {
              kernel(kc, a, a_step, b, b_step, b_col, c, ldc, alpha, beta_block, rows, cols);
            } else {
              // One call per run of `fold` steps, each summing from zero and adding to the tile,
              // which stays in L1 from one call to the next.
              for (int r = 0; r < kc; r += fold)
                kernel(std::min(fold, kc - r), a + r * a_step, a_step, b + r * b_step, b_step, b_col, c, ldc, alpha,
                       r == 0 ? beta_block : T(1), rows, cols);
            }
          }
        }
      }
    }
  }
}

// Below this many flops a second thread costs more in waking up than it saves (measured: smaller
// thresholds made the smallest benchmark network erratic).
constexpr double min_parallel_flops = 1e6;
// The same for gemm_few_columns, in elements of A (784 x 128 is 100,352).
constexpr double min_parallel_matrix = 64e3;

// The part [first, last) of [0, extent) that thread t of nt computes: whole units of `unit`, the
// last of which may be short.
struct Share {
  int first, last;
};
Share thread_share(int extent, int unit, int t, int nt) {
  const int units = (extent + unit - 1) / unit;
  return {std::min(extent, units * t / nt * unit), std::min(extent, units * (t + 1) / nt * unit)};
}

template <int MR, int NR, typename T>
void gemm_any(MicroKernelFn<T> kernel, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda,
              const T* B, int ldb, T beta, T* C, int ldc, int fold) {
  if (M <= 0 || N <= 0) return;
  // Decided on the whole product, not per thread's share, so that results never depend on the
  // number of threads.
  if (N < few_columns && !ta && K > 0) {
    // Bound by reading A: with two threads, each reads its half of the rows, from its own core's
    // cache when the product is repeated (one image after another through the same layer).
    const int threads = double(M) * K < min_parallel_matrix ? 1 : std::min(omp_get_max_threads(), M / 64);
    if (threads <= 1) return gemm_few_columns(tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fold);
#pragma omp parallel num_threads(threads)
    {
      const auto [first, last] = thread_share(M, 64, omp_get_thread_num(), omp_get_num_threads());
      gemm_few_columns(tb, last - first, N, K, alpha, A + first, lda, B, ldb, beta, C + first, ldc, fold);
    }
    return;
  }
  const int threads = 2.0 * M * N * K < min_parallel_flops ? 1 : omp_get_max_threads();
  // Split the rows of C between threads when they are the longer side, else its columns: each
  // thread then packs only its own part of the larger operand (A's rows, or B's columns) instead
  // of all of it. Every element of C is summed by one thread in the same order, so results do not
  // depend on the split.
  const bool split_columns = N >= M || M < 2 * MR;
  const int unit = split_columns ? NR : MR;
  const int extent = split_columns ? N : M;
  const int units = (extent + unit - 1) / unit;
  if (threads == 1 || units < 2) return gemm_serial<MR, NR>(kernel, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fold);
#pragma omp parallel num_threads(std::min(threads, units))
  {
    const auto [first, last] = thread_share(extent, unit, omp_get_thread_num(), omp_get_num_threads());
    if (first < last) {
      if (split_columns) {
        const T* b = tb ? B + first : B + static_cast<std::ptrdiff_t>(first) * ldb;
        gemm_serial<MR, NR>(kernel, ta, tb, M, last - first, K, alpha, A, lda, b, ldb, beta,
                    C + static_cast<std::ptrdiff_t>(first) * ldc, ldc, fold);
      } else {
        const T* a = ta ? A + static_cast<std::ptrdiff_t>(first) * lda : A + first;
        gemm_serial<MR, NR>(kernel, ta, tb, last - first, N, K, alpha, a, lda, B, ldb, beta, C + first, ldc, fold);
      }
    }
  }
}

}  // namespace

MicroKernel micro_kernel() { return selected(); }

bool use_micro_kernel(MicroKernel kernel) {
  if (!cpu_supports(kernel)) return false;
  selected() = kernel;
  return true;
}

std::string to_string(MicroKernel kernel) {
  switch (kernel) {
    case MicroKernel::portable: return "portable";
    case MicroKernel::avx2: return "avx2";
    case MicroKernel::avx512: return "avx512";
  }
  return "?";
}

namespace detail {

void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc, int fold) {
  switch (selected()) {
    case MicroKernel::avx512:
      // Products of fewer rows than the 32-row tile are packed in panels of 16: a 32-row panel
      // would be half empty. The AVX-512 and AVX2 kernels sum each element in the same order with
      // the same fused multiply-adds: the same bits whichever runs (tested).
      if (M >= 32) return gemm_any<32, 8>(avx512_kernel, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fold);
      // At most 8 rows (an output layer of a few classes): 8-row tiles, half the 16-row tile's
      // empty lanes (iris' 4-64-3: 3% of a training step).
      if (M <= 8) return gemm_any<8, 8>(avx2_tile<1, 8>, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fold);
      return gemm_any<16, 8>(avx512_tile<1, 8>, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fold);
    case MicroKernel::avx2:
      return gemm_any<16, 4>(avx2_kernel, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fold);
    case MicroKernel::portable:
      return gemm_any<16, 6>(with_edge_tiles<16, 6, float, portable_kernel<16, 6, float>>, ta, tb, M, N, K, alpha, A,
                             lda, B, ldb, beta, C, ldc, fold);
  }
}

void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
          double beta, double* C, int ldc, int fold) {
  gemm_any<8, 6>(with_edge_tiles<8, 6, double, portable_kernel<8, 6, double>>, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                 beta, C, ldc, fold);
}

}  // namespace detail
}  // namespace mlp
