import { describe, expect, it } from 'vitest'
import { createTokenQuota, MemoryStore, type QuotaPolicy, type TokenQuota } from '@tokenquota/core'
import { createFakeClock } from '@tokenquota/core/testing'
import { CliError } from './cli-error.js'
import { addCredits, type CreditsAddFlags, type CreditsLedgerFlags, ledgerOf, showCredits } from './commands/credits.js'
import { statusTable } from './commands/status.js'
import { cellOf } from './commands/watch-rows.js'
import { inspectKnown, scopedTargets } from './scope.js'
import { tokenquotaInProcess } from './testing/in-process.js'

// The credits commands' work, in process on a MemoryStore and a fake clock: what each prints, and
// that a bad flag or a write to a balance the caller does not own changes nothing.
// (credits.int.test.ts runs it against a real Redis; cli.int.test.ts, the built CLI's processes.)

const session = { prefix: 'tokenquota' }
const alice = { ...session, user: 'alice' }

function quotaOf(policies: QuotaPolicy[] = planAndCredits) {
  const clock = createFakeClock('2026-03-10T12:00:00Z')
  return { clock, quota: createTokenQuota({ policies, store: new MemoryStore(), now: clock.now }) }
}
const planAndCredits: QuotaPolicy[] = [
  { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' },
  { name: 'credits', type: 'balance', identifier: 'user' },
]

const add = (quota: TokenQuota, flags: Partial<CreditsAddFlags>) => addCredits(quota, { ...alice, key: 'evt_1', amount: '500', by: 'ops', ...flags })
const ledger = (quota: TokenQuota, flags: Partial<CreditsLedgerFlags> = {}) => ledgerOf(quota, { ...alice, limit: '100', ...flags })

async function spend(quota: TokenQuota, total: number): Promise<void> {
  await (await quota.reserve({ user: 'alice' }, { estimate: total })).commit({ total })
}

describe('tokenquota credits, in process', () => {
  it('add credits a top-up once per key: a replay prints "already applied" and changes nothing', async () => {
    const { quota } = quotaOf()
    expect(await add(quota, { expires: '2026-04-01', reason: 'credit pack' })).toBe(
      'added 500 tokens to credits for user alice (key evt_1, expires 2026-04-01 00:00 UTC); balance 500 tokens, 500 available\n',
    )
    expect(await add(quota, { expires: '2026-04-01', reason: 'credit pack' })).toBe(
      'already applied (key evt_1): nothing changed on credits for user alice; balance 500 tokens, 500 available\n',
    )
    expect((await quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })).balance).toBe(500)
    const rows = await quota.admin.ledger({ policy: 'credits', context: { user: 'alice' } })
    expect(rows.map(({ kind, amount, grant, by, reason }) => ({ kind, amount, grant, by, reason }))).toEqual([
      { kind: 'topup', amount: 500, grant: 'evt_1', by: 'ops', reason: 'credit pack' },
    ])
  })

  it('a key reused for another top-up is one line (a CliError, exit 2) and changes nothing', async () => {
    const { quota } = quotaOf()
    await add(quota, {})
    await expect(add(quota, { amount: '700' })).rejects.toThrow(
      new CliError('--key evt_1 was already used for a different change on credits for user alice: nothing changed; use a new key'),
    )
    expect((await quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })).balance).toBe(500)
  })

  it('one token is said in the singular', async () => {
    const { quota } = quotaOf()
    expect(await add(quota, { amount: '1' })).toBe('added 1 token to credits for user alice (key evt_1); balance 1 token, 1 available\n')
  })

  // The store refused it as "expected `expiresAt` to be a whole-millisecond time after now, got
  // 1577836800000": a flag the operator did not type, and a date as milliseconds.
  it('an --expires that is not after now is one line naming the flag as typed, and changes nothing', async () => {
    const { quota } = quotaOf()
    await expect(add(quota, { expires: '2026-03-01' })).rejects.toThrow(
      new CliError('--expires 2026-03-01 is not after now (2026-03-10 12:00 UTC): a top-up would expire at once; nothing changed'),
    )
    expect((await quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })).balance).toBe(0)
  })

  it('show prints the balance, what is reserved and the grants in spending order; --json the balance itself', async () => {
    const { quota } = quotaOf()
    await add(quota, { key: 'promo', amount: '300', expires: '2026-03-20T00:00:00Z' })
    await add(quota, { key: 'pack', amount: '1000' })
    await add(quota, { key: 'first', amount: '50', priority: '10' })
    await spend(quota, 120) // 100 from the plan, 20 from credits: from "first" (priority 10)
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 40 })
    const shown = await showCredits(quota, alice)
    expect(shown.split('\n').slice(0, 3)).toEqual([
      'credits for user alice: balance 1,330 tokens, 40 reserved, 1,290 available',
      '',
      expect.stringMatching(/^KEY/),
    ])
    expect(shown).toMatch(
      /first\s+50\s+30\s+10\s+never\s+2026-03-10 12:00 UTC\npromo\s+300\s+300\s+50\s+2026-03-20 00:00 UTC\s+2026-03-10 12:00 UTC\npack\s+1,000\s+1,000\s+50\s+never/,
    )
    expect(JSON.parse(await showCredits(quota, { ...alice, json: true }))).toMatchObject({ balance: 1330, reserved: 40, available: 1290, unit: 'tokens' })
    await lease.release()
  })

  it('ledger prints the rows oldest first, pages with --after and --limit, and says how to read on', async () => {
    const { quota, clock } = quotaOf()
    await add(quota, { key: 'promo', amount: '300', expires: '2026-03-20' })
    await add(quota, { key: 'pack', amount: '1000', reason: 'credit pack' })
    await spend(quota, 150)
    clock.set('2026-03-21T00:00:00Z')
    await showCredits(quota, alice) // a read of the balance records what expired
    const all = await ledger(quota)
    expect(all).toMatch(/^credits for user alice \(tokens\)\n\nSEQ\s+AT\s+KIND\s+AMOUNT\s+BALANCE\s+DETAIL\n/)
    expect(all).toMatch(/1\s+2026-03-10 12:00 UTC\s+topup\s+300\s+300\s+grant promo; by ops\n/)
    expect(all).toMatch(/2\s+2026-03-10 12:00 UTC\s+topup\s+1,000\s+1,300\s+grant pack; by ops; "credit pack"\n/)
    expect(all).toMatch(/3\s+2026-03-10 12:00 UTC\s+charge\s+-50\s+1,250\s+lease \S+; from promo 50\n/)
    expect(all).toMatch(/4\s+2026-03-\d\d \d\d:\d\d UTC\s+expiry\s+-250\s+1,000\s+grant promo\n$/)
    const page = await ledger(quota, { limit: '2' })
    expect(page).toMatch(/\n\nmore rows: --after 2\n$/)
    expect(await ledger(quota, { after: '2', limit: '2' })).toMatch(/\n\s*3\s.*\n\s*4\s.*\n\nmore rows: --after 4\n$/)
    expect(await ledger(quota, { after: '4' })).toBe('credits for user alice: no ledger rows after 4\n')
    expect((JSON.parse(await ledger(quota, { json: true })) as Array<{ seq: number }>).map((row) => row.seq)).toEqual([1, 2, 3, 4])
  })

  it.each([
    [{ amount: '0' }, 'expected --amount to be a positive number, got "0"'],
    [{ amount: '-5' }, 'expected --amount to be a non-negative number, got "-5"'],
    [{ amount: '1e3' }, 'expected --amount to be a non-negative number, got "1e3"'],
    [{ key: ' ' }, '--key: expected a non-empty key (the payment or event id the top-up is for)'],
    [{ priority: '101' }, 'expected --priority to be a whole number from 0 to 100, got "101"'],
    [{ priority: '1.5' }, 'expected --priority to be a whole number from 0 to 100, got "1.5"'],
    [
      { expires: '30d' },
      'expected --expires to be a date (YYYY-MM-DD) or a date-time, got the duration "30d": a re-run with the same --key must name the same instant',
    ],
    [{ expires: 'tomorrow' }, 'expected --expires to be a date (YYYY-MM-DD) or a date-time, got "tomorrow"'],
    [{ policy: 'plan' }, 'plan is not a balance policy (balance policies: credits)'],
    [{ policy: 'gift' }, 'no policy "gift" in the config (balance policies: credits)'],
    [{ user: undefined, org: 'acme' }, 'credits counts by user: name the caller with --user'],
  ])('add with %j exits 2 with one line and changes nothing', async (flags, message) => {
    const { quota } = quotaOf()
    await expect(add(quota, flags as Partial<CreditsAddFlags>)).rejects.toThrow(new CliError(message))
    expect(await quota.admin.ledger({ policy: 'credits', context: { user: 'alice' } })).toEqual([])
  })

  it.each([
    [['--amount', 'NaN'], 'expected --amount to be a non-negative number, got "NaN"'],
    [['--amount', '0'], 'expected --amount to be a positive number, got "0"'],
    [['--amount', '5', '--priority', '101'], 'expected --priority to be a whole number from 0 to 100, got "101"'],
    [
      ['--amount', '5', '--expires', '30d'],
      'expected --expires to be a date (YYYY-MM-DD) or a date-time, got the duration "30d": a re-run with the same --key must name the same instant',
    ],
  ])('add with %j is a usage error (exit 2) before any connection: a store that is down does not hide it behind exit 1', async (flags, message) => {
    const store = ['--redis-url', 'redis://127.0.0.1:1', '--timeout', '1', '--config', 'unused.yaml']
    expect(await tokenquotaInProcess(['credits', 'add', '--user', 'alice', '--key', 'evt_1', ...flags, ...store])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tokenquota: ${message}\n`,
    })
  })

  it("add changes only the named caller's own balance: an org's balance, named with --user, is refused", async () => {
    const { quota } = quotaOf([{ name: 'org-credits', type: 'balance', identifier: 'org' }])
    await expect(add(quota, { org: 'acme' })).rejects.toThrow(
      new CliError('org-credits counts org acme, not user alice alone: to change it, name that caller alone (--org acme)'),
    )
    expect(await quota.admin.ledger({ policy: 'org-credits', context: { org: 'acme' } })).toEqual([])
    expect(await add(quota, { user: undefined, org: 'acme' })).toMatch(/^added 500 tokens to org-credits for org acme \(key evt_1\)/)
    // Reading is not changing: show names the org's balance the user draws on.
    expect(await showCredits(quota, { ...alice, org: 'acme' })).toMatch(/^org-credits for org acme: balance 500 tokens, 500 available/)
  })

  it('a config without a balance policy, or with several and no --policy, is one line naming them', async () => {
    const none = quotaOf([{ name: 'daily', identifier: 'user', allow: 10, interval: 1, timeUnit: 'day' }]).quota
    await expect(showCredits(none, alice)).rejects.toThrow(new CliError("no balance policy in the config: credits live in a policy with type: 'balance'"))
    const two = quotaOf([
      { name: 'credits', type: 'balance', identifier: 'user' },
      { name: 'usd-credits', type: 'balance', identifier: 'user', count: 'usd' },
    ]).quota
    await expect(showCredits(two, alice)).rejects.toThrow(new CliError('several balance policies (credits, usd-credits): pass --policy'))
  })

  it('dollar balances take and print dollars', async () => {
    const { quota } = quotaOf([{ name: 'wallet', type: 'balance', identifier: 'user', count: 'usd' }])
    expect(await add(quota, { amount: '12.5' })).toBe('added $12.50 to wallet for user alice (key evt_1); balance $12.50, $12.50 available\n')
    expect(await ledger(quota)).toMatch(/1\s+2026-03-10 12:00 UTC\s+topup\s+\$12\.50\s+\$12\.50\s+grant evt_1; by ops\n$/)
  })

  // The counter holds 1e-8 dollar, and --amount takes it: printed to 6 decimals, a top-up of
  // $0.00000001 said "added $0.00" and a balance of $0.40000001 read "$0.40".
  it('dollar amounts print to the 8 decimals the counter holds', async () => {
    const { quota } = quotaOf([{ name: 'wallet', type: 'balance', identifier: 'user', count: 'usd' }])
    await add(quota, { amount: '0.4', key: 'evt_0' })
    expect(await add(quota, { amount: '0.00000001' })).toBe(
      'added $0.00000001 to wallet for user alice (key evt_1); balance $0.40000001, $0.40000001 available\n',
    )
    expect(await ledger(quota)).toMatch(/2\s+2026-03-10 12:00 UTC\s+topup\s+\$0\.00000001\s+\$0\.40000001\s+grant evt_1; by ops\n$/)
  })
})

describe('the other commands on a balance policy (no window: it never resets)', () => {
  async function aliceWithCredits() {
    const { quota } = quotaOf()
    await add(quota, { amount: '500' })
    return quota
  }

  it('status shows a balance row: the balance as its limit, "never" for its reset (a window time would be out of range)', async () => {
    const quota = await aliceWithCredits()
    const rows = await inspectKnown(quota, { user: 'alice' }) // credits alone make a caller known
    const table = statusTable(rows)
    expect(table).toMatch(/\ncredits\s+alice\s+0\s+0\s+500\s+500\s+never \(balance\)\n?/)
    expect(table).toMatch(/\nplan\s+alice\s+0\s+0\s+100\s+100\s+2026-04-01 00:00 UTC/)
  })

  it('watch shows what is left of a balance, not a share of it', async () => {
    const quota = await aliceWithCredits()
    const rows = await quota.admin.inspect({ user: 'alice' })
    expect(
      cellOf(
        rows.find((row) => row.policy === 'credits'),
        quota.now(),
      ),
    ).toBe('500 left')
    expect(
      cellOf(
        rows.find((row) => row.policy === 'plan'),
        quota.now(),
      ),
    ).toBe('0/100 0%')
  })
})

describe('grant, set, clear and reset leave balances alone (credits change through credits add)', () => {
  it.each(['grant', 'set', 'clear', 'reset'] as const)(
    '%s without --policy picks only windowed policies; with --policy naming a balance, one line',
    async (action) => {
      const { quota } = quotaOf()
      await add(quota, { amount: '500' })
      await spend(quota, 150)
      if (action === 'clear') await quota.admin.grant({ policy: 'plan', context: { user: 'alice' }, add: 5 })
      const picked = await scopedTargets(quota, { user: 'alice', yes: true }, action, { flag: '--add', text: '5' })
      expect(picked.map(({ target }) => target.policy)).toEqual(['plan'])
      for (const flags of [{ user: 'alice', policy: 'credits' }, { policy: 'credits' }, { policy: 'credits', class: 'free' }])
        await expect(scopedTargets(quota, flags, action)).rejects.toThrow(
          new CliError(`credits is a balance (credits, no window): ${action} changes windowed limits; add credits with tokenquota credits add`),
        )
    },
  )
})
