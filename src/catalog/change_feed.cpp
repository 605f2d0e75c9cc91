#include "catalog/change_feed.hpp"

#include "telemetry/log.hpp"

namespace libromind::catalog {

void ChangeFeed::refresh() {
  // Unreachable or unreadable: every cached response is a miss until the store answers again,
  // so the cache never hides an outage or serves a catalogue it can no longer confirm.
  auto conn = store_.acquire(store::Access::kRead);
  auto rows = conn ? (*conn)->query("SELECT change_seq FROM store_meta WHERE id = 1")
                   : core::Result<store::Rows>(conn.error());
  if (!rows || rows->empty()) {
    current_.store(-1, std::memory_order_release);
    return;
  }
  current_.store(store::as_int(rows->rows[0][0]), std::memory_order_release);
}

void ChangeFeed::start() {
  refresh();
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      refresh();
      lock.lock();
    }
  });
}

void ChangeFeed::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace libromind::catalog
