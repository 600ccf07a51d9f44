-- POST /v1/auth/sign-in as a random seeded user (every one has the same
-- password): BENCH_USERS users, emails from BENCH_EMAIL_PATTERN ("{n}").
local users = tonumber(os.getenv("BENCH_USERS") or "1")
local pattern = os.getenv("BENCH_EMAIL_PATTERN") or "bench-{n}@seed.example"
local password = os.getenv("BENCH_PASSWORD") or ""

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
  local email = pattern:gsub("{n}", tostring(math.random(0, users - 1)))
  local body = string.format('{"email":"%s","password":"%s"}', email, password)
  return wrk.format("POST", "/v1/auth/sign-in", { ["Content-Type"] = "application/json" }, body)
end
