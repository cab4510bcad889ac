-- remove.lua forgets one socket of a user.
-- KEYS[1] the user's socket hash; ARGV[1] field, ARGV[2] this node's field prefix "<node>/"
-- Returns {last (1 when that was the user's last socket), gen, sockets the
-- user still has on this node}.
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
local left = redis.call('HLEN', KEYS[1])
local t = redis.call('TIME')
local gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
local mine = 0
if left > 0 then
  local p = ARGV[2]
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, #p) == p then mine = mine + 1 end
  end
end
if removed == 1 and left == 0 then
  return {1, gen, 0}
end
return {0, gen, mine}
