// How much memory a training run takes, counted from the architecture before anything is allocated.
#include <algorithm>
#include <cstdio>
#include <string>

#include "mlp/error.hpp"
#include "mlp/training.hpp"

namespace mlp {

TrainingMemory training_memory(const Architecture& arch, int batch_size, std::size_t data_bytes, bool dropout) {
  TrainingMemory memory;
  memory.parameters = memory.gradients = 4 * arch.parameter_count();
  memory.optimizer = 2 * memory.parameters;
  // For each column of a batch: Z[l] and A[l] for l = 1..L (forward keeps them for backward),
  // with dropout also G[l] and D[l] of the hidden layers, backward's dZ and dA (the widest
  // layer's height), and the batch X (n[0]) and Y (n[L]). The network keeps them sized for the
  // largest batch it has seen, and evaluation runs 1024 columns at a time.
  std::size_t units = 0, hidden = 0, widest = 0;
  for (int l = 1; l <= arch.depth(); ++l) {
    units += arch.sizes[l];
    if (l < arch.depth()) hidden += arch.sizes[l];
    widest = std::max<std::size_t>(widest, arch.sizes[l]);
  }
  const std::size_t per_column = 2 * units + (dropout ? 2 * hidden : 0) + 2 * widest + arch.sizes[0] + arch.outputs();
  memory.activations = 4 * per_column * std::size_t(std::max(batch_size, 1024));
  memory.data = data_bytes;
  return memory;
}

void check_training_memory(const Architecture& arch, int batch_size, std::size_t data_bytes, bool dropout,
                           std::size_t limit_bytes) {
  const TrainingMemory memory = training_memory(arch, batch_size, data_bytes, dropout);
  if (memory.total() <= limit_bytes) return;
  auto size = [](std::size_t bytes) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) value /= 1024, ++unit;
    char text[32];
    std::snprintf(text, sizeof text, value < 10 && unit > 0 ? "%.1f %s" : "%.0f %s", value, units[unit]);
    return std::string(text);
  };
  throw Error("--max-memory: " + arch.layers_string() + " with batch " + std::to_string(batch_size) + " needs " +
              size(memory.total()) + " (parameters " + size(memory.parameters) + ", gradients " +
              size(memory.gradients) + ", optimizer state " + size(memory.optimizer) + ", activations " +
              size(memory.activations) + ", data " + size(memory.data) + ") > " + size(limit_bytes));
}

}  // namespace mlp
