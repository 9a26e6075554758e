import { describe, expect, it } from 'vitest'
import { app as appOn, config, spend, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// What the CLI prints reaches an operator's terminal and logs: no credential in any form, and no
// control character from the store (identifiers, model names) that a terminal would act on.

const redis = useRedisServer()

const secrets = ['hunter2', 'tok-secret', 's3cr3t']
// biome-ignore lint/suspicious/noControlCharactersInRegex: what the test looks for
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u

function expectNoSecret(text: string): void {
  for (const secret of secrets) expect(text).not.toContain(secret)
}

describe('CLI output hygiene', { timeout: 120_000 }, () => {
  it('never prints a password or token given in the URL, as userinfo or as a query parameter', async () => {
    const urls = [
      'redis://127.0.0.1:1/?password=hunter2',
      'redis://127.0.0.1:1/0?db=0&Password=hunter2&token=tok-secret',
      'rediss://ops:hunter2@127.0.0.1:1/?auth=s3cr3t',
      'http://127.0.0.1:1/?password=hunter2',
      'redis://ops:hunter2@[not-a-host/?token=tok-secret',
    ]
    const outcomes = await Promise.all([
      ...urls.map((url) => tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--config', config, '--redis-url', url])),
      tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--config', config], { REDIS_URL: urls[2]! }),
    ])
    // The servers refuse (exit 1); the http:// URL and the one that does not parse are bad input (exit 2).
    expect(outcomes.map((outcome) => outcome.code)).toEqual([1, 1, 1, 2, 2, 1])
    for (const outcome of outcomes) expectNoSecret(outcome.stderr)
    const query = await tokenquotaInProcess(['status', '--user', 'alice', '--config', config, '--redis-url', urls[1]!])
    expect(query.stderr).toMatch(/^tokenquota: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1\/0\?db=0&Password=\*\*\*&token=\*\*\*: /)
    const upstash = await tokenquotaInProcess(['status', '--user', 'alice', '--config', config], {
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1/?token=tok-secret',
      UPSTASH_REDIS_REST_TOKEN: 's3cr3t',
    })
    expect(upstash.code).toBe(1)
    expectNoSecret(upstash.stderr)
  })

  it("watch's heading names the server without the password given as a query parameter", async () => {
    const { quota, tracking, flags } = await appOn(redis.client, redis.server.url)
    await spend(quota, { user: 'alice', plan: 'premium', project: 'production' }, 100, 50)
    await tracking.flush()
    const withPassword = flags.map((flag) => (flag === redis.server.url ? `${redis.server.url}/?password=hunter2` : flag))
    const watched = await tokenquotaInProcess(['watch', '--count', '1', ...withPassword])
    expect(watched.code, watched.stderr).toBe(0)
    expect(watched.stdout).toContain('?password=***')
    expectNoSecret(watched.stdout + watched.stderr)
  })

  it('escapes control characters of identifiers and model names in tables and messages; a newline never breaks a row', async () => {
    const { quota, tracking, flags, store } = await appOn(redis.client, redis.server.url)
    const mallory = 'mal\u001b]0;pwned\u0007lory\nroot\u009b2J'
    await spend(quota, { user: mallory, plan: 'premium', project: 'production' }, 300, 100, 'gpt\u001b[2J-4o\r')
    await spend(quota, { user: 'alice', plan: 'premium', project: 'production' }, 100, 50)
    await tracking.flush()

    const outcomes = {
      status: await tokenquotaInProcess(['status', '--user', mallory, '--plan', 'premium', ...flags]),
      watch: await tokenquotaInProcess(['watch', '--count', '1', ...flags]),
      users: await tokenquotaInProcess(['report', '--by', 'user', ...store]),
      models: await tokenquotaInProcess(['report', '--by', 'model', ...store]),
      reset: await tokenquotaInProcess(['reset', '--user', mallory, '--plan', 'premium', '--policy', 'user-daily', ...flags]),
      unknown: await tokenquotaInProcess(['status', '--user', `\u001b[2J${mallory}x`, '--plan', 'premium', ...flags]),
      badPlan: await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'gold\u001b[31m', ...flags]),
    }
    for (const name of ['status', 'watch', 'users', 'models', 'reset'] as const) expect(outcomes[name].code, `${name}: ${outcomes[name].stderr}`).toBe(0)
    for (const [name, outcome] of Object.entries(outcomes)) {
      expect(outcome.stdout + outcome.stderr, name).not.toMatch(controls)
    }
    const escaped = 'mal\\x1b]0;pwned\\x07lory\\nroot\\x9b2J'
    expect(outcomes.status.stdout).toMatch(new RegExp(`user-daily\\s+${escaped.replace(/[\\[\]]/g, '\\$&')}\\s+premium\\s+400\\s`))
    expect(outcomes.status.stdout.split('\n').filter((line) => line.startsWith('user-'))).toHaveLength(2)
    expect(outcomes.users.stdout).toContain(escaped)
    expect(outcomes.users.stdout.split('\n').filter((line) => /^(mal|alice)/.test(line))).toHaveLength(2)
    expect(outcomes.models.stdout).toContain('gpt\\x1b[2J-4o\\r')
    expect(outcomes.watch.stdout.split('\n').filter((line) => /^(mal|alice)/.test(line))).toHaveLength(2)
    expect(outcomes.reset.stdout).toBe(`reset user-daily for user ${escaped}, plan premium: 400 used → 0\n`)
    expect(outcomes.unknown.code).toBe(2)
    expect(outcomes.badPlan.stderr).toContain('unknown plan "gold\\x1b[31m"')
  })
})
