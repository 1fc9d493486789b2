// Hidden-layer activations: relu, sigmoid, tanh and the identity, forward and backward.
#include "mlp/activations.hpp"

#include <cmath>
#include <cstddef>

#include "mlp/error.hpp"
#include "vectorized.hpp"

namespace mlp {

Activation parse_activation(std::string_view name, std::string_view option) {
  if (name == "relu") return Activation::relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  if (name == "linear") return Activation::linear;
  throw Error(std::string(option) + ": unknown activation '" + std::string(name) +
              "' (expected relu, sigmoid, tanh or linear)");
}

std::string to_string(Activation g) {
  switch (g) {
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::linear: return "linear";
  }
  return "?";
}

template <typename T>
static T sigmoid(T z) {
  // Both branches only ever exponentiate a non-positive number, so neither overflows.
  if (z >= 0) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

template <typename T>
void activation_forward(Activation g, MatrixView<const T> Z, MatrixView<T> A) {
  const std::size_t count = Z.size();
  const T* z = Z.data;
  T* a = A.data;
  vectorized([&](auto) MLP_VECTOR_BODY {
    switch (g) {
      case Activation::relu:
        for (std::size_t i = 0; i < count; ++i) a[i] = z[i] > T(0) ? z[i] : T(0);
        break;
      case Activation::sigmoid:
        for (std::size_t i = 0; i < count; ++i) a[i] = sigmoid(z[i]);
        break;
      case Activation::tanh:
        for (std::size_t i = 0; i < count; ++i) a[i] = std::tanh(z[i]);
        break;
      case Activation::linear:
        for (std::size_t i = 0; i < count; ++i) a[i] = z[i];
        break;
    }
  });
}

template <typename T>
void activation_backward(Activation g, MatrixView<const T> dA, MatrixView<const T> Z,
                         MatrixView<const T> A, MatrixView<T> dZ) {
  const std::size_t count = dA.size();
  vectorized([&](auto) MLP_VECTOR_BODY {
    // The pointers are the body's own: read through the lambda's captures, the relu loop was
    // left scalar, branching on the sign, which a random half of the units mispredicts.
    const T* da = dA.data;
    const T* z = Z.data;
    const T* a = A.data;
    T* dz = dZ.data;
    switch (g) {
      case Activation::relu:
        for (std::size_t i = 0; i < count; ++i) dz[i] = z[i] > T(0) ? da[i] : T(0);
        break;
      case Activation::sigmoid:
        for (std::size_t i = 0; i < count; ++i) dz[i] = da[i] * a[i] * (T(1) - a[i]);
        break;
      case Activation::tanh:
        for (std::size_t i = 0; i < count; ++i) dz[i] = da[i] * (T(1) - a[i] * a[i]);
        break;
      case Activation::linear:
        for (std::size_t i = 0; i < count; ++i) dz[i] = da[i];
        break;
    }
  });
}

template void activation_forward(Activation, MatrixView<const float>, MatrixView<float>);
template void activation_forward(Activation, MatrixView<const double>, MatrixView<double>);
template void activation_backward(Activation, MatrixView<const float>, MatrixView<const float>,
                                  MatrixView<const float>, MatrixView<float>);
template void activation_backward(Activation, MatrixView<const double>, MatrixView<const double>,
                                  MatrixView<const double>, MatrixView<double>);

}  // namespace mlp
