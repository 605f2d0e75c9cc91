#include "http/response_cache.hpp"

#include <functional>

namespace libromind::http {

ResponseCache::Shard& ResponseCache::shard(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::shared_ptr<const CachedResponse> ResponseCache::get(const std::string& key,
                                                         int64_t generation) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  if (s.generation != generation) {
    s.map.clear();
    s.bytes = 0;
    s.generation = generation;
    return nullptr;
  }
  auto it = s.map.find(key);
  return it == s.map.end() ? nullptr : it->second;
}

void ResponseCache::put(const std::string& key, int64_t generation,
                        std::shared_ptr<const CachedResponse> value) {
  const size_t size = key.size() + value->response.body.size() + value->gzip_body.size() + 256;
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  if (s.generation != generation) {
    // A response computed before a change must not be cached under the new generation.
    if (generation < s.generation) return;
    s.map.clear();
    s.bytes = 0;
    s.generation = generation;
  }
  if (s.bytes + size > max_bytes_ / kShards) {
    s.map.clear();
    s.bytes = 0;
  }
  auto [it, inserted] = s.map.emplace(key, std::move(value));
  if (inserted) s.bytes += size;
}

size_t ResponseCache::bytes() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.bytes;
  }
  return n;
}

size_t ResponseCache::entries() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.map.size();
  }
  return n;
}

}  // namespace libromind::http
