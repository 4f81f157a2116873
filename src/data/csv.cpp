// CSV parsing with precise error locations, and atomic CSV writing.
#include "data/csv.hpp"

#include "io/files.hpp"

#include <istream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace gsnn {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The cells of one line, split at commas and trimmed. A cell in double
// quotes (RFC 4180, as R and spreadsheets write names) may hold commas, and
// "" inside it is one quote; a quoted cell must close on its line.
std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  while (true) {
    const auto first = line.find_first_not_of(" \t", start);
    size_t end = start;  // where the cell's text ends: at the next comma or the line's end
    if (first != std::string::npos && line[first] == '"') {
      std::string cell;
      size_t i = first + 1;
      for (;; ++i) {
        if (i >= line.size())
          throw std::invalid_argument(
              "a quoted cell is not closed on its line (cells spanning lines are not read)");
        if (line[i] != '"') {
          cell += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          break;
        }
      }
      end = line.find(',', i + 1);
      if (!trim(line.substr(i + 1, end == std::string::npos ? end : end - i - 1)).empty())
        throw std::invalid_argument("text after the closing quote of cell '" + shown_name(cell) +
                                    "'");
      cells.push_back(cell);
    } else {
      end = line.find(',', start);
      cells.push_back(trim(line.substr(start, end == std::string::npos ? end : end - start)));
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return cells;
}

// A header name as written: quoted when it holds a comma or a quote, or
// begins or ends with a space, so that read_csv reads the same name back.
std::string csv_name(const std::string& name) {
  if (name.find_first_of("\n\r") != std::string::npos)
    throw std::invalid_argument("a CSV column name cannot hold a line break: '" + shown_name(name) +
                                "'");
  if (name.find_first_of(",\"") == std::string::npos && trim(name) == name) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The header as shown in a message: the first 20 names.
std::string shown_header(const std::vector<std::string>& header) {
  std::vector<std::string> shown;
  for (size_t c = 0; c < std::min<size_t>(header.size(), 20); ++c)
    shown.push_back(shown_name(header[c]));
  const auto more = header.size() > 20 ? fmt::format(", ... ({} in all)", header.size()) : "";
  return fmt::format("{}{}", fmt::join(shown, ", "), more);
}

}  // namespace

std::string shown_name(const std::string& name) {
  std::string out;
  for (unsigned char c : name.substr(0, 60))
    out += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, c);
  return name.size() > 60 ? out + "..." : out;
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  for (const auto& n : split_line(list)) {
    if (n.empty()) throw std::invalid_argument("empty name in list '" + shown_name(list) + "'");
    names.push_back(n);
  }
  return names;
}

CsvTable read_csv(const std::string& path) {
  check_readable_file(path, kMaxCsvBytes);
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
  return read_csv(in, path);
}

CsvTable read_csv(std::istream& in, const std::string& path) {
  CsvTable table;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first name.
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (trim(line).empty()) continue;  // blank lines (e.g. a trailing newline) are allowed
    if (table.header.empty() && line.find('\0') != std::string::npos)
      throw std::runtime_error(fmt::format(
          "{}:{}: binary data where a CSV header should be (an IDX image file is read by image "
          "models only)",
          path, line_no));
    std::vector<std::string> cells;
    try {
      cells = split_line(line);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}", path, line_no, e.what()));
    }
    if (table.header.empty()) {
      for (size_t c = 0; c < cells.size(); ++c) {
        if (cells[c].empty())
          throw std::runtime_error(
              fmt::format("{}:{}: column {}: empty header name", path, line_no, c + 1));
        // A name must survive being written back (predict copies the inputs).
        if (std::any_of(cells[c].begin(), cells[c].end(),
                        [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; }))
          throw std::runtime_error(
              fmt::format("{}:{}: column {}: the header name '{}' holds a control character", path,
                          line_no, c + 1, shown_name(cells[c])));
        for (size_t k = 0; k < c; ++k)
          if (cells[k] == cells[c])
            throw std::runtime_error(fmt::format("{}:{}: column '{}' appears twice in the header",
                                                 path, line_no, shown_name(cells[c])));
      }
      table.header = cells;
      continue;
    }
    if (cells.size() != table.header.size())
      throw std::runtime_error(fmt::format("{}:{}: expected {} columns, found {}", path, line_no,
                                           table.header.size(), cells.size()));
    std::vector<double> row(cells.size());
    for (size_t c = 0; c < cells.size(); ++c) {
      const auto& text = cells[c];
      char* end = nullptr;
      const double value = text.empty() ? NAN : std::strtod(text.c_str(), &end);
      // Decimal numbers only: strtod would also read hexadecimal ("0x10" = 16).
      const bool hex = text.find_first_of("xX") != std::string::npos;
      if (text.empty() || hex || end != text.c_str() + text.size())  // also a NUL in the cell
        throw std::runtime_error(fmt::format("{}:{}: column '{}': '{}' is not a number", path,
                                             line_no, shown_name(table.header[c]),
                                             shown_name(text)));
      if (!std::isfinite(value))  // nan, inf, overflow; subnormals (1e-310) are numbers
        throw std::runtime_error(fmt::format("{}:{}: column '{}': '{}' is not finite", path,
                                             line_no, shown_name(table.header[c]),
                                             shown_name(text)));
      row[c] = value;
    }
    table.rows.push_back(std::move(row));
  }
  // getline also stops on a read error: that is not the end of the file.
  if (in.bad())
    throw std::runtime_error(fmt::format("{}:{}: read error after this line", path, line_no));
  if (table.header.empty()) throw std::runtime_error(fmt::format("{}: file is empty", path));
  if (table.rows.empty())
    throw std::runtime_error(fmt::format("{}: no data rows after the header", path));
  return table;
}

