// Dropout masks and the elementwise product that applies them.
#include "mlp/dropout.hpp"

#include <cassert>
#include <cstddef>

#include "vectorized.hpp"

namespace mlp {

template <typename T>
void draw_dropout_mask(double rate, Rng& rng, MatrixView<T> D) {
  assert(rate >= 0 && rate < 1);
  const T keep_scale = T(1 / (1 - rate));
  for (std::size_t i = 0; i < D.size(); ++i) D.data[i] = rng.uniform() < rate ? T(0) : keep_scale;
}

template <typename T>
void hadamard(MatrixView<const T> A, MatrixView<const T> D, MatrixView<T> out) {
  assert(A.size() == D.size() && A.size() == out.size());
  vectorized([&](auto) MLP_VECTOR_BODY {
    for (std::size_t i = 0; i < A.size(); ++i) out.data[i] = A.data[i] * D.data[i];
  });
}

template void draw_dropout_mask<float>(double, Rng&, MatrixView<float>);
template void draw_dropout_mask<double>(double, Rng&, MatrixView<double>);
template void hadamard<float>(MatrixView<const float>, MatrixView<const float>, MatrixView<float>);
template void hadamard<double>(MatrixView<const double>, MatrixView<const double>, MatrixView<double>);

}  // namespace mlp
