// "Did you mean ...?": the closest known option or subcommand to a mistyped one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace mlp::cli {

// Levenshtein distance with adjacent transpositions ("trian" is 1 from "train"), ignoring case.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `typed`, or "" when none is near enough to be a likely typo: at most
// a third of the typed name's letters (and at least one) differ.
std::string closest(std::string_view typed, const std::vector<std::string>& candidates);

// The names of the app's subcommands, in the order they were added.
std::vector<std::string> command_names(const CLI::App& app);

// The one-line message for a command-line syntax error. An unknown option is named with the
// closest option of the subcommand being parsed (and of the app), if one is close:
// "unknown option '--epoch' (did you mean '--epochs'?)". An unknown option takes precedence over
// the error CLI11 found first (a missing required option, say).
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error);

}  // namespace mlp::cli
