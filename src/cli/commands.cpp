#include "cli/commands.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "catalog/catalog_service.hpp"
#include "catalog/change_feed.hpp"
#include "catalog/importer.hpp"
#include "core/text.hpp"
#include "http/handlers/catalog_handlers.hpp"
#include "http/handlers/ops_handlers.hpp"
#include "http/server.hpp"
#include "store/migrations.hpp"
#include "telemetry/log.hpp"

namespace libromind::cli {
namespace {

struct StoreFlags {
  std::string database_url = "sqlite://var/libromind.db";
  std::string database_url_file;
  int pool_size = 8;
  int busy_timeout_ms = 5000;
  std::string log_level = "info";
};

void add_store_flags(CLI::App& cmd, StoreFlags& f) {
  cmd.add_option("--database-url", f.database_url,
                 "Store URL: sqlite://PATH or postgresql://USER@HOST:PORT/DB")
      ->envname("LIBROMIND_DATABASE_URL")
      ->capture_default_str();
  cmd.add_option("--database-url-file", f.database_url_file,
                 "Read the store URL from this file (for URLs carrying a password)")
      ->envname("LIBROMIND_DATABASE_URL_FILE");
  cmd.add_option("--store-pool-size", f.pool_size,
                 "PostgreSQL connections / SQLite reader connections")
      ->envname("LIBROMIND_STORE_POOL_SIZE")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd.add_option("--store-timeout-ms", f.busy_timeout_ms,
                 "How long to wait for a store connection or lock")
      ->envname("LIBROMIND_STORE_TIMEOUT_MS")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();
  cmd.add_option("--log-level", f.log_level, "debug, info, warn or error")
      ->envname("LIBROMIND_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
}

// Configuration errors end the process with one clear line on stderr.
int fail(const std::string& message) {
  std::cerr << "libromind: " << message << "\n";
  return 2;
}

core::Result<std::unique_ptr<store::Store>> open_store(StoreFlags& f) {
  telemetry::LogLevel level;
  telemetry::parse_log_level(f.log_level, level);
  telemetry::set_log_level(level);
  std::string url = f.database_url;
  if (!f.database_url_file.empty()) {
    std::ifstream in(f.database_url_file);
    if (!in) return core::Error::invalid("cannot read --database-url-file " + f.database_url_file);
    std::getline(in, url);
    url = std::string(core::trim(url));
  }
  store::StoreOptions so;
  so.url = url;
  so.pool_size = f.pool_size;
  so.busy_timeout_ms = f.busy_timeout_ms;
  return store::open_store(so);
}

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
};

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

  catalog::CatalogService catalog(store);
  catalog::ChangeFeed feed(store, std::chrono::milliseconds(s.change_poll_ms));
  feed.start();
  http::Router router;
  http::register_ops_routes(router, store, metrics);
  http::register_catalog_routes(router, catalog);

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
  http::Server server(so, router, pipeline, metrics);
  if (auto r = server.bind(); !r) return fail(r.error().message);
  server.run();
  return 0;
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
serve->callback([sf, svf, &exit_code] { exit_code = run_serve(*sf, *svf); });
}  // namespace libromind::cli

}  // namespace libromind::cli
