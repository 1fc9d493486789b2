// The learning-rate schedules of schedules.hpp: warm-up, then constant, step decay or cosine.
#include "mlp/schedules.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "mlp/error.hpp"
#include "named_choices.hpp"

namespace mlp {

namespace {

using detail::require;

constexpr detail::KindName<ScheduleKind> names[] = {
    {ScheduleKind::constant, "constant"}, {ScheduleKind::step, "step"}, {ScheduleKind::cosine, "cosine"}};

}  // namespace

ScheduleKind parse_schedule(std::string_view name) { return detail::parse_kind(names, name, "--lr-schedule", "schedule"); }

std::string to_string(ScheduleKind kind) { return detail::kind_name(names, kind, "ScheduleKind"); }

std::vector<std::string> schedule_names() { return detail::kind_names(names); }

void check_schedule_options(const ScheduleOptions& o, double base_lr) {
  if (o.kind == ScheduleKind::step) {
    require(o.step_size >= 1, o.step_size, "--lr-step", "at least 1");
    require(o.gamma > 0 && o.gamma <= 1, o.gamma, "--lr-gamma", "in (0, 1]");
  }
  if (o.kind == ScheduleKind::cosine)
    require(o.min_lr >= 0 && o.min_lr <= base_lr, o.min_lr, "--min-lr", "at least 0 and at most --lr");
  require(o.warmup_epochs >= 0, o.warmup_epochs, "--warmup-epochs", "at least 0");
}

double learning_rate_at(const ScheduleOptions& o, double base_lr, int epoch, int total_epochs) {
  check_schedule_options(o, base_lr);
  if (epoch < 1 || epoch > total_epochs)
    throw std::invalid_argument("learning_rate_at: epoch " + std::to_string(epoch) + " of " +
                                std::to_string(total_epochs));
  const int W = o.warmup_epochs;
  if (epoch <= W) return base_lr * epoch / W;

  const int k = epoch - W, K = total_epochs - W;  // the main schedule's epoch k of K
  switch (o.kind) {
    case ScheduleKind::constant: return base_lr;
    case ScheduleKind::step: return base_lr * std::pow(o.gamma, (k - 1) / o.step_size);
    case ScheduleKind::cosine:
      return o.min_lr + (base_lr - o.min_lr) * (1 + std::cos(std::numbers::pi * (k - 1) / K)) / 2;
  }
  return base_lr;
}

}  // namespace mlp
