// The canvas's drawing, its colour maps, and PNG encoding through libpng's simplified API.
#include "png.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>

#include <mlp/error.hpp>

#include "font.hpp"

namespace mlp::cli {

namespace {

Rgb mix(Rgb a, Rgb b, double t) {
  auto channel = [t](int x, int y) { return static_cast<std::uint8_t>(std::lround(x + (y - x) * t)); };
  return {channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b)};
}

// Piecewise-linear through evenly spaced stops, t in [0, 1].
template <std::size_t N>
Rgb ramp(const Rgb (&stops)[N], double t) {
  if (!(t > 0)) return stops[0];  // NaN too
  if (t >= 1) return stops[N - 1];
  const double x = t * (N - 1);
  const std::size_t i = static_cast<std::size_t>(x);
  return mix(stops[i], stops[i + 1], x - i);
}

}  // namespace

Rgb diverging(double t) {
  static constexpr Rgb rdbu[] = {{33, 102, 172}, {103, 169, 207}, {247, 247, 247}, {239, 138, 98}, {178, 24, 43}};
  return ramp(rdbu, (t + 1) / 2);
}

Rgb sequential(double t) {
  static constexpr Rgb blues[] = {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
  return ramp(blues, t);
}

Rgb text_colour(Rgb background) {
  const double luma = 0.299 * background.r + 0.587 * background.g + 0.114 * background.b;
  return luma < 140 ? white : black;
}

Canvas::Canvas(int width, int height, Rgb background)
    : width_(width), height_(height), rgb_(static_cast<std::size_t>(width) * height * 3) {
  fill(0, 0, width, height, background);
}

void Canvas::fill(int x, int y, int w, int h, Rgb colour) {
  const int x0 = std::max(x, 0), x1 = std::min(x + w, width_);
  const int y0 = std::max(y, 0), y1 = std::min(y + h, height_);
  for (int row = y0; row < y1; ++row)
    for (int col = x0; col < x1; ++col) {
      std::uint8_t* p = &rgb_[(static_cast<std::size_t>(row) * width_ + col) * 3];
      p[0] = colour.r, p[1] = colour.g, p[2] = colour.b;
    }
}

void Canvas::text(int x, int y, std::string_view s, int scale, Rgb colour) {
  for (char c : s) {
    const auto& rows = glyph(c);
    for (int r = 0; r < glyph_height; ++r)
      for (int col = 0; col < glyph_width; ++col)
        if (rows[r] >> (glyph_width - 1 - col) & 1) fill(x + col * scale, y + r * scale, scale, scale, colour);
    x += glyph_advance * scale;
  }
}

void Canvas::text_vertical(int x, int y, std::string_view s, int scale, Rgb colour) {
  // The first character at the bottom; a glyph's top row lies on the left.
  int bottom = y + text_width(s, scale);
  for (char c : s) {
    const auto& rows = glyph(c);
    for (int r = 0; r < glyph_height; ++r)
      for (int col = 0; col < glyph_width; ++col)
        if (rows[r] >> (glyph_width - 1 - col) & 1) fill(x + r * scale, bottom - (col + 1) * scale, scale, scale, colour);
    bottom -= glyph_advance * scale;
  }
}

int Canvas::text_width(std::string_view s, int scale) {
  return s.empty() ? 0 : (static_cast<int>(s.size()) * glyph_advance - 1) * scale;
}

int Canvas::text_height(int scale) { return glyph_height * scale; }

std::string Canvas::png() const {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width_);
  image.height = static_cast<png_uint_32>(height_);
  image.format = PNG_FORMAT_RGB;
  // First the size, then the bytes: libpng's way of writing to memory without callbacks.
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, rgb_.data(), 0, nullptr))
    throw Error(std::string("PNG encoding failed: ") + image.message);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, rgb_.data(), 0, nullptr))
    throw Error(std::string("PNG encoding failed: ") + image.message);
  bytes.resize(size);
  return bytes;
}

}  // namespace mlp::cli
