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

/// Everything a Dataset holds besides its samples: where they came from, their shape, and what a
/// CSV file said about its columns. One struct, so that subset() carries every field along.
struct DatasetHeader {
  std::string feature_source;          ///< the file the features came from, for error messages
  std::string label_source;            ///< the file the labels came from, likewise
  int features = 0;                    ///< n[0]
  bool pixel_input = true;             ///< features are in `pixels`, else in `values`
  int targets = 1;                     ///< label values per sample (regression with several targets)

  // What a CSV file said about its columns, for preprocessing (preprocessing.hpp) and messages.
  std::vector<std::string> columns;    ///< the feature columns' names (header or "column N")
  std::vector<std::string> label_columns;  ///< the label columns' names
  bool named_columns = false;          ///< the names come from a header
  std::vector<int> column_index;       ///< each feature column's index in the file
  std::vector<int> label_index;        ///< each label column's index in the file
  int file_columns = 0;                ///< the columns of the file
  /// Per feature column: empty for numbers; for a categorical column, the texts whose index
  /// `values` holds (NaN: missing).
  std::vector<std::vector<std::string>> categories;
  /// The names of the classes the labels index; empty: labels are the numbers as read.
  std::vector<std::string> classes;
};

/// Samples held compactly: images as 8-bit pixels (scaled to [0,1] only when a batch is formed),
/// other data as floats. Sample s occupies features consecutive values, from s * features.
struct Dataset : DatasetHeader {
  std::size_t count = 0;               ///< number of samples
  std::vector<std::uint8_t> pixels;    ///< count * features, when pixel_input
  std::vector<float> values;           ///< count * features, otherwise
  /// count * targets: a class index or regression targets, sample by sample; empty if unlabelled
  std::vector<float> labels;
  std::vector<std::size_t> lines;      ///< CSV: the line of the file each sample starts on
  /// The line of sample s for messages: "wine.csv:12" (or "wine.csv, sample 12" without lines).
  std::string where(std::size_t s) const;
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

/// Whether a CSV file starts with a line of column names.
enum class CsvHeader { detect, present, absent };

/// How to read a CSV file. The common MNIST form is the default: the label first, then pixel
/// values 0..255.
struct CsvOptions {
  /// The label's header name or 0-based index (negative: from the end, -1 the last column);
  /// several, comma-separated, for regression with several targets. Empty: the first column.
  /// "#4" is always an index. Otherwise a text that names one column and indexes another is
  /// refused as ambiguous.
  std::string label_column;
  bool labelled = true;      ///< false: there is no label column
  bool pixels = true;        ///< features are pixels 0..255; false: floats (or categories)
  /// detect: the first line is a header when it holds a text where the second line holds a
  /// number, or when it is exactly 0,1,...,n-1 (pandas' names for unnamed columns), n >= 4.
  /// A detected first line with another number of fields than the second is a preamble: passed
  /// over, the columns unnamed (scikit-learn's "178,13,class_0,class_1,class_2").
  CsvHeader header = CsvHeader::detect;
  char separator = 0;        ///< ',' ';' '\t' or ' ' (runs of spaces); 0: detect_separator()
  /// Missing values (empty, NA, N/A, NaN, null, None, ?) are read as NaN, for imputation; else
  /// each one is an error naming the file, line and column.
  bool allow_missing = false;
  /// Feature columns (names or indices) whose values are categories (texts), not numbers.
  std::vector<std::string> categorical;
  /// When not empty: the feature columns (names or indices), in this order; the file's other
  /// columns that are not labels are passed over. Empty: every column but the labels.
  std::vector<std::string> features;
};
/// A CSV file as a Dataset. Label texts become classes (sorted names, see Dataset::classes);
/// numeric labels stay numbers. @throws Error naming the file, and the line and column, of any
/// malformed field
Dataset read_csv(const std::string& path, const CsvOptions& options);
/// The number of fields on the first line of a CSV file.
int csv_columns(const std::string& path, char separator = 0);
/// The fields of the header of a CSV file, or none when it has none (detected as read_csv does).
std::vector<std::string> csv_header(const std::string& path, const CsvOptions& options);
/// Whether a field stands for a missing value: empty, NA, N/A, NaN, null, None, ? and the like.
bool is_missing(std::string_view field);

/// The train and t10k files of an MNIST-like folder: `train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each also
/// accepted with ".gz".
TrainTest read_idx_folder(const std::string& folder);

/// Moves `fraction` of `data` (0 < fraction < 1) into a new dataset, for validation or test:
/// the samples are drawn after a shuffle seeded by `seed`; with `stratify`, the same share of
/// every class is drawn (so a file sorted by class still gives every class to both sides). Both
/// keep the file order of their samples.
/// @param option names the option in errors: "--val-split", "--test-split"
/// @return the held-out samples; `data` keeps the others
Dataset split_off(Dataset& data, double fraction, std::uint64_t seed = 1, bool stratify = false,
                  const std::string& option = "--val-split");
/// The samples `indices` of `data`, with its column and class descriptions.
Dataset subset(const Dataset& data, std::span<const std::size_t> indices);
/// The bytes a dataset's samples and labels take in memory (for --max-memory).
std::size_t dataset_bytes(const Dataset& data);

/// @throws Error naming the file unless the data fits the network: n[0] features, and labels
///         that are classes of the task (0..k-1 for multiclass) or finite targets (regression,
///         n[L] = targets)
void check_fits(const Dataset& data, const Architecture& arch);

/// X (n[0], m): column j is sample indices[j], pixels divided by 255; m = indices.size().
template <typename T>
void gather_batch(const Dataset& data, std::span<const std::size_t> indices, MatrixView<T> X);

/// Y (n[L], m) for the task: one-hot labels (multiclass), [label == positive] (binary), the
/// targets (regression).
template <typename T>
void gather_targets(const Dataset& data, std::span<const std::size_t> indices,
                    const Architecture& arch, MatrixView<T> Y);

/// The class a label stands for: itself for multiclass, [label == positive] for binary.
int target_class(const Architecture& arch, float label);

}  // namespace mlp
