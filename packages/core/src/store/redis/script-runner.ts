import { StoreUnavailableError } from '../../shared/errors.js'

/** A script with its SHA-1, for `EVALSHA`. */
export interface LuaScript {
  readonly name: string
  readonly source: string
  readonly sha: string
}

/**
 * A script and its SHA-1, written out rather than hashed at load time: the Upstash entry runs where
 * `node:crypto` does not. A test checks each SHA against its source and against Redis.
 */
export function luaScript(name: string, source: string, sha: string): LuaScript {
  return { name, source, sha }
}

/** Runs a Lua script by SHA, or by source. */
export interface ScriptTransport {
  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>
  eval(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown>
}

function isNoScript(error: unknown): boolean {
  return /NOSCRIPT/i.test(error instanceof Error ? error.message : String(error))
}

/**
 * Runs a script with `EVALSHA`, falling back to `EVAL` (which also caches it) when the server does
 * not know it yet (`NOSCRIPT`: a restart, `SCRIPT FLUSH`, a failover). Each call is bounded by
 * `timeoutMs`; any failure becomes `StoreUnavailableError`.
 */
export async function runScript(
  transport: ScriptTransport,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
  timeoutMs: number,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError({ message: `Redis did not answer the ${script.name} script within ${timeoutMs} ms` })), timeoutMs)
  })
  const call = (async () => {
    try {
      return await transport.evalsha(script.sha, keys, args)
    } catch (error) {
      if (!isNoScript(error)) throw error
      return transport.eval(script.source, keys, args)
    }
  })()
  try {
    return await Promise.race([call, timeout])
  } catch (error) {
    if (StoreUnavailableError.isInstance(error)) {
      call.catch(() => undefined) // the late answer of a timed-out call has no one to go to
      throw error
    }
    throw new StoreUnavailableError({
      message: `Redis failed during the ${script.name} script: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    })
  } finally {
    clearTimeout(timer)
  }
}