Dataset select_columns(const CsvTable& table, const std::string& path,
                       const std::vector<std::string>& inputs,
                       const std::vector<std::string>& targets) {
  auto pick = [&](const std::vector<std::string>& names) {
    const auto n = static_cast<int64_t>(table.rows.size());
    auto out = torch::empty({n, static_cast<int64_t>(names.size())}, torch::kFloat64);
    auto acc = out.accessor<double, 2>();
    for (size_t k = 0; k < names.size(); ++k) {
      size_t c = 0;
      while (c < table.header.size() && table.header[c] != names[k]) ++c;
      if (c == table.header.size()) {
        throw std::runtime_error(fmt::format("{}: no column '{}' (columns: {})", path,
                                             shown_name(names[k]), shown_header(table.header)));
      }
      for (int64_t r = 0; r < n; ++r) acc[r][k] = table.rows[r][c];
    }
    return out;
  };
  if (inputs.empty()) throw std::invalid_argument("no input columns given");
  for (const auto& t : targets)
    if (std::find(inputs.begin(), inputs.end(), t) != inputs.end())
      throw std::invalid_argument(
          fmt::format("{}: column '{}' is both an input and a target", path, shown_name(t)));
  std::vector<std::string> all = inputs;
  all.insert(all.end(), targets.begin(), targets.end());
  for (size_t i = 0; i < all.size(); ++i)
    if (std::find(all.begin(), all.begin() + i, all[i]) != all.begin() + i)
      throw std::invalid_argument(
          fmt::format("{}: column '{}' is named twice", path, shown_name(all[i])));
  return {pick(inputs), pick(targets), inputs, targets};
}

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& header)
    : path_(path), tmp_(temporary_beside(path)), out_(std::make_unique<std::ofstream>(tmp_)) {
  try {  // a throwing constructor runs no destructor: clean up here
    if (!*out_) throw std::runtime_error(fmt::format("{}: cannot write file", path));
    for (size_t c = 0; c < header.size(); ++c) *out_ << (c ? "," : "") << csv_name(header[c]);
    *out_ << '\n';
  } catch (const std::invalid_argument& e) {  // a name that cannot be written
    out_.reset();
    remove_temporary(tmp_);
    throw std::invalid_argument(fmt::format("{}: {}", path, e.what()));
  } catch (...) {
    out_.reset();
    remove_temporary(tmp_);
    throw;
  }
}

CsvWriter::~CsvWriter() {
  if (committed_) return;
  out_.reset();
  remove_temporary(tmp_);
}

void CsvWriter::write(const std::vector<std::vector<double>>& columns) {
  const size_t n = columns.empty() ? 0 : columns[0].size();
  std::string text;
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < columns.size(); ++c)
      fmt::format_to(std::back_inserter(text), "{}{:.17g}", c ? "," : "", columns[c][r]);
    text += '\n';
  }
  out_->write(text.data(), static_cast<std::streamsize>(text.size()));
}

void CsvWriter::commit() {
  close_or_throw(*out_, path_);
  commit_file(tmp_, path_);
  committed_ = true;
}

void write_csv(const std::string& path, const std::vector<std::string>& header,
               const std::vector<std::vector<double>>& columns) {
  CsvWriter writer(path, header);
  writer.write(columns);
  writer.commit();
}

}  // namespace gsnn
