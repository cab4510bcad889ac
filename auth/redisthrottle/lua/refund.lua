-- refund.lua gives one reserved attempt of one key back (it succeeded, or
-- its work never ran), never below zero; the window keeps its expiry.
-- KEYS[1] the attempt counter
-- Returns the count left.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
	return redis.call('DECR', KEYS[1])
end
return 0
