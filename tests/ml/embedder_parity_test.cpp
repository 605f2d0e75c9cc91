// Parity of the C++ encoder with the reference (sentence-transformers / transformers on PyTorch):
// fixtures hold the reference's token ids and outputs; the models come from
// scripts/fetch-models.sh. Both absent: the tests skip, saying what is missing.
#include "ml/embedder.hpp"
#include "ml_test_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace libromind::ml {
namespace {

using testing::model_root;
using testing::source_dir;

bool exists(const std::string& path) {
  struct stat sb {};
  return stat(path.c_str(), &sb) == 0;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

std::vector<int32_t> ints(const nlohmann::json& a) { return a.get<std::vector<int32_t>>(); }

Encoding encoding_from(const std::vector<int32_t>& ids, std::vector<int32_t> types = {}) {
  Encoding e;
  e.ids = ids;
  e.type_ids = types.empty() ? std::vector<int32_t>(ids.size(), 0) : std::move(types);
  e.attention_mask.assign(ids.size(), 1);
  return e;
}

struct EmbedderFixture {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> input_ids;
  std::vector<std::vector<float>> embeddings;
};

// Accepts {"texts": [...], "input_ids": [...], "embeddings": [...]} or a list of cases
// ({"cases": [{"text", "input_ids", "embedding"}]}).
EmbedderFixture load_embedder_fixture(const std::string& path) {
  const nlohmann::json j = read_json(path);
  EmbedderFixture f;
  if (j.contains("cases")) {
    for (const auto& c : j["cases"]) {
      f.texts.push_back(c["text"].get<std::string>());
      f.input_ids.push_back(ints(c["input_ids"]));
      f.embeddings.push_back(c["embedding"].get<std::vector<float>>());
    }
  } else {
    f.texts = j["texts"].get<std::vector<std::string>>();
    for (const auto& ids : j["input_ids"]) {
      f.input_ids.push_back(ints(ids));
    }
    f.embeddings = j["embeddings"].get<std::vector<std::vector<float>>>();
  }
  return f;
}

struct Diff {
  double worst_cosine = 1.0;
  double worst_abs = 0.0;
};

void compare(const std::vector<std::vector<float>>& got, const EmbedderFixture& f, Diff* diff) {
  ASSERT_EQ(got.size(), f.embeddings.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), f.embeddings[i].size()) << "text " << i;
    double dot = 0, na = 0, nb = 0, max_abs = 0;
    for (size_t j = 0; j < got[i].size(); ++j) {
      dot += static_cast<double>(got[i][j]) * f.embeddings[i][j];
      na += static_cast<double>(got[i][j]) * got[i][j];
      nb += static_cast<double>(f.embeddings[i][j]) * f.embeddings[i][j];
      max_abs = std::max(max_abs, std::abs(static_cast<double>(got[i][j]) - f.embeddings[i][j]));
    }
    const double cosine = dot / std::sqrt(na * nb);
    EXPECT_GE(cosine, 0.9999) << "text " << i << ": " << f.texts[i].substr(0, 80);
    EXPECT_LE(max_abs, 1e-4) << "text " << i << ": " << f.texts[i].substr(0, 80);
    diff->worst_cosine = std::min(diff->worst_cosine, cosine);
    diff->worst_abs = std::max(diff->worst_abs, max_abs);
  }
}

class EmbedderParity : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_path_ = source_dir() + "/tests/ml/fixtures/embedder_parity.json";
    model_dir_ = model_root() + "/embedder";
    if (!exists(fixture_path_)) {
      LM_SKIP_OR_FAIL("no fixture at " << fixture_path_ << " (made by the parity tool)");
    }
    if (!exists(model_dir_ + "/model.safetensors")) {
      LM_SKIP_OR_FAIL("no embedder model in " << model_dir_ << " (run scripts/fetch-models.sh)");
    }
    fixture_ = load_embedder_fixture(fixture_path_);
  }

  std::string fixture_path_;
  std::string model_dir_;
  EmbedderFixture fixture_;
};

TEST_F(EmbedderParity, reference_token_ids_give_the_reference_embeddings) {
  auto emb = SentenceEmbedder::load(model_dir_);
  ASSERT_TRUE(emb) << emb.error().message;
  std::vector<Encoding> encodings;
  for (const auto& ids : fixture_.input_ids) {
    encodings.push_back(encoding_from(ids));
  }
  auto got = emb->embed_encodings(encodings);
  ASSERT_TRUE(got) << got.error().message;
  Diff diff;
  compare(*got, fixture_, &diff);
  std::printf("[parity ids] %zu texts: worst cosine %.12f, worst max abs diff %.3g\n",
              fixture_.texts.size(), diff.worst_cosine, diff.worst_abs);
}

