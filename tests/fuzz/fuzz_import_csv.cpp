// libFuzzer target: arbitrary bytes as a CSV import file.
#include "fuzz_import_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return libromind::fuzz::fuzz_import(data, size, libromind::catalog::Format::kCsv);
}
