-- fail.lua settles reserved attempts of one key as failures: when they
-- used up the key's attempts, the key is blocked and its count starts over.
-- KEYS[1] the attempt counter, KEYS[2] its block key (same hash slot)
-- ARGV[1] attempts allowed in the window, ARGV[2] block in ms
-- Returns 1 when the key is now blocked, else 0.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
	redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
	redis.call('DEL', KEYS[1])
	return 1
end
return 0
