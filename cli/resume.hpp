// `mlp train --resume`: what a checkpoint keeps of the command line, and the run it goes on with.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <mlp/checkpoint.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "plot_svg.hpp"

namespace mlp::cli {

// Whether `option` (a long name, "--epochs") was given on the command line.
bool was_given(const TrainCommand& command, std::string_view option);

// The metadata a checkpoint carries for `--resume FILE` to need nothing else: the command's
// data and outputs ("cli.command") and the metrics lines so far ("cli.metrics").
std::map<std::string, std::string> checkpoint_metadata(const TrainCommand& command, const std::string& metrics_text);

// The command to go on with: the checkpoint's, with what may change given anew (--epochs,
// --out, --metrics, --plot, --checkpoint, --checkpoint-every, --quiet, --verbose,
// --comm-timeout). @throws Error for any other option given, or a checkpoint without the
// command line's options
TrainCommand resumed_command(const TrainCommand& given, const Checkpoint& checkpoint);

// The checkpoint's training options, with --epochs and --checkpoint-every as given anew.
TrainOptions resumed_options(const TrainCommand& given, const TrainCommand& command, const Checkpoint& checkpoint);

// The metrics lines the checkpoint holds (empty if none), each also added to `curves`, so that
// a resumed run's metrics file and plot go on from them.
std::string resumed_metrics(const Checkpoint& checkpoint, LearningCurves& curves);

}  // namespace mlp::cli
