// Draws the confusion heat map, the weight tiles and input images on a Canvas.
#include "pictures.hpp"

#include <algorithm>
#include <cmath>

namespace mlp::cli {

Canvas confusion_picture(const std::vector<std::vector<std::size_t>>& confusion,
                         const std::vector<std::string>& class_names, const std::string& title) {
  const int k = static_cast<int>(confusion.size());
  std::size_t largest = 0;
  for (const auto& row : confusion)
    for (std::size_t n : row) largest = std::max(largest, n);
  // Cells wide enough for the largest count at font scale 2, or 1 when there are many classes.
  const int font = k <= 20 ? 2 : 1;
  const int digits = static_cast<int>(std::to_string(largest).size());
  std::size_t longest_name = 1;
  for (const auto& name : class_names) longest_name = std::max(longest_name, name.size());
  const int label_width = Canvas::text_width(std::string(longest_name, 'W'), 2);
  const int cell = std::max({Canvas::text_width(std::string(std::max(digits, 2), '0'), font) + 12, label_width + 8, 24});
  const int grid = k * cell;
  const int left = 16 + Canvas::text_height(2) + 10 + label_width + 8;  // axis title, class names
  const int top = 16 + Canvas::text_height(2) + 12 + Canvas::text_height(2) + 6 + Canvas::text_height(2) + 8;
  const int bar = 16;                                                  // colour bar width
  const int width = std::max(left + grid + 24 + bar + 8 + Canvas::text_width("100%", 2) + 16,
                             16 + Canvas::text_width(title, 2) + 16);
  const int height = top + grid + 16 + Canvas::text_height(2) / 2;  // room for the 0% label
  Canvas canvas(width, height);
  const Rgb grey{90, 90, 90};

  canvas.text(16, 16, title, 2, black);
  const int predicted_y = 16 + Canvas::text_height(2) + 12;
  canvas.text(left + (grid - Canvas::text_width("predicted", 2)) / 2, predicted_y, "predicted", 2, grey);
  canvas.text_vertical(16, top + (grid - Canvas::text_width("true", 2)) / 2, "true", 2, grey);
  for (int c = 0; c < k; ++c) {
    const std::string& name = class_names[c];
    const int name_y = predicted_y + Canvas::text_height(2) + 6;
    canvas.text(left + c * cell + (cell - Canvas::text_width(name, 2)) / 2, name_y, name, 2, black);
    canvas.text(left - 8 - Canvas::text_width(name, 2), top + c * cell + (cell - Canvas::text_height(2)) / 2, name, 2, black);
  }
  for (int t = 0; t < k; ++t) {
    std::size_t row_total = 0;
    for (std::size_t n : confusion[t]) row_total += n;
    for (int p = 0; p < k; ++p) {
      const std::size_t n = confusion[t][p];
      const Rgb colour = sequential(row_total ? std::sqrt(double(n) / row_total) : 0);
      canvas.fill(left + p * cell, top + t * cell, cell, cell, colour);
      const std::string count = std::to_string(n);
      canvas.text(left + p * cell + (cell - Canvas::text_width(count, font)) / 2,
                  top + t * cell + (cell - Canvas::text_height(font)) / 2, count, font, text_colour(colour));
    }
  }
  // The diagonal, the right answers, framed.
  for (int c = 0; c < k; ++c) {
    const int x = left + c * cell, y = top + c * cell;
    canvas.fill(x, y, cell, 1, black), canvas.fill(x, y + cell - 1, cell, 1, black);
    canvas.fill(x, y, 1, cell, black), canvas.fill(x + cell - 1, y, 1, cell, black);
  }
  // The colour bar: share of the row, 100% at the top, on the same square-root scale.
  const int bar_x = left + grid + 24;
  canvas.fill(bar_x - 1, top - 1, bar + 2, grid + 2, grey);  // a frame: the bar's bottom is white
  for (int y = 0; y < grid; ++y) canvas.fill(bar_x, top + y, bar, 1, sequential(1 - double(y) / (grid - 1)));
  std::vector<int> labelled;  // the ticks drawn so far: a short bar has room for fewer labels
  for (int percent : {0, 100, 25, 5, 1}) {
    const int y = top + (grid - 1) - static_cast<int>(std::lround((grid - 1) * std::sqrt(percent / 100.0)));
    if (std::any_of(labelled.begin(), labelled.end(), [y](int other) { return std::abs(y - other) < Canvas::text_height(2) + 4; }))
      continue;
    labelled.push_back(y);
    const std::string label = std::to_string(percent) + "%";
    canvas.fill(bar_x + bar, y, 5, 1, black);
    canvas.text(bar_x + bar + 8, y - Canvas::text_height(2) / 2, label, 2, black);
  }
  return canvas;
}

Canvas weights_picture(const Network<float>& net, int scale) {
  const int inputs = net.units(0), units = net.units(1);
  const int side = static_cast<int>(std::lround(std::sqrt(double(inputs))));
  const bool square = side * side == inputs;
  const int tile_w = (square ? side : inputs) * scale, tile_h = (square ? side : 1) * scale;
  const int gap = std::max(2, scale);
  const int columns = square ? static_cast<int>(std::ceil(std::sqrt(double(units)))) : 1;
  const int rows = (units + columns - 1) / columns;
  Canvas canvas(gap + columns * (tile_w + gap), gap + rows * (tile_h + gap), Rgb{40, 40, 40});
  const MatrixView<const float> W = net.W(1);  // (n[1], n[0]): row j holds unit j's weights
  for (int j = 0; j < units; ++j) {
    float largest = 0;
    for (int i = 0; i < inputs; ++i) largest = std::max(largest, std::abs(W(j, i)));
    const int x0 = gap + (j % columns) * (tile_w + gap), y0 = gap + (j / columns) * (tile_h + gap);
    for (int i = 0; i < inputs; ++i) {
      // MNIST pixels are stored row by row, so input i is at (i % side, i / side) of the image.
      const int x = square ? i % side : i, y = square ? i / side : 0;
      canvas.fill(x0 + x * scale, y0 + y * scale, scale, scale, diverging(largest > 0 ? W(j, i) / largest : 0));
    }
  }
  return canvas;
}

Canvas image_picture(const std::uint8_t* pixels, int side, int scale) {
  Canvas canvas(side * scale, side * scale);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const std::uint8_t v = pixels[y * side + x];
      canvas.fill(x * scale, y * scale, scale, scale, Rgb{v, v, v});
    }
  return canvas;
}

}  // namespace mlp::cli
