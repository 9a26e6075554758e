// `node:async_hooks` on an edge runtime that offers AsyncLocalStorage as a global (Vercel's), or not at all.
export const AsyncLocalStorage = (globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage
