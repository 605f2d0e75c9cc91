// An in-process cache of public read responses (catalogue lists and details), keyed by route and
// request target, invalidated as a whole when the store's change sequence moves. Hits are
// served on the I/O thread without touching the store. Bounded by bytes; when full, it is
// cleared (the catalogue's hot set refills within a second).
//
//   ResponseCache cache(64 << 20);
//   if (auto hit = cache.get(key, generation)) return *hit;
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/message.hpp"

namespace libromind::http {

struct CachedResponse {
  Response response;      // as the handler returned it, with its ETag header set
  std::string gzip_body;  // the gzipped body, when compressible and worth it
};

class ResponseCache {
 public:
  explicit ResponseCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::shared_ptr<const CachedResponse> get(const std::string& key, int64_t generation);
  void put(const std::string& key, int64_t generation, std::shared_ptr<const CachedResponse> value);

  size_t bytes() const;
  size_t entries() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    int64_t generation = -1;
    size_t bytes = 0;
    std::unordered_map<std::string, std::shared_ptr<const CachedResponse>> map;
  };
  Shard& shard(const std::string& key);
  size_t max_bytes_;
  Shard shards_[kShards];
};

}  // namespace libromind::http
