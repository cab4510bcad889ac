-- remove.lua forgets one socket of a user, in constant time whatever the
-- user's socket count (the node counts its own sockets of the user).
-- KEYS[1] the user's socket hash; ARGV[1] field
-- Returns {last (1 when that was the user's last socket), gen}.
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
local left = redis.call('HLEN', KEYS[1])
local t = redis.call('TIME')
local gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
if removed == 1 and left == 0 then
  return {1, gen}
end
return {0, gen}
