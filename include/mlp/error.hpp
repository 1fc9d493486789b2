/// @file
/// The one exception type mlp throws for bad input: its message is a single line for the user.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

namespace mlp {

/// Thrown for anything the user can fix: a malformed file, a bad option, a shape that does not
/// fit. The message names the file or option and the problem, on one line, e.g.
/// "data/mnist/train-images-idx3-ubyte: wrong magic number". Programming errors are assert()s,
/// and running out of memory is std::bad_alloc.
struct Error : std::runtime_error {
  /// Control characters in the message, which come from the input it quotes (a newline in a
  /// quoted CSV field, in a JSON string), are written as escapes (\n, \t, \x01), so that the
  /// message stays one line whatever the input held.
  explicit Error(const std::string& message) : std::runtime_error(one_line(message)) {}
  explicit Error(const char* message) : Error(std::string(message)) {}

  static std::string one_line(const std::string& text) {
    std::string line;
    line.reserve(text.size());
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '\n') line += "\\n";
      else if (c == '\r') line += "\\r";
      else if (c == '\t') line += "\\t";
      else if (byte < 0x20 || byte == 0x7f) {
        char escaped[5];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
        line += escaped;
      } else {
        line += c;
      }
    }
    return line;
  }
};

}  // namespace mlp
