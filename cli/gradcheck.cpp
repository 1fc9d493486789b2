// `mlp gradcheck`: backpropagation against finite differences, in double, on a random network.
#include <CLI/CLI.hpp>
#include <cstdio>

#include <mlp/gradcheck.hpp>

#include "commands.hpp"
#include "progress.hpp"

namespace mlp::cli {

CLI::App* add_gradcheck_command(CLI::App& app, GradcheckCommand& command) {
  CLI::App* command_app = app.add_subcommand("gradcheck", "Check backpropagation against finite differences, in double");
  command_app->add_option("--layers", command.layers, "Layer sizes (default: 10-8-6-4, or 10-8-6-1 for binary)");
  command_app->add_option("--activation", command.activation, "Hidden activation")
      ->check(CLI::IsMember({"relu", "sigmoid", "tanh", "linear"}))->capture_default_str();
  command_app->add_option("--task", command.task, "Task")
      ->check(CLI::IsMember({"binary", "multiclass", "regression"}))->capture_default_str();
  command_app->add_option("--samples", command.samples, "Columns of the random batch")->check(CLI::Range(1, 4096))->capture_default_str();
  command_app->add_option("--seed", command.seed, "Seed of weights and data")->capture_default_str();
  command_app->add_option("--tolerance", command.tolerance, "Largest relative error that passes")->capture_default_str();
  command_app->add_option("--max-params", command.max_parameters, "Check a random subset beyond this many parameters")
      ->check(CLI::PositiveNumber)->capture_default_str();
  add_verbosity_flags(*command_app, command.quiet, command.verbose, "Print only PASS or FAIL",
                      "Also print the parameters of each layer, the stencil, and the time taken");
  return command_app;
}

int run_gradcheck(const GradcheckCommand& command) {
  Architecture arch;
  arch.task = parse_task(command.task);
  arch.hidden_activation = parse_activation(command.activation);
  arch.sizes = command.layers.empty() ? std::vector<int>{10, 8, 6, arch.task == Task::binary ? 1 : 4}
                                      : parse_layers(command.layers);
  check_architecture(arch);
  GradcheckOptions options;
  options.samples = command.samples;
  options.seed = command.seed;
  options.max_parameters = command.max_parameters;
  if (command.verbose) {
    std::printf("network %s: %zu parameters\n", arch.layers_string().c_str(), arch.parameter_count());
    for (int l = 1; l <= arch.depth(); ++l)
      std::printf("  layer %d: W (%d, %d), b (%d): %zu parameters\n", l, arch.sizes[l], arch.sizes[l - 1], arch.sizes[l],
                  static_cast<std::size_t>(arch.sizes[l]) * (arch.sizes[l - 1] + 1));
    std::printf("batch of %d random samples, seed %llu; five-point stencil, h = %g; %s\n", options.samples,
                static_cast<unsigned long long>(options.seed), options.step,
                arch.parameter_count() > options.max_parameters
                    ? ("a random subset of " + std::to_string(options.max_parameters) + " parameters").c_str()
                    : "every parameter");
  }
  const Stopwatch clock;
  const GradcheckResult result = gradient_check(arch, options);
  const bool pass = result.checked > 0 && result.max_relative_error <= command.tolerance;
  if (command.quiet) {
    std::printf("%s\n", pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
  }
  std::printf("gradcheck %s %s %s: largest relative error %.3e (layer %d, parameter %zu) over %zu parameters",
              arch.layers_string().c_str(), to_string(arch.hidden_activation).c_str(), to_string(arch.task).c_str(),
              result.max_relative_error, result.worst_layer, result.worst_parameter, result.checked);
  if (result.skipped) std::printf(", %zu skipped at ReLU kinks", result.skipped);
  std::printf("\n%s (tolerance %.1e)\n", pass ? "PASS" : "FAIL", command.tolerance);
  if (command.verbose) std::printf("checked in %.3f s\n", clock.seconds());
  return pass ? 0 : 1;
}

}  // namespace mlp::cli
