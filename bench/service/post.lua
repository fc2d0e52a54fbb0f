-- wrk: POST a bundle to /process-logs, each request a new run id so every
-- request is a fresh analysis and a fresh record. BUNDLE names the input,
-- DELAY_MS (optional) paces each connection.
local pre, post
local counter = 0
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  local dir = os.getenv("BUNDLE")
  pre = io.open(dir .. ".pre"):read("*a")
  post = io.open(dir .. ".post"):read("*a")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("DEVELOPER_AGENT_TOKEN")
end

function request()
  counter = counter + 1
  return wrk.format(nil, "/process-logs", nil, pre .. '"b' .. tid .. "-" .. counter .. '"' .. post)
end

function delay()
  return delay_ms
end

done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"duration_s\": %.3f, \"rps\": %.1f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"errors\": %d, \"non2xx\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
