#include "ml/safetensors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace libromind::ml {
namespace {

// A temporary file removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& bytes) {
    char tmpl[] = "/tmp/lm_safetensors_XXXXXX";
    const int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) {
    s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  return s;
}

// 8-byte length + header (space-padded to a multiple of 8, as the reference writer does) + data.
std::string make_file(std::string header, const std::string& data) {
  while ((header.size() % 8) != 0) {
    header += ' ';
  }
  return le64(header.size()) + header + data;
}

std::string floats(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

std::string halves(const std::vector<uint16_t>& v) {
  std::string s;
  for (uint16_t h : v) {
    s += static_cast<char>(h & 0xff);
    s += static_cast<char>(h >> 8);
  }
  return s;
}

const std::string kTwoTensors = R"({"__metadata__":{"format":"pt"},)"
                                R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})";

TEST(SafeTensors, f32_tensors_read_back_with_their_shapes) {
  TempFile f(make_file(kTwoTensors, floats({1, 2, 3, 4, 5, 6, -1.5f, 2.5f})));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->names(), (std::vector<std::string>{"a", "b"}));
  auto a = st->get("a", {2, 3});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->numel(), 6);
  EXPECT_EQ(a->data[0], 1.0f);
  EXPECT_EQ(a->data[5], 6.0f);
  auto b = st->get("b", {2});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->data[0], -1.5f);
  EXPECT_EQ(b->data[1], 2.5f);
}

TEST(SafeTensors, views_survive_moving_the_reader) {
  TempFile f(make_file(kTwoTensors, floats({1, 2, 3, 4, 5, 6, 7, 8})));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st);
  auto a = st->get("a", {2, 3});
  ASSERT_TRUE(a);
  SafeTensors moved = std::move(*st);
  EXPECT_EQ(a->data[4], 5.0f);
  auto again = moved.get("a", {2, 3});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->data, a->data);
}

// The process's file-backed resident memory in kB (/proc/self/status), -1 if unknown.
int64_t rss_file_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RssFile:", 0) == 0) {
      return std::stoll(line.substr(8));
    }
  }
  return -1;
}

TEST(SafeTensors, release_gives_back_the_pages_and_the_view_still_reads_the_file) {
  constexpr int64_t kFloats = 1 << 20;  // 4 MB
  std::vector<float> values(kFloats);
  for (int64_t i = 0; i < kFloats; ++i) {
    values[i] = static_cast<float>(i % 1000) * 0.5f;
  }
  TempFile f(make_file(R"({"w":{"dtype":"F32","shape":[1048576],"data_offsets":[0,4194304]}})",
                       floats(values)));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st) << st.error().message;
  auto w = st->get("w", {kFloats});
  ASSERT_TRUE(w) << w.error().message;
  double sum = 0;
  for (int64_t i = 0; i < kFloats; ++i) {
    sum += w->data[i];  // every page resident
  }
  const int64_t touched = rss_file_kb();
  st->release(w->data, kFloats);
  const int64_t released = rss_file_kb();
  if (touched >= 0 && released >= 0) {
    EXPECT_GE(touched - released, 3 * 1024) << "kB given back of a 4 MB tensor";
  }
  // The view stays valid: its pages are read from the file again.
  double again = 0;
  for (int64_t i = 0; i < kFloats; ++i) {
    again += w->data[i];
  }
  EXPECT_EQ(again, sum);
  EXPECT_EQ(w->data[1001], 0.5f);
  // Memory outside the mapping is not touched.
  st->release(values.data(), kFloats);
  EXPECT_EQ(values[3], 1.5f);
}

TEST(SafeTensors, f16_and_bf16_are_converted_to_f32) {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00.
  const std::string header = R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},)"
                             R"("g":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]}})";
  TempFile f(make_file(header, halves({0x3c00, 0xc000, 0x7bff, 0x0001, 0x3f80, 0xbf00})));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st) << st.error().message;
  auto h = st->get("h", {4});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->data[0], 1.0f);
  EXPECT_EQ(h->data[1], -2.0f);
  EXPECT_EQ(h->data[2], 65504.0f);
  EXPECT_EQ(h->data[3], std::ldexp(1.0f, -24));
  auto g = st->get("g", {1, 2});
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->data[0], 1.0f);
  EXPECT_EQ(g->data[1], -0.5f);
}

TEST(SafeTensors, missing_tensor_is_named_with_the_file) {
  TempFile f(make_file(kTwoTensors, floats({1, 2, 3, 4, 5, 6, 7, 8})));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st);
  auto c = st->get("encoder.layer.0.attention.self.query.weight", {384, 384});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("encoder.layer.0.attention.self.query.weight"),
            std::string::npos);
  EXPECT_NE(c.error().message.find(f.path()), std::string::npos);
}

TEST(SafeTensors, shape_mismatch_names_tensor_file_expected_and_actual) {
  TempFile f(make_file(kTwoTensors, floats({1, 2, 3, 4, 5, 6, 7, 8})));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st);
  auto a = st->get("a", {3, 2});
  ASSERT_FALSE(a);
  const std::string& m = a.error().message;
  EXPECT_NE(m.find("'a'"), std::string::npos) << m;
  EXPECT_NE(m.find(f.path()), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 2]"), std::string::npos) << m;
}

TEST(SafeTensors, non_float_dtype_is_rejected_on_get) {
  const std::string header = R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})";
  TempFile f(make_file(header, std::string(16, '\0')));
  auto st = SafeTensors::open(f.path());
  ASSERT_TRUE(st) << st.error().message;  // present, valid, just not usable as floats
  auto ids = st->get("ids", {2});
  ASSERT_FALSE(ids);
  EXPECT_NE(ids.error().message.find("I64"), std::string::npos);
  EXPECT_NE(ids.error().message.find("'ids'"), std::string::npos);
}

TEST(SafeTensors, truncated_file_is_rejected_naming_the_tensor) {
  std::string bytes = make_file(kTwoTensors, floats({1, 2, 3, 4, 5, 6, 7, 8}));
  bytes.resize(bytes.size() - 4);
  TempFile f(bytes);
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("'b'"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find(f.path()), std::string::npos);
}

TEST(SafeTensors, file_shorter_than_the_length_prefix_is_rejected) {
  TempFile f(std::string("\x10\x00\x00", 3));
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(f.path()), std::string::npos);
}

TEST(SafeTensors, header_length_beyond_the_file_is_rejected) {
  TempFile f(le64(1000) + R"({"a":{}})");
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("header length 1000"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find(f.path()), std::string::npos);
}

TEST(SafeTensors, header_that_is_not_json_is_rejected) {
  TempFile f(make_file("{not json", ""));
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("JSON"), std::string::npos);
}

TEST(SafeTensors, overlapping_offsets_are_rejected) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  TempFile f(make_file(header, floats({1, 2, 3, 4})));
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("overlaps"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("'b'"), std::string::npos);
}

TEST(SafeTensors, size_that_disagrees_with_dtype_and_shape_is_rejected) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  TempFile f(make_file(header, floats({1, 2})));
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("'w'"), std::string::npos);
  EXPECT_NE(st.error().message.find("needs 12"), std::string::npos) << st.error().message;
}

TEST(SafeTensors, unknown_dtype_is_rejected) {
  const std::string header = R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})";
  TempFile f(make_file(header, "xx"));
  auto st = SafeTensors::open(f.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("Q4"), std::string::npos);
}

TEST(SafeTensors, missing_file_is_not_found) {
  auto st = SafeTensors::open("/nonexistent/model.safetensors");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::ErrorCode::kNotFound);
  EXPECT_NE(st.error().message.find("/nonexistent/model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace libromind::ml
