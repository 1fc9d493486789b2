// FMA-peak probe: how many single-precision FLOP/s the vector FMA units of this machine deliver
// when nothing but registers is involved. "Share of peak" in the benchmarks is measured against
// this number, on the machine at hand, instead of a datasheet figure.
//
// Each thread runs CHAINS independent accumulator chains acc_i = acc_i * a + b, one vector FMA
// each per iteration, so the FMA latency is hidden as long as CHAINS >= latency x FMA ports.
// The widest unit the CPU has is chosen at run time: AVX-512 (zmm, 16 lanes) if
// __builtin_cpu_supports("avx512f"), else AVX2+FMA (ymm, 8 lanes), else SSE without FMA
// (reported as such, not a peak). FLOPs = 2 per lane per FMA.
//
//   fma_peak [--seconds S] [--threads N] [--json]
// Prints GFLOP/s on 1 thread and on N threads (default: std::thread::hardware_concurrency()).
// Each figure is the best of several timed runs (a peak is a maximum: interference only lowers it).

#include <immintrin.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cpu_load.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// One timed unit of work: `iterations` rounds of CHAINS FMAs. Returns a value that depends on
// every accumulator so the compiler cannot drop the work.
// 24 chains of zmm (32 registers available); enough for 2 ports x 4-6 cycles latency.
__attribute__((target("avx512f"), noinline)) float run_avx512(std::int64_t iterations) {
  constexpr int CHAINS = 24;
  __m512 acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < CHAINS; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < CHAINS; ++i) sum = _mm512_add_ps(sum, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}
constexpr int kAvx512Flops = 24 * 16 * 2;  // per iteration

// 12 chains of ymm: with a and b that is 14 of the 16 ymm registers, so nothing spills.
// 12 >= 2 ports x 5 cycles (Zen 2/3) and >= 2 x 4 (Intel since Skylake).
__attribute__((target("avx2,fma"), noinline)) float run_avx2(std::int64_t iterations) {
  constexpr int CHAINS = 12;
  __m256 acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i) acc[i] = _mm256_set1_ps(float(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < CHAINS; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}
constexpr int kAvx2Flops = 12 * 8 * 2;

// No FMA at all: separate multiply and add (counted as 2 FLOPs per lane), SSE width.
__attribute__((noinline)) float run_sse(std::int64_t iterations) {
  constexpr int CHAINS = 12;
  __m128 acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i) acc[i] = _mm_set1_ps(float(i) * 1e-3f);
  const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
  for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
  }
  __m128 sum = acc[0];
  for (int i = 1; i < CHAINS; ++i) sum = _mm_add_ps(sum, acc[i]);
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
constexpr int kSseFlops = 12 * 4 * 2;

struct Unit {
  const char* name;
  float (*run)(std::int64_t);
  int flops_per_iteration;
};

Unit pick_unit() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"avx512f (zmm, 16 lanes, 24 chains)", run_avx512, kAvx512Flops};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2+fma (ymm, 8 lanes, 12 chains)", run_avx2, kAvx2Flops};
  return {"sse (xmm, 4 lanes, mul+add, no FMA)", run_sse, kSseFlops};
}

std::atomic<float> sink{0};

// Runs `iterations` on each of `threads` threads, started together; returns GFLOP/s over the
// wall time from the common start to the last thread's end.
double measure(const Unit& unit, int threads, std::int64_t iterations) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {}
      const float r = unit.run(iterations);
      sink.store(sink.load(std::memory_order_relaxed) + r, std::memory_order_relaxed);
    });
  while (ready.load() < threads) {}
  const Clock::time_point start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return double(unit.flops_per_iteration) * double(iterations) * threads / seconds * 1e-9;
}

struct Result {
  double best = 0, median = 0;
};

// Calibrates the iteration count to about `seconds` per run, then takes `runs` runs.
Result probe(const Unit& unit, int threads, double seconds, int runs) {
  std::int64_t iterations = 1 << 16;
  for (;;) {  // grow until one run takes at least 50 ms, then scale
    const Clock::time_point start = Clock::now();
    unit.run(iterations);
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    if (took >= 0.05) {
      iterations = std::max<std::int64_t>(1, std::int64_t(iterations * seconds / took));
      break;
    }
    iterations *= 4;
  }
  std::vector<double> values;
  for (int r = 0; r < runs; ++r) values.push_back(measure(unit, threads, iterations));
  std::sort(values.begin(), values.end());
  return {values.back(), values[values.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  int runs = 7;
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (arg == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--threads" && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--json") json = true;
    else {
      std::fprintf(stderr,
                   "usage: fma_peak [--seconds S per run (0.5)] [--runs N (7)] [--threads N] [--json]\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  const Unit unit = pick_unit();
  const CpuSample before = cpu_sample();
  const Result one = probe(unit, 1, seconds, runs);
  const Result all = probe(unit, threads, seconds, runs);
  const double others = others_share(before, cpu_sample());
  if (json) {
    std::printf(
        "{\"bench\":\"fma_peak\",\"unit\":\"%s\",\"threads\":%d,\"gflops_1\":%.1f,"
        "\"gflops_1_median\":%.1f,\"gflops_all\":%.1f,\"gflops_all_median\":%.1f,\"runs\":%d,"
        "\"seconds_per_run\":%.2f,\"others_cpu_share\":%.3f}\n",
        unit.name, threads, one.best, one.median, all.best, all.median, runs, seconds, others);
  } else {
    std::printf("FMA peak, single precision, %s\n", unit.name);
    std::printf("  1 thread : %7.1f GFLOP/s (best of %d; median %.1f)\n", one.best, runs, one.median);
    std::printf("  %d threads: %7.1f GFLOP/s (best of %d; median %.1f)\n", threads, all.best, runs,
                all.median);
    std::printf("  (other processes used %.0f%% of the CPUs meanwhile)\n", others * 100);
  }
  return 0;
}
