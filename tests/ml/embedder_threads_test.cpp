// The thread count changes how the encoder splits its work, never its result: a single query
// (split across threads inside the few-row kernel) and a batch (split into groups of sequences)
// give the same vectors with 1 and 2 threads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "ml/embedder.hpp"
#include "ml_test_support.hpp"

namespace libromind::ml {
namespace {

std::string embedder_dir() { return testing::model_root() + "/embedder"; }

std::vector<std::vector<float>> embed_with(int32_t threads, const std::vector<std::string>& texts) {
  EncoderOptions o = default_encoder_options();
  o.threads = threads;
  auto e = SentenceEmbedder::load(embedder_dir(), o);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  if (!e.ok()) return {};
  auto v = e->embed(texts);
  EXPECT_TRUE(v.ok());
  return v.ok() ? *v : std::vector<std::vector<float>>{};
}

TEST(EmbedderThreads, OneAndTwoThreadsGiveTheSameVectors) {
  if (!std::filesystem::exists(embedder_dir() + "/model.safetensors")) {
    LM_SKIP_OR_FAIL("no embedder in " << embedder_dir() << " (run scripts/fetch-models.sh)");
  }
  for (const std::vector<std::string>& texts :
       {std::vector<std::string>{"a slow, sad novel about memory and a lost brother"},
        std::vector<std::string>{"whales", "a cookbook of french desserts", "",
                                 "Frankenstein; Or, The Modern Prometheus"}}) {
    auto one = embed_with(1, texts);
    auto two = embed_with(2, texts);
    ASSERT_EQ(one.size(), texts.size());
    ASSERT_EQ(two.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      for (size_t j = 0; j < one[i].size(); ++j) {
        EXPECT_NEAR(one[i][j], two[i][j], 1e-6) << "text " << i << " dim " << j;
      }
    }
  }
}

}  // namespace
}  // namespace libromind::ml
