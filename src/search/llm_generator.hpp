// The pipeline's Generator (query expansion, HyDE) on a model server: one complete, short,
// low-temperature answer per call.
#pragma once

#include <string>

#include "llm/client.hpp"
#include "search/pipeline.hpp"

namespace libromind::search {

class LlmGenerator final : public Generator {
 public:
  LlmGenerator(llm::ModelServer& server, std::string model)
      : server_(server), model_(std::move(model)) {}

  core::Result<std::string> generate(const std::string& system, const std::string& user,
                                     int max_tokens) override {
    llm::ChatRequest req;
    req.messages = {{"system", system}, {"user", user}};
    req.temperature = 0.2;
    req.max_tokens = max_tokens;
    LM_ASSIGN_OR_RETURN(auto r, server_.complete(req));
    return std::move(r.text);
  }
  bool available() const override { return server_.available(); }
  std::string model() const override { return model_; }

 private:
  llm::ModelServer& server_;
  std::string model_;
};

}  // namespace libromind::search
