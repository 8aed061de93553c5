-- wrk script: POST /user/register with a new user id per request (ids unique per thread).
local counter = 0
local next_thread = 1

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function request()
  counter = counter + 1
  local id = (thread_id or 0) * 100000000 + counter
  return wrk.format("POST", "/user/register", nil, '{"userId":' .. id .. ',"hash":"hash-' .. id .. '"}')
end
