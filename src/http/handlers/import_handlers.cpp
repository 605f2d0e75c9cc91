#include <chrono>
#include <thread>

#include "core/text.hpp"
#include "http/handlers/imports_routes.hpp"
#include "http/handlers/params.hpp"
#include "http/sse.hpp"

namespace libromind::http {
namespace {

core::Result<int64_t> import_id_of(Request& req) {
  const std::string& raw = req.path_params["id"];
  auto id = core::parse_int(raw);
  if (!id || *id <= 0) return core::Error::not_found("no import with id '" + raw + "'");
  return *id;
}

core::Result<catalog::Imports*> need(catalog::Imports* imports) {
  if (imports == nullptr) return core::Error::unavailable("this process takes no imports");
  return imports;
}

// The format from ?format=, else the Content-Type, else the file name's extension.
core::Result<catalog::Format> format_of(const Request& req, const std::string& file_name) {
  std::string f;
  if (auto q = req.query.get("format")) f = core::to_lower_ascii(*q);
  if (f.empty()) {
    if (const auto* ct = req.header("content-type")) {
      std::string type =
          core::to_lower_ascii(std::string(core::trim(ct->substr(0, ct->find(';')))));
      if (type == "text/csv") f = "csv";
      if (type == "application/x-ndjson" || type == "application/jsonl" ||
          type == "application/x-jsonlines" || type == "application/jsonlines") {
        f = "jsonl";
      }
      if (f.empty() && type != "application/octet-stream" && !type.empty()) {
        return core::Error::make(core::ErrorCode::kUnsupportedMediaType,
                                 "uploads are JSON Lines (application/x-ndjson) or CSV "
                                 "(text/csv), not " +
                                     type);
      }
    }
  }
  if (f.empty() && !file_name.empty()) {
    auto fmt = catalog::detect_format(file_name);
    if (fmt) return *fmt;
  }
  if (f == "csv") return catalog::Format::kCsv;
  if (f == "jsonl" || f == "ndjson") return catalog::Format::kJsonLines;
  if (f.empty()) {
    return core::Error::make(core::ErrorCode::kUnsupportedMediaType,
                             "say what the file is: Content-Type text/csv or "
                             "application/x-ndjson, or ?format=csv|jsonl");
  }
  return core::Error::invalid("format must be csv or jsonl", "format");
}

Response accepted(const catalog::ImportRecord& rec) {
  Response r = json_ok(202, rec.to_json());
  r.set_header("Location", std::string(kImportsPath) + "/" + std::to_string(rec.id));
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

UploadRoute import_upload_route(const Authenticator& auth, size_t max_bytes) {
  UploadRoute u;
  u.method = "POST";
  u.path = kImportsPath;
  u.body_limit = max_bytes;
  u.admit = [&auth](const Request& req) { return static_cast<bool>(auth.require_admin(req)); };
  return u;
}

void register_import_routes(Router& router, catalog::Imports* imports, const Authenticator& auth) {
  router.add("POST", kImportsPath, [imports, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {"format", "on_error", "file_name"})) {
      return std::move(*bad);
    }
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(req.query.reject_repeated());
      LM_ASSIGN_OR_RETURN(auto who, auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(catalog::Imports * im, need(imports));
      if (req.body_file.empty()) {
        return core::Error::invalid("send the file as the request body", "file");
      }
      catalog::NewImport what;
      LM_ASSIGN_OR_RETURN(auto name, string_param(req.query, "file_name", 200));
      what.file_name = name.value_or("");
      if (!core::is_valid_utf8(what.file_name)) {
        return core::Error::invalid("file_name must be UTF-8", "file_name");
      }
      LM_ASSIGN_OR_RETURN(what.format, format_of(req, what.file_name));
      LM_ASSIGN_OR_RETURN(auto on_error, string_param(req.query, "on_error", 10));
      if (on_error && *on_error != "abort" && *on_error != "skip") {
        return core::Error::invalid("on_error must be abort or skip", "on_error");
      }
      what.on_error =
          on_error && *on_error == "skip" ? catalog::OnError::kSkip : catalog::OnError::kAbort;
      what.created_by = who.user_id;
      LM_ASSIGN_OR_RETURN(auto rec, im->create(req.body_file, what));
      return accepted(rec);
    });
  });

  router.add("GET", kImportsPath, [imports, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {"before", "limit"})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(req.query.reject_repeated());
      LM_TRY(auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(catalog::Imports * im, need(imports));
      LM_ASSIGN_OR_RETURN(auto before, int_param(req.query, "before", 1, INT64_MAX));
      LM_ASSIGN_OR_RETURN(auto limit, int_param(req.query, "limit", 1, 100));
      const int64_t n = limit.value_or(20);
      LM_ASSIGN_OR_RETURN(auto list, im->list(before.value_or(0), n));
      ojson items = ojson::array();
      for (const auto& i : list) items.push_back(i.to_json());
      ojson next = static_cast<int64_t>(list.size()) == n && !list.empty() ? ojson(list.back().id)
                                                                           : ojson(nullptr);
      Response r = json_ok(200, {{"items", items}, {"next_before", next}});
      r.set_header("Cache-Control", "no-store");
      return r;
    });
  });

  router.add("GET", std::string(kImportsPath) + "/{id}", [imports, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(catalog::Imports * im, need(imports));
      LM_ASSIGN_OR_RETURN(int64_t id, import_id_of(req));
      LM_ASSIGN_OR_RETURN(auto rec, im->get(id));
      Response r = json_ok(200, rec.to_json());
      r.set_header("Cache-Control", "no-store");
      return r;
    });
  });

  router.add("GET", std::string(kImportsPath) + "/{id}/events", [imports, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(catalog::Imports * im, need(imports));
      LM_ASSIGN_OR_RETURN(int64_t id, import_id_of(req));
      LM_ASSIGN_OR_RETURN(auto first, im->get(id));  // 404 before the stream starts
      return sse_response(
          [im, id, first = std::move(first), request_id = req.request_id](StreamWriter& out) {
            SseWriter sse(out);
            // `progress` whenever something changed (checked 4 times a second), then `done` once
            // the import is complete (finished, and its books embedded) or `error` if the store
            // fails.
            std::string last = first.to_json().dump();
            if (!sse.event("progress", last)) return;
            catalog::ImportRecord rec = first;
            while (!rec.complete()) {
              std::this_thread::sleep_for(std::chrono::milliseconds(250));
              if (sse.closed()) return;
              auto now = im->get(id);
              if (!now) {
                sse.event("error", problem_from_error(now.error(), request_id).body);
                return;
              }
              rec = std::move(*now);
              std::string text = rec.to_json().dump();
              if (text != last) {
                if (!sse.event("progress", text)) return;
                last = std::move(text);
              }
            }
            sse.event("done", last);
          });
    });
  });
}

}  // namespace libromind::http
