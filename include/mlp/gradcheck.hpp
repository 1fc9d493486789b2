/// @file
/// The finite-difference check that proves backpropagation's derivatives, in double precision.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mlp/network.hpp"

namespace mlp {

/// How gradient_check() builds its problem.
struct GradcheckOptions {
  int samples = 8;                 ///< m of the random batch
  std::uint64_t seed = 1;          ///< weights, inputs and targets
  std::size_t max_parameters = 4000;  ///< check a random subset beyond this many
  double step = 1e-3;              ///< h of the five-point stencil
};

/// What gradient_check() found.
struct GradcheckResult {
  double max_relative_error = 0;   ///< over the checked parameters, see gradient_check()
  std::size_t worst_parameter = 0; ///< its index in the parameter block
  int worst_layer = 0;             ///< its layer l
  std::size_t checked = 0;         ///< parameters compared
  std::size_t skipped = 0;         ///< ReLU kinks crossed by the stencil, where J has no derivative
};

/// Builds a random network of `arch` in double precision, a random batch X (n[0], m) and targets Y
/// suited to the task, computes the gradient by backpropagation, and compares every parameter's
/// derivative with the five-point central difference
///     (-J(θ+2h) + 8 J(θ+h) - 8 J(θ-h) + J(θ-2h)) / 12h.
/// The relative error of one parameter is |g - ĝ| / max(|g| + |ĝ|, 1e-6): gradients below 1e-6
/// are compared absolutely, since rounding alone puts about 1e-13 of noise into ĝ.
/// A correct backpropagation gives about 1e-7 or less; `mlp gradcheck` passes below 1e-6.
GradcheckResult gradient_check(const Architecture& arch, const GradcheckOptions& options = {});

}  // namespace mlp
