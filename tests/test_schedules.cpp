// The learning-rate schedules: the rate of every epoch worked out by hand, warm-up, edge cases, bad options.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "mlp/error.hpp"
#include "mlp/schedules.hpp"

namespace mlp {
namespace {

// The rates of epochs 1..E at base rate 0.1.
std::vector<double> rates(const ScheduleOptions& options, int E) {
  std::vector<double> result;
  for (int e = 1; e <= E; ++e) result.push_back(learning_rate_at(options, 0.1, e, E));
  return result;
}

void expect_near(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12) << "epoch " << i + 1;
}

TEST(Schedules, ConstantIsTheBaseRate) {
  expect_near(rates({}, 4), {0.1, 0.1, 0.1, 0.1});
}

TEST(Schedules, StepDecaysEveryStepSizeEpochs) {
  // γ^floor((e-1)/3) with γ = 0.5: three epochs at 0.1, three at 0.05, then 0.025.
  expect_near(rates({.kind = ScheduleKind::step, .step_size = 3, .gamma = 0.5}, 7),
              {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025});
  // step_size 1: every epoch.
  expect_near(rates({.kind = ScheduleKind::step, .step_size = 1, .gamma = 0.1}, 3), {0.1, 0.01, 0.001});
  // A step longer than the run never decays.
  expect_near(rates({.kind = ScheduleKind::step, .step_size = 10}, 5), {0.1, 0.1, 0.1, 0.1, 0.1});
}

TEST(Schedules, CosineFallsTowardsMinLr) {
  // E = 5: 0.1 (1 + cos(π i/5)) / 2 for i = 0..4; (1 + cos(π/5))/2 = 0.9045085, (1 + cos(2π/5))/2
  // = 0.6545085, then 0.3454915 and 0.0954915: the last epoch is one step short of min_lr.
  expect_near(rates({.kind = ScheduleKind::cosine}, 5),
              {0.1, 0.09045084971874738, 0.06545084971874737, 0.03454915028125263, 0.009549150281252633});
  // min_lr 0.01: 0.01 + 0.09 (1 + cos(π i/5)) / 2.
  expect_near(rates({.kind = ScheduleKind::cosine, .min_lr = 0.01}, 5),
              {0.1, 0.09140576474687263, 0.06890576474687263, 0.041094235253127366, 0.01859423525312737});
  // One epoch: cos 0, the base rate.
  expect_near(rates({.kind = ScheduleKind::cosine}, 1), {0.1});
}

TEST(Schedules, WarmUpRisesLinearlyThenTheScheduleStartsCounting) {
  // W = 2 then cosine over K = 4: 0.05, 0.1, then 0.1 (1 + cos(π i/4)) / 2 for i = 0..3.
  expect_near(rates({.kind = ScheduleKind::cosine, .warmup_epochs = 2}, 6),
              {0.05, 0.1, 0.1, 0.08535533905932738, 0.05, 0.014644660940672627});
  // W = 3 then step decay every 2 epochs by γ = 0.1: 0.1/3, 0.2/3, 0.1, then 0.1, 0.1, 0.01, 0.01.
  expect_near(rates({.kind = ScheduleKind::step, .step_size = 2, .gamma = 0.1, .warmup_epochs = 3}, 7),
              {0.1 / 3, 0.2 / 3, 0.1, 0.1, 0.1, 0.01, 0.01});
  expect_near(rates({.warmup_epochs = 1}, 3), {0.1, 0.1, 0.1});
  // A warm-up longer than the run rises throughout: 0.1 e/10.
  expect_near(rates({.kind = ScheduleKind::cosine, .warmup_epochs = 10}, 4), {0.01, 0.02, 0.03, 0.04});
  // A warm-up exactly as long as the run ends at the base rate.
  expect_near(rates({.kind = ScheduleKind::cosine, .warmup_epochs = 2}, 2), {0.05, 0.1});
}

TEST(Schedules, EpochsOutsideTheRunAreRefused) {
  EXPECT_THROW(learning_rate_at({}, 0.1, 0, 5), std::invalid_argument);
  EXPECT_THROW(learning_rate_at({}, 0.1, 6, 5), std::invalid_argument);
}

TEST(Schedules, ParseAndNameEveryKind) {
  for (const char* name : {"constant", "step", "cosine"}) EXPECT_EQ(to_string(parse_schedule(name)), name);
  try {
    parse_schedule("linear");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--lr-schedule: unknown schedule 'linear' (choose constant, step, cosine)");
  }
}

// The message of the Error the options give at base rate 0.1, or "" if they are accepted.
std::string complaint(const ScheduleOptions& options) {
  try {
    check_schedule_options(options, 0.1);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Schedules, BadOptionsNameTheirOption) {
  using enum ScheduleKind;
  EXPECT_EQ(complaint({.kind = step, .step_size = 0}), "--lr-step: must be at least 1, got 0");
  EXPECT_EQ(complaint({.kind = step, .gamma = 0}), "--lr-gamma: must be in (0, 1], got 0");
  EXPECT_EQ(complaint({.kind = step, .gamma = 1.5}), "--lr-gamma: must be in (0, 1], got 1.5");
  EXPECT_EQ(complaint({.kind = cosine, .min_lr = -0.001}), "--min-lr: must be at least 0 and at most --lr, got -0.001");
  EXPECT_EQ(complaint({.kind = cosine, .min_lr = 0.2}), "--min-lr: must be at least 0 and at most --lr, got 0.2");
  EXPECT_EQ(complaint({.warmup_epochs = -1}), "--warmup-epochs: must be at least 0, got -1");
  // What a kind does not use is not checked.
  EXPECT_EQ(complaint({.kind = constant, .step_size = 0, .gamma = -1, .min_lr = 5}), "");
  // learning_rate_at checks them too.
  EXPECT_THROW(learning_rate_at({.kind = step, .step_size = 0}, 0.1, 1, 5), Error);
}

}  // namespace
}  // namespace mlp
