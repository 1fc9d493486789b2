/// @file
/// Column-major matrices: an owning Matrix and a non-owning MatrixView into it or into a block.
#pragma once

#include <cassert>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace mlp {

/// A view of rows x cols values stored column by column: element (i, j) is data[i + j * rows].
/// A batch X (n[0], m) is such a view, one sample per column, so a sample is contiguous.
/// A view owns nothing; it is valid as long as the memory it points to.
template <typename T>
struct MatrixView {
  T* data = nullptr;
  int rows = 0;
  int cols = 0;

  MatrixView() = default;
  MatrixView(T* data, int rows, int cols) : data(data), rows(rows), cols(cols) {}
  /// A view of non-const values converts to a view of const values, never the other way.
  template <typename U>
  MatrixView(MatrixView<U> other) requires std::is_same_v<const U, T>
      : data(other.data), rows(other.rows), cols(other.cols) {}

  /// Element (i, j); bounds are checked by assert() in debug builds only.
  T& operator()(int i, int j) const {
    assert(i >= 0 && i < rows && j >= 0 && j < cols);
    return data[i + static_cast<std::ptrdiff_t>(j) * rows];
  }
  /// The first element of column j (sample j of a batch); the column's rows follow it.
  T* col(int j) const { return data + static_cast<std::ptrdiff_t>(j) * rows; }
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
  /// The first `n` columns: a batch smaller than the buffer it lives in.
  MatrixView first_cols(int n) const {
    assert(n <= cols);
    return {data, rows, n};
  }
};

/// An owning, zero-initialized matrix with the same layout as MatrixView.
template <typename T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(int rows, int cols)
      : values_(static_cast<std::size_t>(rows) * cols), rows_(rows), cols_(cols) {}

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  T* data() { return values_.data(); }
  const T* data() const { return values_.data(); }
  T& operator()(int i, int j) { return view()(i, j); }
  const T& operator()(int i, int j) const { return view()(i, j); }

  /// A view of the whole matrix, valid until the matrix is destroyed or assigned to.
  MatrixView<T> view() { return {values_.data(), rows_, cols_}; }
  MatrixView<const T> view() const { return {values_.data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }
  operator MatrixView<const T>() const { return view(); }

 private:
  std::vector<T> values_;
  int rows_ = 0;
  int cols_ = 0;
};

}  // namespace mlp
