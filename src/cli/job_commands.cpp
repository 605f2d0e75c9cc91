#include "cli/job_commands.hpp"

#include <csignal>
#include <fstream>
#include <thread>

#include "cli/flags.hpp"
#include "cli/search_stack.hpp"
#include "core/text.hpp"
#include "http/handlers/ops_handlers.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "jobs/kinds.hpp"
#include "shop/payment.hpp"
#include "store/migrations.hpp"
#include "telemetry/log.hpp"

namespace libromind::cli {

void add_worker_flags(CLI::App& cmd, WorkerFlags& f, bool serve) {
  const std::string p = serve ? "--worker-" : "--";
  if (serve) {
    cmd.add_option("--worker", f.mode,
                   "Run jobs in this process: auto (on with SQLite, off with PostgreSQL, where "
                   "`libromind worker` processes run them), on or off")
        ->envname("LIBROMIND_WORKER")
        ->check(CLI::IsMember({"auto", "on", "off"}))
        ->capture_default_str();
  }
  const std::string env = "LIBROMIND_WORKER_";  // the same twins for serve and worker
  cmd.add_option(p + "concurrency", f.concurrency, "Jobs run at once")
      ->envname(env + "CONCURRENCY")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd.add_option(p + "kinds", f.kinds,
                 "Comma-separated job kinds to run (default: every kind this process can run: "
                 "embed_books, embed_stale, import_file, send_email)")
      ->envname(env + "KINDS");
  cmd.add_option(p + "lease-seconds", f.lease_seconds,
                 "A running job's lease; a worker that dies loses its jobs after this")
      ->envname(env + "LEASE_SECONDS")
      ->check(CLI::Range(5, 3600))
      ->capture_default_str();
  cmd.add_option(p + "poll-ms", f.poll_ms,
                 "How often to look for jobs when not woken (PostgreSQL NOTIFY wakes at once)")
      ->envname(env + "POLL_MS")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  cmd.add_option(p + "shutdown-deadline", f.shutdown_deadline_seconds,
                 "Seconds a stopping worker lets running jobs finish before giving them back")
      ->envname(env + "SHUTDOWN_DEADLINE")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd.add_option("--upload-dir", f.upload_dir,
                 "Where bulk uploads wait for their import job (shared by serve and workers)")
      ->envname("LIBROMIND_UPLOAD_DIR")
      ->capture_default_str();
  if (serve) {
    cmd.add_option("--upload-max-mb", f.upload_max_mb, "Largest bulk upload accepted, in MB")
        ->envname("LIBROMIND_UPLOAD_MAX_MB")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
  }
}

void add_mail_flags(CLI::App& cmd, MailFlags& f) {
  cmd.add_option("--smtp-url", f.smtp_url,
                 "SMTP server for order confirmations: smtp://HOST:PORT (STARTTLS when offered) "
                 "or smtps://HOST:PORT; none: no e-mails")
      ->envname("LIBROMIND_SMTP_URL");
  cmd.add_option("--smtp-from", f.smtp_from, "Sender address of the e-mails")
      ->envname("LIBROMIND_SMTP_FROM")
      ->capture_default_str();
  cmd.add_option("--smtp-username", f.smtp_username, "SMTP AUTH user")
      ->envname("LIBROMIND_SMTP_USERNAME");
  cmd.add_option("--smtp-password-file", f.smtp_password_file,
                 "File holding the SMTP password (never on the command line)")
      ->envname("LIBROMIND_SMTP_PASSWORD_FILE");
  cmd.add_option("--smtp-starttls", f.starttls, "try, require or off (smtp:// URLs)")
      ->envname("LIBROMIND_SMTP_STARTTLS")
      ->check(CLI::IsMember({"try", "require", "off"}))
      ->capture_default_str();
  cmd.add_option("--shop-name", f.shop_name, "The shop's name in e-mails")
      ->envname("LIBROMIND_SHOP_NAME")
      ->capture_default_str();
  cmd.add_option("--storefront-url", f.storefront_url,
                 "The storefront's public URL, for links in e-mails")
      ->envname("LIBROMIND_STOREFRONT_URL");
}

core::Result<std::unique_ptr<mail::SmtpSender>> make_smtp_sender(const MailFlags& f) {
  if (f.smtp_url.empty()) return std::unique_ptr<mail::SmtpSender>();
  mail::SmtpOptions o;
  o.url = f.smtp_url;
  o.from = f.smtp_from;
  o.username = f.smtp_username;
  if (!f.smtp_password_file.empty()) {
    std::ifstream in(f.smtp_password_file);
    if (!in)
      return core::Error::invalid("cannot read --smtp-password-file " + f.smtp_password_file);
    std::getline(in, o.password);
    if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
  }
  o.starttls = f.starttls == "require" ? mail::StartTls::kRequire
               : f.starttls == "off"   ? mail::StartTls::kOff
                                       : mail::StartTls::kTry;
  LM_TRY(mail::SmtpSender::validate(o));
  return std::make_unique<mail::SmtpSender>(std::move(o));
}

core::Result<void> JobRuntime::start_worker(jobs::Queue& queue, const WorkerFlags& f,
                                            jobs::JobMetrics* metrics, int nice) {
  jobs::Handlers handlers;
  if (imports) imports->register_handler(handlers);
  if (search::EmbedJobs* e = embed ? embed : own_embed.get()) e->register_handlers(handlers);
  if (emails) emails->register_handler(handlers);
  jobs::WorkerOptions wo;
  wo.worker_id = jobs::default_worker_id();
  wo.concurrency = f.concurrency;
  for (auto k : core::split(f.kinds, ',')) {
    if (!core::trim(k).empty()) wo.kinds.emplace_back(core::trim(k));
  }
  wo.lease = std::chrono::seconds(f.lease_seconds);
  wo.heartbeat = std::chrono::milliseconds(f.lease_seconds * 1000 / 3);
  wo.poll = std::chrono::milliseconds(f.poll_ms);
  wo.shutdown_deadline = std::chrono::seconds(f.shutdown_deadline_seconds);
  wo.nice = nice;
  const auto kinds = wo.kinds.empty() ? handlers.kinds() : wo.kinds;
  worker = std::make_unique<jobs::Worker>(queue, std::move(handlers), wo, metrics);
  LM_TRY(worker->start());
  telemetry::log_info("worker_started", {{"worker_id", worker->id()},
                                         {"concurrency", f.concurrency},
                                         {"kinds", kinds},
                                         {"lease_seconds", f.lease_seconds}});
  return core::ok();
}

void JobRuntime::stop() {
  if (worker) worker->stop();
}

namespace {

struct WorkerCommandFlags {
  StoreFlags store;
  WorkerFlags worker;
  MailFlags mail;
  std::string model_dir = default_model_dir();
  int index_max_tokens = 128;
  int embed_threads = 1;
  std::string metrics_listen;  // HOST:PORT of /metrics, /healthz, /readyz ("" : none)
};

int run_worker(WorkerCommandFlags& w) {
  // The signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto st = open_store(w.store);
  if (!st) return fail(st.error().message);
  store::Store& store = **st;
  auto status = store::migration_status(store);
  if (!status) return fail(status.error().message);
  if (!status->pending.empty()) {
    return fail("the store needs migrations first (libromind migrate, or start serve once)");
  }
  telemetry::Registry metrics;
  jobs::JobMetrics job_metrics(metrics);
  jobs::set_enqueue_metrics(&job_metrics);
  jobs::Queue queue(store);

  JobRuntime rt;
  rt.imports = std::make_unique<catalog::Imports>(
      store, catalog::ImportsOptions{.upload_dir = w.worker.upload_dir, .queue = &queue});
  auto embed = load_embed_jobs(store, w.model_dir, w.index_max_tokens, w.embed_threads);
  if (!embed) return fail(embed.error().message);
  rt.own_embed = std::move(*embed);
  if (!rt.own_embed) {
    telemetry::log_warn("worker_no_embedder",
                        {{"model_dir", w.model_dir},
                         {"effect", "embed_books and embed_stale jobs are left to other workers"}});
  }
  auto smtp = make_smtp_sender(w.mail);
  if (!smtp) return fail(smtp.error().message);
  rt.smtp = std::move(*smtp);
  shop::TestPaymentProvider payments;
  shop::OrderService orders(store, payments);
  if (rt.smtp) {
    rt.emails = std::make_unique<shop::OrderEmails>(
        store, orders, *rt.smtp,
        shop::OrderEmailOptions{.shop_name = w.mail.shop_name, .base_url = w.mail.storefront_url});
  }
  jobs::register_queue_gauges(metrics, queue);

  // /metrics for Prometheus (and the probes), on a server of its own thread.
  std::unique_ptr<http::Server> ops;
  http::Router router;
  http::Pipeline pipeline;
  std::thread ops_thread;
  if (!w.metrics_listen.empty()) {
    const auto colon = w.metrics_listen.rfind(':');
    auto port = colon == std::string::npos ? std::nullopt
                                           : core::parse_int(w.metrics_listen.substr(colon + 1));
    if (!port || *port < 0 || *port > 65535) {
      return fail("--metrics-listen must be HOST:PORT, got '" + w.metrics_listen + "'");
    }
    http::register_ops_routes(router, store, metrics, {});
    pipeline.add(std::make_unique<http::RequestIdMiddleware>());
    http::ServerOptions so;
    so.host = w.metrics_listen.substr(0, colon);
    so.port = static_cast<uint16_t>(*port);
    so.access_log = false;
    so.blocking_threads = 1;
    ops = std::make_unique<http::Server>(so, router, pipeline, metrics);
    if (auto r = ops->bind(); !r) return fail("--metrics-listen: " + r.error().message);
    ops_thread = std::thread([&ops] { ops->run(); });
  }
  if (auto r = rt.start_worker(queue, w.worker, &job_metrics, 0); !r) {
    if (ops) ops->stop();
    if (ops_thread.joinable()) ops_thread.join();
    return fail(r.error().message);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  telemetry::log_info("worker_stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                          {"running", rt.worker->running()}});
  rt.stop();
  if (ops) ops->stop();
  if (ops_thread.joinable()) ops_thread.join();
  telemetry::log_info("worker_stopped", {{"completed", rt.worker->completed()}});
  return 0;
}

}  // namespace

void add_job_commands(CLI::App& app, int& exit_code) {
  auto w = std::make_shared<WorkerCommandFlags>();
  auto* cmd = app.add_subcommand(
      "worker",
      "Run jobs from the store's queue (embeddings, bulk imports, order e-mails) until SIGTERM");
  add_store_flags(*cmd, w->store);
  add_worker_flags(*cmd, w->worker, /*serve=*/false);
  add_mail_flags(*cmd, w->mail);
  cmd->add_option("--model-dir", w->model_dir, "Where scripts/fetch-models.sh installed the models")
      ->envname("LIBROMIND_MODEL_DIR")
      ->capture_default_str();
  cmd->add_option("--index-max-tokens", w->index_max_tokens,
                  "Word pieces of a book's text that its vector is computed from (as serve)")
      ->envname("LIBROMIND_INDEX_MAX_TOKENS")
      ->check(CLI::Range(16, 512))
      ->capture_default_str();
  cmd->add_option("--metrics-listen", w->metrics_listen,
                  "Serve /metrics, /healthz and /readyz on HOST:PORT (default: not at all)")
      ->envname("LIBROMIND_WORKER_METRICS_LISTEN");
  cmd->add_option("--embed-threads", w->embed_threads, "Threads of the embedder")
      ->envname("LIBROMIND_EMBED_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->callback([w, &exit_code] { exit_code = run_worker(*w); });
}

}  // namespace libromind::cli
