import {
  type AdminOutcome,
  type AdminRead,
  type AuditEntry,
  auditRetention,
  type CounterAdminState,
  checkOverrideWrite,
  idempotencyKeyReused,
  idempotencyRetentionMs,
  type LastRefusal,
  maxGrants,
  type OverrideOutcome,
  type OverrideValue,
  overrideValue,
  type OverrideWrite,
  type RefusalNote,
  type RefusalRun,
  type ResetWrite,
  type StoreAdmin,
  stepFingerprint,
  type TargetOverrides,
  tooManyGrants,
} from '../store-admin.js'
import { auditScript, changeScript, inspectScript, resetScript } from './lua/admin.js'
import { noteRefusalsScript } from './lua/refusal.js'
import type { RedisKeys } from './redis-keys.js'
import { runScript, type ScriptTransport } from './script-runner.js'
import { list, windowArgs, windowKind } from './script-values.js'

/**
 * One override or grant as the scripts store it: `amount until` (until `-` for none). Ends are whole
 * milliseconds; a fractional one (written before ends were validated) reads rounded up, as
 * `overrideEnd` rounds, so what the scripts enforce is what inspect shows.
 */
const valuePattern = /(\d+) (-|\d+(?:\.\d+)?)/g

function storedValue(amount: string, until: string): OverrideValue {
  return overrideValue(Number(amount), until === '-' ? undefined : Math.ceil(Number(until)))
}

/** An allow, as stored (`amount until`). */
function allowOf(text: unknown): OverrideValue | undefined {
  const match = /^(\d+) (-|\d+(?:\.\d+)?)$/.exec(String(text))
  return match ? storedValue(match[1]!, match[2]!) : undefined
}

/** A target's grants, as stored: `amount until` pairs, in the order made. */
function grantsOf(text: unknown): OverrideValue[] {
  return [...String(text).matchAll(valuePattern)].map((match) => storedValue(match[1]!, match[2]!))
}

/** `at requested limit used reserved [since count]` (the run since this version), as the scripts store a refusal. */
function refusalOf(text: string): { lastRefusal: LastRefusal; refusals?: RefusalRun } | undefined {
  const parts = text.split(' ').map(Number)
  if ((parts.length !== 5 && parts.length !== 7) || parts.some((part) => !Number.isFinite(part))) return undefined
  const [at, requested, limit, used, reserved, since, count] = parts as [number, number, number, number, number, number?, number?]
  const lastRefusal = { at, requested, limit, used, reserved }
  return since === undefined || count === undefined ? { lastRefusal } : { lastRefusal, refusals: { since, count } }
}

/** The operator side of the Redis stores: one script per action, each atomic with its audit entry. */
export class LuaAdmin implements StoreAdmin {
  readonly #transport: ScriptTransport
  readonly #keys: RedisKeys
  readonly #timeoutMs: number

  constructor(transport: ScriptTransport, keys: RedisKeys, timeoutMs: number) {
    this.#transport = transport
    this.#keys = keys
    this.#timeoutMs = timeoutMs
  }

  #run(script: Parameters<typeof runScript>[1], keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return runScript(this.#transport, script, keys, args, this.#timeoutMs)
  }

  /** The keys and arguments every admin step starts with; with hash tags, its audit list is first recorded in the index. */
  async #step(step: OverrideWrite | ResetWrite, shard: string | undefined): Promise<{ keys: string[]; args: string[] }> {
    const audit = this.#keys.audit(shard)
    const index = this.#keys.auditLists
    if (index !== undefined) await this.#run(auditScript, [index], ['index', audit])
    return {
      keys: [this.#keys.appliedStep(step.key, shard), audit],
      args: [String(step.now), String(idempotencyRetentionMs), JSON.stringify(step.audit), String(auditRetention), stepFingerprint(step)],
    }
  }

  async writeOverride(request: OverrideWrite): Promise<OverrideOutcome> {
    checkOverrideWrite(request)
    const { keys, args } = await this.#step(request, request.shard)
    const { change } = request
    const [op, amount, until] =
      change.kind === 'clear'
        ? ['c', '', '']
        : [change.kind === 'allow' ? 'a' : 'g', String(change.amount), change.until === undefined ? '' : String(change.until)]
    keys.push(this.#keys.overrides(request.shard))
    args.push(`${request.counter}\n${request.identifier}\n`, op, amount, until, String(maxGrants))
    const [applied, allow, grants] = list(await this.#run(changeScript, keys, args), 'change', 'any') as [unknown, unknown, unknown]
    if (Number(applied) === -1) throw tooManyGrants()
    if (Number(applied) === -2) throw idempotencyKeyReused(request.key)
    const inForce = allowOf(allow)
    const overrides: TargetOverrides = inForce ? { allow: inForce, grants: grantsOf(grants) } : { grants: grantsOf(grants) }
    return { applied: Number(applied) === 1, overrides }
  }

  async readAdmin(request: AdminRead): Promise<readonly CounterAdminState[]> {
    const keys = [this.#keys.overrides(request.shard), ...request.counters.map((counter) => this.#keys.refusal(counter, request.shard))]
    const args = [String(request.now), ...request.counters.flatMap((counter) => [counter.counter, counter.identifier])]
    const reply = list(await this.#run(inspectScript, keys, args), 'inspect', 'any').map(String)
    return request.counters.map((_, index) => {
      const [allow, familyAllow, grants, familyGrants, refusal] = reply.slice(5 * index, 5 * index + 5) as [string, string, string, string, string]
      const overrides = { allow: allowOf(allow), familyAllow: allowOf(familyAllow), grants: grantsOf(grants), familyGrants: grantsOf(familyGrants) }
      return { overrides, ...refusalOf(refusal) }
    })
  }

  async noteRefusals(note: RefusalNote): Promise<void> {
    if (note.refusals.length === 0) return
    const keys = note.refusals.map(({ ref }) => this.#keys.refusal(ref, note.shard))
    const args = [String(note.now), ...note.refusals.flatMap((r) => [r.requested, r.limit, r.used, r.reserved, r.windowStart].map(String))]
    await this.#run(noteRefusalsScript, keys, args)
  }

  async resetUsage(request: ResetWrite): Promise<AdminOutcome> {
    const { keys, args } = await this.#step(request, request.shard)
    keys.push(this.#keys.holds(request.shard), ...request.counters.map((counter) => this.#keys.counter(counter, request.shard)))
    args.push(...request.counters.flatMap((counter) => [windowKind[counter.window.kind], ...windowArgs(counter.window)]))
    const applied = Number(await this.#run(resetScript, keys, args))
    if (applied === -2) throw idempotencyKeyReused(request.key)
    return { applied: applied === 1 }
  }

  /** The newest entries of every shard's audit log, newest first. */
  async readAudit(limit: number): Promise<readonly AuditEntry[]> {
    const count = Math.max(1, Math.min(limit, auditRetention))
    const index = this.#keys.auditLists
    const lists = index === undefined ? [this.#keys.audit(undefined)] : (list(await this.#run(auditScript, [index], ['lists']), 'audit') as string[])
    const entries: AuditEntry[] = []
    for (const key of lists) {
      // @upstash/redis parses JSON replies itself: entries come as text or as objects.
      const reply = list(await this.#run(auditScript, [key], ['read', String(count)]), 'audit', 'any')
      entries.push(...reply.map((line) => (typeof line === 'string' ? JSON.parse(line) : line) as AuditEntry))
    }
    // Each list is newest first; a stable sort keeps that order between entries of the same instant.
    return lists.length === 1 ? entries : entries.sort((a, b) => b.at - a.at).slice(0, count)
  }
}
