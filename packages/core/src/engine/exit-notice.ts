/** Per live engine: how many of its charges are not in the store yet. */
const unsettledCounts = new Set<() => number>()
let listening = false

function sayWhatIsLeft(): void {
  let left = 0
  for (const count of unsettledCounts) left += count()
  if (left === 0) return
  globalThis.process?.stderr?.write?.(
    `tokenquota: the process exits with ${left} call(s) not settled in the store; ` +
      "their reservations will be charged when their leases expire (onLeaseExpiry: 'charge'). Call quota.close() before exiting.\n",
  )
}

/**
 * Registers an engine's count of unsettled charges, said on stderr if the process exits with
 * some left. Returns the unregistration. Does nothing where there is no `process` (edge runtimes).
 */
export function noticeUnsettledAtExit(count: () => number): () => void {
  const process = globalThis.process
  if (typeof process?.once !== 'function') return () => undefined
  unsettledCounts.add(count)
  if (!listening) {
    listening = true
    process.on('exit', sayWhatIsLeft)
  }
  return () => {
    unsettledCounts.delete(count)
  }
}
