#include "telemetry/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

namespace libromind::telemetry {
namespace {
std::atomic<int> g_log_fd{STDOUT_FILENO};
}  // namespace

void set_log_to_stderr(bool to_stderr) { g_log_fd = to_stderr ? STDERR_FILENO : STDOUT_FILENO; }

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mutex;

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string format_time(bool with_ms) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (with_ms) {
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  } else {
    std::snprintf(buf + n, sizeof buf - n, "Z");
  }
  return buf;
}

}  // namespace

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

bool parse_log_level(std::string_view s, LogLevel& out) {
  if (s == "debug") {
    out = LogLevel::kDebug;
  } else if (s == "info") {
    out = LogLevel::kInfo;
  } else if (s == "warn") {
    out = LogLevel::kWarn;
  } else if (s == "error") {
    out = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

std::string utc_timestamp_ms() { return format_time(true); }

std::string utc_timestamp_ms(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}
std::string utc_timestamp() { return format_time(false); }

void log(LogLevel level, std::string_view event, nlohmann::json fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = utc_timestamp_ms();
  line["level"] = level_name(level);
  line["event"] = event;
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  // Replace invalid UTF-8 rather than throwing: log lines may quote bad input.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(g_write_mutex);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n =
        ::write(g_log_fd.load(std::memory_order_relaxed), text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace libromind::telemetry
