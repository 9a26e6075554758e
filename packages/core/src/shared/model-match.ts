/**
 * Compiles model-name globs (`*` any run of characters, `?` one character) into a matcher.
 * Matching ignores case: providers report `gpt-4o` and users type `GPT-4o`.
 */
export function compileModelGlobs(globs: readonly string[]): (model: string | undefined) => boolean {
  const source = globs
    .map((glob) =>
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.'),
    )
    .join('|')
  const pattern = new RegExp(`^(?:${source})$`, 'i')
  return (model) => model !== undefined && pattern.test(model)
}
