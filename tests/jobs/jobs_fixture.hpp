// A fresh, migrated store (SQLite or PostgreSQL) and a queue on it, for the jobs suites.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "../store/store_fixture.hpp"
#include "jobs/queue.hpp"

namespace libromind::jobs::testing {

class JobsTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Fast retries, so that tests can watch a job go through all of its attempts.
    queue_ = std::make_unique<Queue>(
        *store_, RetryPolicy{std::chrono::milliseconds(1), std::chrono::milliseconds(5), 0.0});
  }

  void TearDown() override {
    queue_.reset();
    StoreTest::TearDown();
  }

  int64_t enqueue(const std::string& kind, nlohmann::json payload = nlohmann::json::object(),
                  int64_t max_attempts = 5) {
    EnqueueRequest r;
    r.kind = kind;
    r.payload = std::move(payload);
    r.max_attempts = max_attempts;
    auto e = queue_->enqueue(r);
    EXPECT_TRUE(e) << e.error().message;
    return e ? e->id : 0;
  }

  JobState state(int64_t id) {
    auto j = queue_->get(id);
    EXPECT_TRUE(j) << j.error().message;
    return j ? j->state : JobState::kQueued;
  }

  std::unique_ptr<Queue> queue_;
};

}  // namespace libromind::jobs::testing