TEST_F(EmbedderParity, texts_through_the_tokenizer_give_the_reference_embeddings) {
  EncoderOptions options = default_encoder_options();
  options.threads = 2;
  options.batch_size = 8;  // several batches, and another thread count, same numbers
  auto emb = SentenceEmbedder::load(model_dir_, options);
  ASSERT_TRUE(emb) << emb.error().message;
  for (size_t i = 0; i < fixture_.texts.size(); ++i) {
    EXPECT_EQ(emb->tokenizer().encode(fixture_.texts[i]).ids, fixture_.input_ids[i])
        << "tokenizer differs from the reference on text " << i;
  }
  auto got = emb->embed(fixture_.texts);
  ASSERT_TRUE(got) << got.error().message;
  Diff diff;
  compare(*got, fixture_, &diff);
  std::printf("[parity text] %zu texts: worst cosine %.12f, worst max abs diff %.3g\n",
              fixture_.texts.size(), diff.worst_cosine, diff.worst_abs);
}

TEST(EmbedderBatch, a_text_alone_and_inside_a_padded_batch_embed_the_same) {
  const std::string model_dir = model_root() + "/embedder";
  if (!exists(model_dir + "/model.safetensors")) {
    GTEST_SKIP() << "no embedder model in " << model_dir << " (run scripts/fetch-models.sh)";
  }
  EncoderOptions options = default_encoder_options();
  options.threads = 2;  // the batch is split across threads; the lone text is not
  auto emb = SentenceEmbedder::load(model_dir, options);
  ASSERT_TRUE(emb) << emb.error().message;
  const std::string text = "A whale of a tale.";
  std::vector<std::string> batch = {text};
  for (int i = 1; i <= 5; ++i) {
    std::string longer;  // longer texts: the short one is padded to the longest
    for (int k = 0; k < 8 * i; ++k) {
      longer += "The captain hunts the white whale across the sea. ";
    }
    batch.push_back(longer);
  }
  batch.push_back(text);  // the same text twice in one batch
  auto alone = emb->embed({text});
  auto inside = emb->embed(batch);
  ASSERT_TRUE(alone && inside);
  double max_abs = 0;
  for (size_t j = 0; j < (*alone)[0].size(); ++j) {
    max_abs = std::max(max_abs, static_cast<double>(std::abs((*alone)[0][j] - (*inside)[0][j])));
    max_abs = std::max(max_abs, static_cast<double>(std::abs((*alone)[0][j] - inside->back()[j])));
  }
  EXPECT_LE(max_abs, 1e-5);
  std::printf("[batch] alone vs padded batch: max abs diff %.3g\n", max_abs);
}

TEST(EmbedderLoad, missing_model_directory_names_the_file) {
  auto emb = SentenceEmbedder::load("/nonexistent/embedder");
  ASSERT_FALSE(emb);
  EXPECT_NE(emb.error().message.find("/nonexistent/embedder/"), std::string::npos)
      << emb.error().message;
}

// ---- Cross-encoder ----

struct RerankerFixture {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::vector<int32_t>> input_ids;
  std::vector<std::vector<int32_t>> token_type_ids;
  std::vector<float> logits;
};

// {"pairs": [{"query", "document", "input_ids", "token_type_ids", "logit"}, ...]}.
RerankerFixture load_reranker_fixture(const std::string& path) {
  const nlohmann::json j = read_json(path);
  RerankerFixture f;
  for (const auto& c : j["pairs"]) {
    f.pairs.emplace_back(c["query"].get<std::string>(), c["document"].get<std::string>());
    f.input_ids.push_back(ints(c["input_ids"]));
    f.token_type_ids.push_back(ints(c["token_type_ids"]));
    f.logits.push_back(c["logit"].get<float>());
  }
  return f;
}

// Indices sorted by descending logit within each query (ties by index).
std::map<std::string, std::vector<size_t>> rankings(
    const std::vector<std::pair<std::string, std::string>>& pairs, const std::vector<float>& l) {
  std::map<std::string, std::vector<size_t>> by_query;
  for (size_t i = 0; i < pairs.size(); ++i) {
    by_query[pairs[i].first].push_back(i);
  }
  for (auto& [q, idx] : by_query) {
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return l[a] > l[b]; });
  }
  return by_query;
}

