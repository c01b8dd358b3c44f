package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts run every write atomically on the server: the condition
// check, the version counter, the row and its index entry change together,
// so concurrent writers never see a row without its index entry or a
// version that went back. Versions are handled as decimal strings (Lua 5.1
// numbers are doubles); expiry instants are compared as numbers, which is
// exact for Unix milliseconds.

// prelude is shared by the write scripts. A row is present when it has a
// version field; it is live when present and its expires_at (missing means
// never) is after now. Cond codes: a = Always, n = IfAbsent, v = IfVersion.
const prelude = `
local function holds(row, cond, cv, now)
  if cond == 'a' then return true end
  local r = redis.call('HMGET', row, 'version', 'expires_at')
  local live = r[1] ~= false and (r[2] == false or tonumber(r[2]) > now)
  if cond == 'n' then return not live end
  return live and r[1] == cv
end
local function put(row, idx, v, key, value, exp, px)
  v = string.format('%d', v)
  -- A stored row is always indexed, so only a new row needs ZADD.
  local existed = redis.call('DEL', row)
  redis.call('HSET', row, 'value', value, 'version', v, 'expires_at', exp)
  if px ~= '0' then redis.call('PEXPIRE', row, px) end
  if existed == 0 then redis.call('ZADD', idx, 0, key) end
  return v
end
local function del(row, idx, key)
  redis.call('DEL', row)
  redis.call('ZREM', idx, key)
end
`

// putScript: KEYS row, index, counter; ARGV key, value, expires_at, px,
// cond, cond version, now. Returns the new version, or 0 when the
// condition fails.
var putScript = redis.NewScript(prelude + `
if not holds(KEYS[1], ARGV[5], ARGV[6], tonumber(ARGV[7])) then return 0 end
return put(KEYS[1], KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`)

// deleteScript: KEYS row, index; ARGV key, cond, cond version, now.
// Returns 1, or 0 when the condition fails.
var deleteScript = redis.NewScript(prelude + `
if not holds(KEYS[1], ARGV[2], ARGV[3], tonumber(ARGV[4])) then return 0 end
del(KEYS[1], KEYS[2], ARGV[1])
return 1
`)

// batchScript: KEYS index, counter, then one row per write; ARGV now, then
// per write op (p or d), cond, cond version, key, value, expires_at, px.
// Each write is checked and applied on its own, in order; a write whose
// command fails (a key of the wrong type) is reported without stopping
// the others. One INCRBY reserves a version per write, in order. Returns
// per write 1 (applied), 0 (condition failed) or the error text.
var batchScript = redis.NewScript(prelude + `
local now = tonumber(ARGV[1])
local base = redis.call('INCRBY', KEYS[2], #KEYS - 2) - (#KEYS - 2)
local out = {}
local function one(i)
  local b = 1 + (i - 1) * 7
  local row = KEYS[i + 2]
  if not holds(row, ARGV[b + 2], ARGV[b + 3], now) then return 0 end
  if ARGV[b + 1] == 'd' then
    del(row, KEYS[1], ARGV[b + 4])
  else
    put(row, KEYS[1], base + i, ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7])
  end
  return 1
end
for i = 1, #KEYS - 2 do
  local ok, res = pcall(one, i)
  if ok then
    out[i] = res
  elseif type(res) == 'table' and res.err then
    out[i] = tostring(res.err)
  else
    out[i] = tostring(res)
  end
end
return out
`)

// scanScript: KEYS index; ARGV row key prefix, lo, hi (ZRANGEBYLEX
// bounds), limit, now, byte budget. It reads up to limit+1 index entries
// and answers five fields per key read, in order (flat, to keep the reply
// cheap):
//
//	key, 'l', version, expires_at, value   live, within the budget
//	key, 'b', version, expires_at, length  live, over the budget: the page ends here
//	key, 'x', version, expires_at, ''      expired by the store's clock
//	key, 's', '', '', ''                   stale: Redis expired the row (entry dropped)
//	key, 'n', '', '', ''                   the limit+1st key: where the next page starts
//
// The budget rule is store.PageFill's, so the Go side builds the page with
// PageFill from these entries and the values it needs are always present.
var scanScript = redis.NewScript(`
local limit, now, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, limit + 1)
local out, n, items, size = {}, 0, 0, 0
local function emit(k, state, version, exp, v)
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = k, state, version, exp, v
  n = n + 5
end
for i, k in ipairs(keys) do
  if i > limit then
    emit(k, 'n', '', '', '')
    break
  end
  local row = ARGV[1] .. k
  local r = redis.call('HMGET', row, 'value', 'version', 'expires_at')
  if r[2] == false then
    if redis.call('EXISTS', row) == 0 then redis.call('ZREM', KEYS[1], k) end
    emit(k, 's', '', '', '')
  else
    local exp = r[3] or '9223372036854775807'
    local value = r[1] or ''
    if tonumber(exp) <= now then
      emit(k, 'x', r[2], exp, '')
    elseif items > 0 and size + #value > budget then
      emit(k, 'b', r[2], exp, tostring(#value))
      break
    else
      emit(k, 'l', r[2], exp, value)
      items = items + 1
      size = size + #value
    end
  end
end
return out
`)

// purgeScript: KEYS index; ARGV row key prefix, lo (ZRANGEBYLEX bound),
// count, now. It deletes the expired rows among the next count index
// entries and drops entries whose row Redis already expired. Returns
// {rows deleted, entries read, last key read}.
var purgeScript = redis.NewScript(`
local now = tonumber(ARGV[4])
local keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, k in ipairs(keys) do
  local row = ARGV[1] .. k
  local r = redis.call('HMGET', row, 'version', 'expires_at')
  if r[1] == false then
    if redis.call('EXISTS', row) == 0 then redis.call('ZREM', KEYS[1], k) end
  elseif r[2] ~= false and tonumber(r[2]) <= now then
    redis.call('DEL', row)
    redis.call('ZREM', KEYS[1], k)
    n = n + 1
  end
end
return {n, #keys, keys[#keys] or ''}
`)
