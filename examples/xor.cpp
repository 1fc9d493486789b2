// XOR, the classic problem no single layer can solve, learned by a 2-4-1 network in memory.
#include <cstdio>

#include <mlp/training.hpp>

int main() {
  // The four points as float features (not pixels), one sample after another.
  mlp::Dataset xor_set;
  xor_set.feature_source = xor_set.label_source = "xor";
  xor_set.features = 2;
  xor_set.count = 4;
  xor_set.pixel_input = false;
  xor_set.values = {0, 0, 0, 1, 1, 0, 1, 1};
  xor_set.labels = {0, 1, 1, 0};

  // Two inputs, four tanh units, one sigmoid output: "is x1 XOR x2 true?".
  mlp::Architecture arch{{2, 4, 1}, mlp::Activation::tanh, mlp::Task::binary};
  arch.pixel_input = false;
  mlp::Network<float> net(arch);
  mlp::Rng rng(1);
  net.initialize(rng);
  mlp::train(net, xor_set, mlp::TrainOptions{.epochs = 1000, .batch_size = 4, .learning_rate = 0.5}, rng);

  // A[L] holds the probability that each sample is 1.
  const mlp::Matrix<float> p = mlp::predict(net, xor_set);
  int right = 0;
  for (int s = 0; s < 4; ++s) {
    const float x1 = xor_set.values[2 * s], x2 = xor_set.values[2 * s + 1];
    std::printf("%g XOR %g -> %.3f (%d)\n", x1, x2, p(0, s), p(0, s) > 0.5f);
    right += (p(0, s) > 0.5f) == (xor_set.labels[s] == 1);
  }
  std::printf("%d of 4 right\n", right);
  return right == 4 ? 0 : 1;
}
