// POST /api/v1/auth/register|login|refresh|logout, GET /api/v1/me.
#include "http/handlers/params.hpp"
#include "http/handlers/shop_routes.hpp"

namespace libromind::http {
namespace {

ojson user_json(const accounts::User& u) {
  return {{"id", u.id}, {"email", u.email}, {"role", u.role}, {"created_at", u.created_at}};
}

ojson session_json(const accounts::Session& s) {
  return {{"access_token", s.access_token},
          {"token_type", "Bearer"},
          {"expires_in", s.access_expires_in},
          {"refresh_token", s.refresh_token},
          {"refresh_expires_in", s.refresh_expires_in},
          {"user", user_json(s.user)}};
}

}  // namespace

void register_account_routes(Router& router, accounts::AccountService& accounts,
                             shop::CartService& carts, const Authenticator& auth,
                             const ShopRouteOptions& options, ShopMetrics& metrics) {
  router.add("POST", "/api/v1/auth/register", [&accounts, &metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"email", "password"}));
      LM_ASSIGN_OR_RETURN(auto email, required_str(body, "email", 254));
      LM_ASSIGN_OR_RETURN(auto password, required_str(body, "password", 1024));
      auto user = accounts.register_user(email, password);
      metrics.registrations.with({user ? "ok" : outcome(user.error())}).inc();
      if (!user) return user.error();
      return json_ok(201, {{"user", user_json(*user)}});
    });
  });

  router.add("POST", "/api/v1/auth/login", [&accounts, &carts, &metrics, options](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"email", "password"}));
      LM_ASSIGN_OR_RETURN(auto email, required_str(body, "email", 254));
      LM_ASSIGN_OR_RETURN(auto password, required_str(body, "password", 1024));
      auto login = accounts.login(email, password, client_address(req, options.trusted_proxies));
      metrics.logins.with({login ? "ok" : outcome(login.error())}).inc();
      if (!login) return login.error();
      const accounts::Session& session = *login;
      Response r = json_ok(200, session_json(session));
      // An anonymous cart joins the user's cart; its token is then of no more use.
      if (auto token = cart_token(req)) {
        LM_TRY(carts.merge(*token, session.user.id));
        r.set_header("Set-Cookie", "lm_cart=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
      }
      return r;
    });
  });

  router.add("POST", "/api/v1/auth/refresh", [&accounts, &metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"refresh_token"}));
      LM_ASSIGN_OR_RETURN(auto token, required_str(body, "refresh_token", 256));
      auto session = accounts.refresh(token);
      metrics.refreshes.with({session ? "ok" : outcome(session.error())}).inc();
      if (!session) return session.error();
      return json_ok(200, session_json(*session));
    });
  });

  router.add("POST", "/api/v1/auth/logout", [&accounts](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"refresh_token"}));
      LM_ASSIGN_OR_RETURN(auto token, required_str(body, "refresh_token", 256));
      LM_TRY(accounts.logout(token));
      return no_content();
    });
  });

  router.add("GET", "/api/v1/me", [&accounts, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto user, accounts.get_user(who.user_id));
      return json_ok(200, user_json(user));
    });
  });
}

}  // namespace libromind::http
