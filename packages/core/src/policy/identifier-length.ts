import { QuotaInputError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'

/**
 * The longest identifier a request may carry, as for a tool name: a context's `user`, `project`,
 * `org` or tag, what a policy's `identifier` resolves to, a class, a shard. Each distinct value is
 * a counter of its own (in memory, a Redis key, a Postgres row, a report's entry): a caller must
 * not be able to send megabytes of one.
 */
export const maxIdentifierLength = 256

/** Throws `QuotaInputError` (`code`) when `value` is longer than {@link maxIdentifierLength}; `what` names it in the message. */
export function checkIdentifierLength(value: string, what: string, code: 'InvalidIdentifier' | 'InvalidContext', policy?: string): void {
  if (value.length <= maxIdentifierLength) return
  throw new QuotaInputError({
    code,
    policy,
    message: `Expected ${what} to be at most ${maxIdentifierLength} characters, got a string of ${value.length} characters`,
  })
}

/**
 * Checks the context fields every request's usage may be counted by (usage reports count `user`,
 * `project`, `org` and each of `tags`), whether or not a policy names them: a string longer than
 * {@link maxIdentifierLength} is a `QuotaInputError` (`InvalidIdentifier`).
 */
export function checkContextIdentifiers(context: QuotaContext): void {
  for (const key of ['user', 'project', 'org'] as const) {
    const value = context[key]
    if (typeof value === 'string') checkIdentifierLength(value, `context \`${key}\``, 'InvalidIdentifier')
  }
  const { tags } = context
  if (!Array.isArray(tags)) return
  for (const tag of tags) if (typeof tag === 'string') checkIdentifierLength(tag, 'each of context `tags`', 'InvalidIdentifier')
}
