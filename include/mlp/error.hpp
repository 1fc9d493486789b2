/// @file
/// The one exception type mlp throws for bad input: its message is a single line for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace mlp {

/// Thrown for anything the user can fix: a malformed file, a bad option, a shape that does not
/// fit. The message names the file or option and the problem, on one line, e.g.
/// "data/mnist/train-images-idx3-ubyte: wrong magic number". Programming errors are assert()s,
/// and running out of memory is std::bad_alloc.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mlp
