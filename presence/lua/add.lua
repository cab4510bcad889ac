-- add.lua registers one socket of a user.
-- KEYS[1] the user's socket hash (field "<node>/<conn>", value "<len(org)>:<org><device>")
-- ARGV[1] field, ARGV[2] value, ARGV[3] key TTL in ms
-- Returns {first (1 when the user had no socket before), gen}: gen is a
-- server-time stamp in microseconds that orders this user's transitions.
local before = redis.call('HLEN', KEYS[1])
local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local t = redis.call('TIME')
local gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
if before == 0 and added == 1 then
  return {1, gen}
end
return {0, gen}
