-- wrk script: counts non-2xx responses and prints one JSON line at the end:
--   WRK_JSON {"requests":N,"duration_s":S,"requests_per_sec":R,"p50_ms":..,"p90_ms":..,
--             "p99_ms":..,"max_ms":..,"errors":E,"non_2xx":N2,"socket_errors":{...}}
-- errors = socket errors (connect, read, write, timeout) + responses whose status is not 2xx.
-- Each wrk thread has its own Lua state, so per-thread counters are collected in done().
-- Set WRK_COUNT_STATUS=0 to skip the per-response hook (wrk then only counts status >= 400).

local threads = {}
local count_status = os.getenv("WRK_COUNT_STATUS") ~= "0"

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

if count_status then
  function response(status, headers, body)
    if status < 200 or status > 299 then
      non2xx = non2xx + 1
    end
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  if count_status then
    for _, t in ipairs(threads) do
      non2xx_total = non2xx_total + (t:get("non2xx") or 0)
    end
  else
    non2xx_total = summary.errors.status -- wrk's own count: status > 399
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"requests_per_sec":%.2f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"errors":%d,"non_2xx":%d,"status_ge_400":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_counted":%s}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    socket + non2xx_total, non2xx_total, e.status,
    e.connect, e.read, e.write, e.timeout, tostring(count_status)))
end
