// Draws the learning curves: axes with round-number ticks, one polyline and marker per epoch.
#include "plot_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace mlp::cli {

namespace {

const char* const series_names[3] = {"train", "validation", "test"};
const char* const series_colours[3] = {"#1f77b4", "#ff7f0e", "#2ca02c"};  // matplotlib's first three

std::string number(double x, int decimals = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, x);
  return buffer;
}

// A round step (1, 2 or 5 times a power of ten) that cuts `range` into about `parts` pieces.
double nice_step(double range, int parts) {
  const double raw = range / parts;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

// An axis: the data range widened to whole steps, mapped onto pixels [from, to].
struct Axis {
  double lo, hi, step;
  double from, to;
  double operator()(double v) const { return from + (v - lo) / (hi - lo) * (to - from); }
  int decimals() const { return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9))); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
      out.push_back(std::abs(t) < step * 1e-6 ? 0.0 : t);  // never "-0.0"
    return out;
  }
};

Axis value_axis(double lo, double hi, double from, double to) {
  if (!(hi > lo)) {  // one value, or all equal: a band around it
    const double pad = lo != 0 ? std::abs(lo) * 0.1 : 1;
    lo -= pad, hi += pad;
  }
  const double step = nice_step(hi - lo, 5);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step, from, to};
}

Axis epoch_axis(int last, double from, double to) {
  const double step = std::max(1.0, nice_step(std::max(last - 1, 1), 8));
  const double pad = std::max(0.5, (last - 1) * 0.03);
  return {1 - pad, last + pad, step, from, to};
}

}  // namespace

void LearningCurves::add(const EpochMetrics& m) {
  Epoch e;
  e.epoch = m.epoch;
  e.loss[0] = m.train_loss;
  e.has[0] = true;
  if (m.train_accuracy) e.accuracy[0] = 100 * *m.train_accuracy;
  const std::optional<Evaluation>* evaluations[2] = {&m.validation, &m.test};
  for (int s = 1; s < 3; ++s)
    if (*evaluations[s - 1]) {
      const Evaluation& evaluation = **evaluations[s - 1];
      e.has[s] = true;
      e.loss[s] = evaluation.loss;
      if (evaluation.accuracy) e.accuracy[s] = 100 * *evaluation.accuracy;
    }
  epochs_.push_back(e);
}

