-- sync.lua makes a user's sockets on one node exactly the given list (after
-- Redis lost or went back on data).
-- KEYS[1] the user's socket hash; ARGV[1] the node's field prefix, ARGV[2]
-- key TTL in ms, then field/value pairs.
-- Returns {sockets before, sockets after, gen}.
local p = ARGV[1]
local before = redis.call('HLEN', KEYS[1])
local keep = {}
for i = 3, #ARGV, 2 do keep[ARGV[i]] = ARGV[i + 1] end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #p) == p and keep[f] == nil then
    redis.call('HDEL', KEYS[1], f)
  end
end
for f, v in pairs(keep) do redis.call('HSET', KEYS[1], f, v) end
local after = redis.call('HLEN', KEYS[1])
if after > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local t = redis.call('TIME')
return {before, after, tonumber(t[1]) * 1000000 + tonumber(t[2])}
