// The admin API of the job queue: list, inspect, retry and cancel jobs, and queue statistics.
#pragma once

#include "http/handlers/common.hpp"
#include "http/router.hpp"
#include "jobs/queue.hpp"

namespace libromind::http {

// `queue` null: the routes answer 503 (no queue in this process).
void register_job_routes(Router& router, jobs::Queue* queue, const Authenticator& auth);

}  // namespace libromind::http
