// The router and api/openapi.yaml describe the same API: every route the service registers is
// in the spec with its method, and every operation in the spec is routed.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "http/api.hpp"
#include "store/migrations.hpp"

namespace libromind::http {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::set<std::string> service_routes() {
  auto dir = std::filesystem::temp_directory_path() / ("lm-contract-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  store::StoreOptions so;
  so.url = "sqlite://" + (dir / "c.db").string();
  auto st = store::open_store(so);
  EXPECT_TRUE(st.ok());
  telemetry::Registry metrics;
  catalog::CatalogService catalog(**st);
  catalog::CatalogAdmin catalog_admin(**st);
  accounts::PasswordHasher hasher({accounts::kMinOpsLimit, accounts::kMinMemLimitKib});
  accounts::TokenSigner signer(accounts::ephemeral_key_ring());
  accounts::AccountService accounts(**st, hasher, signer, {});
  shop::CartService carts(**st);
  shop::TestPaymentProvider payments;
  shop::OrderService orders(**st, payments);
  feedback::FeedbackService feedback(**st);
  Authenticator auth(accounts);
  ShopMetrics shop_metrics(metrics);
  SearchMetrics search_metrics(metrics);
  ApiServices api{**st,   metrics,  catalog, catalog_admin, accounts, carts,
                  orders, feedback, auth,    shop_metrics,  {}};
  api.search_metrics = &search_metrics;
  Router router;
  register_api_routes(router, api);
  std::set<std::string> out;
  for (const auto& r : router.routes()) out.insert(lower(r.method) + " " + r.pattern);
  std::filesystem::remove_all(dir);
  return out;
}

std::set<std::string> spec_operations() {
  YAML::Node spec = YAML::LoadFile(std::string(LIBROMIND_SOURCE_DIR) + "/api/openapi.yaml");
  std::set<std::string> out;
  for (const auto& path : spec["paths"]) {
    for (const auto& op : path.second) {
      const std::string method = op.first.as<std::string>();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      out.insert(method + " " + path.first.as<std::string>());
    }
  }
  return out;
}

TEST(OpenApiContract, EveryRouteIsInTheSpec) {
  auto spec = spec_operations();
  for (const auto& route : service_routes()) {
    EXPECT_TRUE(spec.count(route)) << "route missing from api/openapi.yaml: " << route;
  }
}

TEST(OpenApiContract, EveryOperationInTheSpecIsRouted) {
  auto routes = service_routes();
  for (const auto& op : spec_operations()) {
    EXPECT_TRUE(routes.count(op)) << "api/openapi.yaml documents an unrouted operation: " << op;
  }
}

}  // namespace
}  // namespace libromind::http
