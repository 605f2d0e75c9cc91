// Explanations of recommendation picks with a scripted model server (no socket): one paragraph
// per book led by its title, the prompt holding only that book, the store-backed cache
// (normalised key, TTL, never for a cancelled or failed stream) and errors without half text.
#include "search/explainer.hpp"

#include <gtest/gtest.h>

#include "search_fixture.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::search {
namespace {

using testing::SearchStoreTest;

// Answers every chat with `pieces`, or fails with `error`; records the prompts.
class ScriptedServer : public llm::ModelServer {
 public:
  std::vector<std::string> pieces{" Because", " it", " fits."};
  std::optional<core::Error> error;
  std::vector<llm::ChatRequest> prompts;
  core::Result<llm::ChatResult> chat(const llm::ChatRequest& request,
                                     const llm::TokenSink& on_piece) override {
    prompts.push_back(request);
    if (error) return *error;
    llm::ChatResult r;
    for (const auto& p : pieces) {
      ++r.tokens;
      r.text += p;
      if (!on_piece(p) || (request.cancelled && request.cancelled())) {
        r.cancelled = true;
        return r;
      }
    }
    return r;
  }
  bool available() const override { return true; }
};

struct Collected {
  std::vector<std::string> paragraphs;
  int events = 0;
  int stop_after = -1;  // stop after this many pieces
  ExplanationSink sink() {
    return [this](size_t i, std::string_view piece) {
      if (paragraphs.size() <= i) paragraphs.resize(i + 1);
      paragraphs[i].append(piece);
      ++events;
      return stop_after < 0 || events < stop_after;
    };
  }
};

class ExplainerTest : public SearchStoreTest {
 protected:
  void reset_services() override { cache_.reset(); }
  ExplanationCache& cache(int64_t ttl = 3600) {
    if (!cache_) cache_ = std::make_unique<ExplanationCache>(*store_, ttl, &metrics_);
    return *cache_;
  }
  double cache_count(const std::string& result) {
    auto text = metrics_.render();
    auto key = "libromind_llm_explanation_cache_total{result=\"" + result + "\"} ";
    auto pos = text.find(key);
    return pos == std::string::npos ? 0 : std::stod(text.substr(pos + key.size()));
  }
  telemetry::Registry metrics_;
  std::unique_ptr<ExplanationCache> cache_;
  ScriptedServer server_;
};

TEST_P(ExplainerTest, each_book_gets_one_paragraph_led_by_its_title) {
  Explainer ex(&server_, "m1", nullptr, *store_);
  Collected got;
  auto r = ex.explain("a ghost story", {pk("s-3"), pk("s-10")}, got.sink());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(got.paragraphs.size(), 2u);
  EXPECT_EQ(got.paragraphs[0], "The Haunting of Hollow House: Because it fits.");
  EXPECT_EQ(got.paragraphs[1], "Dracula: Because it fits.");
  EXPECT_EQ(r->model, "m1");
  EXPECT_FALSE(r->cached);
  EXPECT_EQ(r->tokens, 6);
  EXPECT_GT(r->first_token_ms, 0);
}

TEST_P(ExplainerTest, the_prompt_holds_the_request_and_only_that_book) {
  Explainer ex(&server_, "m1", nullptr, *store_);
  Collected got;
  ASSERT_TRUE(ex.explain("vampires please", {pk("s-10"), pk("s-14")}, got.sink()));
  ASSERT_EQ(server_.prompts.size(), 2u);
  const std::string& first = server_.prompts[0].messages.back().content;
  EXPECT_NE(first.find("vampires please"), std::string::npos);
  EXPECT_NE(first.find("Dracula by Stoker, Bram (1897)"), std::string::npos);
  EXPECT_NE(first.find("Transylvania"), std::string::npos);
  EXPECT_EQ(first.find("Frankenstein"), std::string::npos);
  EXPECT_EQ(server_.prompts[0].messages.front().role, "system");
}

TEST_P(ExplainerTest, a_second_identical_request_streams_from_the_cache) {
  Explainer ex(&server_, "m1", &cache(), *store_);
  Collected first;
  ASSERT_TRUE(ex.explain("Sea  STORIES ", {pk("s-1"), pk("s-17")}, first.sink()));
  Collected second;
  auto r = ex.explain("sea stories", {pk("s-1"), pk("s-17")}, second.sink());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->cached);
  EXPECT_EQ(second.paragraphs, first.paragraphs);
  EXPECT_GT(second.events, 2);            // word by word, like a generation
  EXPECT_EQ(server_.prompts.size(), 2u);  // the model was called for the first only
  EXPECT_EQ(cache_count("hit"), 1);
  EXPECT_EQ(cache_count("miss"), 1);
}

