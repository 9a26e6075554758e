// One app process for the multi-process credits test, on the built package as an app would use it.
// MODE=spend: CALLS concurrent reservations of exactly AMOUNT credits on one balance, each settled
// for exactly what it held; prints how many held. MODE=topup: one top-up of AMOUNT under KEY;
// prints whether it applied. NOW is the engine's time (a fixed instant, never today's date).
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'

const { REDIS_URL, PREFIX, MODE, CALLS, AMOUNT, KEY, NOW } = process.env
const client = new Redis(REDIS_URL)
// Several processes hammer one redis-server beside other tests: a reply may take over a second.
const store = new RedisStore({ client, prefix: PREFIX, timeoutMs: 10_000 })
const balance = { counter: 'credits', identifier: '=alice' }
const now = Number(NOW)
const amount = Number(AMOUNT)

async function spend(index) {
  const leaseId = `${process.pid}-${index}`
  const counters = [{ ...balance, window: { kind: 'balance' }, amount, hold: true }]
  const result = await store.reserve({ leaseId, now, expiresAt: now + 60_000, counters })
  if (!result.ok) return false
  const charges = [{ ...balance, window: { kind: 'balance' }, placement: result.placements[0], held: result.held[0], amount }]
  await store.settle({ leaseId, now, expiresAt: now + 60_000, charges })
  return true
}

// Every process starts at the same moment (a start gate in Redis), so they really compete.
const gate = client.duplicate()
await client.incr(`${PREFIX}:ready`)
await gate.blpop(`${PREFIX}:go`, 0)
gate.disconnect()
if (MODE === 'topup') {
  const outcome = await store.credits.writeCredits({ ...balance, now, key: KEY, change: { kind: 'topup', amount } })
  console.log(JSON.stringify({ applied: outcome.applied }))
} else {
  const held = await Promise.all(Array.from({ length: Number(CALLS) }, (_, index) => spend(index)))
  console.log(JSON.stringify({ held: held.filter(Boolean).length }))
}
client.disconnect()
