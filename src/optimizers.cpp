// The update rules of optimizers.hpp: one loop per kind, one line per formula, in PyTorch's order.
#include "mlp/optimizers.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mlp/error.hpp"
#include "named_choices.hpp"

namespace mlp {

namespace {

using detail::require;

constexpr detail::KindName<OptimizerKind> names[] = {
    {OptimizerKind::sgd, "sgd"},   {OptimizerKind::momentum, "momentum"},
    {OptimizerKind::nesterov, "nesterov"}, {OptimizerKind::adam, "adam"},
    {OptimizerKind::adamw, "adamw"}, {OptimizerKind::rmsprop, "rmsprop"},
};

bool uses_adam_moments(OptimizerKind kind) {
  return kind == OptimizerKind::adam || kind == OptimizerKind::adamw;
}

// a b + c, rounded once where the hardware fuses it (FP_FAST_FMAF: x86-64 with FMA, as built
// with -march=native; ARM64), else twice rather than through a slow software fma. In PyTorch's
// AVX2 kernels `x.add_(y, alpha=a)` (x + a y) and `x.addcmul_(y, z, value=a)` (x + (a y) z) are
// one fused multiply-add each, while `x.mul_(β)` rounds on its own; the rules below use mul_add
// exactly where PyTorch has those, and this file is compiled with -ffp-contract=off so that the
// compiler fuses nothing else. On such a machine every step is bit-for-bit torch.optim's.
inline float mul_add(float a, float b, float c) {
#ifdef FP_FAST_FMAF
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// Each rule first adds the L2 weight decay, g := g + λ θ. PyTorch skips that line when λ = 0;
// adding 0 θ gives the same g for every finite θ, so the loops keep it always. The loops are
// written so that the compiler vectorizes them (-fno-math-errno makes std::sqrt one instruction).

// sgd: θ := θ - α g
void sgd_step(std::span<float> theta, std::span<const float> dtheta, float alpha, float lambda) {
  for (std::size_t i = 0; i < theta.size(); ++i) {
    const float g = mul_add(lambda, theta[i], dtheta[i]);  // g + λ θ
    theta[i] = mul_add(-alpha, g, theta[i]);                // θ - α g
  }
}

// momentum: b := μ b + g, θ := θ - α b; nesterov: the same b, then θ := θ - α (g + μ b).
// (PyTorch starts b as a copy of the first g; μ 0 + g is that same g.)
void momentum_step(std::span<float> theta, std::span<const float> dtheta, std::span<float> b,
                   float alpha, float lambda, float mu, bool nesterov) {
  for (std::size_t i = 0; i < theta.size(); ++i) {
    const float g = mul_add(lambda, theta[i], dtheta[i]);     // g + λ θ
    b[i] = mu * b[i] + g;                                      // μ b + g
    const float direction = nesterov ? mul_add(mu, b[i], g) : b[i];  // g + μ b, or b
    theta[i] = mul_add(-alpha, direction, theta[i]);           // θ - α direction
  }
}

// adam: m := β1 m + (1-β1) g, v := β2 v + (1-β2) g², θ := θ - step_size m / (√v / √c2 + ε),
// with step_size = α / c1, c1 = 1-β1^t, c2 = 1-β2^t. adamw: first θ := θ decay, decay = 1 - α λ,
// and λ = 0 in g (adam: decay = 1, which leaves θ exactly as it is).
void adam_step(std::span<float> theta, std::span<const float> dtheta, std::span<float> m,
               std::span<float> v, float step_size, float sqrt_c2, float decay, float lambda,
               float beta1, float beta2, float one_minus_beta1, float one_minus_beta2, float eps) {
  for (std::size_t i = 0; i < theta.size(); ++i) {
    theta[i] *= decay;                                                   // θ (1 - α λ)
    const float g = mul_add(lambda, theta[i], dtheta[i]);                // g + λ θ
    m[i] = mul_add(one_minus_beta1, g, beta1 * m[i]);                    // β1 m + (1-β1) g
    v[i] = mul_add(one_minus_beta2 * g, g, beta2 * v[i]);                // β2 v + (1-β2) g²
    theta[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_c2 + eps);    // θ - step_size m / (√v/√c2 + ε)
  }
}

// rmsprop: s := ρ s + (1-ρ) g², θ := θ - α g / (√s + ε)
void rmsprop_step(std::span<float> theta, std::span<const float> dtheta, std::span<float> s,
                  float alpha, float lambda, float rho, float one_minus_rho, float eps) {
  for (std::size_t i = 0; i < theta.size(); ++i) {
    const float g = mul_add(lambda, theta[i], dtheta[i]);   // g + λ θ
    s[i] = mul_add(one_minus_rho * g, g, rho * s[i]);         // ρ s + (1-ρ) g²
    theta[i] -= alpha * g / (std::sqrt(s[i]) + eps);         // θ - α g / (√s + ε)
  }
}

}  // namespace

OptimizerKind parse_optimizer(std::string_view name) { return detail::parse_kind(names, name, "--optimizer", "optimizer"); }

std::string to_string(OptimizerKind kind) { return detail::kind_name(names, kind, "OptimizerKind"); }

std::vector<std::string> optimizer_names() { return detail::kind_names(names); }

void check_optimizer_options(const OptimizerOptions& o) {
  using enum OptimizerKind;
  if (o.kind == momentum) require(o.momentum >= 0 && o.momentum < 1, o.momentum, "--momentum", "in [0, 1)");
  if (o.kind == nesterov)  // PyTorch refuses Nesterov momentum 0
    require(o.momentum > 0 && o.momentum < 1, o.momentum, "--momentum", "in (0, 1) for nesterov");
  if (uses_adam_moments(o.kind)) {
    require(o.beta1 >= 0 && o.beta1 < 1, o.beta1, "--beta1", "in [0, 1)");
    require(o.beta2 >= 0 && o.beta2 < 1, o.beta2, "--beta2", "in [0, 1)");
  }
  if (o.kind == rmsprop) require(o.rho >= 0 && o.rho < 1, o.rho, "--rho", "in [0, 1)");
  if (uses_adam_moments(o.kind) || o.kind == rmsprop) require(o.eps > 0, o.eps, "--eps", "positive");
  require(o.weight_decay >= 0, o.weight_decay, "--weight-decay", "at least 0");
}

Optimizer::Optimizer(OptimizerOptions options, std::size_t parameter_count)
    : options_(options), parameter_count_(parameter_count) {
  check_optimizer_options(options_);
  if (options_.kind != OptimizerKind::sgd) first_.assign(parameter_count, 0.0f);
  if (uses_adam_moments(options_.kind)) second_.assign(parameter_count, 0.0f);
}

std::vector<OptimizerState> Optimizer::state() {
  switch (options_.kind) {
    case OptimizerKind::sgd: return {};
    case OptimizerKind::momentum:
    case OptimizerKind::nesterov: return {{"momentum_buffer", first_}};
    case OptimizerKind::adam:
    case OptimizerKind::adamw: return {{"exp_avg", first_}, {"exp_avg_sq", second_}};
    case OptimizerKind::rmsprop: return {{"square_avg", first_}};
  }
  return {};
}

void Optimizer::step(std::span<float> parameters, std::span<const float> gradients,
                     double learning_rate) {
  if (parameters.size() != parameter_count_ || gradients.size() != parameter_count_)
    throw std::invalid_argument("Optimizer::step: " + std::to_string(parameters.size()) +
                                " parameters and " + std::to_string(gradients.size()) +
                                " gradients for an optimizer of " + std::to_string(parameter_count_));
  ++steps_;
  const OptimizerOptions& o = options_;
  const float alpha = float(learning_rate), lambda = float(o.weight_decay), eps = float(o.eps);
  // Bias corrections in double, as PyTorch computes them in Python, then rounded to float.
  const double t = double(steps_);
  const double c1 = 1 - std::pow(o.beta1, t), c2 = 1 - std::pow(o.beta2, t);
  const bool decoupled = o.kind == OptimizerKind::adamw;
  // The rule for parameters [first, first + count).
  const auto update = [&](std::size_t first, std::size_t count) {
    const std::span<float> theta = parameters.subspan(first, count);
    const std::span<const float> dtheta = gradients.subspan(first, count);
    const auto state = [&](std::vector<float>& buffer) { return std::span<float>(buffer).subspan(first, count); };
    switch (o.kind) {
      case OptimizerKind::sgd:
        sgd_step(theta, dtheta, alpha, lambda);
        break;
      case OptimizerKind::momentum:
      case OptimizerKind::nesterov:
        momentum_step(theta, dtheta, state(first_), alpha, lambda, float(o.momentum),
                      o.kind == OptimizerKind::nesterov);
        break;
      case OptimizerKind::adam:
      case OptimizerKind::adamw:
        adam_step(theta, dtheta, state(first_), state(second_), float(learning_rate / c1), float(std::sqrt(c2)),
                  decoupled ? float(1 - learning_rate * o.weight_decay) : 1.0f, decoupled ? 0.0f : lambda,
                  float(o.beta1), float(o.beta2), float(1 - o.beta1), float(1 - o.beta2), eps);
        break;
      case OptimizerKind::rmsprop:
        rmsprop_step(theta, dtheta, state(first_), alpha, lambda, float(o.rho), float(1 - o.rho), eps);
        break;
    }
  };
  // Each parameter's update reads and writes only its own values, so threads taking a slice each
  // give the same bits as one thread; below this size waking them costs more than it saves.
  constexpr std::size_t min_parallel_parameters = 1 << 15;
  const std::size_t n = parameters.size();
  const int threads = n < min_parallel_parameters ? 1 : omp_get_max_threads();
  if (threads == 1) return update(0, n);
#pragma omp parallel num_threads(threads)
  {
    const std::size_t slice = (n / threads + 15) / 16 * 16;  // whole cache lines
    const std::size_t first = std::min(n, slice * omp_get_thread_num());
    update(first, std::min(n, first + slice) - first);
  }
}

}  // namespace mlp
