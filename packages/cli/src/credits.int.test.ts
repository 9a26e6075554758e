import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createTokenQuota, type CreditBalance } from '@tokenquota/core'
import { RedisStore, RedisUsageStore } from '@tokenquota/core/redis'
import { trackUsage } from '@tokenquota/core/reports'
import { policies } from './testing/credit-policies.js'
import { tokenquota, useRedisServer } from './testing/harness.js'

// `tokenquota credits add | show | ledger` and the report's credits, as operators run them: the
// built CLI, its own process, on a real redis-server that an app on the same policies counts in.

const redis = useRedisServer()
const config = fileURLToPath(new URL('testing/credit-policies.ts', import.meta.url))
const dayMs = 86_400_000
let prefixes = 0

/** An app on the credit policies, under its own prefix, on a clock `offsetMs` from the CLI's. */
function app(offsetMs = 0, prefix = `credits${++prefixes}-${process.pid}`) {
  const { client, server } = redis
  const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix }), commitMode: 'await', now: () => Date.now() + offsetMs })
  const tracking = trackUsage(quota, { store: new RedisUsageStore({ client, prefix }) })
  return { quota, tracking, prefix, flags: ['--redis-url', server.url, '--prefix', prefix, '--config', config] }
}

const alice = { user: 'alice' }
const balanceOf = (quota: ReturnType<typeof app>['quota']): Promise<CreditBalance> => quota.admin.credits({ policy: 'credits', context: alice })

describe('tokenquota credits against a real redis-server', { timeout: 60_000, concurrent: true }, () => {
  it('the same top-up key from three CLI processes at once credits once; the others print "already applied"', async () => {
    const { quota, flags } = app()
    const add = () => tokenquota(['credits', 'add', '--user', 'alice', '--amount', '5000', '--key', 'evt_3x', '--reason', 'credit pack', ...flags])
    const runs = await Promise.all([add(), add(), add()])
    for (const run of runs) expect([run.code, run.stderr]).toEqual([0, ''])
    const outputs = runs.map((run) => run.stdout).sort()
    expect(outputs).toEqual([
      'added 5,000 tokens to credits for user alice (key evt_3x); balance 5,000 tokens, 5,000 available\n',
      'already applied (key evt_3x): nothing changed on credits for user alice; balance 5,000 tokens, 5,000 available\n',
      'already applied (key evt_3x): nothing changed on credits for user alice; balance 5,000 tokens, 5,000 available\n',
    ])
    expect((await balanceOf(quota)).balance).toBe(5000)
    const rows = await quota.admin.ledger({ policy: 'credits', context: alice })
    expect(rows.map(({ kind, amount, by, reason }) => ({ kind, amount, by, reason }))).toEqual([
      { kind: 'topup', amount: 5000, by: 'ops-test', reason: 'credit pack' },
    ])
  })

  it('show and ledger read what the app charged: a spill past the plan, and the grants it drew', async () => {
    const { quota, flags } = app()
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 50, key: 'evt_pack', by: 'payments' })
    await (await quota.reserve(alice, { estimate: 120 })).commit({ total: 120 })

    const show = await tokenquota(['credits', 'show', '--user', 'alice', ...flags])
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(
      /^credits for user alice: balance 30 tokens, 30 available\n\nKEY\s+AMOUNT\s+REMAINING\s+PRIORITY\s+EXPIRES\s+GRANTED\n[- ]+\nevt_pack\s+50\s+30\s+50\s+never\s+/,
    )
    const json = await tokenquota(['credits', 'show', '--user', 'alice', '--json', ...flags])
    expect(JSON.parse(json.stdout)).toMatchObject({ balance: 30, reserved: 0, available: 30, unit: 'tokens' })

    const ledger = await tokenquota(['credits', 'ledger', '--user', 'alice', ...flags])
    expect(ledger.code, ledger.stderr).toBe(0)
    expect(ledger.stdout).toMatch(
      /\n\s*1\s+\S+ \S+ UTC\s+topup\s+50\s+50\s+grant evt_pack; by payments\n\s*2\s+\S+ \S+ UTC\s+charge\s+-20\s+30\s+lease \S+; from evt_pack 20\n$/,
    )
    const page = await tokenquota(['credits', 'ledger', '--user', 'alice', '--after', '1', '--json', ...flags])
    expect((JSON.parse(page.stdout) as Array<{ seq: number; kind: string }>).map(({ seq, kind }) => [seq, kind])).toEqual([[2, 'charge']])
  })

  it('report adds up the credits granted, spent and expired, wherever they were recorded (the app, the CLI)', async () => {
    // The app's clock two days behind the CLI's: a grant that expires in between is expired when the CLI touches the balance.
    const { quota, tracking, flags } = app(-2 * dayMs)
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 300, key: 'promo', expiresAt: quota.now() + dayMs })
    await (await quota.reserve(alice, { estimate: 150 })).commit({ total: 150 }) // 100 from the plan, 50 from "promo"
    await tracking.flush()
    // The CLI's top-up comes upon "promo" expired (the CLI records the expiry).
    expect((await tokenquota(['credits', 'add', '--user', 'alice', '--amount', '1000', '--key', 'pack', ...flags])).code).toBe(0)
    const show = await tokenquota(['credits', 'show', '--user', 'alice', ...flags])
    expect(show.stdout).toMatch(/^credits for user alice: balance 1,000 tokens, 1,000 available\n/)

    const report = await tokenquota(['report', '--since', '7d', ...flags])
    expect(report.code, report.stderr).toBe(0)
    expect(report.stdout).toMatch(
      /credits \(balance policies\)\nPOLICY\s+UNIT\s+GRANTED\s+SPENT\s+EXPIRED\s+UNPAID\n[- ]+\ncredits\s+tokens\s+1,300\s+50\s+250\s+0\n/,
    )
    const json = JSON.parse((await tokenquota(['report', '--since', '7d', '--json', ...flags])).stdout) as { credits: unknown }
    expect(json.credits).toEqual([{ policy: 'credits', unit: 'tokens', granted: 1300, spent: 50, expired: 250, unpaid: 0 }])
  })

  it("runs the credits lines of the README's 'Selling usage' section as written", async () => {
    const { quota } = app(0, 'tokenquota') // the README's commands use the default prefix
    const readme = await readFile(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
    const section = readme.slice(readme.indexOf('## Selling usage: plans and credits'))
    const lines = /```sh\n([\s\S]*?)```/.exec(section)![1]!.trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(5)
    const outcomes = []
    for (const line of lines) {
      const command = line.replace(/\s+#.*$/, '')
      const args = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!).slice(1)
      // The app's store and policies come from the environment, as an operator would set them.
      const outcome = await tokenquota(args, { REDIS_URL: redis.server.url, TOKENQUOTA_CONFIG: config })
      expect(outcome.code, `${line}\n${outcome.stderr}`).toBe(0)
      outcomes.push(outcome.stdout)
    }
    expect(outcomes[1]).toMatch(/^already applied \(key evt_1Pq7Xa\): nothing changed on credits for user alice/)
    expect((await balanceOf(quota)).balance).toBe(5000)
  })
})

