#include "search/request_log.hpp"

#include <nlohmann/json.hpp>

#include "telemetry/log.hpp"

namespace libromind::search {

void RequestLog::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      cv_.wait_for(lock, interval_, [&] { return stopping_; });
      lock.unlock();
      flush();
      lock.lock();
    }
  });
}

void RequestLog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush();
}

bool RequestLog::record(RequestRecord r) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= max_queue_) {
    ++dropped_;
    return false;
  }
  queue_.push_back(std::move(r));
  return true;
}

void RequestLog::flush() {
  std::lock_guard flushing(flush_mutex_);
  std::deque<RequestRecord> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  if (batch.empty()) return;
  const std::string now = telemetry::utc_timestamp();
  auto r = store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    for (const auto& rec : batch) {
      LM_TRY(
          conn.exec("INSERT INTO search_requests (request_id, kind, query, pipeline, "
                    "result_ids, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT "
                    "(request_id) DO NOTHING",
                    {rec.request_id, rec.kind, rec.query, rec.pipeline,
                     nlohmann::json(rec.book_ids).dump(), now}));
    }
    return core::ok();
  });
  if (!r) {
    dropped_ += static_cast<int64_t>(batch.size());
    telemetry::log_warn("search_request_log_failed",
                        {{"error", r.error().message}, {"records", batch.size()}});
    return;
  }
  written_ += static_cast<int64_t>(batch.size());
}

}  // namespace libromind::search
