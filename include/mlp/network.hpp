/// @file
/// The L-layer perceptron: parameters W[l], b[l] in one block, forward and backward propagation.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mlp/activations.hpp"
#include "mlp/losses.hpp"
#include "mlp/matrix.hpp"
#include "mlp/random.hpp"

namespace mlp {

/// What a network is: its layer sizes n[0..L], hidden activation and task.
struct Architecture {
  std::vector<int> sizes;                    ///< n[0], n[1], ..., n[L]
  Activation hidden_activation = Activation::relu;  ///< g[1..L-1]
  Task task = Task::multiclass;              ///< fixes g[L] and the loss
  int positive = 1;                          ///< binary: the label that counts as class 1
  bool pixel_input = true;                   ///< inputs are 8-bit pixels, scaled by 1/255

  int depth() const { return static_cast<int>(sizes.size()) - 1; }  ///< L
  int outputs() const { return sizes.back(); }                      ///< n[L]
  /// The number of classes the labels index: n[L] for multiclass, 2 for binary, 0 for regression.
  int classes() const;
  /// Σ_l n[l] (n[l-1] + 1): every weight and bias.
  std::size_t parameter_count() const;
  std::string layers_string() const;  ///< "784-128-10"
};

/// "784-128-10" -> {784, 128, 10}.
/// @param option what to name in the error: "--layers", or a model file's metadata field
/// @throws Error naming `option` unless there are at least two positive sizes
std::vector<int> parse_layers(std::string_view text, std::string_view option = "--layers");
/// @throws Error naming `option` if the sizes do not suit the task (binary needs n[L] = 1,
///         multiclass n[L] >= 2)
void check_architecture(const Architecture& arch, std::string_view option = "--layers");

/// A fully-connected network with float or double parameters (double for gradient checks).
/// Layers are numbered l = 1..L as in docs/math.md (Notation). All parameters live in one block,
/// layer by layer, W[l] (column-major) then b[l]; the gradients mirror that block exactly.
///
/// A new network's parameters are zero: call initialize() (or load_model()) before training.
template <typename T>
class Network {
 public:
  /// Allocates the parameters of `arch`, all zero.
  /// @throws Error, as check_architecture(), if the sizes do not suit the task
  explicit Network(Architecture arch);

  const Architecture& architecture() const { return arch_; }
  int depth() const { return arch_.depth(); }           ///< L
  int units(int l) const { return arch_.sizes[l]; }     ///< n[l], l = 0..L

  /// W[l] (n[l], n[l-1]), l = 1..L: a view into the parameter block. Row j holds the weights
  /// into unit j.
  MatrixView<T> W(int l) { return {parameters_.data() + offsets_[l], units(l), units(l - 1)}; }
  MatrixView<const T> W(int l) const {
    return {parameters_.data() + offsets_[l], units(l), units(l - 1)};
  }
  /// b[l], n[l] values, right after W[l] in the block.
  T* b(int l) { return W(l).data + W(l).size(); }
  const T* b(int l) const { return W(l).data + W(l).size(); }
  /// dW[l] and db[l], the gradients of the last backward(), laid out like W[l] and b[l].
  MatrixView<T> dW(int l) { return {gradients_.data() + offsets_[l], units(l), units(l - 1)}; }
  T* db(int l) { return dW(l).data + dW(l).size(); }

  /// The whole parameter block, W[1], b[1], ..., W[L], b[L]: what an optimizer updates.
  std::span<T> parameters() { return parameters_; }
  std::span<const T> parameters() const { return parameters_; }
  std::span<T> gradients() { return gradients_; }
  std::span<const T> gradients() const { return gradients_; }

  /// Each W[l] is drawn by what follows it: He N(0, 2/n[l-1]) when g[l] is ReLU, otherwise
  /// Xavier/Glorot N(0, 2/(n[l-1] + n[l])), the output layer included; every b[l] = 0.
  void initialize(Rng& rng);

