// Follows the store's change sequence (store_meta.change_seq) by polling it from a background
// thread, so in-process derived data (the response cache now, search indexes later) knows when
// the catalogue changed — also when another replica or a worker made the change.
//
//   catalog::ChangeFeed feed(store, std::chrono::milliseconds(250));
//   feed.start();
//   int64_t seq = feed.current();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/store.hpp"

namespace libromind::catalog {

class ChangeFeed {
 public:
  ChangeFeed(store::Store& store, std::chrono::milliseconds interval)
      : store_(store), interval_(interval) {}
  ~ChangeFeed() { stop(); }

  void start();
  void stop();
  // The last change sequence seen (-1 before the first successful read).
  int64_t current() const { return current_.load(std::memory_order_acquire); }
  // Reads the sequence now (also called by the poller).
  void refresh();

 private:
  store::Store& store_;
  std::chrono::milliseconds interval_;
  std::atomic<int64_t> current_{-1};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace libromind::catalog
