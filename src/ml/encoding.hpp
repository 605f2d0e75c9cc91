// Token ids as the encoder consumes them: the tokenizer produces Encodings, pads them into a
// Batch, and the BERT encoder runs a Batch.
#pragma once

#include <cstdint>
#include <vector>

namespace libromind::ml {

// One tokenized text (or text pair), with [CLS] ... [SEP] (... [SEP]) already added.
struct Encoding {
  std::vector<int32_t> ids;             // vocabulary ids
  std::vector<int32_t> type_ids;        // 0 for the first segment, 1 for the second (pairs)
  std::vector<int32_t> attention_mask;  // 1 for real tokens (all ones before padding)
};

// Encodings padded to one length, row-major [batch][seq_len].
struct Batch {
  int32_t batch_size = 0;
  int32_t seq_len = 0;
  std::vector<int32_t> ids;             // batch_size * seq_len, padded with the [PAD] id
  std::vector<int32_t> type_ids;        // padded with 0
  std::vector<int32_t> attention_mask;  // padded with 0
};

}  // namespace libromind::ml
