// The JSON `mlp serve` shares with `mlp predict --json` (one prediction) and `mlp show --json` (the summary).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include <mlp/network.hpp>

namespace mlp::cli {

// A[L] of one sample (`a`, n[L] values) as {"class", "probabilities"} (multiclass), {"class",
// "probability"} (binary: class 1 from `threshold` up) or {"output"} (regression).
nlohmann::json prediction_json(const Architecture& arch, const float* a, double threshold);

// The `mlp show --json` summary of a loaded model (show.cpp).
nlohmann::json summary_json(const std::string& path, const Network<float>& net,
                            const std::map<std::string, std::string>& metadata, bool verbose);

}  // namespace mlp::cli
