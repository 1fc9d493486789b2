/// @file
/// What turns a table's raw columns into network inputs (imputation, scaling, one-hot
/// categories) and class indices into names: fitted on the training rows only, stored in the
/// model file, applied wherever the model is used.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mlp/data.hpp"

namespace mlp {

/// How numeric features are scaled: standard (x - mean) / std, minmax (x - min) / (max - min).
enum class Scaling { none, standard, minmax };
/// What a missing value becomes: the column's mean or median (a category column: its most
/// frequent category); none: a missing value is an error.
enum class Imputation { none, mean, median };

/// @throws Error naming `option` for any other name
Scaling parse_scaling(std::string_view name, std::string_view option = "--scale");
Imputation parse_imputation(std::string_view name, std::string_view option = "--impute");
std::string to_string(Scaling scaling);
std::string to_string(Imputation imputation);

/// One raw column of the training file and what it becomes.
struct FeatureColumn {
  std::string name;                    ///< the header name, or "column N"
  int index = 0;                       ///< its position in the training file
  /// Not empty: a categorical column, one input per category (one-hot), in this order.
  std::vector<std::string> categories;
  /// What a missing value becomes (a category: its index); NaN: a missing value is an error.
  float fill = std::numeric_limits<float>::quiet_NaN();
  /// A number becomes the input (value - center) / scale, in float arithmetic.
  float center = 0, scale = 1;
};

/// The whole transformation of one model. Empty `columns`: inputs are taken as they are (pixel
/// models, and models from before scaling was stored).
struct Preprocessing {
  Scaling scaling = Scaling::none;
  Imputation imputation = Imputation::none;
  std::vector<FeatureColumn> columns;       ///< the raw feature columns, in the order of the samples
  bool named_columns = false;               ///< the names come from a header
  std::vector<std::string> label_columns;   ///< the label columns' names as trained
  std::vector<int> label_index;             ///< and their positions in the training file
  int file_columns = 0;                     ///< the columns of the training file
  std::vector<std::string> classes;         ///< the name of class c; empty: c itself

  bool identity() const { return columns.empty(); }
  /// The network inputs it gives: one per numeric column, one per category.
  int inputs() const;
  /// One sample: `raw` holds one value per column (a categorical column: the index of its
  /// category in columns[c].categories; NaN: missing) and `x` receives inputs() values.
  /// @throws Error naming `where` and the column of a missing value without a fill
  void transform(std::span<const float> raw, std::span<float> x, const std::string& where = "sample") const;
  /// One sample given as text, one field per column (as a CSV row or a request would hold it):
  /// numbers parsed, categories looked up, missing values filled, then transform().
  /// @throws Error naming `where` and the column of a field that is not a number, an unseen
  ///         category, or a missing value without a fill
  std::vector<float> encode(std::span<const std::string> fields, const std::string& where = "sample") const;
  /// The name of class c: classes[c], or c as a number.
  std::string class_name(int c) const;
  /// The class named `name` (with no names: the class `name` is the number of); none if unknown.
  std::optional<int> class_index(std::string_view name) const;
};

/// The classes of a labelled training set: its label texts (sorted) when it has them; none when
/// its labels are exactly 0..k-1 (they are class indices already); else its distinct numbers,
/// in increasing order, as names ("-1", "1"; "3", "7").
std::vector<std::string> choose_classes(const Dataset& data);
/// Rewrites the labels of `data` as indices into `classes` (empty: they stay as they are).
/// @throws Error naming the file and line of a label that is not one of the classes
void assign_classes(Dataset& data, const std::vector<std::string>& classes);

/// Fits on raw training samples (as read_csv gives them): each numeric column's fill and
/// scale, each categorical column's categories (sorted). A constant column is scaled by 1.
/// Pixel data gets an identity Preprocessing.
/// @throws Error naming a column with no value at all to fit on
Preprocessing fit_preprocessing(const Dataset& train, Scaling scaling, Imputation imputation);
/// Turns raw samples (as read_csv gives them) into network inputs, in place.
/// @throws Error naming the file, line and column of an unseen category or an unfilled
///         missing value, or a file whose columns do not match
void apply_preprocessing(const Preprocessing& preprocessing, Dataset& data);

/// How to read a CSV file for a model trained on CSV: its feature columns by name (when both
/// have a header) or position, its categorical columns, missing values allowed where filled.
/// `base` gives the separator and header options. Labels are read when the file has the label
/// columns (`labelled`: must have them).
CsvOptions csv_options_for(const Preprocessing& preprocessing, const std::string& path, CsvOptions base,
                           bool labelled);

/// The model file's metadata entries: "preprocessing" (JSON, see docs/tabular.md) when not
/// identity, "classes" (a JSON array of names) when there are names.
void write_preprocessing(const Preprocessing& preprocessing, std::map<std::string, std::string>& metadata);
/// Reads them back; absent entries give an identity Preprocessing (older files).
/// @param inputs the network's n[0], which the columns must give
/// @param classes the network's classes, which "classes" must name; -1: any number (binary)
/// @throws Error naming `path` of malformed entries
Preprocessing read_preprocessing(const std::map<std::string, std::string>& metadata, const std::string& path,
                                 int inputs, int classes);

}  // namespace mlp
