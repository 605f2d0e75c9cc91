// Sends e-mail over SMTP with libcurl: a multipart/alternative message (a text and an HTML part,
// quoted-printable UTF-8, built with curl's MIME API), STARTTLS when the server offers it (or
// required), implicit TLS for smtps:// URLs, AUTH with a username and a password read from a
// file. Blocking; one connection per message (order e-mails are rare).
//
//   mail::SmtpOptions o{.url = "smtp://mail.example.com:587", .from = "shop@example.com"};
//   mail::SmtpSender smtp(o);
//   LM_TRY(smtp.send({.to = "ann@example.com", .subject = "...", .text = "...", .html = "..."}));
#pragma once

#include <string>

#include "core/result.hpp"

namespace libromind::mail {

enum class StartTls { kTry, kRequire, kOff };

struct SmtpOptions {
  std::string url;   // smtp://host:port or smtps://host:port
  std::string from;  // the envelope sender and From: address
  std::string username = {};
  std::string password = {};  // from a file (LIBROMIND_SMTP_PASSWORD_FILE); never logged
  StartTls starttls = StartTls::kTry;
  long connect_timeout_ms = 5000;
  long timeout_ms = 30000;
};

struct Message {
  std::string to = {};
  std::string subject = {};  // ASCII (the caller's own wording)
  std::string text = {};
  std::string html = {};
  std::string message_id = {};  // "<...@...>"; stable per logical message so receivers can dedupe
};

class SmtpSender {
 public:
  explicit SmtpSender(SmtpOptions options);
  // Checks the options (URL scheme, addresses) without connecting.
  static core::Result<void> validate(const SmtpOptions& options);
  // kUnavailable when the server cannot be reached or refuses for now (retry); kInvalidArgument
  // for a recipient the server rejects permanently (5xx) or a header that would be unsafe.
  core::Result<void> send(const Message& message) const;
  const SmtpOptions& options() const { return options_; }

 private:
  SmtpOptions options_;
};

// "Tue, 01 Dec 2026 14:03:04 +0000"
std::string rfc5322_date(int64_t unix_seconds);

}  // namespace libromind::mail
