-- wrk script for Benchmarks/soak: clients without the control token flood PUT /synthetic
-- (alternating on and off) from the operator's own address; every answer is counted by
-- status and printed at the end ("status CODE COUNT"), so the soak can check that none of
-- them was accepted.
counts = {}
local n = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

request = function()
  n = n + 1
  local body = (n % 2 == 0) and '{"synthetic": true}' or '{"synthetic": false}'
  return wrk.format("PUT", nil, { ["Content-Type"] = "application/json" }, body)
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("counts")) do
      io.write(string.format("status %d %d\n", code, count))
    end
  end
end
