/// @file
/// Datasets: IDX (MNIST, Fashion-MNIST) and CSV readers, validation splits, and batch assembly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mlp/matrix.hpp"
#include "mlp/network.hpp"

namespace mlp {

/// Samples held compactly: images as 8-bit pixels (scaled to [0,1] only when a batch is formed),
/// other data as floats. Sample s occupies features consecutive values, from s * features.
struct Dataset {
  std::string feature_source;          ///< the file the features came from, for error messages
  std::string label_source;            ///< the file the labels came from, likewise
  int features = 0;                    ///< n[0]
  std::size_t count = 0;               ///< number of samples
  bool pixel_input = true;             ///< features are in `pixels`, else in `values`
  std::vector<std::uint8_t> pixels;    ///< count * features, when pixel_input
  std::vector<float> values;           ///< count * features, otherwise
  std::vector<float> labels;           ///< count: a class index or a regression target; empty if unlabelled
};

/// The two datasets of an MNIST-like folder.
struct TrainTest {
  Dataset train;
  Dataset test;
};

/// IDX images (magic 0x00000803, or any unsigned-byte IDX with 2+ dimensions) and optionally
/// their labels (0x00000801), each gzip or not. Every header field is checked against the file's
/// real size before anything is allocated for it.
/// @param labels_path empty for unlabelled images
/// @throws Error naming the file: unreadable, wrong magic, truncated, or counts that differ
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

/// How to read a CSV file. The common MNIST form is the default: the label first, then pixel
/// values 0..255.
struct CsvOptions {
  std::string label_column;  ///< the label's header name or 0-based index; empty: the first column
  bool labelled = true;      ///< false: there is no label column
  bool pixels = true;        ///< features are pixels 0..255; false: floats, taken as they are
};
/// A CSV file as a Dataset. An optional header line (recognized by a non-numeric field) is
/// skipped. @throws Error naming the file, and the line, of any malformed field
Dataset read_csv(const std::string& path, const CsvOptions& options);
/// The number of fields on the first line of a CSV file.
int csv_columns(const std::string& path);

/// The train and t10k files of an MNIST-like folder: `train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each also
/// accepted with ".gz".
TrainTest read_idx_folder(const std::string& folder);

/// Moves the last `fraction` of `data` (0 < fraction < 1) into a new dataset, for validation.
/// @return the held-out samples; `data` keeps the others
Dataset split_off(Dataset& data, double fraction);
/// The bytes a dataset's samples and labels take in memory (for --max-memory).
std::size_t dataset_bytes(const Dataset& data);

/// @throws Error naming the file unless the data fits the network: n[0] features, and labels
///         that are classes of the task (0..k-1 for multiclass) or finite targets (regression,
///         n[L] = 1)
void check_fits(const Dataset& data, const Architecture& arch);

/// X (n[0], m): column j is sample indices[j], pixels divided by 255; m = indices.size().
template <typename T>
void gather_batch(const Dataset& data, std::span<const std::size_t> indices, MatrixView<T> X);

/// Y (n[L], m) for the task: one-hot labels (multiclass), [label == positive] (binary), the
/// target (regression).
template <typename T>
void gather_targets(const Dataset& data, std::span<const std::size_t> indices,
                    const Architecture& arch, MatrixView<T> Y);

/// The class a label stands for: itself for multiclass, [label == positive] for binary.
int target_class(const Architecture& arch, float label);

}  // namespace mlp
