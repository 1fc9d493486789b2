/// @file
/// Learning-rate schedules: the rate α of each epoch, from the base rate (--lr), as torch.optim.lr_scheduler.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mlp {

/// The rate of epoch e = 1..E (E = total epochs) from the base rate α0. The first W epochs
/// (W = warmup_epochs, 0 by default) warm up linearly, and the main schedule then counts its own
/// epochs k = e - W = 1..K, K = E - W:
///
///   warm-up (e <= W)  α = α0 e / W                                    (α0 at epoch W)
///   constant          α = α0
///   step              α = α0 γ^floor((k-1) / step_size)                (StepLR)
///   cosine            α = min_lr + (α0 - min_lr) (1 + cos(π (k-1) / K)) / 2   (CosineAnnealingLR, T_max = K)
///
/// So step decay multiplies the rate by γ after every step_size epochs, and cosine starts at α0 in
/// its first epoch and ends one step short of min_lr (PyTorch's convention: the rate at epoch k is
/// the one after k-1 scheduler steps). The rate changes once per epoch; each batch of the epoch
/// uses it. In PyTorch the warm-up is LinearLR(start_factor=1/W, end_factor=1, total_iters=W-1)
/// followed by the main schedule in a SequentialLR with milestones=[W]; tests/torch/optim_check.py
/// holds the two against each other.
enum class ScheduleKind { constant, step, cosine };

/// "constant", "step", "cosine"; throws Error("--lr-schedule: ...") naming the choices otherwise.
ScheduleKind parse_schedule(std::string_view name);
std::string to_string(ScheduleKind kind);
/// The names parse_schedule() reads, in order.
std::vector<std::string> schedule_names();

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::constant;
  int step_size = 10;     ///< step: epochs between decays
  double gamma = 0.1;     ///< step: γ, the factor of each decay
  double min_lr = 0;      ///< cosine: the rate it falls towards
  int warmup_epochs = 0;  ///< W: linear warm-up epochs before the schedule (0: none)
};

/// Throws Error naming the command-line option of the first bad value: --lr-step at least 1,
/// --lr-gamma in (0, 1], --min-lr at least 0 and at most the base rate, --warmup-epochs at least
/// 0; all finite. Options that the kind does not use are not checked (warm-up applies to all).
/// A warm-up as long as the run or longer is allowed: the rate then rises throughout.
void check_schedule_options(const ScheduleOptions& options, double base_lr);

/// The rate α of `epoch` (1-based, 1 <= epoch <= total_epochs, else std::invalid_argument).
/// Checks the options first (check_schedule_options).
double learning_rate_at(const ScheduleOptions& options, double base_lr, int epoch, int total_epochs);

}  // namespace mlp
