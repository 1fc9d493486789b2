// Datasets: IDX (MNIST, Fashion-MNIST) and CSV readers, validation splits, and batch assembly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mlp/matrix.hpp"
#include "mlp/network.hpp"

namespace mlp {

// Samples held compactly: images as 8-bit pixels (scaled to [0,1] only when a batch is formed),
// other data as floats. Sample s occupies features consecutive values.
struct Dataset {
  std::string feature_source;          // the files the features and labels came from,
  std::string label_source;            // for error messages
  int features = 0;                    // n[0]
  std::size_t count = 0;               // number of samples
  bool pixel_input = true;             // features are in `pixels`, else in `values`
  std::vector<std::uint8_t> pixels;    // count * features, when pixel_input
  std::vector<float> values;           // count * features, otherwise
  std::vector<float> labels;           // count: a class index or a regression target; empty if unlabelled
};

// The four standard files of an MNIST-like folder, each also accepted with ".gz".
struct TrainTest {
  Dataset train;
  Dataset test;
};

// IDX images (magic 0x00000803, or any unsigned-byte IDX with 2+ dimensions) and optionally
// their labels (0x00000801). Every header field is checked against the file's real size before
// anything is allocated for it. `labels_path` may be empty for unlabelled images.
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

// How to read a CSV file. The common MNIST form is the default: the label first, then pixel
// values 0..255. `label_column` names the label's column by header name or 0-based index;
// `labelled = false` means there is none. `pixels = false` takes features as floats as they are.
struct CsvOptions {
  std::string label_column;
  bool labelled = true;
  bool pixels = true;
};
// An optional header line (recognized by a non-numeric field) is skipped.
Dataset read_csv(const std::string& path, const CsvOptions& options);
// The number of fields on the first line of a CSV file.
int csv_columns(const std::string& path);

// The train and t10k files of an MNIST-like folder.
TrainTest read_idx_folder(const std::string& folder);

// Moves the last `fraction` of `data` (0 < fraction < 1) into a new dataset, for validation.
Dataset split_off(Dataset& data, double fraction);

// Throws Error naming the file unless the data fits the network: n[0] features, and labels
// that are classes of the task (0..k-1 for multiclass) or finite targets (regression, n[L] = 1).
void check_fits(const Dataset& data, const Architecture& arch);

// X (n[0], m): column j is sample indices[j], pixels divided by 255.
template <typename T>
void gather_batch(const Dataset& data, std::span<const std::size_t> indices, MatrixView<T> X);

// Y (n[L], m) for the task: one-hot labels (multiclass), [label == positive] (binary), the
// target (regression).
template <typename T>
void gather_targets(const Dataset& data, std::span<const std::size_t> indices,
                    const Architecture& arch, MatrixView<T> Y);

// The class a label stands for: itself for multiclass, [label == positive] for binary.
int target_class(const Architecture& arch, float label);

}  // namespace mlp
