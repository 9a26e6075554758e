import { copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { temporaryFolder } from '@tokenquota/test-support'
import { balanceOf, creditApp, creditConfig } from './testing/credit-app.js'
import { app, config, type Outcome, spend, tokenquota, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// The built CLI where only its processes show what is tested: separate processes at once on one key,
// and the README's lines as an operator runs them in a folder. What the commands print is tested
// in-process (commands.int.test.ts, credits.int.test.ts); in-process.int.test.ts shows both print alike.

const redis = useRedisServer()

interface ReadmeLine {
  readonly line: string
  /** The words the shell passes to `tokenquota`. */
  readonly args: readonly string[]
}

/** The lines of the first `sh` block after `heading` in the README, comments dropped. */
async function readmeLines(heading: string): Promise<ReadmeLine[]> {
  const readme = await readFile(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
  const section = readme.slice(readme.indexOf(heading))
  return /```sh\n([\s\S]*?)```/
    .exec(section)![1]!
    .trim()
    .split('\n')
    .map((line) => {
      const command = line.replace(/\s+#.*$/, '')
      return { line, args: [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!).slice(1) }
    })
}

const namesFile = (args: readonly string[]) => args.some((arg) => /\.(ts|ya?ml)$/.test(arg))

/**
 * Runs the lines in order, each expected to exit 0. Through the bin: a line that names a file in the
 * operator's folder (the path resolves there; Node loads the .ts); the others in-process, which prints
 * what the bin prints (in-process.int.test.ts compares the two on status, report, watch, grant and
 * check; the top-up test below runs credits add through the bin): the same argv reaches the same
 * runCli, so a bin run of such a line shows nothing more than its in-process run.
 */
async function runLines(lines: readonly ReadmeLine[], env: Record<string, string>, folder?: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (const { line, args } of lines) {
    const outcome = namesFile(args) ? await tokenquota(args, env, folder) : await tokenquotaInProcess(args, env)
    expect(outcome.code, `${line}\n${outcome.stderr}`).toBe(0)
    outcomes.push(outcome)
  }
  return outcomes
}

const alice = { user: 'alice', plan: 'premium', project: 'production' }

// The README's commands use the default prefix: both sections' apps count under it, on policies
// of different names (token_limits.yaml's, credit-policies.ts's), so in keys of their own.
describe('the built tokenquota, as operators run it', { timeout: 60_000, concurrent: true }, () => {
  it("runs every command of the README's CLI section as written", async (context) => {
    const { quota, tracking } = await app(redis.client, redis.server.url, 'tokenquota')
    await spend(quota, alice, 1000, 200)
    await tracking.flush()
    const lines = await readmeLines('### The `tokenquota` CLI')
    expect(lines.length).toBeGreaterThanOrEqual(9)
    // The operator's folder: the app's token_limits.yaml and the module that defines its policies in code.
    const folder = await temporaryFolder('tokenquota-cli-readme-', context)
    await copyFile(config, join(folder, 'token_limits.yaml'))
    await copyFile(fileURLToPath(new URL('testing/quota-policies.ts', import.meta.url)), join(folder, 'quota-policies.ts'))
    // The app's store and policies come from the environment, as an operator would set them; watch stops after one frame.
    const watchOnce = lines.map(({ line, args }) => ({ line, args: args[0] === 'watch' ? [...args, '--count', '1'] : args }))
    await runLines(watchOnce, { REDIS_URL: redis.server.url, TOKENQUOTA_CONFIG: config }, folder)
  })

  it("runs the credits lines of the README's 'Selling usage' section as written", async () => {
    const { quota } = creditApp(redis.client, redis.server.url, { prefix: 'tokenquota' })
    const lines = await readmeLines('## Selling usage: plans and credits')
    expect(lines.length).toBeGreaterThanOrEqual(5)
    const outcomes = await runLines(lines, { REDIS_URL: redis.server.url, TOKENQUOTA_CONFIG: creditConfig })
    expect(outcomes[1]!.stdout).toMatch(/^already applied \(key evt_1Pq7Xa\): nothing changed on credits for user alice/)
    expect((await balanceOf(quota)).balance).toBe(5000)
  })

  it('the same top-up key from three CLI processes at once credits once; the others print "already applied"', async () => {
    const { quota, flags } = creditApp(redis.client, redis.server.url)
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
    const rows = await quota.admin.ledger({ policy: 'credits', context: { user: 'alice' } })
    expect(rows.map(({ kind, amount, by, reason }) => ({ kind, amount, by, reason }))).toEqual([
      { kind: 'topup', amount: 5000, by: 'ops-test', reason: 'credit pack' },
    ])
  })
})
