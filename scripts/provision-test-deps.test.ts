import { spawnSync } from 'node:child_process'
import { symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { temporaryFolder } from '@tokenquota/test-support'
import { expect, it } from 'vitest'

const script = join(import.meta.dirname, 'provision-test-deps.mjs')

function provision(path: string) {
  return spawnSync(process.execPath, [script], { encoding: 'utf8', env: { PATH: path, TOKENQUOTA_NO_INSTALL: '1' } })
}

it('stops at once with the command to run when redis-server cannot be found or installed', async () => {
  // A PATH with node and nothing else: no redis-server, no package manager.
  const bin = await temporaryFolder('tokenquota-path-')
  symlinkSync(process.execPath, join(bin, 'node'))
  const result = provision(bin)
  expect(result.status).toBe(1)
  expect(result.stderr).toContain('need `redis-server` on the PATH')
  expect(result.stderr).toMatch(/Run this once, then `npm test` again:\n\n {4}\S/)
  expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
})

it('passes when redis-server is on the PATH', () => {
  const result = provision(process.env.PATH ?? '')
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
})
