// RFC 9457 problem details: the one table that maps error codes to HTTP statuses and stable
// problem types, and the builder every error response goes through.
//
//   return problem_response(core::Error::not_found("no book with id 'x'"), req.request_id);
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/message.hpp"

namespace libromind::http {

struct FieldProblem {
  std::string field;
  std::string message;
};

// type is the path under /problems/ ("invalid-parameter", "not-found", ...).
Response problem(int status, const std::string& type, const std::string& title,
                 const std::string& detail, const std::string& request_id,
                 const std::vector<FieldProblem>& errors = {});

// Maps a module error to its problem response (invalid argument -> 400 invalid-parameter, ...).
Response problem_from_error(const core::Error& error, const std::string& request_id);

}  // namespace libromind::http
