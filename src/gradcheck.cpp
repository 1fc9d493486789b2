// Finite differences against backpropagation, parameter by parameter, in double precision.
#include "mlp/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace mlp {

namespace {

// Which side of zero every hidden pre-activation lies on: J is smooth only while this holds.
std::vector<bool> relu_pattern(const Network<double>& net) {
  std::vector<bool> pattern;
  if (net.architecture().hidden_activation != Activation::relu) return pattern;
  for (int l = 1; l < net.depth(); ++l) {
    const MatrixView<const double> Z = net.Z(l);
    for (std::size_t i = 0; i < Z.size(); ++i) pattern.push_back(Z.data[i] > 0);
  }
  return pattern;
}

}  // namespace

GradcheckResult gradient_check(const Architecture& arch, const GradcheckOptions& options) {
  Rng rng(options.seed);
  Network<double> net(arch);
  net.initialize(rng);
  const int m = options.samples;
  Matrix<double> X(arch.sizes[0], m), Y(arch.outputs(), m);
  for (int j = 0; j < m; ++j) {
    for (int i = 0; i < X.rows(); ++i) X(i, j) = rng.uniform();
    for (int i = 0; i < Y.rows(); ++i)
      Y(i, j) = arch.task == Task::regression ? rng.normal() : 0.0;
    if (arch.task == Task::binary) Y(0, j) = double(rng.below(2));
    if (arch.task == Task::multiclass) Y(static_cast<int>(rng.below(Y.rows())), j) = 1.0;
  }
  // The biases start at zero; random ones exercise db and move pre-activations off zero.
  for (int l = 1; l <= net.depth(); ++l)
    for (int i = 0; i < net.units(l); ++i) net.b(l)[i] = 0.1 * rng.normal();

  net.forward(X);
  net.backward(Y);
  const std::vector<double> backprop(net.gradients().begin(), net.gradients().end());
  const std::vector<bool> pattern = relu_pattern(net);

  std::span<double> theta = net.parameters();
  std::vector<std::size_t> which(theta.size());
  std::iota(which.begin(), which.end(), std::size_t(0));
  if (which.size() > options.max_parameters) {
    for (std::size_t i = 0; i < options.max_parameters; ++i)
      std::swap(which[i], which[i + rng.below(which.size() - i)]);
    which.resize(options.max_parameters);
    std::sort(which.begin(), which.end());
  }

  GradcheckResult result;
  const double h = options.step;
  for (const std::size_t p : which) {
    const double original = theta[p];
    bool kink = false;
    auto J = [&](double offset) {
      theta[p] = original + offset;
      net.forward(X);
      kink = kink || relu_pattern(net) != pattern;
      return net.loss(Y);
    };
    const double numeric = (-J(2 * h) + 8 * J(h) - 8 * J(-h) + J(-2 * h)) / (12 * h);
    theta[p] = original;
    if (kink) {
      ++result.skipped;
      continue;
    }
    ++result.checked;
    const double error = std::abs(numeric - backprop[p]) / std::max(std::abs(numeric) + std::abs(backprop[p]), 1e-6);
    if (error > result.max_relative_error || result.checked == 1) {
      result.max_relative_error = error;
      result.worst_parameter = p;
    }
  }
  std::size_t start = 0;
  for (int l = 1; l <= net.depth(); ++l) {
    if (result.worst_parameter >= start) result.worst_layer = l;
    start += std::size_t(net.units(l)) * (net.units(l - 1) + 1);
  }
  return result;
}

}  // namespace mlp