  /// Forward propagation of X (n[0], m): Z[l] = W[l] A[l-1] + b[l], A[l] = g[l](Z[l]).
  /// @return A[L] (n[L], m), valid until the next forward(). X must stay alive until backward().
  MatrixView<const T> forward(MatrixView<const T> X);
  /// The same while training with dropout: each hidden A[l] = g(Z[l]) ⊙ D[l], with a new mask
  /// D[l] drawn from `rng` (see dropout.hpp); backward() then passes gradients through D[l] too.
  MatrixView<const T> forward(MatrixView<const T> X, double dropout_rate, Rng& rng);
  /// The same for X = columns [first, first + X.cols) of a batch of `batch_columns`: the masks
  /// are the ones the whole batch draws for these columns, and `rng` is left where the whole
  /// batch leaves it, so that processes sharing a batch draw their parts of the same masks.
  MatrixView<const T> forward(MatrixView<const T> X, double dropout_rate, Rng& rng, int first, int batch_columns);
  /// The loss J of the last forward pass against the targets Y (n[L], m).
  double loss(MatrixView<const T> Y) const;
  /// The batch is summed in shards of this many consecutive columns (the last may be short):
  /// dW[l] = (1/m) ((S_0 + S_1) + S_2 + ...), each shard's S_s = dZ_s A_sᵀ summed from zero and
  /// the shards added in order, and the same for db[l] and the loss. A batch split between
  /// processes at shard boundaries (distributed.hpp) then sums to the same bits as in one.
  static constexpr int shard_columns = 64;
  /// The shards of a batch of m columns.
  static int shards(int m) { return (m + shard_columns - 1) / shard_columns; }

  /// Backward propagation after forward(X): fills dW[l] and db[l] for every layer.
  /// @param Y the targets (n[L], m) of the same batch
  void backward(MatrixView<const T> Y);
  /// The same, but each shard's gradient block, unscaled (S_s of every layer, laid out like
  /// gradients()), goes to block s of `shard_gradients` (shards(m) x parameter_count() values),
  /// and gradients() is left alone: for the caller to add them up, in order, with the shards of
  /// other processes, and to scale the sum by 1/m of the whole batch.
  void backward_shards(MatrixView<const T> Y, std::span<T> shard_gradients);
  /// The loss J of the last forward pass summed over its samples, shard by shard; the loss of
  /// shard s into shard_losses[s] (shards(m) values) if given. loss(Y) is this over m.
  double loss_sum(MatrixView<const T> Y, std::span<double> shard_losses = {}) const;
  /// Z[l] and A[l] of the last forward pass, l = 1..L: to look at what the network computed.
  MatrixView<const T> Z(int l) const { return Z_[l].view().first_cols(m_); }
  MatrixView<const T> A(int l) const { return A_[l].view().first_cols(m_); }

 private:
  MatrixView<const T> forward_pass(MatrixView<const T> X, double dropout_rate, Rng* rng, int first, int batch_columns);
  // Fills `gradients` (parameter_count() values), or with shard_gradients each shard's block.
  void backward_pass(MatrixView<const T> Y, std::span<T> shard_gradients);
  // dW[l] and db[l] times 1/m, the mean over the batch.
  void scale_by_inverse_m(int l);
  // Each shard's S_s = dZ_s A_sᵀ and Σ_columns dZ_s of layer l, unscaled, into its block of
  // shard_gradients (see backward_shards).
  void shard_sums(int l, MatrixView<const T> dZ, MatrixView<const T> A_prev, std::span<T> shard_gradients);

  Architecture arch_;
  std::vector<T> parameters_;
  std::vector<T> gradients_;
  std::vector<std::size_t> offsets_;  ///< offsets_[l]: where W[l] starts in the block

  /// What forward() keeps for backward(), for a batch of m columns.
  int m_ = 0;
  MatrixView<const T> X_;
  std::vector<Matrix<T>> Z_, A_;  ///< Z_[l], A_[l] for l = 1..L, sized for the largest batch seen
  /// With dropout: G_[l] = g(Z[l]) before the mask (g' needs it) and the masks D_[l].
  double dropout_rate_ = 0;
  std::vector<Matrix<T>> G_, D_;
  MatrixView<const T> G(int l) const {
    return dropout_rate_ > 0 ? G_[l].view().first_cols(m_) : A(l);
  }
  Matrix<T> dZ_, dA_;             ///< backward's scratch: (max n[l], largest batch)
};

}  // namespace mlp
