/// @file
/// Hidden-layer activations g and their derivatives: A = g(Z) and dZ = dA ⊙ g'(Z).
#pragma once

#include <string>
#include <string_view>

#include "mlp/matrix.hpp"

namespace mlp {

/// The activation g of the hidden layers 1..L-1 (the output layer's is fixed by the Task).
enum class Activation { relu, sigmoid, tanh, linear };

/// "relu" -> Activation::relu.
/// @param option what to name in the error, e.g. "--activation" or a file's metadata field
/// @throws Error naming `option` for any other name
Activation parse_activation(std::string_view name, std::string_view option = "--activation");
/// The name parse_activation() reads: "relu", "sigmoid", "tanh" or "linear".
std::string to_string(Activation g);

/// A = g(Z), elementwise. Z and A are (n, m) and may be the same memory.
template <typename T>
void activation_forward(Activation g, MatrixView<const T> Z, MatrixView<T> A);

/// dZ = dA ⊙ g'(Z), elementwise; dA and dZ may be the same memory. g' is taken from whichever of
/// Z and A = g(Z) is cheaper: relu'(z) = [z > 0], σ'(z) = a(1 - a), tanh'(z) = 1 - a², linear' = 1.
template <typename T>
void activation_backward(Activation g, MatrixView<const T> dA, MatrixView<const T> Z,
                         MatrixView<const T> A, MatrixView<T> dZ);

}  // namespace mlp
