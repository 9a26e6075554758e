/** The `resetAt` of a counter that never resets by itself (a credit balance: only a top-up refills it). */
export const neverResetsAt = Number.MAX_SAFE_INTEGER

/** Whether `resetAt` is a real time, one a caller can be told to wait for. */
export function resetsAt(resetAt: number): boolean {
  return resetAt < neverResetsAt
}
