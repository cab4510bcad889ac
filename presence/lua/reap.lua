-- reap.lua removes every socket a dead node had for one user.
-- KEYS[1] the user's socket hash; ARGV[1] the dead node's field prefix "<node>/"
-- Returns {offline (1 when the user has no socket left), gen, a removed value or false}.
local p = ARGV[1]
local removed, sample = 0, false
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #p) == p then
    redis.call('HDEL', KEYS[1], all[i])
    removed = removed + 1
    sample = all[i + 1]
  end
end
local t = redis.call('TIME')
local gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
if removed > 0 and redis.call('HLEN', KEYS[1]) == 0 then
  return {1, gen, sample}
end
return {0, gen, sample}
