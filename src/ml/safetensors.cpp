#include "ml/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace libromind::ml {

namespace {

// Header bigger than this is not a weights file (the format's reference reader caps it at 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

// Bytes per element, 0 for an unknown dtype.
uint64_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") {
    return 8;
  }
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") {
    return 4;
  }
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") {
    return 2;
  }
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E5M2" ||
      dtype == "F8_E4M3") {
    return 1;
  }
  return 0;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits = 0;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;  // signed zero
    } else {
      // Subnormal: shift the mantissa up until its leading one becomes the implicit bit.
      int32_t e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf or NaN
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float bf16_to_f32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t load_u16_le(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

core::Error bad_file(const std::string& path, const std::string& what) {
  return core::Error::invalid("safetensors file '" + path + "': " + what);
}

core::Error bad_tensor(const std::string& path, const std::string& name, const std::string& what) {
  return core::Error::invalid("tensor '" + name + "' in safetensors file '" + path + "': " + what);
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    n *= d;
  }
  return n;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) {
      s += ", ";
    }
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SafeTensors::SafeTensors(SafeTensors&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      entries_(std::move(other.entries_)) {}

SafeTensors& SafeTensors::operator=(SafeTensors&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    data_ = std::exchange(other.data_, nullptr);
    entries_ = std::move(other.entries_);
  }
  return *this;
}

SafeTensors::~SafeTensors() { unmap(); }

void SafeTensors::unmap() {
  if (map_ != nullptr) {
    munmap(const_cast<uint8_t*>(map_), map_size_);
    map_ = nullptr;
  }
}

core::Result<SafeTensors> SafeTensors::open(const std::string& path) {
  SafeTensors st;
  st.path_ = path;

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Error::not_found("cannot open safetensors file '" + path +
                                  "': " + std::strerror(errno));
  }
  struct stat sb {};
  if (fstat(fd, &sb) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    return bad_file(path, "cannot stat: " + err);
  }
  const uint64_t file_size = static_cast<uint64_t>(sb.st_size);
  if (file_size < 8) {
    ::close(fd);
    return bad_file(path, "file is " + std::to_string(file_size) +
                              " bytes, shorter than the 8-byte header length");
  }
  void* m = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (m == MAP_FAILED) {
    return bad_file(path, std::string("mmap failed: ") + std::strerror(errno));
  }
  st.map_ = static_cast<const uint8_t*>(m);
  st.map_size_ = file_size;

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | st.map_[i];
  }
  if (header_len > kMaxHeaderBytes || header_len > file_size - 8) {
    return bad_file(path, "header length " + std::to_string(header_len) + " exceeds the file (" +
                              std::to_string(file_size) + " bytes)");
  }
  st.data_ = st.map_ + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;

  const char* header_begin = reinterpret_cast<const char*>(st.map_ + 8);
  nlohmann::json header =
      nlohmann::json::parse(header_begin, header_begin + header_len, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return bad_file(path, "header is not a JSON object");
  }

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      continue;
    }
    const nlohmann::json& t = it.value();
    if (!t.is_object() || !t.contains("dtype") || !t["dtype"].is_string() || !t.contains("shape") ||
        !t["shape"].is_array() || !t.contains("data_offsets") || !t["data_offsets"].is_array() ||
        t["data_offsets"].size() != 2) {
      return bad_tensor(path, name, "header entry needs dtype, shape and two data_offsets");
    }
    Entry e;
    e.dtype = t["dtype"].get<std::string>();
    const uint64_t elem = dtype_size(e.dtype);
    if (elem == 0) {
      return bad_tensor(path, name, "unknown dtype '" + e.dtype + "'");
    }
    uint64_t numel = 1;
    for (const nlohmann::json& d : t["shape"]) {
      if (!d.is_number_unsigned()) {
        return bad_tensor(path, name, "shape holds a value that is not a non-negative integer");
      }
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / dim) {
        return bad_tensor(path, name, "shape is too large");
      }
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const nlohmann::json& off = t["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return bad_tensor(path, name, "data_offsets must be non-negative integers");
    }
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size) {
      return bad_tensor(path, name,
                        "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                            "] lie outside the data section (" + std::to_string(data_size) +
                            " bytes)");
    }
    if (e.end - e.begin != numel * elem) {
      return bad_tensor(path, name,
                        "holds " + std::to_string(e.end - e.begin) + " bytes but " + e.dtype + " " +
                            shape_to_string(e.shape) + " needs " + std::to_string(numel * elem));
    }
    st.entries_.emplace(name, std::move(e));
  }

  // No two tensors may share bytes.
  std::vector<std::pair<uint64_t, const std::string*>> spans;
  for (const auto& [name, e] : st.entries_) {
    if (e.end > e.begin) {
      spans.emplace_back(e.begin, &name);
    }
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    const Entry& prev = st.entries_.at(*spans[i - 1].second);
    if (spans[i].first < prev.end) {
      return bad_tensor(path, *spans[i].second,
                        "data overlaps tensor '" + *spans[i - 1].second + "'");
    }
  }

  // Convert half-precision tensors once; copy F32 tensors the format left unaligned.
  for (auto& [name, e] : st.entries_) {
    const uint8_t* src = st.data_ + e.begin;
    const uint64_t n = (e.end - e.begin) / dtype_size(e.dtype);
    if (e.dtype == "F16" || e.dtype == "BF16") {
      e.owned.resize(n);
      const bool f16 = e.dtype == "F16";
      for (uint64_t i = 0; i < n; ++i) {
        const uint16_t h = load_u16_le(src + 2 * i);
        e.owned[i] = f16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
    } else if (e.dtype == "F32" && reinterpret_cast<uintptr_t>(src) % alignof(float) != 0) {
      e.owned.resize(n);
      std::memcpy(e.owned.data(), src, n * sizeof(float));
    }
  }
  return st;
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) {
    out.push_back(kv.first);
  }
  return out;
}

void SafeTensors::release(const float* data, int64_t floats) const {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t end =
      begin + sizeof(float) * static_cast<uintptr_t>(std::max<int64_t>(floats, 0));
  const auto map_begin = reinterpret_cast<uintptr_t>(map_);
  if (map_ == nullptr || begin < map_begin || end > map_begin + map_size_) {
    return;
  }
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = end / page * page;
  if (first < last) {
    // Advice only: on failure the pages simply stay resident.
    (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
}

core::Result<TensorView> SafeTensors::get(const std::string& name,
                                          const std::vector<int64_t>& expected_shape) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return core::Error::not_found("tensor '" + name + "' is missing from safetensors file '" +
                                  path_ + "'");
  }
  const Entry& e = it->second;
  if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16") {
    return bad_tensor(path_, name, "dtype " + e.dtype + " is not a float type (F32, F16, BF16)");
  }
  if (e.shape != expected_shape) {
    return bad_tensor(
        path_, name,
        "shape " + shape_to_string(e.shape) + ", expected " + shape_to_string(expected_shape));
  }
  TensorView v;
  v.shape = e.shape;
  v.data = e.owned.empty() ? reinterpret_cast<const float*>(data_ + e.begin) : e.owned.data();
  return v;
}

}  // namespace libromind::ml
