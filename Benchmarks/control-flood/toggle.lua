-- wrk script: PUT /synthetic, alternating on and off (a toggle flood).
local n = 0
request = function()
  n = n + 1
  local body = (n % 2 == 0) and '{"synthetic": true}' or '{"synthetic": false}'
  return wrk.format("PUT", nil, nil, body)
end
