// CSV reading (every error names file, line and column), splits and scaling.
#include <gtest/gtest.h>

#include <istream>
#include <streambuf>

#include "data/csv.hpp"
#include "nn/registry.hpp"
#include "test_util.hpp"

namespace gsnn {
namespace {

std::string error_of(const std::string& path) {
  return test::error_message([&] { read_csv(path); });
}

TEST(Csv, ReadsAndSelectsColumns) {
  test::TempDir dir;
  const auto path = dir.write("a.csv", "x1, x2 ,y\n1,2,3\n4,5e-1,-6\n\n");
  const auto table = read_csv(path);
  ASSERT_EQ(table.rows.size(), 2u);
  const auto d = select_columns(table, path, {"x2", "x1"}, {"y"});
  EXPECT_DOUBLE_EQ(d.x[1][0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(d.x[1][1].item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(d.y[1][0].item<double>(), -6.0);
}

TEST(Csv, ByteOrderMarkIsNotPartOfTheFirstName) {
  test::TempDir dir;
  const auto path = dir.write("bom.csv", "\xEF\xBB\xBFx1,y\n1,2\n");
  EXPECT_EQ(read_csv(path).header, (std::vector<std::string>{"x1", "y"}));
}

// A stream that delivers its text, then fails as a disk or network read would.
class FailingBuffer : public std::streambuf {
 public:
  explicit FailingBuffer(std::string text) : text_(std::move(text)) {
    setg(text_.data(), text_.data(), text_.data() + text_.size());
  }

 protected:
  int_type underflow() override { throw std::ios_base::failure("read error"); }

 private:
  std::string text_;
};

TEST(Csv, ReadErrorIsNotTheEndOfTheFile) {
  FailingBuffer buffer("x,y\n1,2\n3,4\n");  // no final newline: the error comes mid-file
  std::istream in(&buffer);
  const auto error = test::error_message([&] { read_csv(in, "cut.csv"); });
  EXPECT_NE(error.find("cut.csv:3: read error"), std::string::npos) << error;
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  test::TempDir dir;
  const auto ragged = dir.write("r.csv", "a,b\n1,2\n3\n");
  EXPECT_NE(error_of(ragged).find("r.csv:3"), std::string::npos) << error_of(ragged);
  const auto text = dir.write("t.csv", "a,b\n1,2\n3,abc\n");
  EXPECT_NE(error_of(text).find("t.csv:3: column 'b': 'abc' is not a number"), std::string::npos)
      << error_of(text);
  const auto inf = dir.write("i.csv", "a,b\n1,inf\n");
  EXPECT_NE(error_of(inf).find("i.csv:2: column 'b'"), std::string::npos) << error_of(inf);
  EXPECT_NE(error_of(inf).find("not finite"), std::string::npos);
  const auto nan = dir.write("n.csv", "a,b\nnan,1\n");
  EXPECT_NE(error_of(nan).find("not finite"), std::string::npos);
  const auto empty = dir.write("e.csv", "");
  EXPECT_NE(error_of(empty).find("e.csv: file is empty"), std::string::npos);
  const auto header_only = dir.write("h.csv", "a,b\n");
  EXPECT_NE(error_of(header_only).find("no data rows"), std::string::npos);
  EXPECT_NE(error_of(dir.file("missing.csv")).find("cannot open"), std::string::npos);
  const auto ok = dir.write("ok.csv", "a,b\n1,2\n");
  try {
    select_columns(read_csv(ok), ok, {"a"}, {"c"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'c'"), std::string::npos);
  }
}

TEST(Csv, MessagesShowLongNamesCut) {
  // A megabyte-long header name, or thousands of columns, are cut in messages.
  test::TempDir dir;
  const std::string name(1 << 20, 'n');
  std::string header = name + "," + name + "\n1,2\n";
  EXPECT_LT(error_of(dir.write("twice.csv", header)).size(), 300u);
  std::string many, row;
  for (int c = 0; c < 5000; ++c) {
    many += (c ? ",c" : "c") + std::to_string(c);
    row += c ? ",1" : "1";
  }
  const auto wide = dir.write("wide.csv", many + "\n" + row + "\n");
  const auto message =
      test::error_message([&] { select_columns(read_csv(wide), wide, {name}, {}); });
  EXPECT_LT(message.size(), 600u) << message;
  EXPECT_NE(message.find("c19, ... (5000 in all)"), std::string::npos) << message;
}

TEST(Csv, HeaderNamesWithControlCharactersAreRefused) {
  // Such a name could not be written back (predict copies the input columns).
  test::TempDir dir;
  EXPECT_NE(error_of(dir.write("cr.csv", "a\rb,y\n1,2\n"))
                .find("cr.csv:1: column 1: the header name 'a\\x0db' holds a control character"),
            std::string::npos);
}

TEST(Csv, WriteReadRoundTrip) {
  test::TempDir dir;
  const auto path = dir.file("w.csv");
  write_csv(path, {"a", "b"}, {{1.0 / 3.0, -2e-300}, {1e300, 0.1}});
  const auto t = read_csv(path);
  EXPECT_EQ(t.rows[0][0], 1.0 / 3.0);
  EXPECT_EQ(t.rows[0][1], 1e300);
  EXPECT_EQ(t.rows[1][0], -2e-300);
}

TEST(Dataset, SplitIsSeededAndComplete) {
  Dataset d{torch::arange(100, torch::kFloat64).unsqueeze(1),
            torch::zeros({100, 1}, torch::kFloat64),
            {"x"},
            {"y"}};
  const auto a = split_dataset(d, 0.2, 0.1, 5), b = split_dataset(d, 0.2, 0.1, 5);
  EXPECT_EQ(a.train.size(), 70);
  EXPECT_EQ(a.validation.size(), 20);
  EXPECT_EQ(a.test.size(), 10);
  EXPECT_TRUE(torch::equal(a.train.x, b.train.x));
  const auto all = torch::cat({a.train.x, a.validation.x, a.test.x}).squeeze(1);
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(100, torch::kFloat64)));
  EXPECT_THROW(split_dataset(d, 0.6, 0.5, 1), std::invalid_argument);
}

TEST(Dataset, StandardizerRoundTrip) {
  Dataset d{torch::randn({50, 2}, torch::kFloat64) * 3 + 1,
            torch::randn({50, 1}, torch::kFloat64) * 10 - 4,
            {"a", "b"},
            {"y"}};
  const auto s = Standardizer::fit(d);
  // Inside a float64 Network: standardised targets have mean 0, and a
  // prediction in standardised units maps back to the targets' units.
  torch::manual_seed(0);
  Network net(build_model(resolve_model("mlp-relu", {{"width", 4}}), 2, 1), ModelShape{{2}, 1},
              true, 1.0);
  net->to(torch::kFloat64);
  net->set_scaling(s.x_mean, s.x_scale, s.y_mean, s.y_scale);
  const auto z = net->scale_targets(d.y);
  EXPECT_NEAR(z.mean().item<double>(), 0, 1e-12);
  const auto standard = net->forward(d.x), raw = net->predict(d.x);
  EXPECT_TRUE(torch::allclose(raw.mean, standard.mean * s.y_scale + s.y_mean));
  EXPECT_TRUE(torch::allclose(raw.var, standard.var * s.y_scale * s.y_scale));
  const auto s2 = Standardizer::from_json({{"input_mean", {1, 2}},
                                           {"input_scale", {3, 4}},
                                           {"target_mean", {5}},
                                           {"target_scale", {6}}});
  EXPECT_EQ(s2.x_scale[1].item<double>(), 4);
  EXPECT_THROW(
      Standardizer::from_json(
          {{"input_mean", {1}}, {"input_scale", {0}}, {"target_mean", {5}}, {"target_scale", {6}}}),
      std::runtime_error);
}

// A tiny spread is the data's scale, not a constant; a spread at the
// rounding level of the column's magnitude is a constant.
TEST(Dataset, StandardizerKeepsTinyScalesAndDropsRoundingNoise) {
  const auto x = torch::rand({100, 1}, torch::kFloat64);
  const auto tiny = torch::sin(3 * x) * 1e-30;
  const auto jitter = 5 + 1e-15 * torch::rand({100, 1}, torch::kFloat64);
  const auto s = Standardizer::fit({torch::cat({x, jitter}, 1), tiny, {"a", "b"}, {"y"}});
  EXPECT_NEAR(s.y_scale[0].item<double>() / tiny.std().item<double>(), 1, 1e-12);
  EXPECT_EQ(s.x_scale[1].item<double>(), 1);
  EXPECT_EQ(Standardizer::fit({x, x * 0 + 3, {"a"}, {"y"}}).y_scale[0].item<double>(), 1);
  // Scales whose squares would underflow or overflow double precision.
  for (double scale : {1e-160, 1e-300, 1e300}) {
    const auto y = torch::sin(3 * x) * scale;
    const auto fitted = Standardizer::fit({x, y, {"a"}, {"y"}}).y_scale[0].item<double>();
    EXPECT_NEAR(fitted / scale / torch::sin(3 * x).std().item<double>(), 1, 1e-12) << scale;
  }
  EXPECT_EQ(Standardizer::fit({x, x * 0 + 1e300, {"a"}, {"y"}}).y_scale[0].item<double>(), 1);
  const auto large = Standardizer::fit({x, x + 1e306, {"a"}, {"y"}});  // a sum would overflow
  EXPECT_NEAR(large.y_mean[0].item<double>() / 1e306, 1, 1e-12);
}

}  // namespace
}  // namespace gsnn
