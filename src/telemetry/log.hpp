// Structured logging: one JSON object per line on stdout, with a timestamp, level and event
// name, plus the fields the caller gives (request_id on everything inside a request).
//
//   telemetry::log_info("server_started", {{"listen", "127.0.0.1:8080"}});
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace libromind::telemetry {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
// Where log lines go: stdout (the default; the service's logs) or stderr (commands whose stdout
// is their output, such as `libromind eval --json`).
void set_log_to_stderr(bool to_stderr);
LogLevel log_level();
// Parses "debug" | "info" | "warn" | "error".
bool parse_log_level(std::string_view s, LogLevel& out);

void log(LogLevel level, std::string_view event, nlohmann::json fields = nlohmann::json::object());
inline void log_debug(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  log(LogLevel::kDebug, e, std::move(f));
}
inline void log_info(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  log(LogLevel::kInfo, e, std::move(f));
}
inline void log_warn(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  log(LogLevel::kWarn, e, std::move(f));
}
inline void log_error(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  log(LogLevel::kError, e, std::move(f));
}

// UTC timestamp with milliseconds, RFC 3339 ("2026-11-24T01:02:03.456Z").
std::string utc_timestamp_ms();
// The same for a time in Unix milliseconds (the jobs and imports tables' times).
std::string utc_timestamp_ms(int64_t unix_ms);
// UTC timestamp with seconds ("2026-11-24T01:02:03Z"), the store's timestamp format.
std::string utc_timestamp();

}  // namespace libromind::telemetry
