#include "search/vector_index.hpp"

#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <mutex>
#include <queue>
#include <stdexcept>

namespace libromind::search {
namespace {

using idx_t = faiss::Index::idx_t;

// Where a book's vector is: nowhere, a graph node, or a slot of the delta.
constexpr int64_t kNowhere = -1;
inline bool in_graph(int64_t loc) { return loc >= 0; }
inline bool in_delta(int64_t loc) { return loc <= -2; }
inline int64_t delta_loc(size_t slot) { return -2 - static_cast<int64_t>(slot); }
inline size_t delta_slot(int64_t loc) { return static_cast<size_t>(-2 - loc); }

// The graph's storage: faiss's IndexFlatIP with the inner product computed by OpenBLAS's
// sdot. Debian's libfaiss is built for baseline x86-64, where faiss's own fvec_inner_product
// is a scalar loop: 40% of the serving process's profile while vectors streamed in (graph
// inserts and walks). sdot picks the machine's vector width at run time.
class SdotDistance final : public faiss::FlatCodesDistanceComputer {
 public:
  SdotDistance(const float* base, int dim)
      : faiss::FlatCodesDistanceComputer(reinterpret_cast<const uint8_t*>(base),
                                         sizeof(float) * static_cast<size_t>(dim)),
        base_(base),
        dim_(dim) {}
  void set_query(const float* x) override { query_ = x; }
  float distance_to_code(const uint8_t* code) override {
    return cblas_sdot(dim_, query_, 1, reinterpret_cast<const float*>(code), 1);
  }
  float symmetric_dis(idx_t i, idx_t j) override {
    return cblas_sdot(dim_, base_ + i * dim_, 1, base_ + j * dim_, 1);
  }

