// Reads model weights in the safetensors format: the file is memory-mapped, F32 tensors are
// served as views into the mapping (no copy), F16 and BF16 tensors are converted once at open.
//
//   LM_ASSIGN_OR_RETURN(ml::SafeTensors st, ml::SafeTensors::open(dir + "/model.safetensors"));
//   LM_ASSIGN_OR_RETURN(ml::TensorView w, st.get("classifier.weight", {1, 384}));
//   use(w.data);  // 384 floats, valid while `st` lives
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace libromind::ml {

// A read-only float tensor, row-major. `data` points into the mapping or into a converted buffer
// owned by the SafeTensors that returned it, and is valid as long as that object lives.
struct TensorView {
  const float* data = nullptr;  // numel() floats
  std::vector<int64_t> shape;   // dimensions, outermost first

  int64_t numel() const;
};

// "[2, 384]": how shapes appear in error messages.
std::string shape_to_string(const std::vector<int64_t>& shape);

class SafeTensors {
 public:
  // Maps the file and validates the whole header: its length against the file, every tensor's
  // dtype, shape, offsets inside the data section, size = numel * dtype size, no overlaps.
  static core::Result<SafeTensors> open(const std::string& path);

  SafeTensors(SafeTensors&& other) noexcept;
  SafeTensors& operator=(SafeTensors&& other) noexcept;
  SafeTensors(const SafeTensors&) = delete;
  SafeTensors& operator=(const SafeTensors&) = delete;
  ~SafeTensors();

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  std::vector<std::string> names() const;

  // The tensor as floats. Fails, naming the tensor and the file, when it is missing, is not a
  // float dtype (F32/F16/BF16), or its shape differs from `expected_shape`.
  core::Result<TensorView> get(const std::string& name,
                               const std::vector<int64_t>& expected_shape) const;

  // Gives back to the kernel the pages that lie wholly inside the view [data, data + floats) of
  // the mapped file, once a caller has copied the tensor (they are read from the file again if
  // touched later): the process's resident memory then holds the copy alone. A view that is not
  // in the mapping (a converted copy) is left alone.
  void release(const float* data, int64_t floats) const;

 private:
  struct Entry {
    std::string dtype;           // as in the header: "F32", "F16", "BF16", "I64", ...
    std::vector<int64_t> shape;  // dimensions
    uint64_t begin = 0;          // byte offsets into the data section
    uint64_t end = 0;
    std::vector<float> owned;  // converted (F16/BF16) or realigned copy; empty for F32 views
  };

  SafeTensors() = default;
  void unmap();

  std::string path_;
  const uint8_t* map_ = nullptr;  // the whole file
  uint64_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section (after the header)
  std::map<std::string, Entry> entries_;
};

}  // namespace libromind::ml
