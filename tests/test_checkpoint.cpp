// Checkpoints: an interrupted and resumed run ends bit for bit where an uninterrupted one does.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "mlp/checkpoint.hpp"
#include "mlp/error.hpp"
#include "mlp/model_file.hpp"
#include "mlp/tensor_file.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

// n samples of `features` float features whose class c raises the c-th block.
Dataset blocks(std::size_t n, int features, int classes, std::uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.feature_source = data.label_source = "blocks";
  data.features = features;
  data.count = n;
  data.pixel_input = false;
  for (std::size_t s = 0; s < n; ++s) {
    const int c = static_cast<int>(rng.below(classes));
    data.labels.push_back(float(c));
    for (int i = 0; i < features; ++i) data.values.push_back(float((i * classes / features == c) + 0.5 * rng.normal()));
  }
  return data;
}

TrainOptions every_feature() {
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 16;
  options.learning_rate = 0.01;
  options.optimizer.kind = OptimizerKind::adam;
  options.optimizer.weight_decay = 1e-3;
  options.schedule.kind = ScheduleKind::cosine;
  options.schedule.warmup_epochs = 1;
  options.dropout = 0.2;
  options.clip_norm = 1.0;
  options.keep_best = true;
  return options;
}

std::vector<float> parameters_of(const Network<float>& net) {
  return {net.parameters().begin(), net.parameters().end()};
}

class Resume : public ::testing::TestWithParam<std::size_t> {};

// Stops the run after the given number of samples (inside an epoch, or at its end), saves a
// checkpoint, loads it into a fresh process-like state, and goes on.
TEST_P(Resume, EndsWithTheSameWeightsAsAnUninterruptedRun) {
  const std::size_t stop_after = GetParam();
  const Dataset data = blocks(200, 12, 3, 1), validation = blocks(60, 12, 3, 2);
  const Architecture arch{{12, 10, 8, 3}, Activation::tanh};
  const TrainOptions options = every_feature();

  Network<float> straight(arch);
  Rng rng(7);
  straight.initialize(rng);
  const std::vector<float> initial = parameters_of(straight);
  const auto straight_history = Trainer(straight, options, rng).run(data, &validation);

  test::ScratchDir dir;
  const std::string path = dir / "run.ckpt";
  Network<float> first(arch);
  std::copy(initial.begin(), initial.end(), first.parameters().begin());
  std::atomic<bool> stop = false;
  TrainOptions stoppable = options;
  stoppable.stop = &stop;
  std::size_t seen = 0;
  TrainCallbacks callbacks;
  callbacks.on_batch = [&](const BatchProgress& p) {
    if ((p.epoch - 1) * data.count + p.samples_done >= stop_after) stop = true;
    seen = p.samples_done;
  };
  callbacks.on_checkpoint = [&](const Trainer& t) { save_checkpoint(path, t); };
  Trainer interrupted(first, stoppable, rng);
  interrupted.run(data, &validation, nullptr, callbacks);
  ASSERT_FALSE(interrupted.progress().finished);

  Checkpoint c = load_checkpoint(path);
  EXPECT_EQ(c.progress.epochs_done, interrupted.progress().epochs_done);
  EXPECT_EQ(c.progress.samples_done, interrupted.progress().samples_done);
  EXPECT_EQ(parameters_of(c.network), parameters_of(first));
  Trainer resumed(c.network, c.options, c.rng, std::move(c.optimizer), c.progress);
  const auto rest = resumed.run(data, &validation);
  EXPECT_TRUE(resumed.progress().finished);
  EXPECT_EQ(parameters_of(c.network), parameters_of(straight));
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().train_loss, straight_history.back().train_loss);
  EXPECT_EQ(rest.back().validation->loss, straight_history.back().validation->loss);
}

// 40: inside epoch 1 (13 batches of 16 in 200 samples); 200: right at its end; 530: inside epoch 3.
INSTANTIATE_TEST_SUITE_P(Checkpoint, Resume, ::testing::Values(40, 200, 530));

