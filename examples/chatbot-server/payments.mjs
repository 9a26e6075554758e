// A payment provider's webhook (Stripe-like): a paid credit pack tops up the buyer's credits. The
// event's id is the top-up's key, so a delivery the provider retries or an attacker replays
// credits once. The body is signed (HMAC-SHA256 of the raw body, hex, in x-payment-signature).
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The signature the provider sends with `body`. */
export function signPayment(secret, body) {
  return createHmac('sha256', secret).update(body).digest('hex')
}

function signedBy(secret, body, signature) {
  const expected = Buffer.from(signPayment(secret, body))
  const given = Buffer.from(String(signature ?? ''))
  return expected.length === given.length && timingSafeEqual(expected, given)
}

/** A `credits.purchased` event with its id, the buyer and a positive whole number of credits; else `undefined`. */
function purchaseOf(body) {
  try {
    const event = JSON.parse(body)
    const { user, credits } = event?.data ?? {}
    if (event.type !== 'credits.purchased' || typeof event.id !== 'string' || event.id === '') return undefined
    if (typeof user !== 'string' || user === '' || !Number.isSafeInteger(credits) || credits <= 0) return undefined
    return { id: event.id, user, credits }
  } catch {
    return undefined
  }
}

/**
 * POST /webhooks/payments: before the routes that need a user's token (the provider has none).
 * @param {import('hono').Hono} app
 * @param {{ quota: import('@tokenquota/core').TokenQuota, secret: string, policy: string, bodyLimit: import('hono').MiddlewareHandler }} options
 */
export function paymentWebhook(app, { quota, secret, policy, bodyLimit }) {
  app.post('/webhooks/payments', bodyLimit, async (c) => {
    const body = await c.req.text()
    if (!signedBy(secret, body, c.req.header('x-payment-signature'))) return c.json({ error: { message: 'Bad signature', type: 'unauthorized' } }, 401)
    const purchase = purchaseOf(body)
    if (!purchase) return c.json({ error: { message: 'Expected a credits.purchased event', type: 'invalid_request_error' } }, 400)
    const { applied, balance } = await quota.admin.topUp({
      policy,
      context: { user: purchase.user },
      amount: purchase.credits,
      key: purchase.id,
      by: 'payments',
      reason: 'credit pack',
    })
    return c.json({ received: true, applied, balance: balance.balance })
  })
}
