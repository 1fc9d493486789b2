/// @file
/// Training checkpoints: a model file that also holds the optimizer, the Rng and the progress.
#pragma once

#include <map>
#include <string>

#include "mlp/network.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/random.hpp"
#include "mlp/training.hpp"

namespace mlp {

/// Writes the trainer's network, options, optimizer state, Rng and progress to `path`,
/// atomically. The file is a model file (model_file.hpp) with "train.*" tensors (the optimizer's
/// buffers, the best parameters) and "train.*" metadata besides the model's, so `mlp eval` and
/// PyTorch's safetensors can read it too. `extra` goes into the metadata as it is (the command
/// line uses it for its own options and the metrics written so far).
void save_checkpoint(const std::string& path, const Trainer& trainer,
                     const std::map<std::string, std::string>& extra = {});

/// What a checkpoint holds: enough to go on exactly where the run stopped,
///   Checkpoint c = load_checkpoint(path);
///   Trainer trainer(c.network, c.options, c.rng, c.optimizer, c.progress);
///   trainer.run(...);
/// ends with the same parameters, bit for bit, as the run that was never interrupted (on the same
/// machine and thread count). options.stop is left null.
struct Checkpoint {
  Network<float> network;
  TrainOptions options;
  Optimizer optimizer;
  Rng rng;
  TrainProgress progress;
  std::map<std::string, std::string> metadata;  ///< all of it, `extra` included
};

/// Reads a checkpoint written by save_checkpoint, checking every field; throws Error naming the
/// file and the problem.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace mlp
