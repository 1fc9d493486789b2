// Edit distances over option and subcommand names, for the hints of the parse error messages.
#include "suggest.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>

namespace mlp::cli {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto same = [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); };
  // d[i][j]: distance between the first i letters of a and the first j of b; three rows suffice.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1]))
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string closest(std::string_view typed, const std::vector<std::string>& candidates) {
  const auto letters = [](std::string_view s) { return s.substr(std::min(s.find_first_not_of('-'), s.size())); };
  const std::size_t limit = std::max<std::size_t>(1, letters(typed).size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t d = edit_distance(letters(typed), letters(candidate));
    if (d < best_distance) best = candidate, best_distance = d;
  }
  return best;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(command->get_name());
  return names;
}

namespace {

// "--epochs", "-q", ... of one app, without its subcommands'.
void add_option_names(const CLI::App& app, std::vector<std::string>& names) {
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
}

}  // namespace

std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error) {
  std::vector<std::string> names;
  std::string help = "mlp --help";
  for (const CLI::App* command : app.get_subcommands()) {  // the ones parsed: at most one here
    add_option_names(*command, names);
    help = "mlp " + command->get_name() + " --help";
  }
  add_option_names(app, names);

  // The arguments nobody took, wherever they fell (options fall through to the app). A mistyped
  // option is named even when CLI11 complains of something else first: `--modle m` is more
  // likely the cause of "--model is required" than a forgotten --model.
  const std::vector<std::string> extras = app.remaining(true);
  const auto unknown = std::find_if(extras.begin(), extras.end(), [](const std::string& a) { return a.size() > 1 && a[0] == '-'; });
  if (unknown == extras.end()) return std::string(error.what()) + " (see " + help + ")";
  const std::string typed = unknown->substr(0, unknown->find('='));  // --epoch=5
  const std::string suggestion = closest(typed, names);
  return "unknown option '" + typed + "' (" + (suggestion.empty() ? "see " + help : "did you mean '" + suggestion + "'?") + ")";
}

}  // namespace mlp::cli
