// Records what each search, similar-books call and recommendation answered, with the pipeline
// that produced it, so that feedback on a pick can be attributed to a configuration. Writes
// are batched by a background thread (one transaction per flush) so the request path never
// waits for the store; a full queue drops entries and counts them rather than block.
//
//   search::RequestLog log(store);
//   log.start();
//   log.record({request_id, "search", query, config.label(), {"pg-1342", ...}});
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace libromind::search {

struct RequestRecord {
  std::string request_id;
  std::string kind;  // search | similar | recommendations
  std::string query;
  std::string pipeline;               // PipelineConfig::label()
  std::vector<std::string> book_ids;  // public ids, in the order shown
};

class RequestLog {
 public:
  explicit RequestLog(store::Store& store, size_t max_queue = 10000,
                      std::chrono::milliseconds interval = std::chrono::milliseconds(200))
      : store_(store), max_queue_(max_queue), interval_(interval) {}
  ~RequestLog() { stop(); }

  void start();
  // Flushes what is queued and stops.
  void stop();
  // Queues a record; false (and counted in dropped()) when the queue is full.
  bool record(RequestRecord r);
  // Writes everything queued now (tests; stop() calls it).
  void flush();
  int64_t dropped() const { return dropped_.load(); }
  int64_t written() const { return written_.load(); }

 private:
  store::Store& store_;
  size_t max_queue_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<RequestRecord> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex flush_mutex_;
  std::atomic<int64_t> dropped_{0};
  std::atomic<int64_t> written_{0};
};

}  // namespace libromind::search
