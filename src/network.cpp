// Forward and backward propagation through the L layers, as docs/math.md (Forward, Backward) writes them.
#include "mlp/network.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

#include "mlp/dropout.hpp"
#include "mlp/error.hpp"
#include "mlp/kernels.hpp"

namespace mlp {

static_assert(max_fold_columns % Network<float>::shard_columns == 0, "the product sums whole shards");

int Architecture::classes() const {
  switch (task) {
    case Task::binary: return 2;
    case Task::multiclass: return outputs();
    case Task::regression: return 0;
  }
  return 0;
}

std::size_t Architecture::parameter_count() const {
  std::size_t count = 0;
  for (int l = 1; l <= depth(); ++l) count += std::size_t(sizes[l]) * (sizes[l - 1] + 1);
  return count;
}

std::string Architecture::layers_string() const {
  std::string text;
  for (int n : sizes) {
    if (!text.empty()) text += '-';
    text += std::to_string(n);
  }
  return text;
}

std::vector<int> parse_layers(std::string_view text, std::string_view option) {
  // Wide enough for any real MLP, small enough that n[l] * n[l-1] never overflows.
  constexpr int max_units = 1 << 20;
  std::vector<int> sizes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('-', start), text.size());
    int units = 0;
    const auto [rest, err] = std::from_chars(text.data() + start, text.data() + end, units);
    if (err != std::errc() || rest != text.data() + end || units < 1 || units > max_units)
      throw Error(std::string(option) + ": '" + std::string(text) +
                  "' is not a list of layer sizes like 784-128-10 (each 1 to " +
                  std::to_string(max_units) + ")");
    sizes.push_back(units);
    start = end + 1;
  }
  if (sizes.size() < 2)
    throw Error(std::string(option) + ": '" + std::string(text) +
                "' needs at least an input and an output size, like 784-10");
  return sizes;
}

void check_architecture(const Architecture& arch, std::string_view option) {
  if (arch.sizes.size() < 2)
    throw Error(std::string(option) + ": a network needs at least an input and an output layer");
  if (arch.task == Task::binary && arch.outputs() != 1)
    throw Error(std::string(option) + ": the binary task needs 1 output unit, not " +
                std::to_string(arch.outputs()));
  if (arch.task == Task::multiclass && arch.outputs() < 2)
    throw Error(std::string(option) + ": the multiclass task needs at least 2 output units");
}

template <typename T>
Network<T>::Network(Architecture arch) : arch_(std::move(arch)), offsets_(arch_.depth() + 1) {
  check_architecture(arch_);
  std::size_t offset = 0;
  for (int l = 1; l <= depth(); ++l) {
    offsets_[l] = offset;
    offset += std::size_t(units(l)) * units(l - 1) + units(l);
  }
  assert(offset == arch_.parameter_count());
  parameters_.assign(offset, T(0));
  gradients_.assign(offset, T(0));
  Z_.resize(depth() + 1);
  A_.resize(depth() + 1);
  G_.resize(depth());
  D_.resize(depth());
}

template <typename T>
void Network<T>::initialize(Rng& rng) {
  for (int l = 1; l <= depth(); ++l) {
    const bool relu_follows = l < depth() && arch_.hidden_activation == Activation::relu;
    const double variance = relu_follows ? 2.0 / units(l - 1) : 2.0 / (units(l - 1) + units(l));
    const double stddev = std::sqrt(variance);
    MatrixView<T> w = W(l);
    for (std::size_t i = 0; i < w.size(); ++i) w.data[i] = T(stddev * rng.normal());
    std::fill(b(l), b(l) + units(l), T(0));
  }
}

template <typename T>
MatrixView<const T> Network<T>::forward(MatrixView<const T> X) {
  return forward_pass(X, 0.0, nullptr, 0, X.cols);
}

template <typename T>
MatrixView<const T> Network<T>::forward(MatrixView<const T> X, double dropout_rate, Rng& rng) {
  return forward_pass(X, dropout_rate, &rng, 0, X.cols);
}

