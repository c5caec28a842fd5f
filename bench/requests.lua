-- wrk script of the bench: replays the requests of a file, spread over the threads.
--
-- BENCH_REQUESTS names a file with one request a line, tab-separated:
--   METHOD <tab> PATH <tab> HEADERS <tab> BODY
-- HEADERS is "Name: value" pairs joined by " | " (or empty), BODY may be empty.
-- Thread k of n takes lines k, k+n, k+2n, ... and cycles through them, so a
-- file of distinct (user, event) pairs gives distinct joins until it runs out
-- (a file of fewer lines than threads is replayed whole by every thread).
-- With BENCH_COUNT_STATUS=1 every response's status is counted (slower: wrk
-- then parses each response for Lua). done() prints one line the bench reads:
--   BENCH_RESULT {json}

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function split_headers(raw)
  local headers = {}
  for pair in string.gmatch(raw, "[^|]+") do
    local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
    if name then
      headers[name] = value
    end
  end
  return headers
end

function init(args)
  local path = os.getenv("BENCH_REQUESTS")
  local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  local lines = {}
  for line in io.lines(path) do
    table.insert(lines, line)
  end
  -- Fewer lines than threads: every thread replays them all.
  local first, step = thread_index + 1, thread_count
  if #lines < thread_count then
    first, step = 1, 1
  end
  mine = {}
  for i = first, #lines, step do
    local method, target, headers, body = string.match(
      lines[i], "^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    if body == "" then
      body = nil
    end
    table.insert(mine, wrk.format(method, target, split_headers(headers), body))
  end
  if #mine == 0 then
    error("no requests in " .. path)
  end
  position = 0
  statuses = {}
end

function request()
  position = position % #mine + 1
  return mine[position]
end

if os.getenv("BENCH_COUNT_STATUS") == "1" then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counted = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    if seen then
      for status, count in pairs(seen) do
        counted[status] = (counted[status] or 0) + count
      end
    end
  end
  local parts = {}
  for status, count in pairs(counted) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"p50_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max,
    table.concat(parts, ", ")
  ))
end
