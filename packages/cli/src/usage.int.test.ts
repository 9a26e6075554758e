import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { config, tokenquotaInProcess } from './testing/harness.js'

const readme = () => readFile(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
const version = async () => (JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string }).version

describe.concurrent('usage errors: exit 2, one line and a hint, no help dump', { timeout: 60_000 }, () => {
  it.each([
    [['--foo'], 'tokenquota: unknown flag --foo (see tokenquota --help)\n'],
    [['bogus'], 'tokenquota: unknown command bogus (see tokenquota --help)\n'],
    [['stauts'], 'tokenquota: unknown command stauts (did you mean status?) (see tokenquota --help)\n'],
    [['status', '--foo'], 'tokenquota: unknown flag --foo (see tokenquota status --help)\n'],
    [['status', '--usr', 'alice'], 'tokenquota: unknown flag --usr (did you mean --user?) (see tokenquota status --help)\n'],
    [['status', '--user'], 'tokenquota: --user needs a value (see tokenquota status --help)\n'],
    [['check'], 'tokenquota: check needs a <file> (see tokenquota check --help)\n'],
    [['grant', '--user', 'alice'], 'tokenquota: grant needs --add <amount> (see tokenquota grant --help)\n'],
    [['status', 'alice'], 'tokenquota: status takes no argument, got alice (see tokenquota status --help)\n'],
  ])('tokenquota %j', async (args, stderr) => {
    const outcome = await tokenquotaInProcess(args)
    expect(outcome).toEqual({ code: 2, stdout: '', stderr })
  })

  it('with no command, prints the help on stderr and exits 2', async () => {
    const outcome = await tokenquotaInProcess([])
    expect(outcome.code).toBe(2)
    expect(outcome.stderr).toContain('Usage: tokenquota')
  })

  it('--version and -v print the package version, --help prints the help; both exit 0', async () => {
    for (const flag of ['--version', '-v']) expect(await tokenquotaInProcess([flag])).toEqual({ code: 0, stdout: `${await version()}\n`, stderr: '' })
    const help = await tokenquotaInProcess(['--help'])
    expect([help.code, help.stderr]).toEqual([0, ''])
    expect(help.stdout).toContain('Usage: tokenquota')
  })

  it('the help and the README state the same exit codes', async () => {
    const help = (await tokenquotaInProcess(['--help'])).stdout
    const line = /^Exit codes: .*$/m.exec(help)?.[0]
    expect(line).toMatch(/0 .*; 1 .*; 2 .*/)
    const flat = (text: string) => text.replace(/\s+/g, ' ')
    expect(flat(await readme()).includes(flat(line!)), `the README states: ${line}`).toBe(true)
  })
})

// The flags every command that reaches the app's store takes, with the least each command needs.
const commands: ReadonlyArray<[string, string[]]> = [
  ['status', ['--user', 'alice']],
  ['reset', ['--user', 'alice']],
  ['grant', ['--user', 'alice', '--add', '5']],
  ['set', ['--user', 'alice', '--allow', '5']],
  ['clear', ['--user', 'alice']],
  ['report', []],
  ['watch', ['--count', '1']],
]
// The refused connection answers at once: a --timeout of 1 s could fire first in a starved worker
// (7 commands side by side on a loaded 2-core machine, report loading the YAML parser meanwhile).
const connection = ['--redis-url', 'redis://127.0.0.1:1', '--prefix', 'myapp', '--hash-tag', '--timeout', '5', '--config', config]

describe.concurrent('every command takes the same connection and policy flags', { timeout: 60_000 }, () => {
  it.each(commands)('%s takes --redis-url, --prefix, --hash-tag, --timeout and --config, and lists them in its help', async (command, least) => {
    const outcome = await tokenquotaInProcess([command, ...least, ...connection])
    // The flags are taken: the command gets as far as the store, which refuses (exit 1).
    expect([outcome.code, outcome.stderr]).toEqual([
      1,
      expect.stringMatching(/^tokenquota: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.*\n$/),
    ])
    const help = (await tokenquotaInProcess([command, '--help'])).stdout
    for (const flag of ['--redis-url', '--prefix', '--hash-tag', '--timeout', '--config']) expect(help).toContain(flag)
  })

  it('report checks the --config it is given: a broken one exits 2 before connecting', async () => {
    const outcome = await tokenquotaInProcess(['report', '--config', 'no-such-file.yaml', '--redis-url', 'redis://127.0.0.1:1'])
    expect(outcome.code).toBe(2)
    expect(outcome.stderr).toMatch(/^tokenquota: .*no-such-file\.yaml/)
  })

  it("the help says check's file is all it reads (no store)", async () => {
    const help = (await tokenquotaInProcess(['--help'])).stdout
    expect(help).toMatch(/check .*no store/s)
  })
})
