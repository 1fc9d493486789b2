// Holds the matrix product of the working tree against the one of another git revision, call by
// call in one process: on a host whose speed drifts between minutes and between processes, this
// is the comparison that gives the same answer twice. Built and run by bench/gemm_ab.sh.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "gemm.hpp"

// The other revision's src/gemm.cpp, compiled with -Dmlp=mlp_base.
namespace mlp_base::detail {
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);
}

namespace {

// The products of a training step of the benchmark's nets (bench/mlp_bench.cpp): Z = W A, dW =
// dZ Aᵀ, dA = Wᵀ dZ. C (M, N) = op(A) (M, K) op(B) (K, N).
struct Product {
  const char* name;
  bool transpose_a, transpose_b;
  int M, N, K;
};
const Product products[] = {
    {"784-2048-2048-10 b512, W[1] X", false, false, 2048, 512, 784},
    {"784-2048-2048-10 b512, W[2] A[1]", false, false, 2048, 512, 2048},
    {"784-2048-2048-10 b512, dZ[2] A[1]T", false, true, 2048, 2048, 512},
    {"784-2048-2048-10 b512, W[2]T dZ[2]", true, false, 2048, 512, 2048},
    {"784-2048-2048-10 b512, dZ[1] XT", false, true, 2048, 784, 512},
    {"784-1024-1024-10 b256, W[1] X", false, false, 1024, 256, 784},
    {"784-1024-1024-10 b256, W[2] A[1]", false, false, 1024, 256, 1024},
    {"784-1024-1024-10 b256, dZ[2] A[1]T", false, true, 1024, 1024, 256},
    {"784-1024-1024-10 b256, W[2]T dZ[2]", true, false, 1024, 256, 1024},
    {"784-1024-1024-10 b256, W[3] A[2]", false, false, 10, 256, 1024},
    {"784-128-64-10 b256, W[1] X", false, false, 128, 256, 784},
    {"784-128-64-10 b256, dZ[1] XT", false, true, 128, 784, 256},
    {"784-128-64-10 b256, W[2]T dZ[2]", true, false, 128, 256, 64},
    {"784-128-64-10 b64, W[1] X", false, false, 128, 64, 784},
    {"784-128-64-10 b64, dZ[1] XT", false, true, 128, 784, 64},
    {"784-16-32-1 b32, W[1] X", false, false, 16, 32, 784},
};

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : omp_get_max_threads();
  omp_set_num_threads(threads);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> A(2048 * 2048), B(2048 * 2048), C(2048 * 2048);
  for (float& x : A) x = normal(rng);
  for (float& x : B) x = normal(rng);
  std::printf("%d thread(s); GFLOP/s are medians of 21 rounds, each timing both products alike\n", threads);
  std::printf("%-36s %10s %10s %8s %s\n", "product", "base", "this tree", "speedup", "(range over rounds)");
  for (const Product& p : products) {
    const int lda = p.transpose_a ? p.K : p.M, ldb = p.transpose_b ? p.N : p.K;
    const double flops = 2.0 * p.M * p.N * p.K;
    const int calls = std::max(3, int(1e8 / flops));
    std::vector<double> seconds[2], speedup;
    for (int round = 0; round < 21; ++round) {
      double time[2];
      for (int which = 0; which < 2; ++which) {
        const auto start = std::chrono::steady_clock::now();
        for (int call = 0; call < calls; ++call) {
          if (which == 0)
            mlp_base::detail::gemm(p.transpose_a, p.transpose_b, p.M, p.N, p.K, 1.0f, A.data(), lda, B.data(), ldb,
                                   0.0f, C.data(), p.M);
          else
            mlp::detail::gemm(p.transpose_a, p.transpose_b, p.M, p.N, p.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f,
                              C.data(), p.M);
        }
        time[which] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls;
        seconds[which].push_back(time[which]);
      }
      speedup.push_back(time[0] / time[1]);
    }
    for (auto& s : seconds) std::sort(s.begin(), s.end());
    std::sort(speedup.begin(), speedup.end());
    std::printf("%-36s %10.1f %10.1f %7.3fx (%.2f-%.2f)\n", p.name, flops / seconds[0][10] / 1e9,
                flops / seconds[1][10] / 1e9, speedup[10], speedup.front(), speedup.back());
  }
}
