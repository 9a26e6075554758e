import { existsSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { snippetsOf, typecheckSnippets } from './readme-snippets.js'
import { tsdocExamples } from './tsdoc-snippets.js'

// Every TypeScript snippet of every README and every TSDoc `@example` of the published packages
// compiles, as a user's strict app would compile it. One tsc run for all: most of a run is loading
// the SDKs' types, which every snippet shares.
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')
const scratch = `${root}/.typescript-snippets`

afterAll(() => rm(scratch, { recursive: true, force: true }))

it('compiles every TypeScript snippet of every README and every TSDoc example under strict and noUncheckedIndexedAccess', { timeout: 120_000 }, async () => {
  const readmes = [
    `${root}/README.md`,
    ...(await readdir(`${root}/packages`)).map((name) => `${root}/packages/${name}/README.md`).filter((file) => existsSync(file)),
  ]
  // The store-contract snippet needs a store class of the reader's; it is exercised by the MemoryStore tests.
  const typed = (await Promise.all(readmes.map(snippetsOf))).flat().filter((snippet) => snippet.language === 'ts' && !snippet.code.includes('MyStore'))
  const examples = await tsdocExamples(root)
  expect(typed.filter((snippet) => snippet.file === `${root}/README.md`).length).toBeGreaterThanOrEqual(4)
  expect(examples.length).toBeGreaterThanOrEqual(14)
  // Each error names the README or source file and the line it comes from.
  expect(await typecheckSnippets([...typed, ...examples], scratch, root)).toBe('')
})
