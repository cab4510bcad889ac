-- reserve.lua takes one attempt of one key (an account, an address, a
-- user's second factor or an address's sign-ups) atomically, before the
-- work it guards, so concurrent nodes never let more than the limit through
-- and never leave a counter without an expiry.
-- KEYS[1] the attempt counter, KEYS[2] its block key (same hash slot)
-- ARGV[1] window in ms, ARGV[2] attempts allowed in the window
-- Returns 0 when the attempt was taken, else how many ms the key still
-- refuses (its block, or the rest of a window whose attempts are taken).
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
	return blocked
end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then
	return math.max(redis.call('PTTL', KEYS[1]), 1)
end
n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0