// Scores the fixture's pairs from its token ids and through the tokenizer (grouped per query,
// as the search service calls it) and compares logits and per-query rankings.
void check_cross_encoder(const std::string& model_dir, const std::string& fixture_path,
                         double tolerance) {
  const RerankerFixture f = load_reranker_fixture(fixture_path);
  ASSERT_FALSE(f.pairs.empty());
  EncoderOptions options = default_encoder_options();
  options.batch_size = 8;
  auto ce = CrossEncoder::load(model_dir, options);
  ASSERT_TRUE(ce) << ce.error().message;

  std::vector<Encoding> encodings;
  for (size_t i = 0; i < f.input_ids.size(); ++i) {
    encodings.push_back(encoding_from(f.input_ids[i], f.token_type_ids[i]));
  }
  auto by_ids = ce->score_encodings(encodings);
  ASSERT_TRUE(by_ids) << by_ids.error().message;

  std::vector<float> by_text(f.pairs.size());
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < f.pairs.size(); ++i) {
    groups[f.pairs[i].first].push_back(i);
  }
  for (const auto& [query, idx] : groups) {
    std::vector<std::string> docs;
    for (size_t i : idx) {
      docs.push_back(f.pairs[i].second);
    }
    auto s = ce->score(query, docs);
    ASSERT_TRUE(s) << s.error().message;
    for (size_t k = 0; k < idx.size(); ++k) {
      by_text[idx[k]] = s->logits[k];
      EXPECT_NEAR(s->scores[k], 1.0 / (1.0 + std::exp(-s->logits[k])), 1e-6);
      const Encoding e = ce->tokenizer().encode_pair(query, docs[k]);
      EXPECT_EQ(e.ids, f.input_ids[idx[k]]) << "tokenizer differs on pair " << idx[k];
      EXPECT_EQ(e.type_ids, f.token_type_ids[idx[k]]) << "type ids differ on pair " << idx[k];
    }
  }

  double worst_ids = 0, worst_text = 0;
  for (size_t i = 0; i < f.logits.size(); ++i) {
    EXPECT_NEAR(by_ids->logits[i], f.logits[i], tolerance) << "pair " << i << " (ids)";
    EXPECT_NEAR(by_text[i], f.logits[i], tolerance) << "pair " << i << " (text)";
    worst_ids = std::max(worst_ids, std::abs(static_cast<double>(by_ids->logits[i]) - f.logits[i]));
    worst_text = std::max(worst_text, std::abs(static_cast<double>(by_text[i]) - f.logits[i]));
  }
  EXPECT_EQ(rankings(f.pairs, by_ids->logits), rankings(f.pairs, f.logits));
  EXPECT_EQ(rankings(f.pairs, by_text), rankings(f.pairs, f.logits));
  std::printf("[parity cross-encoder %s] %zu pairs: worst logit diff %.3g (ids), %.3g (text)\n",
              model_dir.c_str(), f.logits.size(), worst_ids, worst_text);
}

// A seeded random BertForSequenceClassification saved by transformers: proves the
// architecture (bert. prefix, pooler, classifier, pairs) without pretrained weights.
TEST(CrossEncoderParity, tiny_random_cross_encoder_matches_reference_logits) {
  const std::string dir = source_dir() + "/tests/ml/fixtures";
  if (!exists(dir + "/tiny_reranker_parity.json")) {
    GTEST_SKIP() << "no fixture at " << dir
                 << "/tiny_reranker_parity.json (made by the parity tool)";
  }
  check_cross_encoder(dir + "/tiny-cross-encoder", dir + "/tiny_reranker_parity.json", 1e-4);
}

TEST(CrossEncoderParity, installed_reranker_matches_reference_logits_and_ranking) {
  const std::string fixture_path = source_dir() + "/tests/ml/fixtures/reranker_parity.json";
  const std::string model_dir = model_root() + "/reranker";
  if (!exists(model_dir + "/model.safetensors")) {
    GTEST_SKIP() << "no re-ranker model in " << model_dir << " (none is installed by default)";
  }
  if (!exists(fixture_path)) {
    GTEST_SKIP() << "no fixture at " << fixture_path << " (made by the parity tool)";
  }
  check_cross_encoder(model_dir, fixture_path, 1e-3);
}

}  // namespace
}  // namespace libromind::ml
