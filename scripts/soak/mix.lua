-- wrk script for scripts/soak.sh (scripts/soak/soak.py): a fixed mix of CORS requests, each response classified by
-- what it must be. Routes are Envoy direct responses whose body names the route, so a
-- forwarded request's response says which kind it was; preflights are answered by edge-cors.
--   GET  /api/allowed  Origin app.example.com        -> 200 "allowed", ACAO = the origin
--   GET  /api/rejected Origin evil.com               -> 200 "rejected", no CORS header
--   GET  /api/none     no Origin                     -> 200 "none", no CORS header
--   OPTIONS preflight from a.example.com, allowed    -> 204, ACAO = a.example.com
--   OPTIONS preflight from evilexample.com           -> 403, no CORS header
--   OPTIONS preflight asking for x-secret            -> 403, no CORS header
-- wrk runs for its -d duration; soak.py sizes it from the warm-up's rate and checks the count.

local kinds = {
  {"GET", "/api/allowed", {["Origin"] = "https://app.example.com"}},
  {"GET", "/api/rejected", {["Origin"] = "https://evil.com"}},
  {"GET", "/api/none", {}},
  {"OPTIONS", "/api/allowed", {["Origin"] = "https://a.example.com", ["Access-Control-Request-Method"] = "PUT",
                               ["Access-Control-Request-Headers"] = "content-type"}},
  {"OPTIONS", "/api/allowed", {["Origin"] = "https://evilexample.com", ["Access-Control-Request-Method"] = "PUT"}},
  {"OPTIONS", "/api/allowed", {["Origin"] = "https://app.example.com", ["Access-Control-Request-Method"] = "PUT",
                               ["Access-Control-Request-Headers"] = "x-secret"}},
}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for i, k in ipairs(kinds) do
    local h = {["Host"] = "api.example.com"}
    for name, value in pairs(k[3]) do h[name] = value end
    requests[i] = wrk.format(k[1], k[2], h)
  end
  next_kind = 0
  responses, unexpected = 0, 0
  get_allowed, get_rejected, get_none, pf_allowed, pf_rejected = 0, 0, 0, 0, 0
  first_unexpected = ""
end

function request()
  next_kind = next_kind % #requests + 1
  return requests[next_kind]
end

local function has_cors(headers)
  for name, _ in pairs(headers) do
    if string.sub(string.lower(name), 1, 15) == "access-control-" then return true end
  end
  return false
end

function response(status, headers, body)
  responses = responses + 1
  local acao = headers["access-control-allow-origin"]
  local ok = false
  if status == 200 and body == "allowed" then
    ok = acao == "https://app.example.com"; get_allowed = get_allowed + 1
  elseif status == 200 and body == "rejected" then
    ok = not has_cors(headers); get_rejected = get_rejected + 1
  elseif status == 200 and body == "none" then
    ok = not has_cors(headers); get_none = get_none + 1
  elseif status == 204 then
    ok = acao == "https://a.example.com"; pf_allowed = pf_allowed + 1
  elseif status == 403 then
    ok = not has_cors(headers); pf_rejected = pf_rejected + 1
  end
  if not ok then
    unexpected = unexpected + 1
    if first_unexpected == "" then first_unexpected = status .. " " .. tostring(body) end
  end
end

function done(summary, latency, requests)
  local t = {responses = 0, unexpected = 0, get_allowed = 0, get_rejected = 0, get_none = 0, pf_allowed = 0, pf_rejected = 0}
  local sample = ""
  for _, thread in ipairs(threads) do
    for name, _ in pairs(t) do t[name] = t[name] + thread:get(name) end
    if sample == "" then sample = thread:get("first_unexpected") end
  end
  local e = summary.errors
  io.write(string.format("SOAK responses=%d unexpected=%d get_allowed=%d get_rejected=%d get_none=%d pf_allowed=%d pf_rejected=%d " ..
    "socket_errors=%d timeouts=%d duration_us=%d p50_us=%d p99_us=%d sample=%q\n",
    t.responses, t.unexpected, t.get_allowed, t.get_rejected, t.get_none, t.pf_allowed, t.pf_rejected,
    e.connect + e.read + e.write, e.timeout, summary.duration, latency:percentile(50), latency:percentile(99), sample))
end
