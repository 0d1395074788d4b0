-- wrk script: POST /graphql, rotating over the requests of a targets file.
-- Each line of the file is "<Authorization header value>\t<JSON body>". A body may hold
-- @@KEY@@, replaced by a key unique to the run, thread and request (for idempotency keys).
-- Usage: wrk ... -s rotate.lua URL -- <targets file> <run tag>
-- At the end it prints one line "WRKJSON {...}" that the harness parses.

local lines = {}
local idx = 0
local counter = 0
local tag = ""
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tag = args[2] or "run"
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    if tab then
      lines[#lines + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
    end
  end
  idx = ((tid or 1) * 7919) % #lines
end

function request()
  idx = idx % #lines + 1
  local item = lines[idx]
  local body = item[2]
  if body:find("@@KEY@@", 1, true) then
    counter = counter + 1
    body = body:gsub("@@KEY@@", tag .. "-" .. tostring(tid) .. "-" .. tostring(counter), 1)
  end
  return wrk.format("POST", "/graphql",
    { ["Authorization"] = item[1], ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,' ..
    '"max_us":%.0f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
