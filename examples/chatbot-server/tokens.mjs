// Signed access tokens (HMAC-SHA256, like a minimal HS256 JWT): the server learns who the end user
// is and on which plan from a token it issued itself, never from a header the client chooses.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const sign = (secret, payload) => createHmac('sha256', secret).update(payload).digest('base64url')

/** Issues a token for `{ sub, plan }`, valid for `ttlSeconds`. */
export function issueToken(secret, { sub, plan }, { ttlSeconds = 3600, now = Date.now() } = {}) {
  const payload = encode({ sub, plan, exp: Math.floor(now / 1000) + ttlSeconds })
  return `${payload}.${sign(secret, payload)}`
}

/** The token's claims when its signature is valid and it has not expired; otherwise `undefined`. */
export function verifyToken(secret, token, now = Date.now()) {
  const [payload, signature, extra] = String(token ?? '').split('.')
  if (!payload || !signature || extra !== undefined) return undefined
  const expected = Buffer.from(sign(secret, payload))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    if (typeof claims.sub !== 'string' || typeof claims.plan !== 'string' || !(claims.exp * 1000 > now)) return undefined
    return claims
  } catch {
    return undefined
  }
}

/**
 * The signing secret: `TOKEN_SECRET`. Without it, production refuses to start (a well-known
 * default would let anyone mint tokens); a local run gets a random one, and says so.
 */
export function tokenSecret(env = process.env, log = console.log) {
  if (env.TOKEN_SECRET) return env.TOKEN_SECRET
  if (env.NODE_ENV === 'production') throw new Error('TOKEN_SECRET is not set: refusing to start in production without a signing secret')
  log('TOKEN_SECRET is not set: signing tokens with a random secret for this run (tokens end with the process)')
  return randomBytes(32).toString('base64url')
}
