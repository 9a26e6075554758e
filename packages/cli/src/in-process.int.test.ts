import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { app as appOn, config, type Outcome, spend, tokenquota, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// The CLI's tests run most commands in-process (tokenquotaInProcess): it must say what the bin says.

const redis = useRedisServer()

const alice = { user: 'alice', plan: 'premium', project: 'production' }
const caller = ['--user', 'alice', '--plan', 'premium', '--project', 'production']
const refused = ['--redis-url', 'redis://127.0.0.1:1', '--config', config]

describe.concurrent('in-process runs print and exit as the bin does', { timeout: 60_000 }, () => {
  it.each([
    ['a usage error', ['status', '--usr', 'alice']],
    ['no command', []],
    ['--help', ['--help']],
    ['--version', ['--version']],
    ['check --json', ['check', config, '--json']],
    ['a write to a store that refuses', ['grant', ...caller, '--policy', 'user-daily', '--add', '5', ...refused]],
    ['no store', ['status', ...caller, '--config', config]],
  ])('%s', async (_, args) => {
    const [bin, inProcess] = await Promise.all([tokenquota(args), tokenquotaInProcess(args)])
    expect(inProcess).toEqual(bin)
  })

  it('status, report and watch on a store, with a URL and a config from the environment', async () => {
    const { quota, tracking, store } = await appOn(redis.client, redis.server.url)
    await spend(quota, alice, 700, 300)
    await tracking.flush()
    const env = { REDIS_URL: redis.server.url, TOKENQUOTA_CONFIG: config }
    const prefix = store.slice(2)
    const runs = [
      ['status', ...caller, ...prefix],
      ['status', ...caller, '--json', ...prefix],
      ['report', '--by', 'model', ...prefix],
      ['watch', '--count', '1', ...prefix],
    ].map(async (args) => ({ args, outcomes: await Promise.all([tokenquota(args, env), tokenquotaInProcess(args, env)]) }))
    // What depends on the moment of the run: watch's heading names its minute, a rolling window starts
    // a minute ago, the report's burn rate and projection divide by the hours gone.
    const timeless = (outcome: Outcome) => ({
      ...outcome,
      stdout: outcome.stdout
        .replace(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/, 'MINUTE')
        .replace(/("windowStart": )\d+/g, '$1NOW')
        .replace(/^burn rate [\d,]+ tokens\/hour; this month projected at [\d,]+ tokens$/m, 'burn rate N tokens/hour; this month projected at N tokens'),
    })
    for (const {
      args,
      outcomes: [bin, inProcess],
    } of await Promise.all(runs)) {
      expect(timeless(inProcess), `${args.join(' ')}\n${inProcess.stderr}`).toEqual(timeless(bin))
      expect(bin.code, bin.stderr).toBe(0)
    }
  })

  it('a write names the operator of the environment given, and leaves the exit code of the test process alone', async () => {
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    const granted = await tokenquotaInProcess(['grant', ...caller, '--policy', 'user-daily', '--add', '5', ...flags], { USER: 'night-shift' })
    expect([granted.code, granted.stderr]).toEqual([0, ''])
    expect((await quota.admin.audit()).map((entry) => entry.by)).toEqual(['night-shift'])
    const failed = await tokenquotaInProcess(['--foo'])
    expect(failed.code).toBe(2)
    expect(process.exitCode ?? 0).toBe(0)
  })

  it('runs side by side keep their own output', async () => {
    const users = ['alice', 'bob', 'carol', 'dave']
    const runs = await Promise.all(users.map((user) => tokenquotaInProcess(['check', `missing-${user}.yaml`])))
    runs.forEach((run, at) => {
      expect(run).toMatchObject({ code: 2, stdout: '' })
      expect(run.stderr).toMatch(new RegExp(`^tokenquota: [^\\n]*missing-${users[at]}\\.yaml[^\\n]*\\n$`))
    })
  })

  it("a credential one run was given is no other run's: each scrubs only its own", async () => {
    const given = await tokenquotaInProcess(['status', ...caller, '--config', config, '--redis-url', 'redis://ops:hunter2@127.0.0.1:1'])
    expect(given.stderr).toMatch(/^tokenquota: cannot connect to Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1: /)
    // In a process of its own, this run prints the file's name whole (the bin's output, written out):
    // so must it in-process, after the other.
    const other = await tokenquotaInProcess(['check', 'missing-hunter2.yaml'])
    expect(other).toEqual({
      code: 2,
      stdout: '',
      stderr: `tokenquota: invalid config: Cannot read "missing-hunter2.yaml": ENOENT: no such file or directory, open 'missing-hunter2.yaml'\n`,
    })
  })

  it("every command prints and reads its environment through the terminal (terminal.ts), so that in-process runs see what the bin's would", async () => {
    const folder = fileURLToPath(new URL('.', import.meta.url))
    const sources = (await readdir(folder, { recursive: true })).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.startsWith('testing'),
    )
    expect(sources).toContain('commands/status.ts')
    const direct: string[] = []
    for (const file of sources.filter((name) => name !== 'terminal.ts' && name !== 'cli.ts'))
      if (/process\.(stdout|stderr|env|exitCode|exit\b)/.test(await readFile(join(folder, file), 'utf8'))) direct.push(file)
    expect(direct).toEqual([])
  })
})
