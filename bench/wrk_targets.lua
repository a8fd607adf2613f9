-- wrk script for bench/load.py: `wrk -s bench/wrk_targets.lua URL -- PATHS_FILE FIRST_SEQ THREADS`.
--
-- Requests cycle through the path templates in PATHS_FILE (one a line). "{floor}" in a
-- template becomes a price floor unique per request across all threads (the sequence of
-- bench/common.py's price_floor, from FIRST_SEQ), so no two requests share a cache key and
-- every such screen is a cache miss. On exit prints one line, "WRK_JSON {...}", that
-- bench/load.py reads: requests, duration, socket errors, non-2xx/3xx count, latency.

local FLOOR_LOW, FLOOR_SPAN, FLOOR_STEP = 1, 50000000, 7777777

local created = 0
function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
end

local templates, count, seq, stride = {}, 0, 0, 1

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then templates[#templates + 1] = line end
  end
  stride = tonumber(args[3])
  seq = tonumber(args[2]) + thread_index
end

local function floor_value()
  -- Integers below 2^53 are exact in doubles, so this matches Python's arithmetic.
  local units = (seq * FLOOR_STEP) % FLOOR_SPAN
  seq = seq + stride
  return string.format("%d.%06d", FLOOR_LOW + math.floor(units / 1000000), units % 1000000)
end

function request()
  local path = templates[(count % #templates) + 1]
  count = count + 1
  if path:find("{floor}", 1, true) then
    path = path:gsub("{floor}", floor_value())
  end
  return wrk.format(nil, path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "non_2xx_3xx": %d, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
