import { readFile } from 'node:fs/promises'

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