describe.concurrent('without a store: credits usage errors exit 2 with one line and a hint; check on a balance policy', { timeout: 60_000 }, () => {
  it.each([
    [['credits', 'add', '--user', 'alice'], 'tokenquota: credits add needs --key <key> (see tokenquota credits add --help)\n'],
    [['credits', 'add', '--user', 'alice', '--key', 'k'], 'tokenquota: credits add needs --amount <amount> (see tokenquota credits add --help)\n'],
    [['credits', 'show', '--usr', 'alice'], 'tokenquota: unknown flag --usr (did you mean --user?) (see tokenquota credits show --help)\n'],
    [['credits', 'ledger', 'alice'], 'tokenquota: credits ledger takes no argument, got alice (see tokenquota credits ledger --help)\n'],
    [['credits', 'topup'], 'tokenquota: unknown command topup (see tokenquota credits --help)\n'],
  ])('tokenquota %j', async (args, stderr) => {
    expect(await tokenquota(args)).toEqual({ code: 2, stdout: '', stderr })
  })

  it('check prints a balance policy as a balance (no window, no allow) and the policy that spills into it', async () => {
    const outcome = await tokenquota(['check', config])
    expect([outcome.code, outcome.stderr]).toEqual([0, ''])
    expect(outcome.stdout).toMatch(/\nplan\s+user\s+100\s+1 month \(default\), then credits\s+enforce\s+tokens\s+every model\n/)
    expect(outcome.stdout).toMatch(/\ncredits\s+user\s+\(prepaid\)\s+none \(balance\)\s+enforce\s+tokens\s+every model\n/)
    const json = JSON.parse((await tokenquota(['check', config, '--json'])).stdout) as { policies: unknown[] }
    expect(json.policies[1]).toMatchObject({ name: 'credits', allow: '(prepaid)', window: 'none (balance)' })
  })

  it('credits without a subcommand prints its help on stderr and exits 2', async () => {
    const outcome = await tokenquota(['credits'])
    expect([outcome.code, outcome.stdout]).toEqual([2, ''])
    expect(outcome.stderr).toMatch(/^Usage: tokenquota credits .*\n[\s\S]*add \[options\][\s\S]*show \[options\][\s\S]*ledger \[options\]/)
  })
})