 private:
  const float* base_;
  int dim_;
  const float* query_ = nullptr;
};

struct SdotFlatIP final : faiss::IndexFlatIP {
  explicit SdotFlatIP(int dim) : faiss::IndexFlatIP(dim) {}
  faiss::FlatCodesDistanceComputer* get_FlatCodesDistanceComputer() const override {
    return new SdotDistance(get_xb(), static_cast<int>(d));
  }
};

// An empty graph over SdotFlatIP storage (which it owns).
std::unique_ptr<faiss::IndexHNSW> new_graph_index(int32_t dim, const HnswOptions& o) {
  auto index = std::make_unique<faiss::IndexHNSW>(new SdotFlatIP(dim), o.m);
  index->own_fields = true;
  index->hnsw.efConstruction = o.ef_construction;
  index->hnsw.efSearch = o.ef_search;
  return index;
}

// A copy of a graph and its storage (faiss's clone_index would copy the storage as a plain
// IndexFlatIP, back to the scalar inner product).
std::unique_ptr<faiss::IndexHNSW> clone_graph_index(const faiss::IndexHNSW& src) {
  const auto* storage = dynamic_cast<const SdotFlatIP*>(src.storage);
  if (storage == nullptr) throw std::runtime_error("the HNSW graph has an unexpected storage");
  auto index = std::make_unique<faiss::IndexHNSW>(new SdotFlatIP(*storage));
  index->own_fields = true;
  index->hnsw = src.hnsw;  // the graph, its degree and its search settings
  index->ntotal = src.ntotal;
  return index;
}

struct Graph {
  // An IndexHNSW over SdotFlatIP storage.
  std::unique_ptr<faiss::IndexHNSW> index;
  std::vector<int64_t> labels;  // node -> book id
  const float* vector(idx_t node) const {
    return index->storage
               ? reinterpret_cast<const float*>(
                     static_cast<const faiss::IndexFlat*>(index->storage)->codes.data()) +
                     node * index->d
               : nullptr;
  }
};

struct Delta {
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  std::vector<uint8_t> live;
};

struct Snapshot {
  std::shared_ptr<const Graph> graph;
  std::shared_ptr<const std::vector<uint8_t>> dead;  // per graph node
  std::shared_ptr<const Delta> delta;
  std::shared_ptr<const std::vector<int64_t>> where;  // by book id
  int64_t live = 0;
  int64_t dead_count = 0;
};

// Keeps the k best (highest score) hits.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) {}
  void push(int64_t id, float score) {
    if (k_ == 0) return;
    if (heap_.size() < k_) {
      heap_.push({score, id});
    } else if (score > heap_.top().first) {
      heap_.pop();
      heap_.push({score, id});
    }
  }
  std::vector<VectorHit> take() {
    std::vector<VectorHit> out;
    while (!heap_.empty()) {
      out.push_back({heap_.top().second, heap_.top().first});
      heap_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  size_t k_;
  // min-heap on score
  std::priority_queue<std::pair<float, int64_t>, std::vector<std::pair<float, int64_t>>,
                      std::greater<>>
      heap_;
};

class Selector : public faiss::IDSelector {
 public:
  Selector(const Graph& g, const std::vector<uint8_t>& dead, const AllowSet* allow)
      : g_(g), dead_(dead), allow_(allow) {}
  bool is_member(idx_t node) const override {
    if (dead_[node]) return false;
    return !allow_ || allow_->allowed(g_.labels[node]);
  }

 private:
  const Graph& g_;
  const std::vector<uint8_t>& dead_;
  const AllowSet* allow_;
};

class SnapshotIndex final : public VectorIndex {
 public:
  SnapshotIndex(int32_t dim, HnswOptions o, bool exact_only)
      : dim_(dim), o_(o), exact_only_(exact_only) {
    auto s = std::make_shared<Snapshot>();
    s->dead = std::make_shared<std::vector<uint8_t>>();
    s->delta = std::make_shared<Delta>();
    s->where = std::make_shared<std::vector<int64_t>>();
    current_ = s;
  }

  int32_t dim() const override { return dim_; }

  core::Result<void> upsert(const std::vector<int64_t>& ids,
                            const std::vector<float>& vectors) override {
    if (vectors.size() != ids.size() * static_cast<size_t>(dim_)) {
      return core::Error::invalid("vector index: " + std::to_string(vectors.size()) +
                                  " floats for " + std::to_string(ids.size()) + " vectors of " +
                                  std::to_string(dim_));
    }
    for (int64_t id : ids) {
      if (id < 0) return core::Error::invalid("vector index: negative id");
    }
    if (ids.empty()) return core::ok();
    std::lock_guard writer(writer_mutex_);
    auto cur = snapshot();
    try {
      if (!exact_only_ && cur->delta->ids.size() + ids.size() > o_.delta_limit) {
        publish(merge(*cur, ids, vectors));
      } else {
        publish(append(*cur, ids, vectors));
      }
    } catch (const std::exception& e) {
      return core::Error::internal(std::string("vector index: ") + e.what());
    }
    return core::ok();
  }

  void remove(const std::vector<int64_t>& ids) override {
    std::lock_guard writer(writer_mutex_);
    auto cur = snapshot();
    auto next = std::make_shared<Snapshot>(*cur);
    auto where = std::make_shared<std::vector<int64_t>>(*cur->where);
    std::shared_ptr<std::vector<uint8_t>> dead;
    std::shared_ptr<Delta> delta;
    for (int64_t id : ids) {
      if (id < 0 || static_cast<size_t>(id) >= where->size()) continue;
      int64_t& loc = (*where)[id];
      if (in_graph(loc)) {
        if (!dead) dead = std::make_shared<std::vector<uint8_t>>(*cur->dead);
        (*dead)[loc] = 1;
        ++next->dead_count;
        --next->live;
      } else if (in_delta(loc)) {
        if (!delta) delta = std::make_shared<Delta>(*cur->delta);
        delta->live[delta_slot(loc)] = 0;
        --next->live;
      }
      loc = kNowhere;
    }
    if (dead) next->dead = dead;
    if (delta) next->delta = delta;
    next->where = where;
    publish(next);
  }

  std::vector<VectorHit> search(const float* q, const VectorSearchOptions& o) const override {
    auto s = snapshot();
    const size_t k = static_cast<size_t>(std::max(0, o.k));
    if (k == 0 || s->live == 0) return {};
    TopK top(k);
    const bool selective =
        o.allow && (exact_only_ || static_cast<double>(o.allow->count()) <
                                       o_.exact_below * static_cast<double>(s->live));
    if (selective || !s->graph) {
      // Exact: every allowed live vector.
      exact_scan(*s, q, o.allow, top);
      return top.take();
    }
    // Graph, widened by the filter's selectivity, plus the delta exactly.
    const Graph& g = *s->graph;
    if (!g.labels.empty()) {
      Selector sel(g, *s->dead, o.allow);
      faiss::SearchParametersHNSW params;
      double ef = std::max<double>(o.ef_search > 0 ? o.ef_search : o_.ef_search, k);
      const double share =
          o.allow ? std::max(1e-3, static_cast<double>(o.allow->count()) /
                                       static_cast<double>(std::max<int64_t>(1, s->live)))
                  : 1.0;
      if (s->dead_count > 0 || o.allow) {
        const double alive =
            1.0 - static_cast<double>(s->dead_count) / static_cast<double>(g.labels.size());
        ef = ef / std::max(0.05, share * alive);
      }
      params.efSearch = static_cast<int>(std::min(2048.0, ef));
      params.sel = &sel;
      std::vector<float> dist(k);
      std::vector<idx_t> nodes(k, -1);
      g.index->search(1, q, static_cast<idx_t>(k), dist.data(), nodes.data(), &params);
      for (size_t i = 0; i < k; ++i) {
        if (nodes[i] >= 0) top.push(g.labels[nodes[i]], dist[i]);
      }
    }
    const Delta& d = *s->delta;
    for (size_t i = 0; i < d.ids.size(); ++i) {
      if (!d.live[i] || (o.allow && !o.allow->allowed(d.ids[i]))) continue;
      top.push(d.ids[i], cblas_sdot(dim_, q, 1, d.vectors.data() + i * dim_, 1));
    }
    return top.take();
  }

  bool get(int64_t id, std::vector<float>& out) const override {
    auto s = snapshot();
    if (id < 0 || static_cast<size_t>(id) >= s->where->size()) return false;
    const int64_t loc = (*s->where)[id];
    const float* v = nullptr;
    if (in_graph(loc)) v = s->graph->vector(loc);
    if (in_delta(loc)) v = s->delta->vectors.data() + delta_slot(loc) * dim_;
    if (!v) return false;
    out.assign(v, v + dim_);
    return true;
  }

  VectorIndexStats stats() const override {
    auto s = snapshot();
    VectorIndexStats st;
    st.vectors = s->live;
    st.graph = s->graph ? static_cast<int64_t>(s->graph->labels.size()) : 0;
    st.delta = static_cast<int64_t>(s->delta->ids.size());
    st.deleted = s->dead_count;
    return st;
  }

 private:
  std::shared_ptr<const Snapshot> snapshot() const {
    std::lock_guard lock(snapshot_mutex_);
    return current_;
  }
  void publish(std::shared_ptr<const Snapshot> s) {
    std::lock_guard lock(snapshot_mutex_);
    current_ = std::move(s);
  }

  void exact_scan(const Snapshot& s, const float* q, const AllowSet* allow, TopK& top) const {
    auto score = [&](int64_t id, const float* v) { top.push(id, cblas_sdot(dim_, q, 1, v, 1)); };
    const auto& where = *s.where;
    if (allow) {
      const int64_t n = std::min<int64_t>(static_cast<int64_t>(where.size()), INT64_MAX);
      for (int64_t id = 0; id < n; ++id) {
        if (!allow->allowed(id)) continue;
        const int64_t loc = where[id];
        if (in_graph(loc)) score(id, s.graph->vector(loc));
        if (in_delta(loc)) score(id, s.delta->vectors.data() + delta_slot(loc) * dim_);
      }
      return;
    }
    if (s.graph) {
      const Graph& g = *s.graph;
      for (size_t node = 0; node < g.labels.size(); ++node) {
        if (!(*s.dead)[node]) score(g.labels[node], g.vector(node));
      }
    }
    const Delta& d = *s.delta;
    for (size_t i = 0; i < d.ids.size(); ++i) {
      if (d.live[i]) score(d.ids[i], d.vectors.data() + i * dim_);
    }
  }

  static void grow(std::vector<int64_t>& where, int64_t id) {
    if (static_cast<size_t>(id) >= where.size()) where.resize(id + 1, kNowhere);
  }

  // The next snapshot with `ids` in the delta (their older copies retired).
  std::shared_ptr<const Snapshot> append(const Snapshot& cur, const std::vector<int64_t>& ids,
                                         const std::vector<float>& vectors) {
    auto next = std::make_shared<Snapshot>(cur);
    auto where = std::make_shared<std::vector<int64_t>>(*cur.where);
    auto delta = std::make_shared<Delta>(*cur.delta);
    std::shared_ptr<std::vector<uint8_t>> dead;
    for (size_t i = 0; i < ids.size(); ++i) {
      const int64_t id = ids[i];
      grow(*where, id);
      int64_t& loc = (*where)[id];
      const float* v = vectors.data() + i * dim_;
      if (in_delta(loc)) {  // replace in place
        std::copy(v, v + dim_, delta->vectors.begin() + delta_slot(loc) * dim_);
        continue;
      }
      if (in_graph(loc)) {
        if (!dead) dead = std::make_shared<std::vector<uint8_t>>(*cur.dead);
        (*dead)[loc] = 1;
        ++next->dead_count;
      } else {
        ++next->live;
      }
      loc = delta_loc(delta->ids.size());
      delta->ids.push_back(id);
      delta->vectors.insert(delta->vectors.end(), v, v + dim_);
      delta->live.push_back(1);
    }
    if (dead) next->dead = dead;
    next->delta = delta;
    next->where = where;
    return next;
  }

  // The next snapshot with the delta and `ids` in a graph: the current graph cloned and
  // extended, or rebuilt from the live vectors when a quarter of it is tombstones.
  std::shared_ptr<const Snapshot> merge(const Snapshot& cur, const std::vector<int64_t>& ids,
                                        const std::vector<float>& vectors) {
    // Latest vector per book: the new ones win over the delta's.
    std::vector<int64_t> add_ids;
    std::vector<float> add_vecs;
    std::vector<int64_t> where = *cur.where;
    auto take = [&](int64_t id, const float* v) {
      grow(where, id);
      add_ids.push_back(id);
      add_vecs.insert(add_vecs.end(), v, v + dim_);
    };
    std::vector<uint8_t> dead = *cur.dead;
    int64_t dead_count = cur.dead_count;
    std::vector<uint8_t> fresh(where.size(), 0);
    for (size_t i = 0; i < ids.size(); ++i) {
      grow(where, ids[i]);
      if (fresh.size() < where.size()) fresh.resize(where.size(), 0);
      fresh[ids[i]] = 1;
    }
    const Delta& d = *cur.delta;
    for (size_t i = 0; i < d.ids.size(); ++i) {
      if (d.live[i] && !fresh[d.ids[i]]) take(d.ids[i], d.vectors.data() + i * dim_);
    }
    std::vector<uint8_t> seen(where.size(), 0);
    for (size_t i = ids.size(); i-- > 0;) {  // the last copy of a repeated id wins
      if (seen[ids[i]]) continue;
      seen[ids[i]] = 1;
      const int64_t loc = where[ids[i]];
      if (in_graph(loc)) {
        dead[loc] = 1;
        ++dead_count;
      }
      take(ids[i], vectors.data() + i * dim_);
    }

    auto graph = std::make_shared<Graph>();
    const bool rebuild = !cur.graph || static_cast<double>(dead_count) >
                                           0.25 * static_cast<double>(cur.graph->labels.size());
    if (rebuild) {
      graph->index = new_graph_index(dim_, o_);
      if (cur.graph) {  // carry the live graph nodes over
        const Graph& g = *cur.graph;
        std::vector<int64_t> keep_ids;
        std::vector<float> keep_vecs;
        for (size_t node = 0; node < g.labels.size(); ++node) {
          if (dead[node]) continue;
          keep_ids.push_back(g.labels[node]);
          keep_vecs.insert(keep_vecs.end(), g.vector(node), g.vector(node) + dim_);
        }
        add_ids.insert(add_ids.begin(), keep_ids.begin(), keep_ids.end());
        add_vecs.insert(add_vecs.begin(), keep_vecs.begin(), keep_vecs.end());
      }
      dead.clear();
      dead_count = 0;
    } else {
      graph->index = clone_graph_index(*cur.graph->index);
      graph->labels = cur.graph->labels;
    }
    const int64_t base = static_cast<int64_t>(graph->labels.size());
    graph->index->add(static_cast<idx_t>(add_ids.size()), add_vecs.data());
    for (size_t i = 0; i < add_ids.size(); ++i) {
      graph->labels.push_back(add_ids[i]);
      where[add_ids[i]] = base + static_cast<int64_t>(i);
    }
    dead.resize(graph->labels.size(), 0);

    auto next = std::make_shared<Snapshot>();
    next->graph = graph;
    next->dead = std::make_shared<std::vector<uint8_t>>(std::move(dead));
    next->delta = std::make_shared<Delta>();
    next->dead_count = dead_count;
    int64_t live = 0;
    for (int64_t loc : where) live += in_graph(loc) ? 1 : 0;
    next->live = live;
    next->where = std::make_shared<std::vector<int64_t>>(std::move(where));
    return next;
  }

  int32_t dim_;
  HnswOptions o_;
  bool exact_only_;
  std::mutex writer_mutex_;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace

std::unique_ptr<VectorIndex> make_exact_index(int32_t dim) {
  return std::make_unique<SnapshotIndex>(dim, HnswOptions{}, true);
}

std::unique_ptr<VectorIndex> make_hnsw_index(int32_t dim, HnswOptions options) {
  return std::make_unique<SnapshotIndex>(dim, options, false);
}

}  // namespace libromind::search
