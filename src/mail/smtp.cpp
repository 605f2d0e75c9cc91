#include "mail/smtp.hpp"

#include <curl/curl.h>

#include <ctime>
#include <memory>

namespace libromind::mail {

namespace {

bool header_safe(const std::string& v) {
  for (unsigned char c : v) {
    if (c == '\r' || c == '\n' || c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

bool plausible_address(const std::string& a) {
  const auto at = a.find('@');
  return header_safe(a) && at != std::string::npos && at > 0 && at + 1 < a.size() &&
         a.find_first_of(" <>,;\"") == std::string::npos;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};

}  // namespace

std::string rfc5322_date(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

SmtpSender::SmtpSender(SmtpOptions options) : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

core::Result<void> SmtpSender::validate(const SmtpOptions& o) {
  if (o.url.rfind("smtp://", 0) != 0 && o.url.rfind("smtps://", 0) != 0) {
    return core::Error::invalid("--smtp-url must start with smtp:// or smtps://", "smtp_url");
  }
  const auto host_start = o.url.find("://") + 3;
  if (o.url.find('@', host_start) != std::string::npos) {
    return core::Error::invalid(
        "--smtp-url must not carry credentials; use --smtp-username and --smtp-password-file",
        "smtp_url");
  }
  if (!plausible_address(o.from)) {
    return core::Error::invalid("--smtp-from must be an e-mail address like shop@example.com",
                                "smtp_from");
  }
  if (!o.password.empty() && o.username.empty()) {
    return core::Error::invalid("an SMTP password needs --smtp-username", "smtp_username");
  }
  return core::ok();
}

core::Result<void> SmtpSender::send(const Message& m) const {
  if (!plausible_address(m.to)) {
    return core::Error::invalid("cannot send to '" + m.to + "': not a plain e-mail address", "to");
  }
  if (!header_safe(m.subject) || !header_safe(m.message_id)) {
    return core::Error::invalid("the subject and message id must be printable ASCII");
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return core::Error::internal("curl_easy_init failed");
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + options_.from + ">").c_str());
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(
      curl_slist_append(nullptr, ("<" + m.to + ">").c_str()));
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  if (!options_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  if (options_.url.rfind("smtps://", 0) != 0) {
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     options_.starttls == StartTls::kRequire ? CURLUSESSL_ALL
                     : options_.starttls == StartTls::kTry   ? CURLUSESSL_TRY
                                                             : CURLUSESSL_NONE);
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  add_header("Date: " + rfc5322_date(static_cast<int64_t>(std::time(nullptr))));
  add_header("To: <" + m.to + ">");
  add_header("From: <" + options_.from + ">");
  add_header("Subject: " + m.subject);
  if (!m.message_id.empty()) add_header("Message-ID: " + m.message_id);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  // multipart/mixed (curl's top level) holding one multipart/alternative: text, then HTML.
  std::unique_ptr<curl_mime, MimeDeleter> mime(curl_mime_init(c));
  curl_mime* alt = curl_mime_init(c);
  curl_mimepart* part = curl_mime_addpart(alt);
  curl_mime_data(part, m.text.data(), m.text.size());
  curl_mime_type(part, "text/plain; charset=utf-8");
  curl_mime_encoder(part, "quoted-printable");
  part = curl_mime_addpart(alt);
  curl_mime_data(part, m.html.data(), m.html.size());
  curl_mime_type(part, "text/html; charset=utf-8");
  curl_mime_encoder(part, "quoted-printable");
  part = curl_mime_addpart(mime.get());
  curl_mime_subparts(part, alt);  // the part owns `alt` now
  curl_mime_type(part, "multipart/alternative");
  std::unique_ptr<curl_slist, SlistDeleter> inline_hdr(
      curl_slist_append(nullptr, "Content-Disposition: inline"));
  curl_mime_headers(part, inline_hdr.release(), 1);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get());

  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return core::ok();
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  std::string why = std::string(curl_easy_strerror(rc)) + (err[0] ? std::string(": ") + err : "");
  if (code >= 500 && code < 600) {
    return core::Error::invalid("the SMTP server refused (" + std::to_string(code) + "): " + why);
  }
  return core::Error::unavailable("SMTP " + options_.url + ": " + why +
                                  (code ? " (reply " + std::to_string(code) + ")" : ""));
}

}  // namespace libromind::mail
