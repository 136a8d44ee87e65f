-- wrk script of the benchmark (bench/run.py writes the files it reads).
--
-- BENCH_PATHS    file with one request path per line; each request picks one at random
--                (seeded per thread, so every server gets the same sequence)
-- BENCH_HEADERS  file with one "Name: value" header per line (optional)
-- BENCH_MODE     "get" (default) or "post": POST a batch of BENCH_ROWS indicator values,
--                unique across the whole run (town, indicator, year, quarter from a counter)
-- BENCH_WRITE    for "post": file whose first line is the path, then "town slug" lines,
--                then a line "--", then indicator codes
-- BENCH_THREADS  number of wrk threads (to spread the write counter)
--
-- done() prints one line "BENCH_RESULT {json}" that run.py parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  for line in io.lines(path) do
    if line ~= "" then table.insert(out, line) end
  end
  return out
end

local mode = os.getenv("BENCH_MODE") or "get"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local rows_per_request = tonumber(os.getenv("BENCH_ROWS") or "100")
local paths, towns, codes, headers = {}, {}, {}, {}
local write_path = nil
local sent = 0

function init(args)
  math.randomseed(4242 + (tid or 0))
  paths = lines(os.getenv("BENCH_PATHS"))
  for _, line in ipairs(lines(os.getenv("BENCH_HEADERS"))) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  if mode == "post" then
    local section = 0
    for _, line in ipairs(lines(os.getenv("BENCH_WRITE"))) do
      if write_path == nil then
        write_path = line
      elseif line == "--" then
        section = 1
      elseif section == 0 then
        table.insert(towns, line)
      else
        table.insert(codes, line)
      end
    end
    headers["Content-Type"] = "application/json"
  end
end

-- Row i of the whole run -> a (town, indicator, year 2030-2099, quarter 1-4) never used twice.
local function row(i)
  local quarter = i % 4 + 1
  i = math.floor(i / 4)
  local year = 2030 + i % 70
  i = math.floor(i / 70)
  local code = codes[i % #codes + 1]
  i = math.floor(i / #codes)
  local town = towns[i % #towns + 1]
  return string.format(
    '{"town":"%s","indicator":"%s","year":%d,"quarter":%d,"value":"%d.5",' ..
    '"confidence":"medium","is_synthetic":true}',
    town, code, year, quarter, i % 1000 + quarter)
end

function request()
  if mode == "post" then
    local n = sent * nthreads + tid
    sent = sent + 1
    local body = {}
    for k = 0, rows_per_request - 1 do
      body[#body + 1] = row(n * rows_per_request + k)
    end
    return wrk.format("POST", write_path, headers, "[" .. table.concat(body, ",") .. "]")
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
