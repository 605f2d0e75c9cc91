#include "telemetry/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace libromind::telemetry {
namespace {

void atomic_add(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = {}) {
  if (names.empty() && extra.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty()) {
    if (!first) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

}  // namespace

void Counter::inc(double v) { atomic_add(value_, v); }
void Gauge::add(double v) { atomic_add(value_, v); }

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::snapshot(std::vector<uint64_t>& cumulative, double& sum, uint64_t& count) const {
  cumulative.assign(bounds_.size() + 1, 0);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    cumulative[i] = acc;
  }
  sum = sum_.load(std::memory_order_relaxed);
  count = acc;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  counters_.push_back(std::make_unique<Family<Counter>>(
      name, help, std::move(labels), [] { return std::make_unique<Counter>(); }));
  order_.emplace_back(0, counters_.size() - 1);
  return *counters_.back();
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(name, help, std::move(labels),
                                                    [] { return std::make_unique<Gauge>(); }));
  order_.emplace_back(1, gauges_.size() - 1);
  return *gauges_.back();
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      name, help, std::move(labels), [bounds] { return std::make_unique<Histogram>(bounds); }));
  order_.emplace_back(2, histograms_.size() - 1);
  return *histograms_.back();
}

void Registry::on_collect(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();

  std::lock_guard lock(mutex_);
  std::string out;
  for (auto [kind, idx] : order_) {
    if (kind == 0) {
      const auto& f = *counters_[idx];
      out += "# HELP " + f.name() + " " + f.help() + "\n# TYPE " + f.name() + " counter\n";
      f.for_each([&](const std::vector<std::string>& values, const Counter& c) {
        out += f.name() + label_set(f.labels(), values) + " " + format_value(c.value()) + "\n";
      });
    } else if (kind == 1) {
      const auto& f = *gauges_[idx];
      out += "# HELP " + f.name() + " " + f.help() + "\n# TYPE " + f.name() + " gauge\n";
      f.for_each([&](const std::vector<std::string>& values, const Gauge& g) {
        out += f.name() + label_set(f.labels(), values) + " " + format_value(g.value()) + "\n";
      });
    } else {
      const auto& f = *histograms_[idx];
      out += "# HELP " + f.name() + " " + f.help() + "\n# TYPE " + f.name() + " histogram\n";
      f.for_each([&](const std::vector<std::string>& values, const Histogram& h) {
        std::vector<uint64_t> cum;
        double sum = 0;
        uint64_t count = 0;
        h.snapshot(cum, sum, count);
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          out += f.name() + "_bucket" +
                 label_set(f.labels(), values, "le=\"" + format_value(h.bounds()[i]) + "\"") + " " +
                 std::to_string(cum[i]) + "\n";
        }
        out += f.name() + "_bucket" + label_set(f.labels(), values, "le=\"+Inf\"") + " " +
               std::to_string(cum.back()) + "\n";
        out += f.name() + "_sum" + label_set(f.labels(), values) + " " + format_value(sum) + "\n";
        out += f.name() + "_count" + label_set(f.labels(), values) + " " + std::to_string(count) +
               "\n";
      });
    }
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace libromind::telemetry
