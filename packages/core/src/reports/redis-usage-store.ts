import { luaScript, runScript, type ScriptTransport } from '../store/redis/script-runner.js'
import { transportFor, type IORedisLike, type NodeRedisLike } from '../store/redis-store.js'
import { moneyUnitsPerDollar } from '../price/price-table.js'
import type { PolicyUnit } from '../policy/normalized-policy.js'
import { type CreditRecord, creditMovements, creditUnits } from './credit-usage.js'
import { emptyDay, usageDimensions, type DayUsage, type UsageDimension, type UsageRecord, type UsageStore } from './usage-store.js'

// One hash per day: `t` tokens, `n` requests, `x` refusals, `<dimension>:<value>` tokens, `rq:<user>` requests,
// `C` and `C<dimension>:<value>` units of ten nano-dollars (1e-8 US dollar). Earlier versions wrote
// `c` and `c<dimension>:<value>` in micro-dollars: read, they are converted. Credits: `K<movement><unit>:<policy>`
// (movement g granted, s spent, e expired, u unpaid; unit t tokens, r requests, d dollars) in counter units.
export const usageScripts = {
  add: luaScript(
    'usage-add',
    `for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
    'a542b60dc0f310a0ce05ded4144ad87fe35ca5a7',
  ),
  read: luaScript(
    'usage-read',
    `local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end
return out`,
    '7c769674f3c2543f4eaa8617dab49ff28e5bd4d0',
  ),
}

export interface RedisUsageStoreOptions {
  readonly client: IORedisLike | NodeRedisLike
  /** @default 'tokenquota' */
  readonly prefix?: string
  /** How long a day's aggregates are kept. @default 62 days */
  readonly keepMs?: number
  /** @default 1000 */
  readonly timeoutMs?: number
}

/** Usage aggregates on Redis, shared by every process: one hash per day, one round trip per record. */
export class RedisUsageStore implements UsageStore {
  readonly #transport: ScriptTransport
  readonly #prefix: string
  readonly #keepMs: string
  readonly #timeoutMs: number

  constructor(options: RedisUsageStoreOptions) {
    this.#transport = transportFor(options.client)
    this.#prefix = options.prefix ?? 'tokenquota'
    this.#keepMs = String(options.keepMs ?? 62 * 86_400_000)
    this.#timeoutMs = options.timeoutMs ?? 1000
  }

  #key(day: string): string {
    return `${this.#prefix}:usage:${day}`
  }

  async addUsage(record: UsageRecord): Promise<void> {
    const fields = ['t', String(record.tokens), 'n', '1']
    const cost = record.costUnits ?? 0
    if (cost > 0) fields.push('C', String(cost))
    for (const [dimension, values] of Object.entries(record.attribution) as Array<[UsageDimension, readonly string[]]>) {
      for (const value of values) {
        fields.push(`${dimension}:${value}`, String(record.tokens))
        if (cost > 0) fields.push(`C${dimension}:${value}`, String(cost))
      }
    }
    for (const user of record.attribution.user ?? []) fields.push(`rq:${user}`, '1')
    await runScript(this.#transport, usageScripts.add, [this.#key(record.day)], [this.#keepMs, ...fields], this.#timeoutMs)
  }

  async addCredit(record: CreditRecord): Promise<void> {
    const field = `K${record.movement[0]}${unitLetters[record.unit]}:${record.policy}`
    const fields = [this.#keepMs, field, String(creditUnits(record.unit, record.amount))]
    await runScript(this.#transport, usageScripts.add, [this.#key(record.day)], fields, this.#timeoutMs)
  }

  async addRefusal(day: string): Promise<void> {
    await runScript(this.#transport, usageScripts.add, [this.#key(day)], [this.#keepMs, 'x', '1'], this.#timeoutMs)
  }

  async readDays(days: readonly string[]): Promise<readonly DayUsage[]> {
    const reply = (await runScript(
      this.#transport,
      usageScripts.read,
      days.map((day) => this.#key(day)),
      [],
      this.#timeoutMs,
    )) as string[][]
    return reply.map((flat) => {
      const day = emptyDay()
      for (let index = 0; index < flat.length; index += 2) {
        const field = String(flat[index])
        const value = Number(flat[index + 1])
        if (field === 't') day.tokens = value
        else if (field === 'n') day.requests = value
        else if (field === 'x') day.refusals = value
        else if (field === 'C' || field === 'c') day.costUnits += costUnitsOf(field, value)
        else {
          const separator = field.indexOf(':')
          const kind = field.slice(0, separator)
          const name = field.slice(separator + 1)
          if (kind === 'rq') day.requestsByUser[name] = value
          else if (/^K[gseu][trd]$/.test(kind)) readCredit(day.credits, kind, name, value)
          else if ((usageDimensions as readonly string[]).includes(kind)) day.by[kind as UsageDimension][name] = value
          else if (/^[Cc]/.test(kind) && (usageDimensions as readonly string[]).includes(kind.slice(1))) {
            const costs = day.costBy[kind.slice(1) as UsageDimension]
            costs[name] = (costs[name] ?? 0) + costUnitsOf(kind, value)
          }
        }
      }
      return day
    })
  }
}

const unitLetters: Record<PolicyUnit, string> = { tokens: 't', requests: 'r', usd: 'd' }

/** A `K<movement><unit>:<policy>` field into a day's credits table. */
function readCredit(credits: ReturnType<typeof emptyDay>['credits'], kind: string, policy: string, value: number): void {
  const movement = creditMovements.find((candidate) => candidate[0] === kind[1])!
  const unit = (Object.keys(unitLetters) as PolicyUnit[]).find((candidate) => unitLetters[candidate] === kind[2])!
  const entry = credits[policy] ?? { unit, granted: 0, spent: 0, expired: 0, unpaid: 0 }
  entry[movement] += value
  credits[policy] = entry
}

/** A cost field's value in units of ten nano-dollars: `C…` fields hold them, the `c…` fields of earlier versions micro-dollars. */
function costUnitsOf(field: string, value: number): number {
  return field.startsWith('C') ? value : value * (moneyUnitsPerDollar / 1_000_000)
}
