/** A parsed JSON object (a request body, a response, a streamed event), its fields not yet checked. */
export type Json = Record<string, unknown>

/** Whether a value is a JSON object: not `null`, not an array. */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value when it is an integer above zero, else `undefined` (a request's `n`, `max_tokens`, …). */
export function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}
