"""Lua scripts: every state change is one atomic compare-and-set that also appends an event."""

from __future__ import annotations

# KEYS: request hash, request event stream, outbox stream
# ARGV: allowed-from statuses (comma list), new status, now ms, event type, event data (json),
#       stream max length, outbox kinds to enqueue (comma list or "-"), then field/value pairs;
#       a field named "+name" is incremented instead.
# Returns {'ok', old status, event id, the record after the change as a flat field/value list}.
TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then return {'illegal', status} end
local i = 8
while i < #ARGV do
  local name = ARGV[i]
  if string.sub(name, 1, 1) == '+' then
    redis.call('HINCRBY', KEYS[1], string.sub(name, 2), ARGV[i + 1])
  else
    redis.call('HSET', KEYS[1], name, ARGV[i + 1])
  end
  i = i + 2
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
  'type', ARGV[4], 'status', ARGV[2], 'at', ARGV[3], 'data', ARGV[5])
local request_id = redis.call('HGET', KEYS[1], 'id')
for kind in string.gmatch(ARGV[7], '[^,]+') do
  if kind ~= '-' then
    redis.call('XADD', KEYS[3], '*', 'kind', kind, 'request_id', request_id,
      'status', ARGV[2], 'at', ARGV[3], 'event_id', id)
  end
end
return {'ok', status, id, redis.call('HGETALL', KEYS[1])}
"""

# KEYS: request hash, request event stream, outbox stream.  ARGV: record field/value pairs...,
# then the last four ARGV are: now ms, event data json, stream max length, outbox kinds to
# enqueue with the created event (comma list or "-").
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = #ARGV
for i = 1, n - 4, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local status = redis.call('HGET', KEYS[1], 'status')
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[n - 1], '*',
  'type', 'created', 'status', status, 'at', ARGV[n - 3], 'data', ARGV[n - 2])
local request_id = redis.call('HGET', KEYS[1], 'id')
for kind in string.gmatch(ARGV[n], '[^,]+') do
  if kind ~= '-' then
    redis.call('XADD', KEYS[3], '*', 'kind', kind, 'request_id', request_id,
      'status', status, 'at', ARGV[n - 3], 'event_id', id)
  end
end
return 1
"""

# KEYS: the pool cursor of a phone, then that phone's key for every DID of the pool (in order).
# ARGV: request id, ttl ms, random seed for a new cursor, cursor ttl ms.
# Returns the 0-based index of the DID taken, or -1 when every DID is taken for this phone.
ALLOCATE = """
local n = #KEYS - 1
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[3])
end
local start = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
for i = 0, n - 1 do
  local idx = (start + i) % n
  if redis.call('SET', KEYS[idx + 2], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return idx
  end
end
return -1
"""

# KEYS: one key.  ARGV: expected value.  Deletes the key only if it still holds that value.
DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
