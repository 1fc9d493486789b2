/// @file
/// A trained model as its users hold it: the network, and the preprocessing that takes raw
/// table rows to its inputs and its classes to names, saved and loaded together.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "mlp/data.hpp"
#include "mlp/matrix.hpp"
#include "mlp/network.hpp"
#include "mlp/preprocessing.hpp"

namespace mlp {

struct Model {
  Network<float> network;
  Preprocessing preprocessing;  ///< identity for pixel models and older files

  /// A model file with its preprocessing metadata (see docs/tabular.md); files without it load
  /// with an identity Preprocessing.
  /// @throws Error naming the file, as load_model() and read_preprocessing()
  static Model load(const std::string& path);
  /// save_model() with the preprocessing in the metadata.
  void save(const std::string& path, const std::map<std::string, std::string>& extra = {}) const;

  /// A CSV file of raw rows read for this model (columns matched by name or position, see
  /// csv_options_for) and turned into network inputs; labels become class indices.
  /// @param labelled the file must hold the labels (to evaluate); else they are read if present
  Dataset read_csv(const std::string& path, const CsvOptions& base, bool labelled) const;
  /// A[L] (n[L], count) for raw samples as read_csv() (the free function) gives them:
  /// preprocessing applied first.
  Matrix<float> predict_raw(const Dataset& raw);
  /// A[L] of one sample given as text fields, one per feature column (what a server receives).
  std::vector<float> predict(std::span<const std::string> fields);
  /// The name of class c (for binary models: c = 1 is the positive class).
  std::string class_name(int c) const;
};

}  // namespace mlp
