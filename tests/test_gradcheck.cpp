// Backpropagation against finite differences for every activation and output, depths 1 to 4.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "mlp/gradcheck.hpp"

namespace mlp {
namespace {

using Case = std::tuple<Activation, Task, int>;

class Gradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(Gradcheck, BackpropMatchesFiniteDifferences) {
  const auto [hidden, task, depth] = GetParam();
  const int widths[] = {12, 9, 7, 6};
  Architecture arch;
  arch.hidden_activation = hidden;
  arch.task = task;
  for (int l = 0; l < depth; ++l) arch.sizes.push_back(widths[l]);
  arch.sizes.push_back(task == Task::binary ? 1 : 4);
  for (std::uint64_t seed : {1, 2}) {
    GradcheckOptions options;
    options.seed = seed;
    options.samples = 5;
    const GradcheckResult result = gradient_check(arch, options);
    EXPECT_LT(result.max_relative_error, 1e-6) << arch.layers_string() << " seed " << seed << " worst parameter "
                                               << result.worst_parameter << " in layer " << result.worst_layer;
    EXPECT_GT(result.checked, arch.parameter_count() * 3 / 4);  // kinks skip only a few
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllPairings, Gradcheck,
    ::testing::Combine(::testing::Values(Activation::relu, Activation::sigmoid, Activation::tanh, Activation::linear),
                       ::testing::Values(Task::binary, Task::multiclass, Task::regression),
                       ::testing::Values(1, 2, 3, 4)),
    [](const ::testing::TestParamInfo<Case>& info) {
      return to_string(std::get<0>(info.param)) + "_" + to_string(std::get<1>(info.param)) + "_depth" +
             std::to_string(std::get<2>(info.param));
    });

TEST(GradcheckSubset, LargeNetworksCheckASample) {
  GradcheckOptions options;
  options.max_parameters = 300;
  options.samples = 2;
  const GradcheckResult result = gradient_check(Architecture{{100, 50, 10}}, options);
  EXPECT_EQ(result.checked + result.skipped, 300u);
  EXPECT_LT(result.max_relative_error, 1e-6);
}

}  // namespace
}  // namespace mlp