TEST(Checkpoint, EveryNEpochsAndReadableAsAModel) {
  const Dataset data = blocks(64, 6, 2, 3);
  Network<float> net(Architecture{{6, 4, 2}});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 5;
  options.checkpoint_every = 2;
  test::ScratchDir dir;
  std::vector<int> at;
  TrainCallbacks callbacks;
  callbacks.on_checkpoint = [&](const Trainer& t) {
    at.push_back(t.progress().epochs_done);
    save_checkpoint(dir / "c.ckpt", t, {{"note", "hello"}});
  };
  Trainer(net, options, rng).run(data, nullptr, nullptr, callbacks);
  EXPECT_EQ(at, (std::vector<int>{2, 4}));  // not after the last epoch: the model file is the result
  const Checkpoint c = load_checkpoint(dir / "c.ckpt");
  EXPECT_EQ(c.metadata.at("note"), "hello");
  EXPECT_EQ(c.options.epochs, 5);
  EXPECT_EQ(load_model(dir / "c.ckpt").architecture().layers_string(), "6-4-2");
}

TEST(Checkpoint, AModelFileIsNotACheckpoint) {
  Network<float> net(Architecture{{3, 2}});
  test::ScratchDir dir;
  save_model(dir / "m.safetensors", net);
  try {
    load_checkpoint(dir / "m.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a checkpoint"), std::string::npos) << e.what();
  }
}

