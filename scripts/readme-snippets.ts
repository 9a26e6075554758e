import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'

/** A fenced block of a Markdown file, with the line its code starts on (1-based). */
export interface Snippet {
  readonly file: string
  readonly line: number
  readonly language: string
  readonly code: string
}

/** Every fenced block of `file` (a path), in order. */
export async function snippetsOf(file: string): Promise<Snippet[]> {
  const text = await readFile(file, 'utf8')
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].map((match) => ({
    file,
    line: text.slice(0, match.index).split('\n').length + 1,
    language: match[1] ?? '',
    code: match[2] ?? '',
  }))
}

/** A `console.log(…)` line's trailing comment: the output the README says it prints. */
const shownOutput = /^\s*console\.(?:log|warn|error)\(.*\)\s*\/\/ (.*)$/

/**
 * What a snippet says it prints, line by line: a `console.log(…) // → text` line shows `text`.
 * A trailing comment on a `console.log` line that is not an output (no `→`) is returned in
 * `unmarked`, so a description cannot pass for an output nobody checks.
 */
export function shownOutputs(code: string): { outputs: string[]; unmarked: string[] } {
  const outputs: string[] = []
  const unmarked: string[] = []
  for (const line of code.split('\n')) {
    const comment = shownOutput.exec(line)?.[1]
    if (comment === undefined) continue
    if (comment.startsWith('→ ')) outputs.push(comment.slice(2))
    else unmarked.push(line)
  }
  return { outputs, unmarked }
}

/** The options a user's strict app compiles with; `npm run typecheck` uses the same in tsconfig.base.json. */
const strictOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  lib: ['es2023'],
  types: ['node'],
  noEmit: true,
  skipLibCheck: true,
}

/**
 * Type-checks each snippet as its own ES module in `folder` (inside the repository, so packages
 * resolve as an app's would) with the strict options; answers tsc's errors, each located at the
 * snippet's file and line (`README.md:91:13: error TS2532: …`), or `''` when all compile.
 */
export async function typecheckSnippets(snippets: readonly Snippet[], folder: string, root: string): Promise<string> {
  await mkdir(folder, { recursive: true })
  const files = new Map<string, Snippet>(snippets.map((snippet, index) => [`snippet-${index}.mts`, snippet]))
  for (const [name, snippet] of files) await writeFile(`${folder}/${name}`, snippet.code)
  await writeFile(`${folder}/tsconfig.json`, JSON.stringify({ compilerOptions: strictOptions, files: [...files.keys()] }))
  const tsc = `${root}/node_modules/typescript/bin/tsc`
  const outcome = await promisify(execFile)(process.execPath, [tsc, '-p', folder]).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  )
  return outcome.replace(/\S*(snippet-\d+\.mts)\((\d+),(\d+)\)/g, (_, name: string, line: string, column: string) => {
    const snippet = files.get(name)
    return `${snippet?.file.slice(root.length + 1)}:${(snippet?.line ?? 0) + Number(line) - 1}:${column}`
  })
}
