import {
  type AdminRead,
  type AuditEntry,
  auditRetention,
  type CounterAdminState,
  type LastRefusal,
  type OverrideValue,
  type OverrideWrite,
  type StoreAdmin,
} from '../store-admin.js'
import { auditScript, inspectScript, overrideScript, resetScript } from './lua/admin.js'
import type { RedisKeys } from './redis-keys.js'
import { runScript, type ScriptTransport } from './script-runner.js'
import { list, windowArgs, windowKind } from './script-values.js'

/** `amount until` (until `-` for none), as the scripts store an override. */
function overrideOf(text: string): OverrideValue | undefined {
  const match = /^(-?\d+) (-|\d+)$/.exec(text)
  if (!match) return undefined
  return match[2] === '-' ? { amount: Number(match[1]) } : { amount: Number(match[1]), until: Number(match[2]) }
}

function refusalOf(text: string): LastRefusal | undefined {
  const parts = text.split(' ').map(Number)
  if (parts.length !== 5 || parts.some((part) => !Number.isFinite(part))) return undefined
  const [at, requested, limit, used, reserved] = parts as [number, number, number, number, number]
  return { at, requested, limit, used, reserved }
}

/** The operator side of the Redis stores: one script per action, each atomic. */
export class LuaAdmin implements StoreAdmin {
  readonly #transport: ScriptTransport
  readonly #keys: RedisKeys
  readonly #timeoutMs: number

  constructor(transport: ScriptTransport, keys: RedisKeys, timeoutMs: number) {
    this.#transport = transport
    this.#keys = keys
    this.#timeoutMs = timeoutMs
  }

  async writeOverride(request: OverrideWrite): Promise<OverrideValue | undefined> {
    const field = `${request.counter}\n${request.identifier}\n${request.kind === 'allow' ? 'a' : 'g'}`
    const args = [
      String(request.now),
      field,
      request.kind === 'allow' ? 'a' : 'g',
      request.amount === null ? '' : String(request.amount),
      request.until === undefined ? '' : String(request.until),
    ]
    const reply = await runScript(this.#transport, overrideScript, [this.#keys.overrides(request.shard)], args, this.#timeoutMs)
    return typeof reply === 'string' ? overrideOf(reply) : undefined
  }

  async readAdmin(request: AdminRead): Promise<readonly CounterAdminState[]> {
    const keys = [this.#keys.overrides(request.shard), ...request.counters.map((counter) => this.#keys.refusal(counter, request.shard))]
    const args = [String(request.now), ...request.counters.flatMap((counter) => [counter.counter, counter.identifier])]
    const reply = list(await runScript(this.#transport, inspectScript, keys, args, this.#timeoutMs), 'inspect') as string[]
    return request.counters.map((_, index) => {
      const [allow, familyAllow, grant, familyGrant, refusal] = reply.slice(5 * index, 5 * index + 5) as [string, string, string, string, string]
      const overrides = { allow: overrideOf(allow), familyAllow: overrideOf(familyAllow), grant: overrideOf(grant), familyGrant: overrideOf(familyGrant) }
      const lastRefusal = refusalOf(refusal)
      return lastRefusal ? { overrides, lastRefusal } : { overrides }
    })
  }

  async resetUsage(request: AdminRead): Promise<void> {
    const keys = request.counters.map((counter) => this.#keys.counter(counter, request.shard))
    const args = [String(request.now), ...request.counters.flatMap((counter) => [windowKind[counter.window.kind], ...windowArgs(counter.window)])]
    await runScript(this.#transport, resetScript, keys, args, this.#timeoutMs)
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await runScript(this.#transport, auditScript, [this.#keys.audit], ['append', JSON.stringify(entry), String(auditRetention)], this.#timeoutMs)
  }

  async readAudit(limit: number): Promise<readonly AuditEntry[]> {
    const count = String(Math.max(1, Math.min(limit, auditRetention)))
    // @upstash/redis parses JSON replies itself: entries come as text or as objects.
    const reply = list(await runScript(this.#transport, auditScript, [this.#keys.audit], ['read', count], this.#timeoutMs), 'audit', 'any')
    return reply.map((line) => (typeof line === 'string' ? JSON.parse(line) : line) as AuditEntry)
  }
}