TEST_P(ExplainerTest, other_books_or_another_model_miss_the_cache) {
  Explainer ex(&server_, "m1", &cache(), *store_);
  Collected a, b, c;
  ASSERT_TRUE(ex.explain("sea", {pk("s-1"), pk("s-17")}, a.sink()));
  ASSERT_TRUE(ex.explain("sea", {pk("s-17"), pk("s-1")}, b.sink()));
  Explainer other(&server_, "m2", &cache(), *store_);
  auto r = other.explain("sea", {pk("s-1"), pk("s-17")}, c.sink());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->cached);
  EXPECT_EQ(cache_count("hit"), 0);
}

TEST_P(ExplainerTest, an_expired_entry_is_a_miss) {
  Explainer ex(&server_, "m1", &cache(/*ttl=*/-1), *store_);
  Collected a, b;
  ASSERT_TRUE(ex.explain("sea", {pk("s-1")}, a.sink()));
  auto r = ex.explain("sea", {pk("s-1")}, b.sink());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->cached);
}

TEST_P(ExplainerTest, a_cancelled_explanation_stops_the_model_and_is_not_cached) {
  Explainer ex(&server_, "m1", &cache(), *store_);
  Collected got;
  got.stop_after = 2;
  auto r = ex.explain("sea", {pk("s-1"), pk("s-17")}, got.sink());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(server_.prompts.size(), 1u);  // the second book was never asked for
  Collected again;
  auto r2 = ex.explain("sea", {pk("s-1"), pk("s-17")}, again.sink());
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->cached);
}

TEST_P(ExplainerTest, a_model_server_failure_is_an_error_before_any_piece) {
  server_.error = core::Error::make(core::ErrorCode::kUnavailable, "down", "llm-unreachable");
  Explainer ex(&server_, "m1", &cache(), *store_);
  Collected got;
  auto r = ex.explain("sea", {pk("s-1")}, got.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "llm-unreachable");
  EXPECT_EQ(got.events, 0);  // no title without its reason
}

TEST_P(ExplainerTest, without_a_model_server_the_error_says_so) {
  Explainer ex(nullptr, "", nullptr, *store_);
  Collected got;
  auto r = ex.explain("sea", {pk("s-1")}, got.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "llm-not-configured");
  EXPECT_FALSE(ex.configured());
}

TEST(ExplanationCacheKey, NormalisesCaseAndSpacing) {
  EXPECT_EQ(ExplanationCache::normalise("  Cosy \t MYSTERIES\n"), "cosy mysteries");
  EXPECT_EQ(ExplanationCache::key("A  b", {"x"}, "m"), ExplanationCache::key("a b", {"x"}, "m"));
  EXPECT_NE(ExplanationCache::key("a b", {"x"}, "m"), ExplanationCache::key("a b", {"x"}, "n"));
  EXPECT_NE(ExplanationCache::key("a b", {"x", "y"}, "m"),
            ExplanationCache::key("a b", {"y", "x"}, "m"));
}

INSTANTIATE_TEST_SUITE_P(Stores, ExplainerTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::search
