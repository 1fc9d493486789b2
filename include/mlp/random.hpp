/// @file
/// The seeded random source behind initialization, shuffling and dropout: same seed, same run.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>

namespace mlp {

/// A seeded generator whose numbers are the same on every platform and compiler.
/// std::mt19937_64 is specified bit for bit by the standard; the standard distributions are not,
/// so the few transforms needed are written here and give the same numbers everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  /// The next 64 random bits.
  std::uint64_t next() { return engine_(); }
  /// Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Standard normal, by the Box–Muller transform (two uniforms per call).
  double normal() {
    const double u1 = 1.0 - uniform();  // in (0, 1]: log(u1) is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  /// Uniform integer in [0, n), without modulo bias; n must be positive.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = next(); while (x >= limit);
    return x % n;
  }

  /// The engine itself, e.g. for std::shuffle (whose results, unlike the engine's, may differ
  /// between standard libraries).
  std::mt19937_64& engine() { return engine_; }

  /// The engine's whole state as text (the standard's stream format, ~6 KB), for checkpoints.
  std::string state() const {
    std::ostringstream out;
    out << engine_;
    return out.str();
  }
  /// Returns false, and changes nothing, if `text` is not a state written by state().
  bool set_state(const std::string& text) {
    std::istringstream in(text);
    std::mt19937_64 restored;
    if (!(in >> restored) || !(in >> std::ws).eof()) return false;
    engine_ = restored;
    return true;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace mlp
