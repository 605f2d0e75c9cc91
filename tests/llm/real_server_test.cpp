// Against a real model server, when one is configured: LIBROMIND_TEST_LLM_URL (base URL),
// LIBROMIND_TEST_LLM_API (ollama | openai) and LIBROMIND_TEST_LLM_MODEL; optional
// LIBROMIND_TEST_LLM_API_KEY. Skipped when they are not set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "llm/client.hpp"

namespace libromind::llm {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

TEST(RealModelServer, AShortAnswerStreamsInSeveralPieces) {
  std::string url = env("LIBROMIND_TEST_LLM_URL"), api = env("LIBROMIND_TEST_LLM_API"),
              model = env("LIBROMIND_TEST_LLM_MODEL");
  if (url.empty() || api.empty() || model.empty()) {
    GTEST_SKIP() << "no real model server: set LIBROMIND_TEST_LLM_URL, LIBROMIND_TEST_LLM_API "
                    "(ollama|openai) and LIBROMIND_TEST_LLM_MODEL to run this test";
  }
  auto parsed = parse_api(api);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ClientOptions o;
  o.api = *parsed;
  o.base_url = url;
  o.model = model;
  o.api_key = env("LIBROMIND_TEST_LLM_API_KEY");
  // A cold model may need loading first: generous deadlines.
  o.first_token_timeout_ms = 120000;
  o.total_timeout_ms = 240000;
  ASSERT_TRUE(validate(o).ok()) << validate(o).error().message;
  Client client(o);
  ChatRequest r;
  r.messages = {{"user", "Name three colours, separated by commas."}};
  r.max_tokens = 48;
  r.temperature = 0;
  std::vector<std::string> pieces;
  auto result = client.chat(r, [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  });
  ASSERT_TRUE(result.ok()) << result.error().type << ": " << result.error().message;
  EXPECT_FALSE(result->text.empty());
  EXPECT_GE(pieces.size(), 2u) << "answer: " << result->text;
  EXPECT_EQ(result->text.find("<think>"), std::string::npos) << result->text;
  EXPECT_GT(result->tokens, 0);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, result->text);
}

}  // namespace
}  // namespace libromind::llm
