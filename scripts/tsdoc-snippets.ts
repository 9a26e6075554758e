import { readdir, readFile } from 'node:fs/promises'
import type { Snippet } from './readme-snippets.js'

// A TSDoc `@example` is a fragment: the names it uses without defining (`quota`, `policies`, the
// package's own exports, its provider's client) come from its package's prelude below.

const common = `import type { QuotaContext, QuotaPolicy, TokenQuota } from '@tokenquota/core'
declare const quota: TokenQuota
declare const policies: QuotaPolicy[]
declare const caller: QuotaContext
declare const response: Response
`
const preludes: Record<string, string> = {
  core: `import { createTokenQuota, genaiPrices, priceTable, rateLimitHeaders, type QuotaPolicy as Policy } from '@tokenquota/core'
import { loadQuotaConfig } from '@tokenquota/core/config'`,
  openai: `import OpenAI from 'openai'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { createExactEstimator, withTokenQuota } from '@tokenquota/openai'
declare const messages: ChatCompletionMessageParam[]`,
  anthropic: `import Anthropic from '@anthropic-ai/sdk'
import { withTokenQuota } from '@tokenquota/anthropic'
declare const messages: Anthropic.MessageParam[]`,
  gemini: `import { GoogleGenAI } from '@google/genai'
import { withTokenQuota } from '@tokenquota/gemini'
declare const apiKey: string`,
  'ai-sdk': `import { openai } from '@ai-sdk/openai'
import { wrapLanguageModel } from 'ai'
import { tokenQuotaMiddleware } from '@tokenquota/ai-sdk'`,
  langchain: `import { ChatOpenAI } from '@langchain/openai'
import type { BaseMessageLike } from '@langchain/core/messages'
import { TokenQuotaCallbackHandler } from '@tokenquota/langchain'
declare const model: ChatOpenAI
declare const messages: BaseMessageLike[]`,
}

/** The `@example` blocks of a source file, each with the line its code starts on. */
function examplesOf(file: string, text: string): Snippet[] {
  const lines = text.split('\n')
  const examples: Snippet[] = []
  lines.forEach((line, index) => {
    if (!/^\s*\* @example\s*$/.test(line)) return
    const body: string[] = []
    for (let at = index + 1; at < lines.length && !/^\s*\*\/|^\s*\* @\w/.test(lines[at] ?? ''); at += 1) body.push((lines[at] ?? '').replace(/^\s*\* ?/, ''))
    examples.push({ file, line: index + 2, language: 'ts', code: `${body.join('\n')}\n` })
  })
  return examples
}

/** The prelude's `declare const` of a name the example defines itself (`const quota = …`) is left out. */
function withPrelude(example: Snippet, prelude: string): Snippet {
  const own = new Set(
    [...example.code.matchAll(/\bconst\s+(?:\{([^}]*)\}|(\w+))/g)].flatMap((match) => (match[1] ?? match[2] ?? '').split(/[\s,]+/).filter(Boolean)),
  )
  const lines = prelude.split('\n').filter((line) => !own.has(/^declare const (\w+)/.exec(line)?.[1] ?? ''))
  // Errors point at the source file's lines: the prelude sits just above the example.
  return { ...example, line: example.line - lines.length, code: `${lines.join('\n')}\n${example.code}` }
}

/** Every TSDoc `@example` of the published packages under `root`, each with its package's prelude. */
export async function tsdocExamples(root: string): Promise<Snippet[]> {
  const examples: Snippet[] = []
  for (const name of Object.keys(preludes)) {
    const folder = `${root}/packages/${name}/src`
    const files = (await readdir(folder, { recursive: true })).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    for (const file of files) {
      const path = `${folder}/${file}`
      for (const example of examplesOf(path, await readFile(path, 'utf8'))) examples.push(withPrelude(example, `${common}${preludes[name]}`))
    }
  }
  return examples
}
