#include "http/router.hpp"

#include <gtest/gtest.h>

namespace libromind::http {
namespace {

Request make(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

Router sample_router() {
  Router router;
  router.add("GET", "/api/v1/books", [](Request&) { return json_response(200, "list"); });
  router.add("GET", "/api/v1/books/{id}", [](Request&) { return json_response(200, "one"); });
  router.add("DELETE", "/api/v1/books/{id}", [](Request&) { return json_response(204, ""); });
  return router;
}

TEST(Router, MatchesPathParametersAndNamesTheRoute) {
  auto router = sample_router();
  auto req = make("GET", "/api/v1/books/pg-84");
  auto m = router.match(req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(req.path_params.at("id"), "pg-84");
  EXPECT_EQ(req.route, "/api/v1/books/{id}");
}

TEST(Router, ToleratesATrailingSlash) {
  auto router = sample_router();
  auto req = make("GET", "/api/v1/books/");
  EXPECT_NE(router.match(req).route, nullptr);
}

TEST(Router, KnownPathWithOtherMethodListsTheAllowedMethods) {
  auto router = sample_router();
  auto req = make("POST", "/api/v1/books/pg-84");
  auto m = router.match(req);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "DELETE"}));
}

TEST(Router, HeadIsServedByTheGetRoute) {
  auto router = sample_router();
  auto req = make("HEAD", "/api/v1/books");
  EXPECT_NE(router.match(req).route, nullptr);
}

TEST(Router, UnknownPathIsUnmatchedWithNoAllowedMethods) {
  auto router = sample_router();
  auto req = make("GET", "/api/v1/nothing/here");
  auto m = router.match(req);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.allowed.empty());
  EXPECT_EQ(req.route, "unmatched");
}

TEST(Router, EmptySegmentsMatchNothing) {
  auto router = sample_router();
  auto req = make("GET", "/api/v1/books//pg-84");
  EXPECT_EQ(router.match(req).route, nullptr);
}

TEST(Router, AnEncodedSlashStaysInsideItsSegment) {
  auto router = sample_router();
  auto req = make("GET", "/api/v1/books/a%2Fb");
  ASSERT_NE(router.match(req).route, nullptr);
  EXPECT_EQ(req.path_params.at("id"), "a/b");
  auto req2 = make("GET", "/api/v1%2Fbooks");
  EXPECT_EQ(router.match(req2).route, nullptr);
}

TEST(Router, ASegmentMustMatchExactly) {
  auto router = sample_router();
  auto req = make("GET", "/api/v1/bookss");
  EXPECT_EQ(router.match(req).route, nullptr);
}

}  // namespace
}  // namespace libromind::http
