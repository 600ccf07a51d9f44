-- POST /v1/waitlist with an email no other request of this run uses:
-- run nonce (BENCH_RUN) + wrk thread + per-thread counter.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local counter = 0
local nonce = os.getenv("BENCH_RUN") or tostring(os.time())
function request()
  counter = counter + 1
  local body = string.format('{"email":"wl-%s-%d-%d@bench.example","role":"employee"}',
    nonce, tid or 0, counter)
  return wrk.format("POST", "/v1/waitlist", { ["Content-Type"] = "application/json" }, body)
end
