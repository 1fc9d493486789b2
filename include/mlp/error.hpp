// The one exception type mlp throws for bad input: its message is a single line for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace mlp {

// Thrown for anything the user can fix: a malformed file, a bad option, a shape that does not
// fit. The message names the file or option and the problem, on one line.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mlp
