// An RGB canvas for the PNG pictures: filled rectangles, 5x7 text, colour maps, PNG encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlp::cli {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

constexpr Rgb white{255, 255, 255};
constexpr Rgb black{0, 0, 0};

// Diverging, for weights: t in [-1, 1] runs blue (negative), white (0), red (positive): the five
// colours of ColorBrewer's RdBu, interpolated linearly.
Rgb diverging(double t);
// Sequential, for shares: t in [0, 1] runs white to dark blue (ColorBrewer's Blues).
Rgb sequential(double t);
// Black or white, whichever reads better on `background`.
Rgb text_colour(Rgb background);

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = white);

  int width() const { return width_; }
  int height() const { return height_; }
  // Clipped to the canvas.
  void fill(int x, int y, int w, int h, Rgb colour);
  // Text in the 5x7 font, each font pixel drawn as scale x scale; (x, y) is the top-left corner.
  void text(int x, int y, std::string_view s, int scale, Rgb colour);
  // Text turned a quarter anticlockwise (read bottom to top); (x, y) is the top-left corner.
  void text_vertical(int x, int y, std::string_view s, int scale, Rgb colour);
  static int text_width(std::string_view s, int scale);
  static int text_height(int scale);

  // The picture as a PNG file's bytes (8-bit RGB), ready for write_file_atomically.
  std::string png() const;

 private:
  int width_, height_;
  std::vector<std::uint8_t> rgb_;  // row by row, 3 bytes a pixel
};

}  // namespace mlp::cli
