// The network: a 2-2-1 case computed by hand, initialization, shapes, reproducibility, dropout.
#include <gtest/gtest.h>

#include <cmath>

#include "mlp/dropout.hpp"
#include "mlp/error.hpp"
#include "mlp/network.hpp"
#include "mlp/optimizers.hpp"

namespace mlp {
namespace {

// 2-2-1, ReLU hidden, sigmoid output, two samples:
//   W[1] = [0.1 0.2; 0.3 -0.4], b[1] = [0.1; -0.1], W[2] = [0.5 -0.6], b[2] = 0.2
//   X = [1 0.5; 2 -1] (columns are samples), Y = [1 0]
// Sample 1: Z[1] = (0.6, -0.6), A[1] = (0.6, 0), Z[2] = 0.5,   A[2] = σ(0.5)  = 0.62245933
// Sample 2: Z[1] = (-0.05, 0.45), A[1] = (0, 0.45), Z[2] = -0.07, A[2] = σ(-0.07) = 0.48250714
// J = -(log 0.62245933 + log(1 - 0.48250714)) / 2 = 0.56641827
// dZ[2] = A[2] - Y = (-0.37754067, 0.48250714)
// dW[2] = (1/2) dZ[2] A[1]ᵀ = (-0.11326220, 0.10856411), db[2] = 0.05248324
// dZ[1] = W[2]ᵀ dZ[2] ⊙ [Z[1] > 0] = [-0.18877033 0; 0 -0.28950429]
// dW[1] = (1/2) dZ[1] Xᵀ = [-0.09438517 -0.18877033; -0.07237607 0.14475214]
// db[1] = (-0.09438517, -0.14475214)
class HandComputed : public ::testing::Test {
 protected:
  HandComputed() : net(Architecture{{2, 2, 1}, Activation::relu, Task::binary}), X(2, 2), Y(1, 2) {
    auto W1 = net.W(1);
    W1(0, 0) = 0.1; W1(0, 1) = 0.2; W1(1, 0) = 0.3; W1(1, 1) = -0.4;
    net.b(1)[0] = 0.1; net.b(1)[1] = -0.1;
    net.W(2)(0, 0) = 0.5; net.W(2)(0, 1) = -0.6;
    net.b(2)[0] = 0.2;
    X(0, 0) = 1; X(1, 0) = 2; X(0, 1) = 0.5; X(1, 1) = -1;
    Y(0, 0) = 1; Y(0, 1) = 0;
  }
  Network<double> net;
  Matrix<double> X, Y;
};

TEST_F(HandComputed, Forward) {
  const MatrixView<const double> A = net.forward(X);
  EXPECT_NEAR(net.Z(1)(0, 0), 0.6, 1e-15);
  EXPECT_NEAR(net.Z(1)(1, 1), 0.45, 1e-15);
  EXPECT_EQ(net.A(1)(1, 0), 0.0);
  EXPECT_NEAR(net.Z(2)(0, 1), -0.07, 1e-15);
  EXPECT_NEAR(A(0, 0), 0.6224593312018546, 1e-15);
  EXPECT_NEAR(A(0, 1), 0.48250714233361025, 1e-15);
  EXPECT_NEAR(net.loss(Y), 0.5664182698644018, 1e-15);
}

TEST_F(HandComputed, Backward) {
  net.forward(X);
  net.backward(Y);
  EXPECT_NEAR(net.dW(2)(0, 0), -0.11326220063944362, 1e-15);
  EXPECT_NEAR(net.dW(2)(0, 1), 0.10856410702506232, 1e-15);
  EXPECT_NEAR(net.db(2)[0], 0.05248323676773242, 1e-15);
  EXPECT_NEAR(net.dW(1)(0, 0), -0.09438516719953635, 1e-15);
  EXPECT_NEAR(net.dW(1)(0, 1), -0.1887703343990727, 1e-15);
  EXPECT_NEAR(net.dW(1)(1, 0), -0.07237607135004154, 1e-15);
  EXPECT_NEAR(net.dW(1)(1, 1), 0.14475214270008308, 1e-15);
  EXPECT_NEAR(net.db(1)[0], -0.09438516719953635, 1e-15);
  EXPECT_NEAR(net.db(1)[1], -0.14475214270008308, 1e-15);
}

TEST_F(HandComputed, GradientDescentStep) {
  net.forward(X);
  net.backward(Y);
  Sgd{0.5}.update(net.parameters(), std::span<const double>(net.gradients()));
  EXPECT_NEAR(net.W(2)(0, 0), 0.5 + 0.5 * 0.11326220063944362, 1e-15);  // W := W - α dW
  EXPECT_NEAR(net.b(1)[1], -0.1 + 0.5 * 0.14475214270008308, 1e-15);    // b := b - α db
}

TEST(Network, ParameterBlockLayout) {
  Network<float> net(Architecture{{784, 128, 64, 10}});
  EXPECT_EQ(net.parameters().size(), 784u * 128 + 128 + 128u * 64 + 64 + 64u * 10 + 10);
  EXPECT_EQ(net.parameters().size(), net.architecture().parameter_count());
  EXPECT_EQ(net.W(1).data, net.parameters().data());
  EXPECT_EQ(net.b(1), net.W(2).data - 128);
  EXPECT_EQ(net.b(3) + 10, net.parameters().data() + net.parameters().size());
}

double variance(MatrixView<const float> W) {
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < W.size(); ++i) sum += W.data[i], squares += double(W.data[i]) * W.data[i];
  const double mean = sum / W.size();
  return squares / W.size() - mean * mean;
}

TEST(Network, HeAndXavierInitialization) {
  Rng rng(7);
  Network<float> relu(Architecture{{784, 256, 10}, Activation::relu});
  relu.initialize(rng);
  EXPECT_NEAR(variance(relu.W(1)), 2.0 / 784, 0.05 * 2.0 / 784);          // He before ReLU
  EXPECT_NEAR(variance(relu.W(2)), 2.0 / (256 + 10), 0.1 * 2.0 / 266);    // Xavier before softmax
  for (int i = 0; i < 256; ++i) ASSERT_EQ(relu.b(1)[i], 0.0f);
  Network<float> tanh(Architecture{{784, 256, 10}, Activation::tanh});
  tanh.initialize(rng);
  EXPECT_NEAR(variance(tanh.W(1)), 2.0 / (784 + 256), 0.05 * 2.0 / 1040);  // Xavier before tanh
}

TEST(Network, SameSeedSameWeights) {
  Network<float> a(Architecture{{20, 16, 3}}), b(Architecture{{20, 16, 3}});
  Rng ra(123), rb(123), rc(124);
  a.initialize(ra);
  b.initialize(rb);
  EXPECT_TRUE(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  b.initialize(rc);
  EXPECT_FALSE(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
}

TEST(Network, ParseLayers) {
  EXPECT_EQ(parse_layers("784-128-64-10"), (std::vector<int>{784, 128, 64, 10}));
  EXPECT_THROW(parse_layers("784"), Error);
  EXPECT_THROW(parse_layers("784--10"), Error);
  EXPECT_THROW(parse_layers("784-0-10"), Error);
  EXPECT_THROW(parse_layers("784-x-10"), Error);
  EXPECT_THROW(parse_layers("784-99999999999-10"), Error);
  EXPECT_THROW(parse_layers("-784-10"), Error);
}

TEST(Network, ArchitectureMustSuitTheTask) {
  EXPECT_THROW(Network<float>(Architecture{{784, 10}, Activation::relu, Task::binary}), Error);
  EXPECT_THROW(Network<float>(Architecture{{784, 1}, Activation::relu, Task::multiclass}), Error);
  EXPECT_NO_THROW(Network<float>(Architecture{{784, 3}, Activation::relu, Task::regression}));
}

TEST(Network, ForwardRejectsWrongInputSize) {
  Network<float> net(Architecture{{4, 3, 2}});
  Matrix<float> X(5, 2);
  EXPECT_THROW(net.forward(X), Error);
}

TEST(Network, SmallerBatchAfterLargerOne) {
  // The last partial batch reuses the buffers of the full ones; results must not depend on it.
  Rng rng(3);
  Network<double> net(Architecture{{3, 4, 2}});
  net.initialize(rng);
  Matrix<double> big(3, 6), small(3, 2), Y(2, 2);
  for (int j = 0; j < 6; ++j)
    for (int i = 0; i < 3; ++i) big(i, j) = rng.normal();
  for (int j = 0; j < 2; ++j)
    for (int i = 0; i < 3; ++i) small(i, j) = big(i, j);
  Y(0, 0) = Y(1, 1) = 1;
  net.forward(small);
  net.backward(Y);
  const std::vector<double> fresh(net.gradients().begin(), net.gradients().end());
  net.forward(big);
  net.forward(small);
  net.backward(Y);
  EXPECT_TRUE(std::equal(fresh.begin(), fresh.end(), net.gradients().begin()));
}

// Backpropagation through dropout: with the masks held fixed (the same seed before every forward
// pass) the loss is a smooth function of the parameters, so central differences must match.
TEST(Dropout, GradientsMatchFiniteDifferencesWithFixedMasks) {
  for (Activation g : {Activation::relu, Activation::sigmoid, Activation::tanh}) {
    Rng init(5);
    Network<double> net(Architecture{{5, 7, 6, 3}, g, Task::multiclass});
    net.initialize(init);
    Matrix<double> X(5, 4), Y(3, 4);
    for (int j = 0; j < 4; ++j) {
      for (int i = 0; i < 5; ++i) X(i, j) = init.normal();
      Y(j % 3, j) = 1;
    }
    const double rate = 0.4;
    auto loss_with_masks = [&] {
      Rng masks(11);
      net.forward(X, rate, masks);
      return net.loss(Y);
    };
    loss_with_masks();
    net.backward(Y);
    const std::vector<double> analytic(net.gradients().begin(), net.gradients().end());
    double worst = 0;
    for (std::size_t i = 0; i < analytic.size(); ++i) {
      double& p = net.parameters()[i];
      const double saved = p, h = 1e-5;
      p = saved + h;
      const double up = loss_with_masks();
      p = saved - h;
      const double down = loss_with_masks();
      p = saved;
      const double numeric = (up - down) / (2 * h);
      // Central differences of a loss near 1 carry about 1e-11 of rounding: hence the floor.
      worst = std::max(worst, std::abs(numeric - analytic[i]) / std::max(std::abs(numeric) + std::abs(analytic[i]), 1e-4));
    }
    EXPECT_LT(worst, 1e-6) << to_string(g);
  }
}

TEST(Dropout, MasksDropTheRateAndScaleTheRest) {
  Rng rng(1);
  Matrix<float> D(100, 100);
  draw_dropout_mask<float>(0.3, rng, D);
  int dropped = 0;
  for (int j = 0; j < 100; ++j)
    for (int i = 0; i < 100; ++i) {
      if (D(i, j) == 0) ++dropped;
      else EXPECT_FLOAT_EQ(D(i, j), 1 / 0.7f);
    }
  EXPECT_NEAR(dropped / 10000.0, 0.3, 0.02);  // 4.4 standard deviations of a binomial(10^4, 0.3)
}

TEST(Dropout, HiddenLayersOnlyAndOffAtEvaluation) {
  Rng init(2);
  Network<float> net(Architecture{{6, 50, 4}});
  net.initialize(init);
  Matrix<float> X(6, 3);
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 6; ++i) X(i, j) = init.normal();
  const MatrixView<const float> plain = net.forward(X);
  const std::vector<float> evaluation(plain.data, plain.data + plain.size());
  Rng masks(3);
  net.forward(X, 0.5, masks);
  int zeros = 0;
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 50; ++i) zeros += net.A(1)(i, j) == 0 && net.Z(1)(i, j) > 0;
  EXPECT_GT(zeros, 0);  // units with a positive Z[1] silenced by the mask
  double column_sum = 0;
  for (int i = 0; i < 4; ++i) column_sum += net.A(2)(i, 0);
  EXPECT_NEAR(column_sum, 1.0, 1e-6);  // the softmax output itself is never dropped
  const MatrixView<const float> again = net.forward(X);
  EXPECT_TRUE(std::equal(evaluation.begin(), evaluation.end(), again.data));
  EXPECT_THROW(net.forward(X, 1.0, masks), Error);
}

}  // namespace
}  // namespace mlp
