import { luaScript } from '../script-runner.js'

/**
 * A counter's last refusal and its run of refusals, in one key: `at requested limit used reserved
 * since count`. A refusal extends the run when the run began in the counter's current window (at or
 * after `start`), else starts one. Shared by the reserve script and `note_refusals`.
 */
export const noteRefusalLua = `
local REFUSAL_RETAIN = 604800000
-- twin: store-admin.ts nextRefusalRun (with memory-admin.ts MemoryAdminBook.noteRefusal)
local function note_refusal(key, nowText, requested, limit, used, reserved, start)
  local since, count = nowText, 1
  local old = redis.call('GET', key)
  if old then
    local s, c = string.match(old, '^%S+ %S+ %S+ %S+ %S+ (%S+) (%S+)$')
    if s and tonumber(s) >= start then since, count = s, tonumber(c) + 1 end
  end
  redis.call('SET', key, nowText .. ' ' .. requested .. ' ' .. limit .. ' ' .. used .. ' ' .. reserved .. ' ' .. since .. ' ' .. count, 'PX', REFUSAL_RETAIN)
end
`

const source = `${noteRefusalLua}
-- twin: memory-admin.ts MemoryAdminBook.noteRefusals
-- KEYS: per refusal, its counter's last-refusal key.
-- ARGV: now, then per refusal: requested, limit, used, reserved, window start.
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 5
  note_refusal(KEYS[i], ARGV[1], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4], tonumber(ARGV[base + 5]))
end
return 1
`

export const noteRefusalsScript = luaScript('note-refusals', source, 'c1c8430ddb25c0313cbced56c2651943926f37cf')
