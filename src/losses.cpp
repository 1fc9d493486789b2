// Output activations (sigmoid, softmax, identity), their losses from the logits, and A[L] - Y.
#include "mlp/losses.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "mlp/error.hpp"
#include "vectorized.hpp"

namespace mlp {

Task parse_task(std::string_view name, std::string_view option) {
  if (name == "binary") return Task::binary;
  if (name == "multiclass") return Task::multiclass;
  if (name == "regression") return Task::regression;
  throw Error(std::string(option) + ": unknown task '" + std::string(name) +
              "' (expected binary, multiclass or regression)");
}

std::string to_string(Task task) {
  switch (task) {
    case Task::binary: return "binary";
    case Task::multiclass: return "multiclass";
    case Task::regression: return "regression";
  }
  return "?";
}

template <typename T>
void output_forward(Task task, MatrixView<const T> Z, MatrixView<T> A) {
  for (int j = 0; j < Z.cols; ++j) {
    const T* z = Z.col(j);
    T* a = A.col(j);
    switch (task) {
      case Task::binary:
        for (int i = 0; i < Z.rows; ++i) {
          const T e = std::exp(-std::abs(z[i]));  // in (0, 1]: never overflows
          a[i] = z[i] >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
        }
        break;
      case Task::multiclass: {
        const T max = *std::max_element(z, z + Z.rows);
        T sum = 0;
        for (int i = 0; i < Z.rows; ++i) sum += a[i] = std::exp(z[i] - max);
        for (int i = 0; i < Z.rows; ++i) a[i] /= sum;
        break;
      }
      case Task::regression:
        std::copy(z, z + Z.rows, a);
        break;
    }
  }
}

template <typename T>
double loss(Task task, MatrixView<const T> Z, MatrixView<const T> Y) {
  return Z.cols > 0 ? loss_sum<T>(task, Z, Y) / Z.cols : 0.0;
}

template <typename T>
double loss_sum(Task task, MatrixView<const T> Z, MatrixView<const T> Y) {
  double total = 0;
  for (int j = 0; j < Z.cols; ++j) {
    const T* z = Z.col(j);
    const T* y = Y.col(j);
    switch (task) {
      case Task::binary:
        for (int i = 0; i < Z.rows; ++i) {
          const double zi = z[i];
          total += std::max(zi, 0.0) - zi * y[i] + std::log1p(std::exp(-std::abs(zi)));
        }
        break;
      case Task::multiclass: {
        // exp in T, as PyTorch's float log_softmax: each term is in (0, 1], where float's exp
        // is accurate enough and faster than double's.
        const T max = *std::max_element(z, z + Z.rows);
        T sum = 0;
        for (int i = 0; i < Z.rows; ++i) sum += std::exp(z[i] - max);
        const double logsumexp = double(max) + std::log(double(sum));
        for (int i = 0; i < Z.rows; ++i) total += y[i] * (logsumexp - z[i]);
        break;
      }
      case Task::regression:
        for (int i = 0; i < Z.rows; ++i) {
          const double diff = double(z[i]) - y[i];
          total += 0.5 * diff * diff;
        }
        break;
    }
  }
  return total;
}

template <typename T>
void output_error(MatrixView<const T> A, MatrixView<const T> Y, MatrixView<T> dZ) {
  const std::size_t count = A.size();
  vectorized([&](auto) MLP_VECTOR_BODY {
    for (std::size_t i = 0; i < count; ++i) dZ.data[i] = A.data[i] - Y.data[i];
  });
}

template <typename T>
int predicted_class(Task task, const T* a, int units, double threshold) {
  if (task == Task::binary) return double(a[0]) >= threshold ? 1 : 0;
  return static_cast<int>(std::max_element(a, a + units) - a);
}

#define MLP_INSTANTIATE(T)                                                    \
  template void output_forward(Task, MatrixView<const T>, MatrixView<T>);     \
  template double loss(Task, MatrixView<const T>, MatrixView<const T>);       \
  template double loss_sum(Task, MatrixView<const T>, MatrixView<const T>);   \
  template void output_error(MatrixView<const T>, MatrixView<const T>,        \
                             MatrixView<T>);                                  \
  template int predicted_class(Task, const T*, int, double);
MLP_INSTANTIATE(float)
MLP_INSTANTIATE(double)
#undef MLP_INSTANTIATE

}  // namespace mlp
