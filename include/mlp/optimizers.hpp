// Parameter updates from the gradients: plain (minibatch) gradient descent.
#pragma once

#include <cassert>
#include <cstddef>
#include <span>

namespace mlp {

// W[l] := W[l] - α dW[l] and b[l] := b[l] - α db[l], for all layers in one pass over the
// parameter block (the gradient block has the same layout).
struct Sgd {
  double learning_rate = 0.1;

  template <typename T>
  void update(std::span<T> parameters, std::span<const T> gradients) const {
    assert(parameters.size() == gradients.size());
    const T alpha = T(learning_rate);
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i] -= alpha * gradients[i];
  }
};

}  // namespace mlp
