#include "http/query_string.hpp"

#include <gtest/gtest.h>

#include <string>

namespace libromind::http {
namespace {

QueryParams parse_ok(std::string_view raw) {
  auto r = parse_query_string(raw);
  EXPECT_TRUE(r.ok()) << raw << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : QueryParams{};
}

TEST(QueryString, EmptyQueryHasNoParameters) {
  EXPECT_TRUE(parse_ok("").items().empty());
  EXPECT_TRUE(parse_ok("&&&").items().empty());
}

TEST(QueryString, KeepsOrderAndRepeatedKeys) {
  auto p = parse_ok("q=dune&genre=sf&limit=10&genre=classic");
  ASSERT_EQ(p.items().size(), 4u);
  EXPECT_EQ(p.items()[0], (std::pair<std::string, std::string>{"q", "dune"}));
  EXPECT_EQ(p.items()[3].first, "genre");
  EXPECT_EQ(p.get("genre"), "sf");
  EXPECT_EQ(p.get_all("genre"), (std::vector<std::string_view>{"sf", "classic"}));
  EXPECT_EQ(p.get("limit"), "10");
}

TEST(QueryString, MissingKeyIsAbsent) {
  auto p = parse_ok("a=1");
  EXPECT_FALSE(p.get("b").has_value());
  EXPECT_TRUE(p.get_all("b").empty());
  EXPECT_FALSE(p.has("b"));
  EXPECT_TRUE(p.has("a"));
}

TEST(QueryString, PercentEscapesAndPlusAreDecoded) {
  auto p = parse_ok("q=war+and%20peace&%6Bey=%E2%9C%93&t=%2B%26%3D%25");
  EXPECT_EQ(p.get("q"), "war and peace");
  EXPECT_EQ(p.get("key"), "\xE2\x9C\x93");
  EXPECT_EQ(p.get("t"), "+&=%");
}

TEST(QueryString, LowerAndUpperCaseHexDigitsAreAccepted) {
  EXPECT_EQ(parse_ok("a=%c3%a9%C3%A9").get("a"), "\xC3\xA9\xC3\xA9");
}

TEST(QueryString, EmptyPairsAreSkipped) {
  auto p = parse_ok("a=1&&b=2&");
  ASSERT_EQ(p.items().size(), 2u);
  EXPECT_EQ(p.get("b"), "2");
}

TEST(QueryString, KeyWithoutEqualsHasEmptyValue) {
  auto p = parse_ok("in_stock&q=");
  EXPECT_TRUE(p.has("in_stock"));
  EXPECT_EQ(p.get("in_stock"), "");
  EXPECT_EQ(p.get("q"), "");
}

TEST(QueryString, OnlyTheFirstEqualsSplitsKeyAndValue) {
  EXPECT_EQ(parse_ok("expr=a=b").get("expr"), "a=b");
}

TEST(QueryString, InvalidPercentEscapeIsAnError) {
  for (const char* raw : {"a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a%2=1"}) {
    auto r = parse_query_string(raw);
    ASSERT_FALSE(r.ok()) << raw;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("percent-encoding"), std::string::npos) << raw;
  }
  auto r = parse_query_string("page=%G1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "page");
}

TEST(QueryString, InvalidUtf8AfterDecodingIsAnError) {
  auto r = parse_query_string("q=%FF");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field, "q");
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos);
  EXPECT_FALSE(parse_query_string("%C3=1").ok());
  EXPECT_FALSE(parse_query_string("q=%ED%A0%80").ok());  // a surrogate
  EXPECT_FALSE(parse_query_string("q=\xC3").ok());       // raw invalid byte
}

TEST(QueryString, EmptyKeyIsAnError) {
  EXPECT_FALSE(parse_query_string("=1").ok());
  EXPECT_FALSE(parse_query_string("a=1&=").ok());
}

TEST(QueryString, AtMost50Parameters) {
  std::string raw;
  for (int i = 0; i < 50; ++i) {
    raw += "k" + std::to_string(i) + "=v&";
  }
  EXPECT_EQ(parse_ok(raw).items().size(), 50u);
  auto r = parse_query_string(raw + "one=more");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("more than 50"), std::string::npos);
}

TEST(QueryString, KeyIsAtMost64BytesAfterDecoding) {
  std::string key(64, 'k');
  EXPECT_TRUE(parse_ok(key + "=1").has(key));
  auto r = parse_query_string(key + "k=1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, key + "k");
  // 22 escapes decode to 22 bytes although the raw key is 66 bytes long.
  std::string escaped;
  for (int i = 0; i < 22; ++i) {
    escaped += "%41";
  }
  EXPECT_TRUE(parse_query_string(escaped + "=1").ok());
}

TEST(QueryString, ValueIsAtMost2048BytesAfterDecoding) {
  EXPECT_TRUE(parse_query_string("q=" + std::string(2048, 'v')).ok());
  auto r = parse_query_string("q=" + std::string(2049, 'v'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field, "q");
}

TEST(QueryString, WholeQueryIsAtMost8192Bytes) {
  std::string raw;
  for (int i = 0; i < 7; ++i) {
    raw += "k" + std::to_string(i) + "=" + std::string(1000, 'v') + "&";
  }
  raw += "z=" + std::string(8192 - raw.size() - 2, 'v');
  ASSERT_EQ(raw.size(), 8192u);
  EXPECT_TRUE(parse_query_string(raw).ok());
  auto r = parse_query_string(raw + "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("8192"), std::string::npos);
}

TEST(QueryString, LimitsCanBeChanged) {
  QueryLimits limits;
  limits.max_params = 1;
  EXPECT_TRUE(parse_query_string("a=1", limits).ok());
  EXPECT_FALSE(parse_query_string("a=1&b=2", limits).ok());
}

TEST(QueryString, RejectUnknownNamesTheFirstUnknownParameter) {
  auto p = parse_ok("q=x&limit=5&sort=asc&color=red");
  EXPECT_TRUE(p.reject_unknown({"q", "limit", "sort", "color"}).ok());
  auto r = p.reject_unknown({"q", "limit"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "unknown query parameter 'sort'");
  EXPECT_EQ(r.error().field, "sort");
  EXPECT_TRUE(parse_ok("").reject_unknown({}).ok());
}

TEST(QueryString, RejectRepeatedNamesTheRepeatedParameter) {
  auto p = parse_ok("genre=a&q=x&genre=b");
  auto r = p.reject_repeated();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "genre");
  EXPECT_EQ(r.error().message, "query parameter 'genre' given more than once");
  EXPECT_TRUE(parse_ok("a=1&b=1").reject_repeated().ok());
}

TEST(QueryString, RejectRepeatedForListedKeysLetsOthersRepeat) {
  auto p = parse_ok("genre=a&q=x&genre=b");
  EXPECT_TRUE(p.reject_repeated({"q", "limit"}).ok());
  auto r = parse_ok("q=a&q=b").reject_repeated({"q"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "q");
}

}  // namespace
}  // namespace libromind::http