template <typename T>
MatrixView<const T> Network<T>::forward(MatrixView<const T> X, double dropout_rate, Rng& rng, int first,
                                        int batch_columns) {
  if (first < 0 || first + X.cols > batch_columns)
    throw Error("columns " + std::to_string(first) + " to " + std::to_string(first + X.cols) +
                " are not inside a batch of " + std::to_string(batch_columns));
  return forward_pass(X, dropout_rate, &rng, first, batch_columns);
}

template <typename T>
MatrixView<const T> Network<T>::forward_pass(MatrixView<const T> X, double dropout_rate, Rng* rng, int first,
                                             int batch_columns) {
  if (X.rows != units(0))
    throw Error("input has " + std::to_string(X.rows) + " features but the network expects " +
                std::to_string(units(0)));
  if (!(dropout_rate >= 0 && dropout_rate < 1))
    throw Error("--dropout: the rate must be in [0, 1), not " + std::to_string(dropout_rate));
  const int L = depth();
  m_ = X.cols;
  X_ = X;
  dropout_rate_ = dropout_rate;
  for (int l = 1; l <= L; ++l) {
    if (Z_[l].cols() < m_) Z_[l] = Matrix<T>(units(l), m_), A_[l] = Matrix<T>(units(l), m_);
    const MatrixView<const T> A_prev = l == 1 ? X : A(l - 1);
    const MatrixView<T> Z_l = Z_[l].view().first_cols(m_), A_l = A_[l].view().first_cols(m_);

    linear_forward<T>(W(l), A_prev, b(l), Z_l);                // Z[l] = W[l] A[l-1] + b[l]
    if (l == L) {
      output_forward<T>(arch_.task, Z_l, A_l);                 // A[L] = sigmoid / softmax / identity
    } else if (dropout_rate == 0) {
      activation_forward<T>(arch_.hidden_activation, Z_l, A_l);  // A[l] = g(Z[l])
    } else {
      if (G_[l].cols() < m_) G_[l] = Matrix<T>(units(l), m_), D_[l] = Matrix<T>(units(l), m_);
      const MatrixView<T> G_l = G_[l].view().first_cols(m_), D_l = D_[l].view().first_cols(m_);
      activation_forward<T>(arch_.hidden_activation, Z_l, G_l);
      // The whole batch draws its mask column after column; this part skips the draws of the
      // columns before and after it.
      rng->engine().discard(static_cast<unsigned long long>(first) * units(l));
      draw_dropout_mask<T>(dropout_rate, *rng, D_l);
      rng->engine().discard(static_cast<unsigned long long>(batch_columns - first - m_) * units(l));
      hadamard<T>(G_l, D_l, A_l);                              // A[l] = g(Z[l]) ⊙ D[l]
    }
  }
  return A(L);
}

template <typename T>
double Network<T>::loss(MatrixView<const T> Y) const {
  return m_ > 0 ? loss_sum(Y) / m_ : 0.0;
}

template <typename T>
double Network<T>::loss_sum(MatrixView<const T> Y, std::span<double> shard_losses) const {
  assert(shard_losses.empty() || shard_losses.size() == std::size_t(shards(m_)));
  const MatrixView<const T> Z_L = Z(depth());
  double total = 0;
  for (int s = 0, first = 0; first < m_; ++s, first += shard_columns) {
    const int cols = std::min(shard_columns, m_ - first);
    const double shard = mlp::loss_sum<T>(arch_.task, {Z_L.col(first), Z_L.rows, cols}, {Y.col(first), Y.rows, cols});
    if (!shard_losses.empty()) shard_losses[s] = shard;
    total = s == 0 ? shard : total + shard;  // as the ranks of a split batch add them
  }
  return total;
}

template <typename T>
void Network<T>::backward(MatrixView<const T> Y) {
  backward_pass(Y, {});
}

