// One sample's prediction as JSON, the same for `mlp predict --json` and `mlp serve`.
#include "prediction_json.hpp"

#include <vector>

#include <mlp/losses.hpp>

namespace mlp::cli {

nlohmann::json prediction_json(const Architecture& arch, const float* a, double threshold) {
  const int units = arch.outputs();
  nlohmann::json item = nlohmann::json::object();
  if (arch.task == Task::regression) {
    item["output"] = std::vector<float>(a, a + units);
    return item;
  }
  item["class"] = predicted_class(arch.task, a, units, threshold);
  if (arch.task == Task::binary) item["probability"] = a[0];
  else item["probabilities"] = std::vector<float>(a, a + units);
  return item;
}

}  // namespace mlp::cli
