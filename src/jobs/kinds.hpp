// The job kinds Libro-Mind enqueues and the payloads they carry, in one place so that the
// features that enqueue (catalogue writes, imports, checkout) and the handlers that run them
// (search, catalog, shop) agree without depending on each other.
//
//   LM_TRY(jobs::enqueue(tx, jobs::embed_books({book_id})));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/queue.hpp"

namespace libromind::jobs {

// {"book_ids": [..], "import_id": N?}: computes the vectors of these books that are missing or
// stale (the handler skips books whose vector is current, so a second run changes nothing).
inline constexpr const char* kEmbedBooks = "embed_books";
// {}: scans the whole catalogue and embeds what is missing or stale (after a command-line
// import, at the start of `serve`, after a model change). One unfinished at a time.
inline constexpr const char* kEmbedStale = "embed_stale";
// {"import_id": N}: runs a bulk upload (catalog/import_job.hpp).
inline constexpr const char* kImportFile = "import_file";
// {"order_id": N}: the order confirmation e-mail; one unfinished per order, sent at most once.
inline constexpr const char* kSendEmail = "send_email";

// Books per embed_books job enqueued for many books at once.
inline constexpr size_t kEmbedBatch = 64;

inline EnqueueRequest embed_books(std::vector<int64_t> book_ids, int64_t import_id = 0) {
  EnqueueRequest r{.kind = kEmbedBooks, .payload = {{"book_ids", std::move(book_ids)}}};
  if (import_id > 0) r.payload["import_id"] = import_id;
  return r;
}

inline EnqueueRequest embed_stale() {
  return EnqueueRequest{.kind = kEmbedStale,
                        .payload = nlohmann::json::object(),
                        .priority = -1,  // behind the targeted work
                        .dedup_key = std::string("catalogue")};
}

inline EnqueueRequest import_file(int64_t import_id) {
  return EnqueueRequest{.kind = kImportFile,
                        .payload = {{"import_id", import_id}},
                        .max_attempts = 3,
                        .dedup_key = "import:" + std::to_string(import_id)};
}

inline EnqueueRequest send_email(int64_t order_id) {
  return EnqueueRequest{.kind = kSendEmail,
                        .payload = {{"order_id", order_id}},
                        .max_attempts = 10,
                        .dedup_key = "order:" + std::to_string(order_id)};
}

}  // namespace libromind::jobs
