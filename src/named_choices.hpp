// The name tables and range checks that optimizers.cpp and schedules.cpp share; not installed.
#pragma once

#include <cmath>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mlp/error.hpp"

namespace mlp::detail {

/// One entry of a kind's name table: the names the command line and checkpoints use.
template <typename Kind>
struct KindName {
  Kind kind;
  std::string_view name;
};

/// The kind called `name`; else throws Error("OPTION: unknown WHAT 'NAME' (choose a, b, c)").
template <typename Kind, std::size_t N>
Kind parse_kind(const KindName<Kind> (&table)[N], std::string_view name, std::string_view option,
                std::string_view what) {
  for (const KindName<Kind>& k : table)
    if (k.name == name) return k.kind;
  std::string choices;
  for (const KindName<Kind>& k : table) choices += (choices.empty() ? "" : ", ") + std::string(k.name);
  throw Error(std::string(option) + ": unknown " + std::string(what) + " '" + std::string(name) + "' (choose " +
              choices + ")");
}

/// The name of `kind`; std::invalid_argument for a value outside the table (a programming error).
template <typename Kind, std::size_t N>
std::string kind_name(const KindName<Kind> (&table)[N], Kind kind, std::string_view type) {
  for (const KindName<Kind>& k : table)
    if (k.kind == kind) return std::string(k.name);
  throw std::invalid_argument("to_string: not a valid " + std::string(type));
}

/// Every name of the table, in its order.
template <typename Kind, std::size_t N>
std::vector<std::string> kind_names(const KindName<Kind> (&table)[N]) {
  std::vector<std::string> names;
  for (const KindName<Kind>& k : table) names.emplace_back(k.name);
  return names;
}

/// Throws Error("OPTION: must be RANGE, got VALUE") unless `ok` (and the value is finite).
inline void require(bool ok, double value, std::string_view option, std::string_view range) {
  if (ok && std::isfinite(value)) return;
  std::ostringstream message;
  message << option << ": must be " << range << ", got " << value;
  throw Error(message.str());
}

}  // namespace mlp::detail
