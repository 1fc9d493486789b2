/// @file
/// Parameter updates from the gradients: SGD, momentum, Nesterov, Adam, AdamW and RMSprop, as torch.optim.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mlp {

/// The update rules, for one parameter θ with gradient g = dJ/dθ at step t = 1, 2, ... and
/// learning rate α (docs/math.md, Update; the rate of this step, so a schedule may change it).
/// Every rule is elementwise over the parameter block. λ is the weight decay; in every rule but AdamW
/// it is an L2 penalty added to the gradient first, g := g + λ θ.
///
///   sgd        θ := θ - α g
///   momentum   b := μ b + g                    θ := θ - α b                (b starts at 0)
///   nesterov   b := μ b + g                    θ := θ - α (g + μ b)
///   adam       m := β1 m + (1-β1) g            v := β2 v + (1-β2) g²       (m, v start at 0)
///              θ := θ - (α / (1-β1^t)) m / (√v / √(1-β2^t) + ε)
///   adamw      θ := θ (1 - α λ), then adam with λ = 0 (decoupled weight decay)
///   rmsprop    s := ρ s + (1-ρ) g²             θ := θ - α g / (√s + ε)     (s starts at 0)
///
/// These are torch.optim.SGD (dampening 0, nesterov), Adam (amsgrad off), AdamW and RMSprop
/// (momentum 0, centered off) of PyTorch 1.13, operation for operation: the per-element arithmetic
/// is float, the per-step constants α/(1-β1^t) and √(1-β2^t) are computed in double (as PyTorch
/// does in Python) and then rounded to float. tests/torch/optim_check.py feeds both the same
/// gradients and compares the parameters after every step; see docs/pytorch.md.
enum class OptimizerKind { sgd, momentum, nesterov, adam, adamw, rmsprop };

/// "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"; throws Error("--optimizer: ...")
/// naming the choices otherwise.
OptimizerKind parse_optimizer(std::string_view name);
std::string to_string(OptimizerKind kind);
/// The names parse_optimizer() reads, in order.
std::vector<std::string> optimizer_names();

/// The hyper-parameters; each applies only to the kinds named. Defaults are PyTorch's, except
/// weight_decay: torch.optim.AdamW defaults to 0.01, ours is 0 for every kind unless given.
struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::sgd;
  double momentum = 0.9;      ///< μ: momentum, nesterov (torch.optim.SGD's momentum, dampening 0)
  double beta1 = 0.9;         ///< β1: adam, adamw
  double beta2 = 0.999;       ///< β2: adam, adamw
  double rho = 0.99;          ///< ρ: rmsprop's smoothing constant (PyTorch's `alpha`; α is the rate here)
  double eps = 1e-8;          ///< ε: adam, adamw, rmsprop
  double weight_decay = 0;    ///< λ: L2 on the gradient; adamw: decoupled
};

/// Throws Error naming the command-line option of the first bad value: --momentum in [0, 1)
/// (nesterov: (0, 1)), --beta1 and --beta2 in [0, 1), --rho in [0, 1), --eps > 0 (PyTorch allows 0,
/// which turns a parameter whose gradient is always 0 into 0/0 = NaN), --weight-decay >= 0; all
/// finite. Options that the kind does not use are not checked.
void check_optimizer_options(const OptimizerOptions& options);

/// One state buffer of an optimizer, named as in PyTorch's optimizer.state[p]: "momentum_buffer"
/// (momentum, nesterov), "exp_avg" and "exp_avg_sq" (adam, adamw: m and v), "square_avg"
/// (rmsprop: s). Its values mirror the parameter block element for element.
struct OptimizerState {
  std::string_view name;
  std::span<float> values;
};

/// An optimizer for a block of parameter_count float parameters (Network<float>::parameters()),
/// holding its state buffers. Each step is one pass over the block and allocates nothing.
///
///   Optimizer optimizer(options, net.parameters().size());
///   for each batch: net.backward(Y); optimizer.step(net.parameters(), net.gradients(), rate);
///
/// A checkpoint is steps() and the contents of state(); to continue from one, make an Optimizer
/// with the same options and size, copy the values into state() by name and call set_steps():
/// the following steps are then bit-for-bit those of an uninterrupted run.
class Optimizer {
 public:
  /// Checks the options (check_optimizer_options) and zeroes the state.
  Optimizer(OptimizerOptions options, std::size_t parameter_count);

  /// One update of all parameters from their gradients (the same layout, same size as given to
  /// the constructor, else std::invalid_argument), at this step's learning rate α.
  void step(std::span<float> parameters, std::span<const float> gradients, double learning_rate);

  const OptimizerOptions& options() const { return options_; }
  std::size_t parameter_count() const { return parameter_count_; }
  /// The steps taken, t (Adam's bias correction depends on it).
  std::uint64_t steps() const { return steps_; }
  void set_steps(std::uint64_t steps) { steps_ = steps; }
  /// The kind's state buffers, in a fixed order (empty for sgd); writable, to restore into.
  std::vector<OptimizerState> state();

 private:
  OptimizerOptions options_;
  std::size_t parameter_count_;
  std::uint64_t steps_ = 0;
  std::vector<float> first_;   ///< b (momentum, nesterov), m (adam, adamw), s (rmsprop)
  std::vector<float> second_;  ///< v (adam, adamw)
};

/// W[l] := W[l] - α dW[l] and b[l] := b[l] - α db[l], for all layers in one pass over the
/// parameter block (the gradient block has the same layout). Float or double, no state: the
/// update of the double-precision tests, where Optimizer (float only) cannot serve.
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
