-- org.lua records a user's online (+gen) or offline (-gen) state in the
-- organization's index, unless a newer transition of that user is already
-- there: transitions of one user are stamped by one Redis master, so a late
-- write never overrides a newer one.
-- KEYS[1] the organization's index; ARGV[1] user id, ARGV[2] signed gen, ARGV[3] key TTL in ms
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local g = tonumber(ARGV[2])
if math.abs(cur) < math.abs(g) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
