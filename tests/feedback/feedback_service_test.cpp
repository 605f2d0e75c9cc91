// Feedback on both stores: one vote per user per (request, book), re-voting changes it, votes
// are private to their user, statistics count by day and pipeline.
#include "feedback/feedback_service.hpp"

#include "../shop/shop_fixture.hpp"

namespace libromind::feedback {
namespace {

using shop::testing::ShopTest;

class FeedbackServiceTest : public ShopTest {
 protected:
  void SetUp() override {
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    fb_ = std::make_unique<FeedbackService>(*store_);
    user_ = make_user("a@example.org");
  }
  void reset_services() override { fb_.reset(); }

  VoteRequest vote(int64_t user, const std::string& request, const std::string& book,
                   const std::string& v) {
    return VoteRequest{user, request, book, "gothic novels", v, std::nullopt};
  }

  std::unique_ptr<FeedbackService> fb_;
  int64_t user_ = 0;
};

TEST_P(FeedbackServiceTest, voting_again_changes_the_vote_instead_of_adding_one) {
  auto first = fb_->vote(vote(user_, "req-1", "b-1", "up"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->vote.pipeline, "unknown");
  auto second = fb_->vote(vote(user_, "req-1", "b-1", "down"));
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->vote.id, first->vote.id);
  EXPECT_EQ(second->vote.vote, "down");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM feedback"), 1);
  // Another book of the same response is another vote.
  EXPECT_TRUE(fb_->vote(vote(user_, "req-1", "b-2", "up"))->created);
}

TEST_P(FeedbackServiceTest, bad_votes_are_refused) {
  auto unknown = fb_->vote(vote(user_, "req-1", "no-such-book", "up"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().type, "unknown-book");
  EXPECT_FALSE(fb_->vote(vote(user_, "req-1", "b-1", "meh")));
  EXPECT_FALSE(fb_->vote(vote(user_, "bad request id", "b-1", "up")));
  auto v = vote(user_, "req-1", "b-1", "up");
  v.comment = std::string(2001, 'x');
  EXPECT_FALSE(fb_->vote(v));
  v.comment = "fine\x01";
  EXPECT_FALSE(fb_->vote(v));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM feedback"), 0);
}

TEST_P(FeedbackServiceTest, votes_are_private_to_their_user) {
  int64_t other = make_user("b@example.org");
  auto mine = fb_->vote(vote(user_, "req-1", "b-1", "up"));
  ASSERT_TRUE(mine);
  EXPECT_EQ(fb_->get(other, mine->vote.id).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(fb_->remove(other, mine->vote.id).error().code, core::ErrorCode::kNotFound);
  EXPECT_TRUE(fb_->list_mine(other, std::nullopt, 100)->empty());
  EXPECT_EQ(fb_->list_mine(user_, std::string("req-1"), 100)->size(), 1u);
  EXPECT_TRUE(fb_->list_mine(user_, std::string("req-2"), 100)->empty());
  EXPECT_TRUE(fb_->remove(user_, mine->vote.id));
  EXPECT_FALSE(fb_->get(user_, mine->vote.id));
}

TEST_P(FeedbackServiceTest, stats_count_up_and_down_by_day_and_pipeline) {
  int64_t other = make_user("b@example.org");
  ASSERT_TRUE(fb_->vote(vote(user_, "req-1", "b-1", "up")));
  ASSERT_TRUE(fb_->vote(vote(user_, "req-1", "b-2", "up")));
  ASSERT_TRUE(fb_->vote(vote(other, "req-2", "b-1", "down")));
  exec(
      "UPDATE feedback SET created_at = '2026-01-02T10:00:00Z', pipeline = 'hybrid-v1' WHERE "
      "user_id = $1",
      {other});
  auto s = fb_->stats({});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->up, 2);
  EXPECT_EQ(s->down, 1);
  EXPECT_NEAR(s->up_rate, 2.0 / 3.0, 1e-9);
  ASSERT_EQ(s->by_day.size(), 2u);
  EXPECT_EQ(s->by_day[1].key, "2026-01-02");
  EXPECT_EQ(s->by_day[1].down, 1);
  ASSERT_EQ(s->by_pipeline.size(), 2u);
  EXPECT_EQ(s->by_pipeline[0].key, "unknown");
  EXPECT_EQ(s->by_pipeline[0].up, 2);
  EXPECT_DOUBLE_EQ(s->by_pipeline[0].up_rate, 1.0);
  ASSERT_EQ(s->by_day_and_pipeline.size(), 2u);
  EXPECT_EQ(s->by_day_and_pipeline[1].key, "2026-01-02");
  EXPECT_EQ(s->by_day_and_pipeline[1].pipeline, "hybrid-v1");
  EXPECT_EQ(s->by_day_and_pipeline[1].down, 1);
  StatsQuery q;
  q.from = "2026-01-02";
  q.to = "2026-01-02";
  auto day = fb_->stats(q);
  ASSERT_TRUE(day);
  EXPECT_EQ(day->up, 0);
  EXPECT_EQ(day->down, 1);
  StatsQuery p;
  p.pipeline = "hybrid-v1";
  EXPECT_EQ(fb_->stats(p)->down, 1);
}

TEST(FeedbackValidation, days_and_request_ids) {
  EXPECT_TRUE(valid_day("2026-12-01"));
  EXPECT_FALSE(valid_day("2026-13-01"));
  EXPECT_FALSE(valid_day("2023-02-29"));
  EXPECT_TRUE(valid_day("2024-02-29"));
  EXPECT_FALSE(valid_day("2024-04-31"));
  EXPECT_FALSE(valid_day("2000-00-10"));
  EXPECT_FALSE(valid_day("2026-1-01"));
  EXPECT_FALSE(valid_day("yesterday"));
  EXPECT_TRUE(valid_request_id("8f1c2e0a9b7d4c31"));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id(std::string(129, 'a')));
}

INSTANTIATE_TEST_SUITE_P(Stores, FeedbackServiceTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::feedback
