#include "ml/model_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace libromind::ml {
namespace {

namespace fs = std::filesystem;

class ModelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lm-model-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "1_Pooling");
    write("config.json", "{\"hidden_size\": 4}\n");
    write("1_Pooling/config.json", "{}\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string sum(const std::string& name) { return *sha256_file((dir_ / name).string()); }
  fs::path dir_;
};

TEST(Sha256, MatchesTheKnownDigestOfAbc) {
  auto path = fs::temp_directory_path() / "lm-sha256-abc.txt";
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(*sha256_file(path.string()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fs::remove(path);
}

TEST_F(ModelFilesTest, FilesMatchingTheirSumsPass) {
  write("SHA256SUMS", sum("config.json") + "  config.json\n" + sum("1_Pooling/config.json") +
                          "  1_Pooling/config.json\n");
  EXPECT_TRUE(verify_model_files(dir_.string()).ok());
}

TEST_F(ModelFilesTest, ACorruptFileIsNamedWithItsExpectedHash) {
  const std::string expected = sum("config.json");
  write("SHA256SUMS", expected + "  config.json\n");
  write("config.json", "{\"hidden_size\": 5}\n");
  auto r = verify_model_files(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("config.json"), std::string::npos);
  EXPECT_NE(r.error().message.find(expected), std::string::npos);
}

TEST_F(ModelFilesTest, AMissingFileIsNamedWithItsExpectedHash) {
  write("SHA256SUMS", std::string(64, 'a') + "  model.safetensors\n");
  auto r = verify_model_files(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("model.safetensors is missing"), std::string::npos);
  EXPECT_NE(r.error().message.find(std::string(64, 'a')), std::string::npos);
}

TEST_F(ModelFilesTest, ADirectoryWithoutSumsIsRefusedUnlessAllowed) {
  EXPECT_FALSE(verify_model_files(dir_.string()).ok());
  EXPECT_TRUE(verify_model_files(dir_.string(), /*allow_unlisted=*/true).ok());
  EXPECT_FALSE(verify_model_files((dir_ / "nope").string(), true).ok());
}

}  // namespace
}  // namespace libromind::ml
