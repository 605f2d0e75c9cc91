// Small text checks that guard the service's edges: id shapes, user text fields, and JSON
// nesting (refused before a parser or printer recurses on hostile input).
#include "core/text.hpp"

#include <gtest/gtest.h>

namespace libromind::core {
namespace {

TEST(SafeId, allows_the_id_alphabet_within_the_length) {
  EXPECT_TRUE(is_safe_id("pg-1342", 100));
  EXPECT_TRUE(is_safe_id("a.b_c:d-e", 100));
  EXPECT_FALSE(is_safe_id("", 100));
  EXPECT_FALSE(is_safe_id("has space", 100));
  EXPECT_FALSE(is_safe_id("slash/", 100));
  EXPECT_FALSE(is_safe_id(std::string(101, 'a'), 100));
}

TEST(PlainText, refuses_control_characters_bad_utf8_and_overlong_text) {
  EXPECT_FALSE(plain_text_problem("Ann Reader", 10, false));
  EXPECT_TRUE(plain_text_problem("line\nbreak", 100, false));
  EXPECT_FALSE(plain_text_problem("line\nbreak", 100, true));
  EXPECT_TRUE(plain_text_problem("bell\x07", 100, true));
  EXPECT_TRUE(plain_text_problem("\xff", 100, true));
  EXPECT_TRUE(plain_text_problem("ééééé", 4, false));
  EXPECT_FALSE(plain_text_problem("ééééé", 5, false));
}

TEST(JsonNesting, counts_arrays_and_objects_but_not_brackets_in_strings) {
  EXPECT_EQ(json_nesting_depth("{}", 10), 1u);
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": []}]})", 10), 4u);
  EXPECT_EQ(json_nesting_depth(R"({"a": "[[[[[[{{{{"})", 10), 1u);
  EXPECT_EQ(json_nesting_depth(R"({"a": "\"[[["})", 10), 1u);
  EXPECT_EQ(json_nesting_depth("42", 10), 0u);
}

TEST(JsonNesting, stops_counting_past_the_limit) {
  std::string deep(1'000'000, '[');
  EXPECT_EQ(json_nesting_depth(deep, 32), 33u);
}

}  // namespace
}  // namespace libromind::core
