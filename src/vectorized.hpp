// One source, compiled for each vector instruction set: runs a hot loop with the instructions of
// the selected micro-kernel (gemm.hpp), so that a build for any x86-64 still uses AVX2 or AVX-512
// where the CPU has them (internal: not installed).
#pragma once

#include <cmath>
#include <type_traits>

#include "gemm.hpp"

// Marks the lambda given to mlp::vectorized. Inlined, its loops are compiled inside each target's
// copy; called, they would be compiled once, for the baseline.
#define MLP_VECTOR_BODY __attribute__((always_inline))

namespace mlp {

template <MicroKernel kernel>
using KernelTag = std::integral_constant<MicroKernel, kernel>;

namespace detail {

#if defined(__x86_64__) || defined(__i386__)
template <typename Body>
__attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma"))) auto run_avx512(const Body& body) {
  return body(KernelTag<MicroKernel::avx512>{});
}
template <typename Body>
__attribute__((target("avx2,fma"))) auto run_avx2(const Body& body) {
  return body(KernelTag<MicroKernel::avx2>{});
}
#endif

}  // namespace detail

// body(KernelTag<k>{}), compiled for the instructions of micro-kernel k, the one selected now.
// body is a lambda marked MLP_VECTOR_BODY: [&](auto kernel) MLP_VECTOR_BODY { ... }. An OpenMP
// region inside it is compiled once, for the baseline: call vectorized inside the region.
template <typename Body>
auto vectorized(const Body& body) {
#if defined(__x86_64__) || defined(__i386__)
  switch (micro_kernel()) {
    case MicroKernel::avx512: return detail::run_avx512(body);
    case MicroKernel::avx2: return detail::run_avx2(body);
    case MicroKernel::portable: break;
  }
#endif
  return body(KernelTag<MicroKernel::portable>{});
}

// a b + c, rounded once where the kernel's instructions fuse it (AVX2 and AVX-512 come with FMA;
// the portable code where the whole build targets such a CPU: FP_FAST_FMAF), else twice rather
// than through a slow software fma.
#ifdef FP_FAST_FMAF
inline constexpr bool portable_code_fuses = true;
#else
inline constexpr bool portable_code_fuses = false;
#endif
template <MicroKernel kernel, typename T>
inline T mul_add(T a, T b, T c) {
  if constexpr (kernel == MicroKernel::portable && !portable_code_fuses) return a * b + c;
  else return std::fma(a, b, c);
}

}  // namespace mlp
