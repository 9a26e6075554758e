import { globSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ES module without types
import { snippetModules } from './snippet-modules.mjs'

// Every TypeScript snippet of every README and every TSDoc `@example` of the published packages
// compiles, as a user's strict app would compile it: `npm run typecheck` writes each as a module of
// its own (scripts/snippet-modules.mjs) into the tsc program that checks the repository, so the SDKs'
// types load once. These tests hold that program to every snippet, at the lines it comes from.
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')
const modules = (await snippetModules(root)) as { path: string; code: string }[]
const read = (file: string) => readFileSync(`${root}/${file}`, 'utf8')

/** The source file and line a module names: `.typecheck-snippets/README.md/L120.mts` → `['README.md', 120]`. */
function origin(path: string): [string, number] {
  const [, file = '', line = '0'] = /^\.typecheck-snippets\/(.+)\/L(\d+)\.mts$/.exec(path) ?? []
  return [file, Number(line)]
}

describe('the README and TSDoc snippets in `npm run typecheck`', () => {
  it('writes one module for each TypeScript block of every README and each `@example` block of every package', () => {
    const readmes = ['README.md', ...globSync('packages/*/README.md', { cwd: root })]
    const sources = globSync('packages/*/src/**/*.ts', { cwd: root }).filter((file) => !file.endsWith('.test.ts'))
    const blocks = (file: string, pattern: RegExp) => [...read(file).matchAll(pattern)].length
    // The store-contract snippet needs a store class of the reader's; it is exercised by the MemoryStore tests.
    const expected = [
      ...readmes.map((file) => [file, blocks(file, /^```ts\n/gm) - blocks(file, /^```ts\n(?:(?!```)[\s\S])*MyStore/gm)] as const),
      ...sources.map((file) => [file, blocks(file, /^\s*\* @example\s*$/gm)] as const),
    ].filter(([, count]) => count > 0)
    const written = new Map<string, number>()
    for (const { path } of modules) written.set(origin(path)[0], (written.get(origin(path)[0]) ?? 0) + 1)
    expect([...written].sort()).toEqual(expected.map(([file, count]) => [file, count]).sort())
    expect(written.get('README.md')).toBeGreaterThanOrEqual(4)
    expect(modules.filter(({ path }) => !origin(path)[0].endsWith('README.md')).length).toBeGreaterThanOrEqual(14)
  })

  it("puts each module's code on the lines of the place it names, so that tsc's errors point there", () => {
    for (const { path, code } of modules) {
      const [file, line] = origin(path)
      const source = read(file).split('\n')
      const lines = code.trimEnd().split('\n')
      // A README block starts on the line named; a TSDoc example's prelude does, and the example ends on the source's lines.
      if (file.endsWith('README.md')) expect(lines[line - 1], path).toBe(source[line - 1])
      expect(lines.at(-1), path).toBe(source[lines.length - 1]?.replace(/^\s*\* ?/, ''))
    }
  })

  it('are compiled by `npm run typecheck` under strict and noUncheckedIndexedAccess', () => {
    const manifest = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
    expect(manifest.scripts.typecheck).toMatch(/^node scripts\/snippet-modules\.mjs && tsc -p tsconfig\.json\b/)
    expect(JSON.parse(read('tsconfig.json')).include).toContain('.typecheck-snippets/**/*.mts')
    expect(JSON.parse(read('tsconfig.base.json')).compilerOptions).toMatchObject({ strict: true, noUncheckedIndexedAccess: true })
  })
})
