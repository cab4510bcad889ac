-- beat.lua is one node heartbeat: it stamps the node with the server time
-- and reports which nodes are alive and which missed their beats.
-- KEYS[1] the node registry (sorted set: node -> last beat, ms)
-- ARGV[1] node id, ARGV[2] dead-after in ms, ARGV[3] key TTL in ms
-- Returns {previous stamp of this node or false, now, live nodes, dead nodes}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local edge = now - tonumber(ARGV[2])
local live = redis.call('ZRANGEBYSCORE', KEYS[1], edge, '+inf')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. edge)
return {prev, now, live, dead}
