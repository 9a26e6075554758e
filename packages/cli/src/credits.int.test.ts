import { describe, expect, it } from 'vitest'
import { creditApp, creditConfig as config } from './testing/credit-app.js'
import { tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// `tokenquota credits add | show | ledger` and the report's credits on a real redis-server that an
// app on the same policies counts in, run in-process; cli.int.test.ts runs the built CLI's processes
// (three at once on one key, the README's lines).

const redis = useRedisServer()
const dayMs = 86_400_000
const app = (offsetMs = 0) => creditApp(redis.client, redis.server.url, { offsetMs })
const alice = { user: 'alice' }

describe('tokenquota credits against a real redis-server', { timeout: 60_000, concurrent: true }, () => {
  it('show and ledger read what the app charged: a spill past the plan, and the grants it drew', async () => {
    const { quota, flags } = app()
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 50, key: 'evt_pack', by: 'payments' })
    await (await quota.reserve(alice, { estimate: 120 })).commit({ total: 120 })

    const show = await tokenquotaInProcess(['credits', 'show', '--user', 'alice', ...flags])
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(
      /^credits for user alice: balance 30 tokens, 30 available\n\nKEY\s+AMOUNT\s+REMAINING\s+PRIORITY\s+EXPIRES\s+GRANTED\n[- ]+\nevt_pack\s+50\s+30\s+50\s+never\s+/,
    )
    const json = await tokenquotaInProcess(['credits', 'show', '--user', 'alice', '--json', ...flags])
    expect(JSON.parse(json.stdout)).toMatchObject({ balance: 30, reserved: 0, available: 30, unit: 'tokens' })

    const ledger = await tokenquotaInProcess(['credits', 'ledger', '--user', 'alice', ...flags])
    expect(ledger.code, ledger.stderr).toBe(0)
    expect(ledger.stdout).toMatch(
      /\n\s*1\s+\S+ \S+ UTC\s+topup\s+50\s+50\s+grant evt_pack; by payments\n\s*2\s+\S+ \S+ UTC\s+charge\s+-20\s+30\s+lease \S+; from evt_pack 20\n$/,
    )
    const page = await tokenquotaInProcess(['credits', 'ledger', '--user', 'alice', '--after', '1', '--json', ...flags])
    expect((JSON.parse(page.stdout) as Array<{ seq: number; kind: string }>).map(({ seq, kind }) => [seq, kind])).toEqual([[2, 'charge']])
  })

  it('report adds up the credits granted, spent and expired, wherever they were recorded (the app, the CLI)', async () => {
    // The app's clock two days behind the CLI's: a grant that expires in between is expired when the CLI touches the balance.
    const { quota, tracking, flags } = app(-2 * dayMs)
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 300, key: 'promo', expiresAt: quota.now() + dayMs })
    await (await quota.reserve(alice, { estimate: 150 })).commit({ total: 150 }) // 100 from the plan, 50 from "promo"
    await tracking.flush()
    // The CLI's top-up comes upon "promo" expired (the CLI records the expiry).
    expect((await tokenquotaInProcess(['credits', 'add', '--user', 'alice', '--amount', '1000', '--key', 'pack', ...flags])).code).toBe(0)
    const show = await tokenquotaInProcess(['credits', 'show', '--user', 'alice', ...flags])
    expect(show.stdout).toMatch(/^credits for user alice: balance 1,000 tokens, 1,000 available\n/)

    const report = await tokenquotaInProcess(['report', '--since', '7d', ...flags])
    expect(report.code, report.stderr).toBe(0)
    expect(report.stdout).toMatch(
      /credits \(balance policies\)\nPOLICY\s+UNIT\s+GRANTED\s+SPENT\s+EXPIRED\s+UNPAID\n[- ]+\ncredits\s+tokens\s+1,300\s+50\s+250\s+0\n/,
    )
    const json = JSON.parse((await tokenquotaInProcess(['report', '--since', '7d', '--json', ...flags])).stdout) as { credits: unknown }
    expect(json.credits).toEqual([{ policy: 'credits', unit: 'tokens', granted: 1300, spent: 50, expired: 250, unpaid: 0 }])
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
    expect(await tokenquotaInProcess(args)).toEqual({ code: 2, stdout: '', stderr })
  })

  it('check prints a balance policy as a balance (no window, no allow) and the policy that spills into it', async () => {
    const outcome = await tokenquotaInProcess(['check', config])
    expect([outcome.code, outcome.stderr]).toEqual([0, ''])
    expect(outcome.stdout).toMatch(/\nplan\s+user\s+100\s+1 month \(default\), then credits\s+enforce\s+tokens\s+every model\n/)
    expect(outcome.stdout).toMatch(/\ncredits\s+user\s+\(prepaid\)\s+none \(balance\)\s+enforce\s+tokens\s+every model\n/)
    const json = JSON.parse((await tokenquotaInProcess(['check', config, '--json'])).stdout) as { policies: unknown[] }
    expect(json.policies[1]).toMatchObject({ name: 'credits', allow: '(prepaid)', window: 'none (balance)' })
  })

  it('credits without a subcommand prints its help on stderr and exits 2', async () => {
    const outcome = await tokenquotaInProcess(['credits'])
    expect([outcome.code, outcome.stdout]).toEqual([2, ''])
    expect(outcome.stderr).toMatch(/^Usage: tokenquota credits .*\n[\s\S]*add \[options\][\s\S]*show \[options\][\s\S]*ledger \[options\]/)
  })
})
