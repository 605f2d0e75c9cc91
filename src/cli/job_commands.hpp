// The job runtime shared by `serve` (its in-process worker) and `libromind worker`: the
// handlers this process can run (embeddings when an embedder is installed, imports, order
// e-mails when SMTP is configured), the worker's flags, and the `worker` subcommand.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "catalog/imports.hpp"
#include "core/result.hpp"
#include "jobs/metrics.hpp"
#include "jobs/worker.hpp"
#include "mail/smtp.hpp"
#include "search/embed_jobs.hpp"
#include "shop/order_email.hpp"

namespace libromind::cli {

struct WorkerFlags {
  std::string mode = "auto";  // serve: auto (on with SQLite), on, off
  int concurrency = 2;
  std::string kinds;  // comma-separated; empty: every kind this process has a handler for
  int lease_seconds = 30;
  int poll_ms = 1000;
  int shutdown_deadline_seconds = 20;
  std::string upload_dir = "var/uploads";
  int upload_max_mb = 50;
};

struct MailFlags {
  std::string smtp_url;  // none: no confirmation e-mails
  std::string smtp_from = "orders@libromind.local";
  std::string smtp_username;
  std::string smtp_password_file;
  std::string starttls = "try";
  std::string shop_name = "Libro-Mind";
  std::string storefront_url;
};

// `serve` true: the in-process worker's flags (--worker, --worker-concurrency, ...); false: the
// `worker` command's (--concurrency, --kinds, ...).
void add_worker_flags(CLI::App& cmd, WorkerFlags& f, bool serve);
void add_mail_flags(CLI::App& cmd, MailFlags& f);

// What a process's worker runs. Members it does not have stay null.
struct JobRuntime {
  std::unique_ptr<catalog::Imports> imports;
  search::EmbedJobs* embed = nullptr;  // owned by the caller (serve: the search stack)
  std::unique_ptr<search::EmbedJobs> own_embed;
  std::unique_ptr<mail::SmtpSender> smtp;
  std::unique_ptr<shop::OrderEmails> emails;
  std::unique_ptr<jobs::Worker> worker;

  // The handlers, in a worker started with the flags' options (not started when `start` is
  // false, e.g. serve --worker off).
  core::Result<void> start_worker(jobs::Queue& queue, const WorkerFlags& f, jobs::JobMetrics* m,
                                  int nice);
  void stop();
};

// The SMTP sender the flags describe (null without --smtp-url); the password from its file.
core::Result<std::unique_ptr<mail::SmtpSender>> make_smtp_sender(const MailFlags& f);

void add_job_commands(CLI::App& app, int& exit_code);

}  // namespace libromind::cli
