/// @file
/// Splitting CSV text into records and fields as spreadsheets and pandas write them.
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mlp {

/// Reads records one by one from CSV text (RFC 4180 and what it leaves open): fields separated
/// by `separator` (',' ';' '\t', or ' ' for runs of spaces and tabs), double-quoted fields that
/// may hold separators, line ends and doubled quotes (""), LF or CRLF line ends, a leading UTF-8
/// byte order mark, blank lines skipped. Unquoted fields lose their surrounding spaces.
class CsvRecords {
 public:
  /// @param path names the file in errors; `text` must outlive this object
  CsvRecords(std::string_view text, std::string path, char separator);

  /// Moves to the next record; false at the end of the text.
  /// @throws Error naming the file and line of a quote that is never closed, or text after one
  bool next();
  /// The fields of the current record, valid until the next call of next().
  std::span<const std::string_view> fields() const { return fields_; }
  /// The (1-based) line the current record starts on.
  std::size_t line() const { return record_line_; }
  /// Whether field i of the current record was quoted (a quoted empty field is not missing).
  bool quoted(std::size_t i) const { return quoted_[i]; }

 private:
  std::string_view text_;
  std::string path_;
  char separator_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;         // the line at pos_
  std::size_t record_line_ = 0;
  std::vector<std::string_view> fields_;
  std::vector<bool> quoted_;
  std::deque<std::string> unescaped_;  // fields that held "": deque elements never move
};

/// The text without a leading UTF-8 byte order mark.
std::string_view strip_bom(std::string_view text);

/// The separator of CSV text, from its first non-blank line outside quotes: the most frequent of
/// ',' ';' '\t'; without any, ' ' if spaces separate values, else ','.
char detect_separator(std::string_view text);

/// How a separator is named in messages: "','", "tab", "spaces".
std::string separator_name(char separator);

}  // namespace mlp
