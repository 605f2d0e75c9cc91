#include "http/response_cache.hpp"

#include <gtest/gtest.h>

namespace libromind::http {
namespace {

std::shared_ptr<const CachedResponse> entry(std::string body) {
  auto e = std::make_shared<CachedResponse>();
  e->response = json_response(200, std::move(body));
  return e;
}

TEST(ResponseCache, HitsWhileTheGenerationStaysTheSame) {
  ResponseCache cache(1 << 20);
  EXPECT_EQ(cache.get("/a", 7), nullptr);
  cache.put("/a", 7, entry("one"));
  auto hit = cache.get("/a", 7);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->response.body, "one");
}

TEST(ResponseCache, AChangeOfGenerationInvalidatesEverything) {
  ResponseCache cache(1 << 20);
  cache.put("/a", 7, entry("one"));
  EXPECT_EQ(cache.get("/a", 8), nullptr);
  EXPECT_EQ(cache.get("/a", 7), nullptr);  // gone, not resurrected
}

TEST(ResponseCache, AResponseComputedBeforeAChangeIsNotStoredAfterIt) {
  ResponseCache cache(1 << 20);
  EXPECT_EQ(cache.get("/a", 9), nullptr);  // the shard has seen generation 9
  cache.put("/a", 8, entry("stale"));
  EXPECT_EQ(cache.get("/a", 9), nullptr);
}

TEST(ResponseCache, StaysWithinItsByteBudget) {
  const size_t budget = 64 * 1024;
  ResponseCache cache(budget);
  for (int i = 0; i < 1000; ++i)
    cache.put("/k" + std::to_string(i), 1, entry(std::string(500, 'x')));
  EXPECT_LE(cache.bytes(), budget);
  EXPECT_GT(cache.entries(), 0u);
}

}  // namespace
}  // namespace libromind::http
