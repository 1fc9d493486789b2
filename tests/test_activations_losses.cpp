// Activations, output layers and losses: values by hand, and no NaN or overflow at extremes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mlp/activations.hpp"
#include "mlp/error.hpp"
#include "mlp/losses.hpp"

namespace mlp {
namespace {

template <typename T>
Matrix<T> column(std::initializer_list<T> values) {
  Matrix<T> M(static_cast<int>(values.size()), 1);
  int i = 0;
  for (T v : values) M(i++, 0) = v;
  return M;
}

TEST(Activations, ForwardValues) {
  const Matrix<double> Z = column<double>({-2.0, 0.0, 3.0});
  Matrix<double> A(3, 1);
  activation_forward<double>(Activation::relu, Z, A);
  EXPECT_EQ(A(0, 0), 0.0);
  EXPECT_EQ(A(1, 0), 0.0);
  EXPECT_EQ(A(2, 0), 3.0);
  activation_forward<double>(Activation::sigmoid, Z, A);
  EXPECT_DOUBLE_EQ(A(0, 0), 1 / (1 + std::exp(2.0)));
  EXPECT_DOUBLE_EQ(A(1, 0), 0.5);
  activation_forward<double>(Activation::tanh, Z, A);
  EXPECT_DOUBLE_EQ(A(2, 0), std::tanh(3.0));
  activation_forward<double>(Activation::linear, Z, A);
  EXPECT_EQ(A(0, 0), -2.0);
}

TEST(Activations, SigmoidSaturatesWithoutNaN) {
  const Matrix<float> Z = column<float>({-1000.0f, -88.0f, 88.0f, 1000.0f});
  Matrix<float> A(4, 1);
  activation_forward<float>(Activation::sigmoid, Z, A);
  EXPECT_EQ(A(0, 0), 0.0f);
  EXPECT_GE(A(1, 0), 0.0f);
  EXPECT_EQ(A(3, 0), 1.0f);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(std::isnan(A(i, 0)));
}

TEST(Activations, BackwardIsDerivativeTimesUpstream) {
  const Matrix<double> Z = column<double>({-1.0, 0.5, 2.0});
  const Matrix<double> dA = column<double>({3.0, 3.0, 3.0});
  Matrix<double> A(3, 1), dZ(3, 1);
  activation_forward<double>(Activation::relu, Z, A);
  activation_backward<double>(Activation::relu, dA, Z, A, dZ);
  EXPECT_EQ(dZ(0, 0), 0.0);
  EXPECT_EQ(dZ(1, 0), 3.0);
  activation_forward<double>(Activation::sigmoid, Z, A);
  activation_backward<double>(Activation::sigmoid, dA, Z, A, dZ);
  const double s = 1 / (1 + std::exp(-0.5));
  EXPECT_DOUBLE_EQ(dZ(1, 0), 3 * s * (1 - s));
  activation_forward<double>(Activation::tanh, Z, A);
  activation_backward<double>(Activation::tanh, dA, Z, A, dZ);
  EXPECT_DOUBLE_EQ(dZ(2, 0), 3 * (1 - std::tanh(2.0) * std::tanh(2.0)));
}

TEST(Activations, ParseNamesTheOption) {
  EXPECT_EQ(parse_activation("tanh"), Activation::tanh);
  try {
    parse_activation("gelu");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--activation"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("gelu"), std::string::npos);
  }
  EXPECT_THROW(parse_task("ranking"), Error);
}

TEST(Losses, BinaryCrossEntropyByHand) {
  // a = 0.8 for y = 1 and a = 0.8 for y = 0: J = -(log 0.8 + log 0.2) / 2 (docs/math.md, Losses).
  const double z = std::log(0.8 / 0.2);
  Matrix<double> Z(1, 2), Y(1, 2);
  Z(0, 0) = Z(0, 1) = z;
  Y(0, 0) = 1;
  EXPECT_NEAR(loss<double>(Task::binary, Z, Y), -(std::log(0.8) + std::log(0.2)) / 2, 1e-12);
}

TEST(Losses, BinaryCrossEntropyFiniteAtSaturation) {
  Matrix<float> Z(1, 2), Y(1, 2);
  Z(0, 0) = 200.0f;  // sigmoid rounds to exactly 1 in float
  Z(0, 1) = -200.0f;
  Y(0, 1) = 1;       // both confidently wrong
  const double J = loss<float>(Task::binary, Z, Y);
  EXPECT_TRUE(std::isfinite(J));
  EXPECT_NEAR(J, 200.0, 1e-4);
}

TEST(Losses, SoftmaxStableForHugeLogits) {
  const Matrix<float> Z = column<float>({1000.0f, 999.0f, -1000.0f});
  Matrix<float> A(3, 1);
  output_forward<float>(Task::multiclass, Z, A);
  EXPECT_NEAR(A(0, 0), 1 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(A(1, 0), std::exp(-1.0) / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(A(2, 0), 0.0f);
  Matrix<float> Y(3, 1);
  Y(2, 0) = 1;  // the true class has probability e^-2000: the loss is large but finite
  const double J = loss<float>(Task::multiclass, Z, Y);
  EXPECT_TRUE(std::isfinite(J));
  EXPECT_NEAR(J, 2000.0 + std::log(1 + std::exp(-1.0)), 1e-3);
}

TEST(Losses, CrossEntropyByHand) {
  const Matrix<double> Z = column<double>({1.0, 2.0, 3.0});
  Matrix<double> Y(3, 1);
  Y(1, 0) = 1;
  const double logsumexp = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(loss<double>(Task::multiclass, Z, Y), logsumexp - 2.0, 1e-12);
}

TEST(Losses, SquaredErrorIsHalfMeanOfSquaredNorms) {
  Matrix<double> Z(2, 2), Y(2, 2);
  Z(0, 0) = 1; Z(1, 0) = 2; Z(0, 1) = -1; Z(1, 1) = 0;
  Y(0, 0) = 0; Y(1, 0) = 0; Y(0, 1) = 1;  Y(1, 1) = 3;
  // (1/2m) Σ ‖a - y‖² = (1/4) ((1 + 4) + (4 + 9)) = 4.5
  EXPECT_DOUBLE_EQ(loss<double>(Task::regression, Z, Y), 4.5);
}

TEST(Losses, OutputErrorIsAMinusY) {
  const Matrix<double> A = column<double>({0.2, 0.7, 0.1});
  const Matrix<double> Y = column<double>({0.0, 1.0, 0.0});
  Matrix<double> dZ(3, 1);
  output_error<double>(A, Y, dZ);
  EXPECT_DOUBLE_EQ(dZ(0, 0), 0.2);
  EXPECT_NEAR(dZ(1, 0), -0.3, 1e-15);
  EXPECT_DOUBLE_EQ(dZ(2, 0), 0.1);
}

TEST(Losses, PredictedClass) {
  const double a[] = {0.1, 0.6, 0.3};
  EXPECT_EQ(predicted_class(Task::multiclass, a, 3), 1);
  // Binary: class 1 from the threshold up, the threshold itself included.
  const double half[] = {0.5}, below[] = {0.49999999}, above[] = {0.51};
  EXPECT_EQ(predicted_class(Task::binary, half, 1), 1);
  EXPECT_EQ(predicted_class(Task::binary, below, 1), 0);
  EXPECT_EQ(predicted_class(Task::binary, above, 1), 1);
  const float half_f[] = {0.5f};
  EXPECT_EQ(predicted_class(Task::binary, half_f, 1), 1);
  EXPECT_EQ(predicted_class(Task::binary, half_f, 1, 0.7), 0);
  EXPECT_EQ(predicted_class(Task::binary, above, 1, 0.51), 1);
}

}  // namespace
}  // namespace mlp
