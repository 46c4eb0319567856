-- wrk hook. BENCH_WRK_METHOD / BENCH_WRK_BODIES (newline-separated; set by bench/load.py
-- for requests with a body) make every request a POST of the next body, round robin.
-- done() prints one machine-readable line the harness parses (latencies in µs).
local bodies = os.getenv("BENCH_WRK_BODIES")
if bodies then
  local list = {}
  for body in string.gmatch(bodies, "[^\n]+") do list[#list + 1] = body end
  wrk.method = os.getenv("BENCH_WRK_METHOD") or "POST"
  if #list == 1 then
    wrk.body = list[1]
  elseif #list > 1 then
    local i = 0
    request = function()
      i = i % #list + 1
      return wrk.format(nil, nil, nil, list[i])
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
