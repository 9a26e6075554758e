import { type Terminal, terminal } from './terminal.js'

/** Query parameters that carry a credential (`?password=`, `?token=`, `?auth=`, `?api_key=` …). */
const secretParameter = /pass|pwd|token|secret|auth|key|credential|signature/i

// Per terminal, so runs that share a process (the CLI's tests run it in-process) remember their own only.
const remembered = new WeakMap<Terminal, Set<string>>()

/** The credentials the running command was given. */
function known(): Set<string> {
  const current = terminal()
  const secrets = remembered.get(current) ?? new Set<string>()
  remembered.set(current, secrets)
  return secrets
}

/** Remembers a credential the CLI was given, so `scrub` removes it from anything printed. */
export function rememberSecret(value: string | undefined): void {
  if (value && value.length >= 3) known().add(value)
}

/** The text with every remembered credential (and its URL-encoded form) replaced by `***`. */
export function scrub(text: string): string {
  let clean = text
  for (const secret of known()) clean = clean.replaceAll(secret, '***').replaceAll(encodeURIComponent(secret), '***')
  return clean
}

/**
 * A URL safe to print: userinfo and credential query parameters replaced by `***`, a fragment
 * dropped; the credentials are remembered for `scrub`. A URL that does not parse is not shown.
 */
export function redactUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return '(unparseable URL)'
  }
  rememberSecret(url.password)
  rememberSecret(decoded(url.password))
  if (url.username || url.password) {
    url.username = '***'
    url.password = ''
  }
  const parameters = [...url.searchParams]
  if (parameters.some(([name]) => secretParameter.test(name))) {
    for (const [name, value] of parameters) if (secretParameter.test(name)) rememberSecret(value)
    url.search = parameters.map(([name, value]) => `${encodeURIComponent(name)}=${secretParameter.test(name) ? '***' : encodeURIComponent(value)}`).join('&')
  }
  url.hash = ''
  return url.toString()
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
