// A 5x7 bitmap font for the PNG pictures: libpng draws no text, and the pictures need digits and labels.
#pragma once

#include <array>
#include <cstdint>

namespace mlp::cli {

constexpr int glyph_width = 5;
constexpr int glyph_height = 7;
constexpr int glyph_advance = 6;  // one blank column between characters

// The rows of character c, top first; bit 4 of a row is its leftmost pixel. Lowercase letters are
// drawn as capitals; characters the font lacks are drawn as '?'.
const std::array<std::uint8_t, glyph_height>& glyph(char c);

}  // namespace mlp::cli
