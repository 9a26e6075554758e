#!/usr/bin/env node
// Writes every TypeScript snippet of every README and every TSDoc `@example` of the published
// packages as an ES module of its own under .typecheck-snippets/, which tsconfig.json includes:
// `npm run typecheck` compiles them in its one tsc program (the SDKs' types loaded once, not in a
// second tsc run). Each module is named after the place it comes from, and blank lines put its code
// on that place's lines: tsc's `.typecheck-snippets/README.md/L119.mts(125,7)` is README.md line 125.
import { existsSync } from 'node:fs'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { snippetsOf } from './readme-snippets.ts'
import { tsdocExamples } from './tsdoc-snippets.ts'

/** Every snippet that type-checks as a user's module: `{ path: where it is written, code }`, paths relative to `root`. */
export async function snippetModules(root) {
  const readmes = [
    `${root}/README.md`,
    ...(await readdir(`${root}/packages`)).map((name) => `${root}/packages/${name}/README.md`).filter((file) => existsSync(file)),
  ]
  // The store-contract snippet needs a store class of the reader's; it is exercised by the MemoryStore tests.
  const typed = (await Promise.all(readmes.map(snippetsOf))).flat().filter((snippet) => snippet.language === 'ts' && !snippet.code.includes('MyStore'))
  return [...typed, ...(await tsdocExamples(root))].map((snippet) => ({
    path: `.typecheck-snippets/${snippet.file.slice(root.length + 1)}/L${snippet.line}.mts`,
    code: `${'\n'.repeat(Math.max(0, snippet.line - 1))}${snippet.code}`,
  }))
}

/** Replaces `root`/.typecheck-snippets/ with the modules of `snippetModules`; answers them. */
export async function writeSnippetModules(root) {
  await rm(`${root}/.typecheck-snippets`, { recursive: true, force: true })
  const modules = await snippetModules(root)
  for (const { path, code } of modules) {
    await mkdir(dirname(`${root}/${path}`), { recursive: true })
    await writeFile(`${root}/${path}`, code)
  }
  return modules
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await writeSnippetModules(fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, ''))
