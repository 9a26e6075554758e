import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The README each published package carries (what npm shows on its page): it says what the package
// is, how to install it and where the main README is. Its example runs, as written, against the
// built packages with the main README's, in one process (readme-examples.test.ts).
const root = fileURLToPath(new URL('..', import.meta.url))
const rootLicense = await readFile(`${root}LICENSE`, 'utf8')
const manifests = await Promise.all(
  (await readdir(`${root}packages`)).map(async (dir) => ({ dir, manifest: JSON.parse(await readFile(`${root}packages/${dir}/package.json`, 'utf8')) })),
)
const published = manifests.filter(({ manifest }) => !manifest.private)
const readmes = await Promise.all(
  published.map(async ({ dir, manifest }) => ({ dir, manifest, readme: await readFile(`${root}packages/${dir}/README.md`, 'utf8') })),
)

describe('the README, LICENSE and metadata of every published package', () => {
  it('covers the seven published packages', () => {
    expect(published.map(({ manifest }) => manifest.name).sort()).toEqual(
      ['ai-sdk', 'anthropic', 'cli', 'core', 'gemini', 'langchain', 'openai'].map((name) => `@tokenquota/${name}`),
    )
  })

  it.each(readmes.map(({ dir, manifest, readme }) => [manifest.name, dir, manifest, readme]))(
    '%s: README, LICENSE, CHANGELOG, metadata',
    async (name, dir, manifest, readme) => {
      expect(readme.startsWith(`# ${name}\n`)).toBe(true)
      expect(readme).toMatch(new RegExp(`npm install (--global )?(@tokenquota/core )?${name}`))
      expect(readme).toContain('](https://github.com/tokenquota/tokenquota#')
      expect(await readFile(`${root}packages/${dir}/LICENSE`, 'utf8')).toBe(rootLicense)
      expect(await readFile(`${root}packages/${dir}/CHANGELOG.md`, 'utf8')).toMatch(
        new RegExp(`^# ${name}\\n\\n## ${manifest.version.replaceAll('.', '\\.')}\\n`),
      )
      expect(manifest).toMatchObject({
        license: 'MIT',
        repository: { type: 'git', url: 'git+https://github.com/tokenquota/tokenquota.git', directory: `packages/${dir}` },
        homepage: `https://github.com/tokenquota/tokenquota/tree/main/packages/${dir}#readme`,
        bugs: { url: 'https://github.com/tokenquota/tokenquota/issues' },
        publishConfig: { access: 'public' },
      })
      expect(manifest.keywords.length).toBeGreaterThan(3)
      // Never a Node.js version its core does not support: core's own range, or the part of it from 22.12.
      const core = JSON.parse(await readFile(`${root}packages/core/package.json`, 'utf8'))
      expect([core.engines.node, '>=22.12.0']).toContain(manifest.engines.node)
    },
  )
})
