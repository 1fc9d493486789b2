// Checkpoints: the training state as JSON metadata and "train.*" tensors beside the model.
#include "mlp/checkpoint.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "mlp/error.hpp"
#include "mlp/model_file.hpp"
#include "mlp/tensor_file.hpp"

namespace mlp {

// The checkpoint's "train.options" JSON: one key per field, named as the field. A field added to
// TrainOptions is added to its list here; a checkpoint written before it loads with its default.
// The kinds are their names, through parse_*() so that an unknown name is refused (nlohmann's
// NLOHMANN_JSON_SERIALIZE_ENUM would read it as the first kind).
void to_json(nlohmann::json& j, OptimizerKind kind) { j = to_string(kind); }
void from_json(const nlohmann::json& j, OptimizerKind& kind) { kind = parse_optimizer(j.get<std::string>()); }
void to_json(nlohmann::json& j, ScheduleKind kind) { j = to_string(kind); }
void from_json(const nlohmann::json& j, ScheduleKind& kind) { kind = parse_schedule(j.get<std::string>()); }
void to_json(nlohmann::json& j, Monitor monitor) { j = to_string(monitor); }
void from_json(const nlohmann::json& j, Monitor& monitor) { monitor = parse_monitor(j.get<std::string>()); }
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimizerOptions, kind, momentum, beta1, beta2, rho, eps, weight_decay)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ScheduleOptions, kind, step_size, gamma, min_lr, warmup_epochs)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainOptions, epochs, batch_size, learning_rate, shuffle, optimizer,
                                                schedule, dropout, clip_norm, patience, keep_best, monitor,
                                                checkpoint_every)

namespace {

using nlohmann::json;

const std::string options_key = "train.options", progress_key = "train.progress", rng_key = "train.rng";
const std::string best_parameters_name = "train.best_parameters";
std::string optimizer_tensor_name(std::string_view state) { return "train.optimizer." + std::string(state); }

// JSON has no infinity: "no best loss yet" is null.
json progress_json(const TrainProgress& p, std::uint64_t optimizer_steps) {
  return {{"epochs_done", p.epochs_done},
          {"samples_done", p.samples_done},
          {"epoch_loss_sum", p.epoch_loss_sum},
          {"epoch_correct", p.epoch_correct},
          {"epoch_seconds", p.epoch_seconds},
          {"epoch_start_rng", p.epoch_start_rng.state()},
          {"best_validation_loss", std::isfinite(p.best_validation_loss) ? json(p.best_validation_loss) : json(nullptr)},
          {"best_validation_accuracy", p.best_validation_accuracy},
          {"best_epoch", p.best_epoch},
          {"epochs_without_improvement", p.epochs_without_improvement},
          {"finished", p.finished},
          {"stop_reason", p.stop_reason},
          {"optimizer_steps", optimizer_steps}};
}

TrainProgress progress_from(const json& j) {
  TrainProgress p;
  j.at("epochs_done").get_to(p.epochs_done);
  j.at("samples_done").get_to(p.samples_done);
  j.at("epoch_loss_sum").get_to(p.epoch_loss_sum);
  j.at("epoch_correct").get_to(p.epoch_correct);
  j.at("epoch_seconds").get_to(p.epoch_seconds);
  if (!j.at("best_validation_loss").is_null()) j.at("best_validation_loss").get_to(p.best_validation_loss);
  if (j.contains("best_validation_accuracy")) j.at("best_validation_accuracy").get_to(p.best_validation_accuracy);
  j.at("best_epoch").get_to(p.best_epoch);
  j.at("epochs_without_improvement").get_to(p.epochs_without_improvement);
  j.at("finished").get_to(p.finished);
  j.at("stop_reason").get_to(p.stop_reason);
  return p;
}

}  // namespace

void save_checkpoint(const std::string& path, const Trainer& trainer, const std::map<std::string, std::string>& extra) {
  const TrainProgress& progress = trainer.progress();
  std::map<std::string, std::string> metadata = extra;
  metadata[options_key] = json(trainer.options()).dump();
  metadata[progress_key] = progress_json(progress, trainer.optimizer().steps()).dump();
  metadata[rng_key] = trainer.rng().state();

  // state() hands out writable spans; saving only reads them.
  Optimizer& optimizer = const_cast<Optimizer&>(trainer.optimizer());
  std::vector<TensorData> tensors;
  for (const OptimizerState& state : optimizer.state())
    tensors.push_back({optimizer_tensor_name(state.name), {state.values.size()}, state.values});
  if (!progress.best_parameters.empty())
    tensors.push_back({best_parameters_name, {progress.best_parameters.size()}, progress.best_parameters});
  save_model(path, trainer.network(), metadata, tensors);
}

Checkpoint load_checkpoint(const std::string& path) {
  const TensorFile file = TensorFile::read(path);
  Network<float> network = load_model(file);
  const auto& metadata = file.metadata();
  for (const std::string& key : {options_key, progress_key, rng_key})
    if (!metadata.count(key)) throw Error(path + ": not a checkpoint (no " + key + " in its metadata); a model file starts a new run with --init");
  try {
    const TrainOptions options = json::parse(metadata.at(options_key)).get<TrainOptions>();
    const json progress_fields = json::parse(metadata.at(progress_key));
    TrainProgress progress = progress_from(progress_fields);
    const std::uint64_t parameters = network.parameters().size();
    if (file.contains(best_parameters_name))
      progress.best_parameters = file.floats(best_parameters_name, std::vector{parameters});
    Optimizer optimizer(options.optimizer, parameters);
    for (const OptimizerState& state : optimizer.state())
      file.copy(optimizer_tensor_name(state.name), std::vector{parameters}, state.values);
    optimizer.set_steps(progress_fields.at("optimizer_steps").get<std::uint64_t>());
    Rng rng(0);
    const std::string epoch_start = progress_fields.at("epoch_start_rng").get<std::string>();
    if (!rng.set_state(metadata.at(rng_key)) ||
        (!epoch_start.empty() && !progress.epoch_start_rng.set_state(epoch_start)))
      throw Error(path + ": corrupt checkpoint: its random state cannot be read");
    check_train_options(options);
    return {std::move(network), options, std::move(optimizer), rng, std::move(progress), metadata};
  } catch (const json::exception& e) {
    throw Error(path + ": corrupt checkpoint: " + e.what());
  }
}

}  // namespace mlp
