// A network written as ONNX for other runtimes and read back: XOR learned in memory, saved with
// save_onnx, loaded with load_onnx, and the two asked the same questions.
#include <cstdio>

#include <mlp/error.hpp>
#include <mlp/onnx.hpp>
#include <mlp/training.hpp>

int main(int argc, char** argv) try {
  const char* path = argc > 1 ? argv[1] : "xor.onnx";
  mlp::Dataset xor_set;
  xor_set.feature_source = xor_set.label_source = "xor";
  xor_set.features = 2;
  xor_set.count = 4;
  xor_set.pixel_input = false;  // the ONNX input is then "features", used as they are
  xor_set.values = {0, 0, 0, 1, 1, 0, 1, 1};
  xor_set.labels = {0, 1, 1, 0};

  mlp::Architecture arch{{2, 4, 1}, mlp::Activation::tanh, mlp::Task::binary};
  arch.pixel_input = false;
  mlp::Network<float> net(arch);
  mlp::Rng rng(1);
  net.initialize(rng);
  mlp::train(net, xor_set, mlp::TrainOptions{.epochs = 1000, .batch_size = 4, .learning_rate = 0.5}, rng);

  // Gemm, Tanh, Gemm, Sigmoid; input "features" [batch, 2], output "probability" [batch, 1].
  mlp::save_onnx(path, net, {{"note", "XOR, examples/onnx.cpp"}});
  mlp::Network<float> loaded = mlp::load_onnx(path);

  const mlp::Matrix<float> before = mlp::predict(net, xor_set), after = mlp::predict(loaded, xor_set);
  int same = 0;
  for (int s = 0; s < 4; ++s) {
    std::printf("%g XOR %g -> %.4f, from %s %.4f\n", xor_set.values[2 * s], xor_set.values[2 * s + 1], before(0, s),
                path, after(0, s));
    same += before(0, s) == after(0, s);
  }
  std::printf("%s: %s %s, the same outputs for %d of 4\n", path, loaded.architecture().layers_string().c_str(),
              mlp::to_string(loaded.architecture().task).c_str(), same);
  return same == 4 ? 0 : 1;
} catch (const mlp::Error& e) {
  std::fprintf(stderr, "onnx example: %s\n", e.what());
  return 1;
}
