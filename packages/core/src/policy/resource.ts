import { QuotaInputError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import { fail } from './config-check.js'
import { compileModelGlobs } from '../shared/model-match.js'

/** What a request consumes: a call to a model, or a call to a tool (`web_search`, an MCP tool, …). */
export type ResourceKind = 'model' | 'tool'

/** The resource of one request: its kind and name (a model call may name no model). */
export interface RequestResource {
  readonly kind: ResourceKind
  readonly name: string | undefined
}

/** Which requests a policy applies to: model calls (all, or those its `models` match), or the tool calls its `tools` match. */
export interface ResourceSelector {
  readonly kind: ResourceKind
  /** The policy's `models` or `tools` globs; `undefined`: every model call. */
  readonly globs: readonly string[] | undefined
  selects(resource: RequestResource): boolean
}

/** Longest tool name a request may carry (MCP names are `server/tool`, well under this). */
const maxToolName = 256

/**
 * The resource a request names: its `tool`, else its model (the request's, else the context's).
 * @throws QuotaInputError (`InvalidResource`) for both a model and a tool, a tool that is not a name, or a model that is not a string
 */
export function requestResource(request: { readonly model?: string; readonly tool?: string }, context: QuotaContext): RequestResource {
  const { model, tool } = request
  if (model !== undefined && typeof model !== 'string') {
    throw new QuotaInputError({ code: 'InvalidResource', message: `Expected \`model\` to be a model name (a string), got ${describeValue(model)}` })
  }
  if (tool === undefined) return { kind: 'model', name: model ?? (typeof context.model === 'string' ? context.model : undefined) }
  if (model !== undefined) {
    throw new QuotaInputError({ code: 'InvalidResource', message: `A request names one resource: a model or a tool, got model "${model}" and tool "${tool}"` })
  }
  if (typeof tool !== 'string' || tool.length === 0 || tool.length > maxToolName) {
    const shown = typeof tool === 'string' ? `a string of ${tool.length} characters` : describeValue(tool)
    throw new QuotaInputError({ code: 'InvalidResource', message: `Expected \`tool\` to be a name of 1 to ${maxToolName} characters, got ${shown}` })
  }
  return { kind: 'tool', name: tool }
}

/** A policy's `models` or `tools`, checked: never both, each a non-empty list of globs. */
export function normalizeResourceSelector(policy: string, models: unknown, tools: unknown): ResourceSelector {
  if (tools === undefined) {
    const globs = models === undefined ? undefined : checkedGlobs(policy, 'models', models, 'model-name')
    const matches = globs === undefined ? () => true : compileModelGlobs(globs)
    return { kind: 'model', globs, selects: (resource) => resource.kind === 'model' && matches(resource.name) }
  }
  if (models !== undefined) fail('InvalidConfiguration', policy, 'tools', 'absent beside `models` (a policy counts model calls or tool calls, not both)', tools)
  const globs = checkedGlobs(policy, 'tools', tools, 'tool-name')
  const matches = compileModelGlobs(globs)
  return { kind: 'tool', globs, selects: (resource) => resource.kind === 'tool' && matches(resource.name) }
}

function checkedGlobs(policy: string, field: 'models' | 'tools', globs: unknown, what: string): readonly string[] {
  if (!Array.isArray(globs) || globs.length === 0 || !globs.every((glob) => typeof glob === 'string' && glob.length > 0)) {
    fail('InvalidConfiguration', policy, field, `a non-empty array of ${what} globs`, globs)
  }
  return Object.freeze([...(globs as string[])])
}

/** A value in a message: short, with its type (`42 (number)`, `["gpt-4o"] (array)`). */
function describeValue(value: unknown): string {
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value
  let shown: string
  try {
    shown = JSON.stringify(value) ?? String(value)
  } catch {
    shown = String(value)
  }
  return `${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown} (${type})`
}
