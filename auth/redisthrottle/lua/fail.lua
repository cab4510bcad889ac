-- fail.lua records one failed login against one key (an account or an
-- address), atomically, so concurrent nodes never lose a count or leave a
-- counter without an expiry.
-- KEYS[1] the failure counter, KEYS[2] its block key (same hash slot)
-- ARGV[1] window in ms, ARGV[2] failures allowed, ARGV[3] block in ms
-- Returns 1 when this failure reached the limit (the key is now blocked),
-- else 0.
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if n >= tonumber(ARGV[2]) then
	redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
	redis.call('DEL', KEYS[1])
	return 1
end
return 0
