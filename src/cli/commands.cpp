#include "cli/commands.hpp"

#include "cli/flags.hpp"
#include "cli/job_commands.hpp"
#include "cli/search_stack.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "accounts/account_service.hpp"
#include "catalog/catalog_admin.hpp"
#include "catalog/catalog_service.hpp"
#include "catalog/change_feed.hpp"
#include "catalog/importer.hpp"
#include "core/text.hpp"
#include "http/api.hpp"
#include "http/handlers/imports_routes.hpp"
#include "http/server.hpp"
#include "jobs/kinds.hpp"
#include "jobs/metrics.hpp"
#include "jobs/queue.hpp"
#include "ml/model_files.hpp"
#include "search/explainer.hpp"
#include "search/llm_generator.hpp"
#include "search/request_log.hpp"
#include "search/search_service.hpp"
#include "store/migrations.hpp"
#include "telemetry/log.hpp"

namespace libromind::cli {
namespace {

int run_migrate(StoreFlags& f) {
  auto st = open_store(f);
  if (!st) return fail(st.error().message);
  auto applied = store::migrate(**st);
  if (!applied) return fail("migration failed: " + applied.error().message);
  telemetry::log_info("migrations_applied", {{"store", (*st)->describe()}, {"applied", *applied}});
  return 0;
}

struct ImportFlags {
  std::vector<std::string> files;
  bool dry_run = false;
  std::string on_error = "abort";
  size_t batch_size = 500;
  bool migrate = true;
  bool if_empty = false;
};

int run_import(StoreFlags& f, ImportFlags& i) {
  auto st = open_store(f);
  if (!st) return fail(st.error().message);
  if (i.migrate) {
    auto applied = store::migrate(**st);
    if (!applied) return fail("migration failed: " + applied.error().message);
  }
  if (i.if_empty) {
    auto count = catalog::count_books(**st);
    if (!count) return fail(count.error().message);
    if (*count > 0) {
      telemetry::log_info("import_skipped",
                          {{"reason", "store already has books"}, {"books", *count}});
      return 0;
    }
  }
  catalog::ImportOptions opts;
  opts.dry_run = i.dry_run;
  opts.on_error = i.on_error == "skip" ? catalog::OnError::kSkip : catalog::OnError::kAbort;
  opts.batch_size = i.batch_size;
  // The new and changed books' vectors: one catalogue pass for a worker, committed with them.
  opts.before_commit = [](store::Connection& tx,
                          const catalog::ImportReport& rep) -> core::Result<void> {
    if (rep.changed_book_ids.empty()) return core::ok();
    LM_TRY(jobs::enqueue(tx, jobs::embed_stale()));
    return core::ok();
  };
  auto started = std::chrono::steady_clock::now();
  auto report = catalog::import_files(**st, i.files, opts);
  if (!report) return fail("import failed: " + report.error().message);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& e : report->errors) std::cerr << catalog::to_string(e) << "\n";
  if (report->failed > static_cast<int64_t>(report->errors.size())) {
    std::cerr << "... and " << (report->failed - static_cast<int64_t>(report->errors.size()))
              << " more records with errors\n";
  }
  nlohmann::json summary = {{"store", (*st)->describe()},
                            {"files", i.files.size()},
                            {"records_read", report->records_read},
                            {"inserted", report->inserted},
                            {"updated", report->updated},
                            {"unchanged", report->unchanged},
                            {"failed", report->failed},
                            {"dry_run", i.dry_run},
                            {"committed", report->committed},
                            {"seconds", secs}};
  telemetry::log_info("import_finished", summary);
  if (report->failed > 0 && opts.on_error == catalog::OnError::kAbort) {
    std::cerr << "libromind: import aborted: " << report->failed
              << " bad records; nothing was written (use --on-error=skip to import the good "
                 "records)\n";
    return 1;
  }
  return report->failed > 0 ? 1 : 0;
}

// Password hashing and token settings, shared by `serve` and `user`.
struct AuthFlags {
  uint64_t argon2_ops = accounts::Argon2Params{}.ops_limit;
  uint64_t argon2_memory_kib = accounts::Argon2Params{}.mem_limit_kib;
  std::string jwt_keys_file;
  std::string jwt_keys;
  int access_token_ttl = 900;
  int refresh_token_ttl = 30 * 24 * 3600;
};

void add_auth_flags(CLI::App& cmd, AuthFlags& a, bool tokens) {
  cmd.add_option("--argon2-ops", a.argon2_ops, "argon2id passes (t), at least 2")
      ->envname("LIBROMIND_ARGON2_OPS")
      ->capture_default_str();
  cmd.add_option("--argon2-memory-kib", a.argon2_memory_kib,
                 "argon2id memory (m) in KiB, at least 19456")
      ->envname("LIBROMIND_ARGON2_MEMORY_KIB")
      ->capture_default_str();
  if (!tokens) return;
  cmd.add_option("--jwt-keys-file", a.jwt_keys_file,
                 "File of access-token signing keys, one 'KID BASE64URL-SECRET' per line; the "
                 "first signs")
      ->envname("LIBROMIND_JWT_KEYS_FILE");
  cmd.add_option("--jwt-keys", a.jwt_keys,
                 "The signing keys themselves ('KID SECRET' entries separated by ';')")
      ->envname("LIBROMIND_JWT_KEYS");
  cmd.add_option("--access-token-ttl", a.access_token_ttl, "Access token lifetime in seconds")
      ->envname("LIBROMIND_ACCESS_TOKEN_TTL")
      ->check(CLI::Range(30, 86400))
      ->capture_default_str();
  cmd.add_option("--refresh-token-ttl", a.refresh_token_ttl, "Refresh token lifetime in seconds")
      ->envname("LIBROMIND_REFRESH_TOKEN_TTL")
      ->check(CLI::Range(60, 365 * 86400))
      ->capture_default_str();
}

core::Result<accounts::Argon2Params> argon2_params(const AuthFlags& a) {
  accounts::Argon2Params p{a.argon2_ops, a.argon2_memory_kib};
  LM_TRY(accounts::validate_params(p));
  return p;
}

core::Result<std::vector<accounts::SigningKey>> signing_keys(const AuthFlags& a) {
  if (!a.jwt_keys_file.empty()) {
    std::ifstream in(a.jwt_keys_file);
    if (!in) return core::Error::invalid("cannot read --jwt-keys-file " + a.jwt_keys_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto keys = accounts::parse_key_ring(text);
    if (!keys) return core::Error::invalid(a.jwt_keys_file + ": " + keys.error().message);
    return keys;
  }
  if (!a.jwt_keys.empty()) {
    std::string text = a.jwt_keys;
    for (auto& c : text) {
      if (c == ';') c = '\n';
    }
    auto keys = accounts::parse_key_ring(text);
    if (!keys) return core::Error::invalid("--jwt-keys: " + keys.error().message);
    return keys;
  }
  telemetry::log_warn("jwt_keys_ephemeral",
                      {{"detail",
                        "no --jwt-keys-file or LIBROMIND_JWT_KEYS: access tokens are "
                        "signed with a random key that dies with this process"}});
  return accounts::ephemeral_key_ring();
}

struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  int io_threads = 1;
  int blocking_threads = 4;
  int max_pending = 256;
  bool migrate_on_start = true;
  std::string cors_origins;
  int shutdown_timeout = 10;
  bool access_log = true;
  int cache_mb = 64;
  int change_poll_ms = 250;
  std::string trusted_proxies;
  bool secure_cookies = false;
  AuthFlags auth;
  // Search
  bool search = true;
  std::string index_dir = "var/index";
  std::string model_dir;
  int index_max_tokens = 128;
  bool embed_in_background = true;
  int embed_threads = 1;
  int query_encoders = 2;
  int query_threads = 1;
  std::string wordnet_dir = "/usr/share/wordnet";
  std::string search_rerank = "auto";
  std::string search_expansion = "off";
  std::string search_hyde = "off";
  double search_dense_weight = 0.25;
  int search_lexical_budget = search::PipelineConfig{}.lexical_budget;
  LlmFlags llm;
  int64_t explanation_cache_ttl = 7 * 24 * 3600;
  WorkerFlags worker;
  MailFlags mail;
};

// Search for `serve`: the shared stack, the service, the request log and the metrics.
core::Result<void> setup_search(store::Store& store, const ServeFlags& s,
                                telemetry::Registry& metrics, http::SearchMetrics& sm,
                                catalog::CatalogService& catalog, search::RequestLog& log,
                                search::Generator* generator, std::unique_ptr<SearchStack>& stack,
                                std::unique_ptr<search::SearchService>& service) {
  SearchStackOptions o;
  o.index_dir = s.index_dir;
  o.model_dir = s.model_dir;
  o.index_max_tokens = s.index_max_tokens;
  o.embed_in_background = s.embed_in_background;
  o.embed_threads = s.embed_threads;
  o.query_encoders = s.query_encoders;
  o.query_threads = s.query_threads;
  o.wordnet_dir = s.wordnet_dir;
  o.generator = generator;
  LM_ASSIGN_OR_RETURN(stack, build_search_stack(store, o, [&sm](const search::Degraded& d) {
                        sm.degraded.with({d.stage}).inc();
                      }));
  search::PipelineConfig defaults = stack->installed_defaults();
  if (s.search_rerank != "auto") defaults.rerank = s.search_rerank == "on";
  LM_ASSIGN_OR_RETURN(defaults.expansion, search::parse_stage_source(s.search_expansion));
  LM_ASSIGN_OR_RETURN(defaults.hyde, search::parse_stage_source(s.search_hyde));
  defaults.dense_weight = s.search_dense_weight;
  defaults.lexical_budget = s.search_lexical_budget;
  service = std::make_unique<search::SearchService>(catalog, *stack->index, *stack->pipeline, &log,
                                                    defaults);
  if (stack->embed_jobs) service->set_embedder(stack->embed_jobs.get());
  auto& ready =
      metrics.gauge("libromind_search_index_ready", "Search indexes built (1) or not", {"index"});
  auto& docs = metrics.gauge("libromind_search_index_documents", "Documents in the search indexes",
                             {"index"});
  auto& embed = metrics.gauge("libromind_search_embeddings_pending",
                              "Book vectors still to compute in the current pass");
  auto& dropped = metrics.gauge("libromind_search_request_log_dropped",
                                "Search requests not recorded (queue full or store failure)");
  const search::SearchIndex* ix = stack->index.get();
  const search::EmbedJobs* bg = stack->embed_jobs.get();
  metrics.on_collect([ix, bg, &ready, &docs, &embed, &dropped, &log] {
    auto st = ix->status();
    ready.with({"lexical"}).set(st.lexical_ready ? 1 : 0);
    ready.with({"dense"}).set(st.dense_ready ? 1 : 0);
    docs.with({"lexical"}).set(static_cast<double>(st.docs));
    docs.with({"dense"}).set(static_cast<double>(st.vectors));
    if (bg) {
      auto p = bg->progress();
      embed.with({}).set(static_cast<double>(std::max<int64_t>(0, p.stale - p.embedded)));
    }
    dropped.with({}).set(static_cast<double>(log.dropped()));
  });
  telemetry::log_info("search_config", {{"index_dir", s.index_dir},
                                        {"embedder", stack->model_id},
                                        {"reranker", stack->reranker != nullptr},
                                        {"wordnet", stack->wordnet.has_value()},
                                        {"embed_in_background", stack->embed_jobs != nullptr},
                                        {"defaults", defaults.label()}});
  return core::ok();
}

int run_serve(StoreFlags& f, ServeFlags& s) {
  auto colon = s.listen.rfind(':');
  auto port =
      colon == std::string::npos ? std::nullopt : core::parse_int(s.listen.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return fail("--listen must be HOST:PORT, got '" + s.listen + "'");
  }
  auto st = open_store(f);
  if (!st) return fail(st.error().message);
  store::Store& store = **st;

  std::vector<std::string> origins;
  for (auto o : core::split(s.cors_origins, ',')) {
    if (!core::trim(o).empty()) origins.emplace_back(core::trim(o));
  }
  telemetry::log_info("config", {{"database_url", store.describe()},
                                 {"listen", s.listen},
                                 {"io_threads", s.io_threads},
                                 {"blocking_threads", s.blocking_threads},
                                 {"max_pending", s.max_pending},
                                 {"store_pool_size", f.pool_size},
                                 {"store_timeout_ms", f.busy_timeout_ms},
                                 {"migrate_on_start", s.migrate_on_start},
                                 {"cors_origins", origins},
                                 {"shutdown_timeout_seconds", s.shutdown_timeout},
                                 {"access_log", s.access_log},
                                 {"cache_mb", s.cache_mb},
                                 {"change_poll_ms", s.change_poll_ms},
                                 {"log_level", f.log_level},
                                 {"argon2_ops", s.auth.argon2_ops},
                                 {"argon2_memory_kib", s.auth.argon2_memory_kib},
                                 {"jwt_keys_file", s.auth.jwt_keys_file},
                                 {"access_token_ttl", s.auth.access_token_ttl},
                                 {"refresh_token_ttl", s.auth.refresh_token_ttl},
                                 {"trusted_proxies", s.trusted_proxies},
                                 {"payment_provider", "test"},
                                 {"version", LIBROMIND_VERSION}});
  if (s.migrate_on_start) {
    auto applied = store::migrate(store);
    if (!applied) return fail("migration failed: " + applied.error().message);
    if (!applied->empty()) telemetry::log_info("migrations_applied", {{"applied", *applied}});
  }

  telemetry::Registry metrics;
  metrics.gauge("libromind_build_info", "Build information", {"version"})
      .with({LIBROMIND_VERSION})
      .set(1);
  auto& pool_gauge =
      metrics.gauge("libromind_store_pool_connections", "Store connections by state", {"state"});
  metrics.on_collect([&store, &pool_gauge] {
    auto ps = store.pool_stats();
    pool_gauge.with({"open"}).set(static_cast<double>(ps.size));
    pool_gauge.with({"in_use"}).set(static_cast<double>(ps.in_use));
    pool_gauge.with({"waiting"}).set(static_cast<double>(ps.waiting));
  });

  auto params = argon2_params(s.auth);
  if (!params) return fail(params.error().message);
  auto keys = signing_keys(s.auth);
  if (!keys) return fail(keys.error().message);
  accounts::PasswordHasher hasher(*params);
  accounts::TokenSigner signer(*keys, s.auth.access_token_ttl);
  accounts::AccountOptions account_options;
  account_options.refresh_ttl_seconds = s.auth.refresh_token_ttl;
  accounts::AccountService accounts(store, hasher, signer, account_options);
  http::Authenticator auth(accounts);
  shop::CartService carts(store);
  shop::TestPaymentProvider payments;
  shop::OrderService orders(store, payments);
  feedback::FeedbackService feedback(store);
  // The job queue: the admin API, its metrics and (on by default with SQLite) the in-process
  // worker; bulk uploads and order e-mails are jobs.
  jobs::Queue job_queue(store);
  jobs::JobMetrics job_metrics(metrics);
  jobs::set_enqueue_metrics(&job_metrics);
  jobs::register_queue_gauges(metrics, job_queue);
  JobRuntime jobs_rt;
  jobs_rt.imports = std::make_unique<catalog::Imports>(
      store, catalog::ImportsOptions{.upload_dir = s.worker.upload_dir, .queue = &job_queue});
  auto smtp = make_smtp_sender(s.mail);
  if (!smtp) return fail(smtp.error().message);
  jobs_rt.smtp = std::move(*smtp);
  if (jobs_rt.smtp) {
    jobs_rt.emails = std::make_unique<shop::OrderEmails>(
        store, orders, *jobs_rt.smtp,
        shop::OrderEmailOptions{.shop_name = s.mail.shop_name, .base_url = s.mail.storefront_url});
    orders.enable_confirmation_emails(&job_queue);
  }
  http::ShopRouteOptions shop_options;
  for (auto p : core::split(s.trusted_proxies, ',')) {
    if (!core::trim(p).empty()) shop_options.trusted_proxies.emplace(core::trim(p));
  }
  shop_options.secure_cookies = s.secure_cookies;

  catalog::CatalogService catalog(store);
  catalog::CatalogAdmin catalog_admin(store);
  catalog::ChangeFeed feed(store, std::chrono::milliseconds(s.change_poll_ms));
  feed.start();
  http::Router router;
  http::ShopMetrics shop_metrics(metrics);
  http::SearchMetrics search_metrics(metrics);

  // Search: the derived indexes, the models it finds installed, the pipeline.
  // The model server (optional): the LLM stages and the explanations of recommendations.
  auto llm_client = make_llm_client(s.llm, &metrics);
  if (!llm_client) return fail(llm_client.error().message);
  std::unique_ptr<search::LlmGenerator> generator;
  if (*llm_client) {
    generator = std::make_unique<search::LlmGenerator>(**llm_client, s.llm.model);
    telemetry::log_info("llm_config", {{"url", store::redact_url(s.llm.url)},
                                       {"api", s.llm.api},
                                       {"model", s.llm.model},
                                       {"max_concurrency", s.llm.max_concurrency}});
  }
  search::ExplanationCache explanation_cache(store, s.explanation_cache_ttl, &metrics);
  search::Explainer explainer(llm_client->get(), s.llm.model,
                              s.explanation_cache_ttl > 0 ? &explanation_cache : nullptr, store);
  std::unique_ptr<SearchStack> search_stack;
  std::unique_ptr<search::SearchService> search_service;
  search::RequestLog request_log(store);
  if (s.search) {
    auto search_ready = setup_search(store, s, metrics, search_metrics, catalog, request_log,
                                     generator.get(), search_stack, search_service);
    if (!search_ready) return fail(search_ready.error().message);
    request_log.start();
  }
  http::ApiServices api{store,  metrics,  catalog, catalog_admin, accounts,    carts,
                        orders, feedback, auth,    shop_metrics,  shop_options};
  api.search = search_service.get();
  api.search_metrics = &search_metrics;
  api.explainer = &explainer;
  api.jobs = &job_queue;
  api.imports = jobs_rt.imports.get();
  http::register_api_routes(router, api);

  // Vectors missing from the store (a first start, a command-line import, a new model): one
  // catalogue pass for whichever worker runs embeddings.
  jobs_rt.embed = search_stack ? search_stack->embed_jobs.get() : nullptr;
  if (jobs_rt.embed) {
    if (auto r = job_queue.enqueue(jobs::embed_stale()); !r) {
      telemetry::log_warn("embed_stale_not_queued", {{"error", r.error().message}});
    }
  }
  const bool worker_on = s.worker.mode == "on" ||
                         (s.worker.mode == "auto" && store.dialect() == store::Dialect::kSqlite);
  if (worker_on) {
    // Below the request threads (nice 10): serving comes first.
    if (auto r = jobs_rt.start_worker(job_queue, s.worker, &job_metrics, 10); !r) {
      return fail("worker: " + r.error().message);
    }
  } else {
    telemetry::log_info("worker_off", {{"detail", "jobs run in `libromind worker` processes"}});
  }

  // Preflights advertise exactly the methods the API routes (plus HEAD and OPTIONS).
  std::set<std::string> methods{"HEAD", "OPTIONS"};
  for (const auto& r : router.routes()) methods.insert(r.method);
  std::string method_list;
  for (const auto& m : methods) method_list += (method_list.empty() ? "" : ", ") + m;

  // `after` runs in reverse: the ETag is computed on the plain body before compression, and
  // every response (also a middleware's early answer) gets the security headers and request id.
  http::Pipeline pipeline;
  pipeline.add(std::make_unique<http::RequestIdMiddleware>());
  pipeline.add(std::make_unique<http::SecurityHeadersMiddleware>());
  pipeline.add(std::make_unique<http::CorsMiddleware>(origins, method_list));
  pipeline.add(std::make_unique<http::CompressionMiddleware>());
  pipeline.add(std::make_unique<http::CachingMiddleware>());

  http::ServerOptions so;
  so.host = s.listen.substr(0, colon);
  if (so.host.size() > 2 && so.host.front() == '[' && so.host.back() == ']') {
    so.host = so.host.substr(1, so.host.size() - 2);
  }
  so.port = static_cast<uint16_t>(*port);
  so.io_threads = s.io_threads;
  so.blocking_threads = s.blocking_threads;
  so.max_pending = s.max_pending;
  so.shutdown_timeout = std::chrono::seconds(s.shutdown_timeout);
  so.access_log = s.access_log;
  if (s.cache_mb > 0) {
    so.cache_generation = [&feed] { return feed.current(); };
    so.cache_max_bytes = static_cast<size_t>(s.cache_mb) * 1024 * 1024;
  }
  so.uploads.push_back(
      http::import_upload_route(auth, static_cast<size_t>(s.worker.upload_max_mb) * 1024 * 1024));
  so.upload_dir = s.worker.upload_dir + "/incoming";
  http::Server server(so, router, pipeline, metrics);
  if (auto r = server.bind(); !r) {
    jobs_rt.stop();
    return fail(r.error().message);
  }
  server.run();
  jobs_rt.stop();  // after the drain: stop claiming, finish or give back what runs
  return 0;
}

struct UserFlags {
  std::string email;
  bool admin = false;
  std::string role;
  std::string password_file;
  AuthFlags auth;
};

// The password from --password-file, else the first line of stdin (never an argument, which
// would show in the process list and the shell history).
core::Result<std::string> read_password(const UserFlags& u) {
  std::string pw;
  if (!u.password_file.empty()) {
    std::ifstream in(u.password_file);
    if (!in) return core::Error::invalid("cannot read --password-file " + u.password_file);
    std::getline(in, pw);
  } else {
    std::getline(std::cin, pw);
  }
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

int run_user(StoreFlags& f, UserFlags& u, const std::string& action) {
  auto params = argon2_params(u.auth);
  if (!params) return fail(params.error().message);
  auto st = open_store(f);
  if (!st) return fail(st.error().message);
  auto applied = store::migrate(**st);
  if (!applied) return fail("migration failed: " + applied.error().message);
  accounts::PasswordHasher hasher(*params);
  accounts::TokenSigner signer(accounts::ephemeral_key_ring());
  accounts::AccountService accounts(**st, hasher, signer, {});
  auto report = [](const accounts::User& user, const char* event) {
    telemetry::log_info(event, {{"user_id", user.id}, {"email", user.email}, {"role", user.role}});
    return 0;
  };
  if (action == "create") {
    auto pw = read_password(u);
    if (!pw) return fail(pw.error().message);
    auto user = accounts.register_user(
        u.email, *pw, u.admin ? accounts::Role::kAdmin : accounts::Role::kCustomer);
    if (!user) return fail(user.error().message);
    return report(*user, "user_created");
  }
  if (action == "set-role") {
    auto user = accounts.set_role(
        u.email, u.role == "admin" ? accounts::Role::kAdmin : accounts::Role::kCustomer);
    if (!user) return fail(user.error().message);
    return report(*user, "user_role_set");
  }
  auto pw = read_password(u);
  if (!pw) return fail(pw.error().message);
  if (auto r = accounts.set_password(u.email, *pw); !r) return fail(r.error().message);
  auto user = accounts.find_by_email(u.email);
  if (!user) return fail(user.error().message);
  return report(*user, "user_password_set");
}

void add_user_command(CLI::App& app, int& exit_code) {
  auto* user =
      app.add_subcommand("user", "Manage accounts: create (--admin), set-role, set-password");
  user->require_subcommand(1);
  struct Action {
    const char* name;
    const char* help;
  };
  for (Action a : {Action{"create",
                          "Create an account; the password is read from --password-file "
                          "or the first line of stdin"},
                   Action{"set-role", "Make an account admin or customer"},
                   Action{"set-password", "Set a new password (ends the account's sessions)"}}) {
    auto* cmd = user->add_subcommand(a.name, a.help);
    auto sf = std::make_shared<StoreFlags>();
    auto uf = std::make_shared<UserFlags>();
    add_store_flags(*cmd, *sf);
    add_auth_flags(*cmd, uf->auth, false);
    cmd->add_option("--email", uf->email, "The account's e-mail address")->required();
    std::string action = a.name;
    if (action == "create") {
      cmd->add_flag("--admin", uf->admin, "Create an administrator");
    }
    if (action == "set-role") {
      cmd->add_option("--role", uf->role, "admin or customer")
          ->required()
          ->check(CLI::IsMember({"admin", "customer"}));
    }
    if (action != "set-role") {
      cmd->add_option("--password-file", uf->password_file,
                      "Read the password from this file (else from stdin)");
    }
    cmd->callback([sf, uf, action, &exit_code] { exit_code = run_user(*sf, *uf, action); });
  }
}

}  // namespace

void add_commands(CLI::App& app, int& exit_code) {
  app.require_subcommand(1);

  auto* migrate = app.add_subcommand("migrate", "Apply pending schema migrations and exit");
  auto mf = std::make_shared<StoreFlags>();
  add_store_flags(*migrate, *mf);
  migrate->callback([mf, &exit_code] { exit_code = run_migrate(*mf); });

  auto* import = app.add_subcommand(
      "import", "Import catalogue files (JSON Lines or CSV): validate, then upsert by id/isbn13");
  auto imf = std::make_shared<StoreFlags>();
  auto inf = std::make_shared<ImportFlags>();
  add_store_flags(*import, *imf);
  import->add_option("files", inf->files, "Files to import (.jsonl, .ndjson, .json, .csv)")
      ->required()
      ->check(CLI::ExistingFile);
  import->add_flag("--dry-run", inf->dry_run, "Validate and report; write nothing")
      ->envname("LIBROMIND_IMPORT_DRY_RUN");
  import
      ->add_option("--on-error", inf->on_error,
                   "abort: any bad record means nothing is written; skip: import the good "
                   "records and report the rest")
      ->envname("LIBROMIND_IMPORT_ON_ERROR")
      ->check(CLI::IsMember({"abort", "skip"}))
      ->capture_default_str();
  import->add_option("--batch-size", inf->batch_size, "Records per upsert batch")
      ->envname("LIBROMIND_IMPORT_BATCH_SIZE")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  import->add_option("--migrate", inf->migrate, "Apply pending migrations first")
      ->envname("LIBROMIND_MIGRATE_ON_START")
      ->capture_default_str();
  import->add_flag("--if-empty", inf->if_empty, "Import only when the store has no books yet")
      ->envname("LIBROMIND_IMPORT_IF_EMPTY");
  import->callback([imf, inf, &exit_code] { exit_code = run_import(*imf, *inf);
});

auto* serve = app.add_subcommand("serve", "Serve the HTTP API");
auto sf = std::make_shared<StoreFlags>();
auto svf = std::make_shared<ServeFlags>();
add_store_flags(*serve, *sf);
serve->add_option("--listen", svf->listen, "HOST:PORT to listen on (port 0 picks a free port)")
    ->envname("LIBROMIND_LISTEN")
    ->capture_default_str();
serve->add_option("--io-threads", svf->io_threads, "Threads running network I/O")
    ->envname("LIBROMIND_IO_THREADS")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();
serve
    ->add_option("--blocking-threads", svf->blocking_threads,
                 "Threads for store calls and other blocking work")
    ->envname("LIBROMIND_BLOCKING_THREADS")
    ->check(CLI::Range(1, 256))
    ->capture_default_str();
serve
    ->add_option("--max-pending", svf->max_pending,
                 "Blocking tasks queued or running before requests get 503 + Retry-After")
    ->envname("LIBROMIND_MAX_PENDING")
    ->check(CLI::Range(1, 100000))
    ->capture_default_str();
serve
    ->add_option("--migrate-on-start", svf->migrate_on_start,
                 "Apply pending migrations before serving")
    ->envname("LIBROMIND_MIGRATE_ON_START")
    ->capture_default_str();
serve
    ->add_option("--cors-origins", svf->cors_origins,
                 "Comma-separated origins allowed to call the API from a browser")
    ->envname("LIBROMIND_CORS_ORIGINS");
serve
    ->add_option("--shutdown-timeout", svf->shutdown_timeout,
                 "Seconds to finish in-flight requests after SIGTERM/SIGINT")
    ->envname("LIBROMIND_SHUTDOWN_TIMEOUT")
    ->check(CLI::Range(0, 3600))
    ->capture_default_str();
serve->add_option("--access-log", svf->access_log, "Log one JSON line per request")
    ->envname("LIBROMIND_ACCESS_LOG")
    ->capture_default_str();
serve
    ->add_option("--cache-mb", svf->cache_mb,
                 "Response cache for catalogue reads, in MiB (0 turns it off)")
    ->envname("LIBROMIND_CACHE_MB")
    ->check(CLI::Range(0, 65536))
    ->capture_default_str();
serve
    ->add_option("--change-poll-ms", svf->change_poll_ms,
                 "How often to read the store's change sequence (cache invalidation)")
    ->envname("LIBROMIND_CHANGE_POLL_MS")
    ->check(CLI::Range(10, 60000))
    ->capture_default_str();
serve
    ->add_option("--trusted-proxies", svf->trusted_proxies,
                 "Comma-separated proxy addresses whose X-Forwarded-For names the client")
    ->envname("LIBROMIND_TRUSTED_PROXIES");
serve->add_option("--secure-cookies", svf->secure_cookies, "Mark the cart cookie Secure (HTTPS)")
    ->envname("LIBROMIND_SECURE_COOKIES")
    ->capture_default_str();
add_auth_flags(*serve, svf->auth, true);
svf->model_dir = default_model_dir();
serve->add_option("--search", svf->search, "Serve search (indexes are built at start)")
    ->envname("LIBROMIND_SEARCH")
    ->capture_default_str();
serve->add_option("--index-dir", svf->index_dir, "Where the derived search indexes are kept")
    ->envname("LIBROMIND_INDEX_DIR")
    ->capture_default_str();
serve
    ->add_option("--model-dir", svf->model_dir,
                 "Where scripts/fetch-models.sh installed the models (embedder/, reranker/)")
    ->envname("LIBROMIND_MODEL_DIR")
    ->capture_default_str();
serve
    ->add_option("--index-max-tokens", svf->index_max_tokens,
                 "Word pieces of each book's text that are embedded (as libromind index)")
    ->envname("LIBROMIND_INDEX_MAX_TOKENS")
    ->check(CLI::Range(16, 512))
    ->capture_default_str();
serve
    ->add_option("--embed-in-background", svf->embed_in_background,
                 "Run the embedding jobs (embed_books, embed_stale) in this process's worker, "
                 "and queue a catalogue pass at start")
    ->envname("LIBROMIND_EMBED_IN_BACKGROUND")
    ->capture_default_str();
serve->add_option("--embed-threads", svf->embed_threads, "Threads of the embedding jobs' embedder")
    ->envname("LIBROMIND_EMBED_THREADS")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();
serve
    ->add_option("--query-encoders", svf->query_encoders,
                 "Query embedders kept loaded (concurrent dense searches)")
    ->envname("LIBROMIND_QUERY_ENCODERS")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();
serve
    ->add_option("--query-threads", svf->query_threads,
                 "Threads of each query embedder and re-ranker (a query's encoder pass is bound "
                 "by reading the model's weights from memory; two threads read faster)")
    ->envname("LIBROMIND_QUERY_THREADS")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();
serve->add_option("--wordnet-dir", svf->wordnet_dir, "WordNet data for offline query expansion")
    ->envname("LIBROMIND_WORDNET_DIR")
    ->capture_default_str();
serve
    ->add_option("--search-rerank", svf->search_rerank,
                 "Default of the re-rank stage: auto (on when a re-ranker is installed), on, off")
    ->envname("LIBROMIND_SEARCH_RERANK")
    ->check(CLI::IsMember({"auto", "on", "off"}))
    ->capture_default_str();
serve
    ->add_option("--search-expansion", svf->search_expansion,
                 "Default of query expansion: off, auto (LLM, else WordNet), llm, offline")
    ->envname("LIBROMIND_SEARCH_EXPANSION")
    ->check(CLI::IsMember({"off", "auto", "llm", "offline"}))
    ->capture_default_str();
serve
    ->add_option("--search-hyde", svf->search_hyde,
                 "Default of HyDE: off, auto (LLM, else pseudo-relevance feedback), llm, offline")
    ->envname("LIBROMIND_SEARCH_HYDE")
    ->check(CLI::IsMember({"off", "auto", "llm", "offline"}))
    ->capture_default_str();
serve
    ->add_option("--search-dense-weight", svf->search_dense_weight,
                 "Default weight of the dense lists in the fusion, against 1 for the lexical list")
    ->envname("LIBROMIND_SEARCH_DENSE_WEIGHT")
    ->check(CLI::Range(0.0, 10.0))
    ->capture_default_str();
serve
    ->add_option("--search-lexical-budget", svf->search_lexical_budget,
                 "Default candidate budget of lexical search: books holding one of the query's "
                 "rarer words, up to about this many, are scored (0: every book holding any word)")
    ->envname("LIBROMIND_SEARCH_LEXICAL_BUDGET")
    ->check(CLI::Range(0, 100'000'000))
    ->capture_default_str();
add_llm_flags(*serve, svf->llm);
add_worker_flags(*serve, svf->worker, /*serve=*/true);
add_mail_flags(*serve, svf->mail);
serve
    ->add_option("--explanation-cache-ttl", svf->explanation_cache_ttl,
                 "Seconds an explanation stays cached in the store (0: no cache)")
    ->envname("LIBROMIND_EXPLANATION_CACHE_TTL")
    ->check(CLI::Range(int64_t{0}, int64_t{365} * 24 * 3600))
    ->capture_default_str();
serve->callback([sf, svf, &exit_code] { exit_code = run_serve(*sf, *svf); });

add_user_command(app, exit_code);
}  // namespace libromind::cli

}  // namespace libromind::cli
