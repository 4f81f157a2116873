// Strict CSV reading and writing for regression data: a header row, then
// numeric rows. Every problem is reported with the file, line and column.
// Cells may be double-quoted (RFC 4180: "a,b" holds a comma, "" is a quote),
// as R's write.csv and spreadsheets write names; a cell must end on its line.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace gsnn {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;  // every row has header.size() values
};

// Largest CSV file read (checked before reading).
constexpr uint64_t kMaxCsvBytes = uint64_t{4} << 30;

// A name or cell as shown in a message: control characters as \xNN, cut
// after 60 characters (a header name may be megabytes long).
std::string shown_name(const std::string& name);

// Reads the whole file; throws std::runtime_error("file:line: column 'c': ...")
// on a missing, non-regular or too large file, an empty file, a ragged row, a
// non-numeric or non-finite cell, or a read error.
CsvTable read_csv(const std::string& path);
// The same from a stream; `path` names it in messages.
CsvTable read_csv(std::istream& in, const std::string& path);

// Picks named columns out of a table as inputs and targets (targets may be
// empty, for prediction inputs). Throws if a column is missing.
Dataset select_columns(const CsvTable& table, const std::string& path,
                       const std::vector<std::string>& inputs,
                       const std::vector<std::string>& targets);

// Writes columns of equal length with a header, full double precision.
// Writes to path + ".tmp" and renames, so a crash never leaves half a file.
void write_csv(const std::string& path, const std::vector<std::string>& header,
               const std::vector<std::vector<double>>& columns);

// A CSV written part by part (rows of many images without holding them all):
// into a temporary file beside `path`, renamed into place by commit().
// Destroyed without commit() (an error on the way), it removes the
// temporary file, and `path` keeps what it held.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, const std::vector<std::string>& header);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;
  void write(const std::vector<std::vector<double>>& columns);  // rows of equal-length columns
  void commit();

 private:
  std::string path_, tmp_;
  std::unique_ptr<std::ofstream> out_;
  bool committed_ = false;
};

// Splits "a,b,c" into names (trimmed, empty parts rejected).
std::vector<std::string> split_names(const std::string& list);

}  // namespace gsnn