std::string LearningCurves::svg() const {
  // value(e, s): series s of epoch e, if present and finite.
  using Value = std::function<std::optional<double>(const Epoch&, int)>;
  const Value loss = [](const Epoch& e, int s) { return e.has[s] ? std::optional(e.loss[s]) : std::nullopt; };
  const Value accuracy = [](const Epoch& e, int s) { return e.accuracy[s]; };
  bool classification = false, present[3] = {};
  for (const Epoch& e : epochs_)
    for (int s = 0; s < 3; ++s) {
      classification = classification || e.accuracy[s].has_value();
      present[s] = present[s] || e.has[s];
    }

  const int panel_width = 420, panel_height = 300, panels = classification ? 2 : 1;
  const int width = panels * panel_width + 20, height = panel_height + 60;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";

  // The legend, above the panels: one entry per series that has data.
  double legend_x = 70;
  for (int s = 0; s < 3; ++s) {
    if (!present[s]) continue;
    out += "<line x1=\"" + number(legend_x) + "\" y1=\"20\" x2=\"" + number(legend_x + 24) + "\" y2=\"20\" stroke=\"" +
           series_colours[s] + "\" stroke-width=\"2\"/>";
    out += "<circle cx=\"" + number(legend_x + 12) + "\" cy=\"20\" r=\"3\" fill=\"" + series_colours[s] + "\"/>";
    out += "<text x=\"" + number(legend_x + 30) + "\" y=\"24\">" + series_names[s] + "</text>\n";
    legend_x += 40 + 7.5 * std::char_traits<char>::length(series_names[s]);
  }

  const int last = epochs_.empty() ? 1 : epochs_.back().epoch;
  for (int panel = 0; panel < panels; ++panel) {
    const Value& value = panel == 0 ? loss : accuracy;
    const std::string quantity = panel == 0 ? "loss" : "accuracy";
    const double x0 = panel * panel_width + 70, x1 = (panel + 1) * panel_width - 10;
    const double y_top = 50, y_bottom = panel_height;
    double lo = INFINITY, hi = -INFINITY;
    for (const Epoch& e : epochs_)
      for (int s = 0; s < 3; ++s)
        if (auto v = value(e, s); v && std::isfinite(*v)) lo = std::min(lo, *v), hi = std::max(hi, *v);
    if (!(lo <= hi)) lo = 0, hi = 1;  // no data yet
    const Axis x = epoch_axis(last, x0, x1);
    const Axis y = value_axis(lo, hi, y_bottom, y_top);

    out += "<g class=\"panel\" id=\"" + quantity + "\">\n";
    for (double t : y.ticks()) {
      const std::string ty = number(y(t));
      out += "<line x1=\"" + number(x0) + "\" y1=\"" + ty + "\" x2=\"" + number(x1) + "\" y2=\"" + ty +
             "\" stroke=\"#e0e0e0\"/>";
      out += "<text x=\"" + number(x0 - 6) + "\" y=\"" + number(y(t) + 4) + "\" text-anchor=\"end\">" +
             number(t, y.decimals()) + "</text>\n";
    }
    for (double t : x.ticks()) {
      const std::string tx = number(x(t));
      out += "<line x1=\"" + tx + "\" y1=\"" + number(y_bottom) + "\" x2=\"" + tx + "\" y2=\"" + number(y_bottom + 5) +
             "\" stroke=\"black\"/>";
      out += "<text x=\"" + tx + "\" y=\"" + number(y_bottom + 18) + "\" text-anchor=\"middle\">" + number(t, 0) +
             "</text>\n";
    }
    out += "<polyline points=\"" + number(x0) + "," + number(y_top) + " " + number(x0) + "," + number(y_bottom) + " " +
           number(x1) + "," + number(y_bottom) + "\" fill=\"none\" stroke=\"black\"/>\n";
    out += "<text x=\"" + number((x0 + x1) / 2) + "\" y=\"" + number(y_bottom + 36) +
           "\" text-anchor=\"middle\">epoch</text>\n";
    const std::string y_label = panel == 0 ? "loss" : "accuracy (%)";
    out += "<text transform=\"translate(" + number(x0 - 48) + "," + number((y_top + y_bottom) / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">" + y_label + "</text>\n";
    out += "<text x=\"" + number((x0 + x1) / 2) + "\" y=\"" + number(y_top - 8) +
           "\" text-anchor=\"middle\" font-weight=\"bold\">" + y_label + "</text>\n";

    for (int s = 0; s < 3; ++s) {
      const std::string series = std::string(series_names[s]) + "-" + quantity;
      std::string points, markers;
      for (const Epoch& e : epochs_) {
        const auto v = value(e, s);
        if (!v || !std::isfinite(*v)) continue;
        const std::string px = number(x(e.epoch)), py = number(y(*v));
        points += (points.empty() ? "" : " ") + px + "," + py;
        markers += "<circle class=\"" + series + "\" cx=\"" + px + "\" cy=\"" + py + "\" r=\"3\" fill=\"" +
                   series_colours[s] + "\"><title>epoch " + std::to_string(e.epoch) + ": " + number(*v, 4) +
                   "</title></circle>\n";
      }
      if (points.empty()) continue;
      out += "<polyline class=\"" + series + "\" points=\"" + points + "\" fill=\"none\" stroke=\"" + series_colours[s] +
             "\" stroke-width=\"2\"/>\n" + markers;
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace mlp::cli