// A checkpoint whose fields were written wrong (by hand, or by another program: the checksum
// only proves the file is what its writer wrote) is refused with the file and the field.
TEST(Checkpoint, WrongFieldsAreRefused) {
  const Dataset data = blocks(32, 6, 2, 3);
  Network<float> net(Architecture{{6, 4, 2}});
  Rng rng(1);
  test::ScratchDir dir;
  TrainOptions options;
  options.epochs = 2;
  options.checkpoint_every = 1;
  options.optimizer.kind = OptimizerKind::momentum;
  TrainCallbacks callbacks;
  callbacks.on_checkpoint = [&](const Trainer& t) { save_checkpoint(dir / "c.ckpt", t); };
  Trainer(net, options, rng).run(data, nullptr, nullptr, callbacks);
  ASSERT_NO_THROW(load_checkpoint(dir / "c.ckpt"));

  const TensorFile good = TensorFile::read(dir / "c.ckpt");
  auto rewrite = [&](const std::string& key, const std::string& value, const std::string& drop_tensor) {
    std::map<std::string, std::string> metadata = good.metadata();
    metadata.erase(checksum_key);
    metadata[key] = value;
    std::vector<std::vector<float>> storage;
    storage.reserve(good.names().size());  // the spans below point into it
    std::vector<TensorData> tensors;
    for (const std::string& name : good.names()) {
      if (name == drop_tensor) continue;
      storage.push_back(good.floats(name, good.shape(name)));
      tensors.push_back({name, good.shape(name), storage.back()});
    }
    write_tensor_file(dir / "bad.ckpt", tensors, metadata);
    try {
      load_checkpoint(dir / "bad.ckpt");
      return std::string("loaded");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(rewrite("train.options", "{\"epochs\": \"ten\"}", "").find("bad.ckpt: corrupt checkpoint"), std::string::npos);
  EXPECT_NE(rewrite("train.rng", "12 34", "").find("random state"), std::string::npos);
  EXPECT_NE(rewrite("note", "", "train.optimizer.momentum_buffer").find("momentum_buffer"), std::string::npos);
}

// tests/fixtures/old_*.safetensors were written by `mlp train` before the training options were
// serialized by nlohmann-json's macros (the command is in tests/fixtures/README.md); files like them
// must keep loading, with every option as it was given.
TEST(Checkpoint, AnOlderCheckpointStillLoads) {
  const std::string fixtures = std::string(MLP_SOURCE_DIR) + "/tests/fixtures/";
  const Checkpoint c = load_checkpoint(fixtures + "old_checkpoint.safetensors");
  const TrainOptions& o = c.options;
  EXPECT_EQ(o.epochs, 2);
  EXPECT_EQ(o.batch_size, 8);
  EXPECT_DOUBLE_EQ(o.learning_rate, 0.01);
  EXPECT_TRUE(o.shuffle);
  EXPECT_EQ(o.optimizer.kind, OptimizerKind::adam);
  EXPECT_DOUBLE_EQ(o.optimizer.momentum, 0.9);
  EXPECT_DOUBLE_EQ(o.optimizer.beta1, 0.9);
  EXPECT_DOUBLE_EQ(o.optimizer.beta2, 0.999);
  EXPECT_DOUBLE_EQ(o.optimizer.rho, 0.99);
  EXPECT_DOUBLE_EQ(o.optimizer.eps, 1e-8);
  EXPECT_DOUBLE_EQ(o.optimizer.weight_decay, 0);
  EXPECT_EQ(o.schedule.kind, ScheduleKind::step);
  EXPECT_EQ(o.schedule.step_size, 2);
  EXPECT_DOUBLE_EQ(o.schedule.gamma, 0.1);
  EXPECT_DOUBLE_EQ(o.schedule.min_lr, 0);
  EXPECT_EQ(o.schedule.warmup_epochs, 0);
  EXPECT_DOUBLE_EQ(o.dropout, 0.1);
  EXPECT_DOUBLE_EQ(o.clip_norm, 5);
  EXPECT_EQ(o.patience, 0);
  EXPECT_TRUE(o.keep_best);
  EXPECT_EQ(o.checkpoint_every, 1);
  EXPECT_EQ(c.progress.epochs_done, 1);
  EXPECT_EQ(c.progress.best_epoch, 1);
  EXPECT_FALSE(c.progress.finished);
  EXPECT_EQ(c.optimizer.steps(), 3u);
  EXPECT_EQ(c.network.architecture().layers_string(), "4-3-1");
  EXPECT_EQ(c.network.architecture().task, Task::binary);

  const Network<float> model = load_model(fixtures + "old_model.safetensors");
  EXPECT_EQ(model.architecture().layers_string(), "4-3-1");
  EXPECT_EQ(model.architecture().positive, 1);
  EXPECT_EQ(model.architecture().hidden_activation, Activation::tanh);  // the file's "activation" key
  EXPECT_EQ(c.network.architecture().hidden_activation, Activation::tanh);
}

// The options are written with the same keys as before, and a key missing from an older file
// (an option added since) takes its default.
TEST(Checkpoint, OptionsKeepTheirKeysAndMissingOnesTakeTheirDefaults) {
  const std::string fixture = std::string(MLP_SOURCE_DIR) + "/tests/fixtures/old_checkpoint.safetensors";
  const TensorFile old_file = TensorFile::read(fixture);
  Checkpoint c = load_checkpoint(fixture);
  const Trainer trainer(c.network, c.options, c.rng, std::move(c.optimizer), c.progress);
  test::ScratchDir dir;
  save_checkpoint(dir / "again.ckpt", trainer);
  const TensorFile again = TensorFile::read(dir / "again.ckpt");
  EXPECT_EQ(nlohmann::json::parse(again.metadata().at("train.options")),
            nlohmann::json::parse(old_file.metadata().at("train.options")));

  std::map<std::string, std::string> metadata = again.metadata();
  metadata.erase(checksum_key);
  nlohmann::json options = nlohmann::json::parse(metadata.at("train.options"));
  options.erase("clip_norm");
  options.at("optimizer").erase("beta2");
  metadata["train.options"] = options.dump();
  std::vector<std::vector<float>> storage;
  storage.reserve(again.names().size());
  std::vector<TensorData> tensors;
  for (const std::string& name : again.names()) {
    storage.push_back(again.floats(name, again.shape(name)));
    tensors.push_back({name, again.shape(name), storage.back()});
  }
  write_tensor_file(dir / "older.ckpt", tensors, metadata);
  const Checkpoint older = load_checkpoint(dir / "older.ckpt");
  EXPECT_DOUBLE_EQ(older.options.clip_norm, TrainOptions{}.clip_norm);
  EXPECT_DOUBLE_EQ(older.options.optimizer.beta2, OptimizerOptions{}.beta2);
  EXPECT_EQ(older.options.optimizer.kind, OptimizerKind::adam);
  EXPECT_DOUBLE_EQ(older.options.dropout, 0.1);

  options["optimizer"]["kind"] = "adagrad";  // an unknown kind is refused, not read as the first
  metadata["train.options"] = options.dump();
  write_tensor_file(dir / "bad.ckpt", tensors, metadata);
  EXPECT_THROW(load_checkpoint(dir / "bad.ckpt"), Error);
}

// The command line goes on from the older checkpoint with the options it holds.
TEST(Checkpoint, AnOlderCheckpointResumesFromTheCommandLine) {
  const test::ScratchDir dir;
  const std::string fixtures = std::string(MLP_SOURCE_DIR) + "/tests/fixtures/";
  ASSERT_EQ(test::run("cp " + fixtures + "old_checkpoint.safetensors " + fixtures + "tiny.csv " + dir.path()).exit_code, 0);
  const test::CommandResult r = test::run("cd " + dir.path() + " && " + MLP_BINARY + " train --resume old_checkpoint.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming old_checkpoint.safetensors after epoch 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("with adam"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("kept the parameters of epoch"), std::string::npos) << r.output;
  EXPECT_TRUE(test::exists(dir / "old_model.safetensors"));
}

}  // namespace
}  // namespace mlp