template <typename T>
void Network<T>::backward_shards(MatrixView<const T> Y, std::span<T> shard_gradients) {
  if (shard_gradients.size() != std::size_t(shards(m_)) * parameters_.size())
    throw Error("backward_shards: room for " + std::to_string(shard_gradients.size()) + " values, not " +
                std::to_string(shards(m_)) + " shards of " + std::to_string(parameters_.size()) + " gradients");
  backward_pass(Y, shard_gradients);
}

template <typename T>
void Network<T>::backward_pass(MatrixView<const T> Y, std::span<T> shard_gradients) {
  const int L = depth();
  assert(Y.rows == units(L) && Y.cols == m_);
  const int widest = *std::max_element(arch_.sizes.begin() + 1, arch_.sizes.end());
  if (dZ_.rows() < widest || dZ_.cols() < m_) dZ_ = Matrix<T>(widest, m_), dA_ = Matrix<T>(widest, m_);

  MatrixView<T> dZ{dZ_.data(), units(L), m_};
  output_error<T>(A(L), Y, dZ);                              // dZ[L] = A[L] - Y
  for (int l = L; l >= 1; --l) {
    const MatrixView<const T> A_prev = l == 1 ? X_ : A(l - 1);
    if (shard_gradients.empty()) {
      // Summed shard by shard (see shard_columns), as a batch split between processes sums them.
      matmul_nt_shards<T>(dZ, A_prev, shard_columns, dW(l));  // dW[l] = (1/m) dZ[l] A[l-1]ᵀ
      row_sums_shards<T>(dZ, shard_columns, db(l));           // db[l] = (1/m) Σ_columns dZ[l]
      scale_by_inverse_m(l);                                  // the 1/m of both, while dW[l] is in cache
    } else {
      shard_sums(l, dZ, A_prev, shard_gradients);             // the same sums, each shard's apart
    }
    if (l == 1) break;                                       // dA[0] = dX is not needed
    MatrixView<T> dA{dA_.data(), units(l - 1), m_};
    matmul_tn<T>(W(l), dZ, dA);                              // dA[l-1] = W[l]ᵀ dZ[l]
    if (dropout_rate_ > 0)
      hadamard<T>(dA, D_[l - 1].view().first_cols(m_), dA);  // dA[l-1] ⊙= D[l-1]
    activation_backward<T>(arch_.hidden_activation, dA, Z(l - 1), G(l - 1), dA);  // dZ[l-1] = dA ⊙ g'(Z[l-1])
    std::swap(dZ_, dA_);
    dZ = {dZ_.data(), units(l - 1), m_};
  }
}

template <typename T>
void Network<T>::scale_by_inverse_m(int l) {
  // db[l] follows dW[l] in the block
  scale_in_place<T>(std::span<T>(dW(l).data, dW(l).size() + units(l)), T(1) / T(m_));
}

template <typename T>
void Network<T>::shard_sums(int l, MatrixView<const T> dZ, MatrixView<const T> A_prev, std::span<T> shard_gradients) {
  const auto columns = [](MatrixView<const T> M, int first, int cols) { return MatrixView<const T>{M.col(first), M.rows, cols}; };
  for (int s = 0, first = 0; first < m_; ++s, first += shard_columns) {
    const int cols = std::min(shard_columns, m_ - first);
    const MatrixView<const T> dZ_s = columns(dZ, first, cols), A_s = columns(A_prev, first, cols);
    T* block = shard_gradients.data() + std::size_t(s) * parameters_.size() + offsets_[l];
    const MatrixView<T> dW_s{block, units(l), units(l - 1)};
    matmul_nt<T>(dZ_s, A_s, T(1), dW_s);                     // S_s = dZ_s A_sᵀ
    row_sums<T>(dZ_s, T(1), block + dW_s.size());            // Σ_columns dZ_s
  }
}

template class Network<float>;
template class Network<double>;

}  // namespace mlp
