/**
 * Starts `count` calls against a provider route that never answers (`hang()`), waits until every
 * request has arrived, aborts them all and waits for each to settle (an aborted call may reject or,
 * for some stream helpers, end quietly). Returns what `held()` read while they were in flight —
 * the tokens reserved for them — to compare with what was charged afterwards.
 */
export async function abortOnceArrived(options: {
  readonly server: { arrived(count: number): Promise<void>; readonly calls: readonly unknown[] }
  readonly start: (signal: AbortSignal, index: number) => Promise<unknown>
  readonly held: () => Promise<number>
  readonly count?: number
}): Promise<number> {
  const count = options.count ?? 5
  const controller = new AbortController()
  const arrivedBefore = options.server.calls.length
  const calls = Array.from({ length: count }, (_, index) => options.start(controller.signal, index).catch(() => undefined))
  await options.server.arrived(arrivedBefore + count)
  const held = await options.held()
  controller.abort()
  await Promise.all(calls)
  return held
}
