// The CSV tokenizer: quotes, CRLF, byte order marks and the usual separators.
#include "mlp/csv.hpp"

#include <array>

#include "mlp/error.hpp"

namespace mlp {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string_view strip_bom(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

char detect_separator(std::string_view text) {
  text = strip_bom(text);
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {  // blank: look further
      start = end + 1;
      continue;
    }
    std::array<std::size_t, 3> counts{};  // ',' ';' '\t'
    bool quoted = false, spaced = false;
    char previous = 0;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (!quoted && c == ',') ++counts[0];
      else if (!quoted && c == ';') ++counts[1];
      else if (!quoted && c == '\t') ++counts[2];
      else if (!quoted && c != ' ' && c != '\r' && previous == ' ') spaced = true;
      if (c != '\r') previous = c;
    }
    if (counts[0] == 0 && counts[1] == 0 && counts[2] == 0) {
      // A space between values (not only before the first) separates them.
      const std::size_t first = line.find_first_not_of(' ');
      spaced = spaced && line.find(' ', first) != std::string_view::npos;
      return spaced ? ' ' : ',';
    }
    if (counts[2] > counts[0] && counts[2] >= counts[1]) return '\t';
    return counts[1] > counts[0] ? ';' : ',';
  }
  return ',';
}

std::string separator_name(char separator) {
  if (separator == '\t') return "tab";
  if (separator == ' ') return "spaces";
  return std::string("'") + separator + "'";
}

CsvRecords::CsvRecords(std::string_view text, std::string path, char separator)
    : text_(strip_bom(text)), path_(std::move(path)), separator_(separator) {}

bool CsvRecords::next() {
  fields_.clear();
  quoted_.clear();
  unescaped_.clear();
  const bool by_spaces = separator_ == ' ';
  auto skip_blanks = [&] {
    while (pos_ < text_.size() && is_blank(text_[pos_]) && (by_spaces || text_[pos_] != separator_)) ++pos_;
  };
  // Skip blank lines.
  for (;;) {
    skip_blanks();
    if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
    if (pos_ >= text_.size()) return false;
    if (text_[pos_] != '\n') break;
    ++pos_;
    ++line_;
  }
  record_line_ = line_;
  for (;;) {  // one field per turn
    if (!by_spaces) skip_blanks();
    bool quoted = false;
    std::string_view field;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      quoted = true;
      const std::size_t open_line = line_;
      std::size_t start = ++pos_;
      std::string* copy = nullptr;  // only when the field holds a doubled quote
      for (;;) {
        if (pos_ >= text_.size())
          throw Error(path_ + ":" + std::to_string(open_line) + ": a quote opened on this line is never closed");
        const char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            if (!copy) copy = &unescaped_.emplace_back(text_.substr(start, pos_ - start));
            else copy->append(text_.substr(start, pos_ - start));
            copy->push_back('"');
            pos_ += 2;
            start = pos_;
            continue;
          }
          break;
        }
        if (c == '\n') ++line_;
        ++pos_;
      }
      if (copy) {
        copy->append(text_.substr(start, pos_ - start));
        field = *copy;
      } else {
        field = text_.substr(start, pos_ - start);
      }
      ++pos_;  // the closing quote
      skip_blanks();
      if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
      if (!by_spaces && pos_ < text_.size() && text_[pos_] != separator_ && text_[pos_] != '\n')
        throw Error(path_ + ":" + std::to_string(line_) + ": '" + std::string(1, text_[pos_]) +
                    "' after a closing quote; a quote inside a quoted field is written twice (\"\")");
    } else {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != separator_ && text_[pos_] != '\n' &&
             !(by_spaces && text_[pos_] == '\t'))
        ++pos_;
      field = text_.substr(start, pos_ - start);
      while (!field.empty() && (is_blank(field.back()) || field.back() == '\r')) field.remove_suffix(1);
    }
    fields_.push_back(field);
    quoted_.push_back(quoted);
    if (by_spaces) skip_blanks();
    if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
    if (pos_ >= text_.size()) return true;
    if (text_[pos_] == '\n') {
      ++pos_;
      ++line_;
      return true;
    }
    if (!by_spaces) ++pos_;  // the separator; with spaces, the blanks just skipped were it
  }
}

}  // namespace mlp
