// Runs mlp's Optimizer or learning-rate schedule for tests/torch/optim_check.py, which runs torch.optim beside it.
//
//   optimizer_driver steps IN OUT --optimizer KIND [--momentum μ --beta1 β1 --beta2 β2 --rho ρ
//                                 --eps ε --weight-decay λ --restart-at T]
//     IN holds little-endian: uint64 n, uint64 steps, float32 θ[n], then per step float64 α and
//     float32 g[n]. OUT receives θ (float32 [n]) after each step, steps blocks. --restart-at T
//     carries the optimizer over to a new one after T steps through steps() and state(), as a
//     checkpoint would.
//   optimizer_driver schedule --lr α0 --epochs E --lr-schedule KIND [--lr-step S --lr-gamma γ
//                             --min-lr m --warmup-epochs W]
//     prints the rate of epochs 1..E, one per line, to 17 significant digits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mlp/optimizers.hpp"
#include "mlp/schedules.hpp"

namespace {

using Flags = std::map<std::string, std::string>;

// "--name value" pairs from argv[first..].
Flags parse_flags(int argc, char** argv, int first) {
  Flags flags;
  for (int i = first; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if ((argc - first) % 2 != 0) throw std::runtime_error(std::string("no value after ") + argv[argc - 1]);
  return flags;
}

double number(const Flags& flags, const std::string& name, double fallback) {
  const auto it = flags.find(name);
  return it == flags.end() ? fallback : std::stod(it->second);
}

template <typename T>
T read(std::ifstream& in) {
  T value;
  if (!in.read(reinterpret_cast<char*>(&value), sizeof value)) throw std::runtime_error("IN is truncated");
  return value;
}

int run_steps(const std::string& in_path, const std::string& out_path, const Flags& flags) {
  mlp::OptimizerOptions defaults;
  const mlp::OptimizerOptions options{
      .kind = mlp::parse_optimizer(flags.at("--optimizer")),
      .momentum = number(flags, "--momentum", defaults.momentum),
      .beta1 = number(flags, "--beta1", defaults.beta1),
      .beta2 = number(flags, "--beta2", defaults.beta2),
      .rho = number(flags, "--rho", defaults.rho),
      .eps = number(flags, "--eps", defaults.eps),
      .weight_decay = number(flags, "--weight-decay", defaults.weight_decay),
  };
  const auto restart_at = static_cast<std::uint64_t>(number(flags, "--restart-at", 0));

  std::ifstream in(in_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + in_path);
  const auto n = read<std::uint64_t>(in), steps = read<std::uint64_t>(in);
  std::vector<float> theta(n), g(n);
  in.read(reinterpret_cast<char*>(theta.data()), std::streamsize(n * sizeof(float)));
  std::ofstream out(out_path, std::ios::binary);

  mlp::Optimizer optimizer(options, n);
  for (std::uint64_t t = 1; t <= steps; ++t) {
    const auto alpha = read<double>(in);
    if (!in.read(reinterpret_cast<char*>(g.data()), std::streamsize(n * sizeof(float))))
      throw std::runtime_error("IN is truncated");
    optimizer.step(theta, g, alpha);
    out.write(reinterpret_cast<const char*>(theta.data()), std::streamsize(n * sizeof(float)));
    if (t == restart_at) {
      mlp::Optimizer resumed(options, n);
      resumed.set_steps(optimizer.steps());
      std::vector<mlp::OptimizerState> from = optimizer.state(), to = resumed.state();
      for (std::size_t b = 0; b < from.size(); ++b)
        std::copy(from[b].values.begin(), from[b].values.end(), to[b].values.begin());
      optimizer = std::move(resumed);
    }
  }
  if (!out) throw std::runtime_error("cannot write " + out_path);
  return 0;
}

int print_schedule(const Flags& flags) {
  const mlp::ScheduleOptions options{
      .kind = mlp::parse_schedule(flags.at("--lr-schedule")),
      .step_size = static_cast<int>(number(flags, "--lr-step", 10)),
      .gamma = number(flags, "--lr-gamma", 0.1),
      .min_lr = number(flags, "--min-lr", 0),
      .warmup_epochs = static_cast<int>(number(flags, "--warmup-epochs", 0)),
  };
  const double base = number(flags, "--lr", 0.1);
  const int epochs = static_cast<int>(number(flags, "--epochs", 10));
  for (int e = 1; e <= epochs; ++e) std::printf("%.17g\n", mlp::learning_rate_at(options, base, e, epochs));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "steps" && argc >= 4) return run_steps(argv[2], argv[3], parse_flags(argc, argv, 4));
    if (mode == "schedule") return print_schedule(parse_flags(argc, argv, 2));
    std::fprintf(stderr, "usage: optimizer_driver steps IN OUT --optimizer KIND ... | schedule --lr-schedule KIND ...\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optimizer_driver: %s\n", e.what());
    return 1;
  }
}
