// The optimizers: each rule on two parameters worked out by hand, weight decay, checkpoints, bad options.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "mlp/error.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/random.hpp"

namespace mlp {
namespace {

// Every hand-worked case starts from θ = (1, -2) and takes the gradients g1 = (0.5, 0.25), then
// g2 = (-1, 0).
const std::vector<float> theta0{1.0f, -2.0f};
const std::vector<std::vector<float>> gradients{{0.5f, 0.25f}, {-1.0f, 0.0f}};

// θ after each step of an optimizer with `options` at rate α over `gs`.
std::vector<std::vector<float>> run(OptimizerOptions options, double alpha,
                                    const std::vector<std::vector<float>>& gs = gradients) {
  std::vector<float> theta = theta0;
  Optimizer optimizer(options, theta.size());
  std::vector<std::vector<float>> after;
  for (const std::vector<float>& g : gs) {
    optimizer.step(theta, g, alpha);
    after.push_back(theta);
  }
  EXPECT_EQ(optimizer.steps(), gs.size());
  return after;
}

constexpr OptimizerKind every_kind[] = {OptimizerKind::sgd,  OptimizerKind::momentum, OptimizerKind::nesterov,
                                        OptimizerKind::adam, OptimizerKind::adamw,    OptimizerKind::rmsprop};

std::vector<float> normal_values(std::size_t n, Rng& rng) {
  std::vector<float> values(n);
  for (float& x : values) x = float(rng.normal());
  return values;
}

void expect_near(const std::vector<float>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-6) << "θ" << i;
}

TEST(Optimizers, SgdByHand) {
  // α = 0.1: θ1 = (1 - 0.05, -2 - 0.025), θ2 = θ1 - 0.1 (-1, 0).
  const auto theta = run({.kind = OptimizerKind::sgd}, 0.1);
  expect_near(theta[0], {0.95, -2.025});
  expect_near(theta[1], {1.05, -2.025});
}

TEST(Optimizers, SgdWeightDecayIsAddedToTheGradient) {
  // λ = 0.1: g1 + λ θ0 = (0.5 + 0.1, 0.25 - 0.2) = (0.6, 0.05); θ1 = (1 - 0.06, -2 - 0.005).
  const auto theta = run({.kind = OptimizerKind::sgd, .weight_decay = 0.1}, 0.1);
  expect_near(theta[0], {0.94, -2.005});
}

TEST(Optimizers, MomentumByHand) {
  // μ = 0.9, α = 0.1. b1 = g1 = (0.5, 0.25), θ1 = (0.95, -2.025);
  // b2 = 0.9 b1 + g2 = (-0.55, 0.225), θ2 = θ1 - 0.1 b2 = (1.005, -2.0475).
  const auto theta = run({.kind = OptimizerKind::momentum, .momentum = 0.9}, 0.1);
  expect_near(theta[0], {0.95, -2.025});
  expect_near(theta[1], {1.005, -2.0475});
}

TEST(Optimizers, NesterovByHand) {
  // μ = 0.9, α = 0.1. b1 = (0.5, 0.25), g1 + μ b1 = (0.95, 0.475), θ1 = (0.905, -2.0475);
  // b2 = (-0.55, 0.225), g2 + μ b2 = (-1.495, 0.2025), θ2 = (1.0545, -2.06775).
  const auto theta = run({.kind = OptimizerKind::nesterov, .momentum = 0.9}, 0.1);
  expect_near(theta[0], {0.905, -2.0475});
  expect_near(theta[1], {1.0545, -2.06775});
}

TEST(Optimizers, AdamByHand) {
  // β1 = 0.9, β2 = 0.999, ε = 1e-8, α = 0.1.
  // t = 1: m = (0.05, 0.025), v = (0.00025, 0.0000625), c1 = 0.1, c2 = 0.001, so m/c1 = (0.5, 0.25)
  //   and √(v/c2) = (0.5, 0.25): the first step is α sign(g), less α ε / √(v/c2) (2e-9 and 4e-9).
  //   θ1 = (0.900000002, -2.099999996).
  // t = 2: m = 0.9 m + 0.1 g2 = (-0.055, 0.0225), v = 0.999 v + 0.001 g2² = (0.00124975, 0.0000624375),
  //   c1 = 0.19, c2 = 0.001999: m/c1 = (-0.28947368, 0.11842105), √(v/c2) = (0.79068805, 0.17673247),
  //   steps α (m/c1) / (√(v/c2) + ε) = (-0.03661035, 0.06700582): θ2 = (0.93661035, -2.16700582).
  const auto theta = run({.kind = OptimizerKind::adam}, 0.1);
  expect_near(theta[0], {0.900000002, -2.099999996});
  expect_near(theta[1], {0.9366103542, -2.1670058176});
}

TEST(Optimizers, AdamWeightDecayIsCoupledAdamWDecoupled) {
  // λ = 0.1, α = 0.1, one step with g = (0.5, 0.1).
  // adam: g + λ θ0 = (0.6, -0.1), the second sign flipped; a first step is α sign: θ1 = (0.9, -1.9).
  // adamw: θ0 (1 - α λ) = (0.99, -1.98), then α sign(g) without decay: θ1 = (0.89, -2.08).
  const std::vector<std::vector<float>> g{{0.5f, 0.1f}};
  expect_near(run({.kind = OptimizerKind::adam, .weight_decay = 0.1}, 0.1, g)[0], {0.9, -1.9});
  expect_near(run({.kind = OptimizerKind::adamw, .weight_decay = 0.1}, 0.1, g)[0], {0.89, -2.08});
  // Without weight decay AdamW is Adam, bit for bit.
  EXPECT_EQ(run({.kind = OptimizerKind::adamw}, 0.1), run({.kind = OptimizerKind::adam}, 0.1));
}

TEST(Optimizers, RmspropByHand) {
  // ρ = 0.99, ε = 1e-8, α = 0.01.
  // s1 = 0.01 g1² = (0.0025, 0.000625), √s1 = (0.05, 0.025), g1/√s1 = (10, 10): θ1 = (0.9, -2.1).
  // s2 = 0.99 s1 + 0.01 g2² = (0.012475, 0.00061875), g2/√s2 = (-8.9532296, 0): θ2 = (0.98953230, -2.1).
  const auto theta = run({.kind = OptimizerKind::rmsprop}, 0.01);
  expect_near(theta[0], {0.9, -2.1});
  expect_near(theta[1], {0.9895322962, -2.1});
}

TEST(Optimizers, RateMayChangeFromStepToStep) {
  // SGD at α = 0.1, then 0.2: θ2 = θ1 - 0.2 (-1, 0) = (1.15, -2.025).
  std::vector<float> theta = theta0;
  Optimizer optimizer({.kind = OptimizerKind::sgd}, 2);
  optimizer.step(theta, gradients[0], 0.1);
  optimizer.step(theta, gradients[1], 0.2);
  expect_near(theta, {1.15, -2.025});
}

TEST(Optimizers, StateIsNamedAsInPyTorch) {
  auto names = [](OptimizerKind kind) {
    Optimizer optimizer({.kind = kind}, 3);
    std::vector<std::string> result;
    for (const OptimizerState& s : optimizer.state()) {
      EXPECT_EQ(s.values.size(), 3u) << s.name;
      result.emplace_back(s.name);
    }
    return result;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(OptimizerKind::sgd), V{});
  EXPECT_EQ(names(OptimizerKind::momentum), V{"momentum_buffer"});
  EXPECT_EQ(names(OptimizerKind::nesterov), V{"momentum_buffer"});
  EXPECT_EQ(names(OptimizerKind::adam), (V{"exp_avg", "exp_avg_sq"}));
  EXPECT_EQ(names(OptimizerKind::adamw), (V{"exp_avg", "exp_avg_sq"}));
  EXPECT_EQ(names(OptimizerKind::rmsprop), V{"square_avg"});
}

TEST(Optimizers, RestoredStateContinuesBitForBit) {
  // 6 steps in one go against 3 steps, a checkpoint (steps and state copied into a new
  // optimizer), and 3 more: the parameters must be the same bits.
  const std::size_t n = 37;
  Rng rng(5);
  const std::vector<float> start = normal_values(n, rng);
  std::vector<std::vector<float>> gs;
  for (int t = 0; t < 6; ++t) gs.push_back(normal_values(n, rng));

  for (OptimizerKind kind : every_kind) {
    SCOPED_TRACE(to_string(kind));
    const OptimizerOptions options{.kind = kind, .weight_decay = 0.01};
    std::vector<float> straight = start, resumed = start;
    Optimizer uninterrupted(options, n), first(options, n);
    for (int t = 0; t < 6; ++t) uninterrupted.step(straight, gs[t], 0.01 * (t + 1));
    for (int t = 0; t < 3; ++t) first.step(resumed, gs[t], 0.01 * (t + 1));

    Optimizer second(options, n);
    second.set_steps(first.steps());
    std::vector<OptimizerState> saved = first.state(), restored = second.state();
    ASSERT_EQ(saved.size(), restored.size());
    for (std::size_t b = 0; b < saved.size(); ++b) {
      ASSERT_EQ(saved[b].name, restored[b].name);
      std::copy(saved[b].values.begin(), saved[b].values.end(), restored[b].values.begin());
    }
    for (int t = 3; t < 6; ++t) second.step(resumed, gs[t], 0.01 * (t + 1));

    EXPECT_EQ(second.steps(), 6u);
    EXPECT_EQ(std::memcmp(straight.data(), resumed.data(), n * sizeof(float)), 0);
    EXPECT_NE(straight, start);
  }
}

TEST(Optimizers, ResultsDoNotDependOnTheThreadCount) {
  // Blocks large enough to be split between threads, of a size that is not a whole number of
  // cache lines: two steps on one thread and on two give the same bits.
  const std::size_t n = (1 << 16) + 7;
  Rng rng(6);
  const std::vector<float> start = normal_values(n, rng), g = normal_values(n, rng);
  for (OptimizerKind kind : every_kind) {
    SCOPED_TRACE(to_string(kind));
    const OptimizerOptions options{.kind = kind, .weight_decay = 0.01};
    std::vector<float> one = start, two = start;
    Optimizer on_one(options, n), on_two(options, n);
    omp_set_num_threads(1);
    for (int t = 0; t < 2; ++t) on_one.step(one, g, 0.01);
    omp_set_num_threads(2);
    for (int t = 0; t < 2; ++t) on_two.step(two, g, 0.01);
    EXPECT_EQ(std::memcmp(one.data(), two.data(), n * sizeof(float)), 0);
    EXPECT_NE(one, start);
  }
}

TEST(Optimizers, ParseAndNameEveryKind) {
  for (const char* name : {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"})
    EXPECT_EQ(to_string(parse_optimizer(name)), name);
  try {
    parse_optimizer("Adam");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "--optimizer: unknown optimizer 'Adam' (choose sgd, momentum, nesterov, adam, adamw, rmsprop)");
  }
}

// The message of the Error the options give, or "" if they are accepted.
std::string complaint(const OptimizerOptions& options) {
  try {
    Optimizer(options, 4);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Optimizers, BadOptionsNameTheirOption) {
  using enum OptimizerKind;
  EXPECT_EQ(complaint({.kind = momentum, .momentum = 1.0}), "--momentum: must be in [0, 1), got 1");
  EXPECT_EQ(complaint({.kind = momentum, .momentum = -0.1}), "--momentum: must be in [0, 1), got -0.1");
  EXPECT_EQ(complaint({.kind = momentum, .momentum = 0}), "");  // plain SGD, as PyTorch allows
  EXPECT_EQ(complaint({.kind = nesterov, .momentum = 0}), "--momentum: must be in (0, 1) for nesterov, got 0");
  EXPECT_EQ(complaint({.kind = adam, .beta1 = 1}), "--beta1: must be in [0, 1), got 1");
  EXPECT_EQ(complaint({.kind = adamw, .beta2 = NAN}), "--beta2: must be in [0, 1), got nan");
  EXPECT_EQ(complaint({.kind = rmsprop, .rho = 1.5}), "--rho: must be in [0, 1), got 1.5");
  EXPECT_EQ(complaint({.kind = adam, .eps = 0}), "--eps: must be positive, got 0");
  EXPECT_EQ(complaint({.kind = rmsprop, .eps = -1e-8}), "--eps: must be positive, got -1e-08");
  EXPECT_EQ(complaint({.kind = sgd, .weight_decay = -0.01}), "--weight-decay: must be at least 0, got -0.01");
  EXPECT_EQ(complaint({.kind = sgd, .weight_decay = INFINITY}), "--weight-decay: must be at least 0, got inf");
  // What a kind does not use is not checked.
  EXPECT_EQ(complaint({.kind = sgd, .momentum = 7, .beta1 = 7, .beta2 = 7, .rho = 7, .eps = 0}), "");
}

TEST(Optimizers, StepRefusesBlocksOfAnotherSize) {
  Optimizer optimizer({.kind = OptimizerKind::adam}, 2);
  std::vector<float> theta(3), g(3);
  EXPECT_THROW(optimizer.step(theta, g, 0.1), std::invalid_argument);
  EXPECT_EQ(optimizer.steps(), 0u);
}

}  // namespace
}  // namespace mlp
