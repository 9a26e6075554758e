import { writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { createTokenQuota } from '@tokenquota/core'
import { trackUsage } from '@tokenquota/core/reports'
import { withTokenQuota } from '@tokenquota/openai'
import { temporaryFolder } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
// @ts-expect-error: plain ES modules without types
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
// @ts-expect-error: plain ES modules without types
import { createApp } from './app.mjs'
// @ts-expect-error: plain ES modules without types
import { trackInsights } from './insights.mjs'
// @ts-expect-error: plain ES modules without types
import { issueToken } from './tokens.mjs'
// @ts-expect-error: plain ES modules without types
import { signPayment } from './payments.mjs'
import { bundledChromium } from './bundled-chromium.js'

// The dashboard in a real headless Chromium, driven by playwright-core.
const secret = 'dashboard-secret'
const paymentSecret = 'payments-secret'
let endpoint: { baseURL: string; close(): Promise<void> }
let server: ServerType
let url: string
let browser: Browser

beforeAll(async () => {
  // Chromium starts while the app does: the two share nothing until the page is opened.
  const launching = bundledChromium().then(({ executablePath, args }) => chromium.launch({ executablePath, args }))
  endpoint = await startLocalOpenAI()
  const quota = createTokenQuota({
    policies: [
      {
        name: 'user-daily',
        identifier: 'user',
        allow: { class: 'plan', counts: { pro: 2000, free: 400 } },
        interval: 1,
        timeUnit: 'day',
        thresholds: [{ at: 0.8, action: 'warn' }],
        // Past the plan's daily allowance, calls draw on the user's prepaid credits.
        spillTo: 'credits',
      },
      { name: 'credits', type: 'balance', identifier: 'user' },
      { name: 'service-monthly', allow: 20_000, interval: 1, timeUnit: 'month' },
      { name: 'service-monthly-usd', count: 'usd', allow: 50, interval: 1, timeUnit: 'month' },
    ],
  })
  const insights = trackInsights(quota, { heavyCallTokens: 120 })
  const client = withTokenQuota(new OpenAI({ apiKey: 'local', baseURL: endpoint.baseURL, maxRetries: 0 }), { quota })
  await new Promise<void>((resolve) => {
    server = serve(
      {
        fetch: createApp({
          quota,
          client,
          secret,
          maxOutputTokens: 40,
          reports: trackUsage(quota, { alerts: { onAlert: insights.noteAlert } }),
          insights,
          paymentSecret,
        }).fetch,
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(),
    )
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launching
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => server.close(resolve))
  await endpoint.close()
})

const chat = (user: string, plan: string) =>
  fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${issueToken(secret, { sub: user, plan })}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello there, how are quotas doing?' }] }),
  })

const hostile = '<img src=x onerror="window.pwned=1">'

const long = 'Tell me everything about token quotas, windows, leases, reservations and refunds. '.repeat(8)
const chatWith = (user: string, plan: string, content: string) =>
  fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${issueToken(secret, { sub: user, plan })}` },
    body: JSON.stringify({ messages: [{ role: 'user', content }] }),
  })

/** The payment provider's webhook: dee bought a credit pack (the event id is the top-up's key). */
const purchase = JSON.stringify({ id: 'evt_pack_dee_1', type: 'credits.purchased', data: { user: 'dee', credits: 1000 } })
const deliver = (body: string, signature = signPayment(paymentSecret, body)) =>
  fetch(`${url}/webhooks/payments`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-payment-signature': signature }, body })

it('shows usage over time, per-user bars with credits and spills, alerts and recommendations, and grants or resets from its form, only for admins', async () => {
  // A credit pack sold; the provider delivers the event twice: credited once. A forged one credits nothing.
  expect(await (await deliver(purchase)).json()).toEqual({ received: true, applied: true, balance: 1000 })
  expect(await (await deliver(purchase)).json()).toEqual({ received: true, applied: false, balance: 1000 })
  expect((await deliver(purchase.replace('evt_pack_dee_1', 'evt_forged'), 'f'.repeat(64))).status).toBe(401)
  for (const credits of [0, -5, 2.5, '1000']) {
    const bad = JSON.stringify({ id: `evt_bad_${credits}`, type: 'credits.purchased', data: { user: 'dee', credits } })
    expect((await deliver(bad)).status).toBe(400)
  }

  // Each user's calls in order, the users side by side (their quotas and alerts are their own).
  const inOrder = async (calls: number, call: () => Promise<Response>) => {
    for (let made = 0; made < calls; made += 1) await call()
  }
  await Promise.all([
    inOrder(6, () => chat('ada', 'pro')),
    inOrder(3, () => chatWith('eve', 'pro', long)), // heavy calls
    chat('bob', 'pro'),
    inOrder(20, () => chat('cyd', 'free')), // runs into its limit
    chat(hostile, 'pro'),
    inOrder(20, () => chat('dee', 'free')), // past her plan's 400, into her credits
  ])

  const asBob = { headers: { authorization: `Bearer ${issueToken(secret, { sub: 'bob', plan: 'pro' })}` } }
  expect((await fetch(`${url}/api/dashboard`, asBob)).status).toBe(403)
  // Tokens only travel in the Authorization header, never in a URL.
  expect((await fetch(`${url}/api/dashboard?token=${issueToken(secret, { sub: 'ops', plan: 'admin' })}`)).status).toBe(401)

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const requested: string[] = []
  page.on('request', (request) => requested.push(request.url()))
  page.on('pageerror', (error) => console.log('PAGEERROR', error.message))
  await page.goto(`${url}/dashboard`)
  const adminToken = issueToken(secret, { sub: 'ops', plan: 'admin' })
  await page.fill('#token', adminToken)
  await page.click('#login button')
  await page.waitForSelector('body[data-ready="true"]')
  expect(requested.some((address) => address.includes(adminToken))).toBe(false)
  // A user id that is markup is shown as text, and runs nothing.
  expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined()
  expect(await page.locator('#users img').count()).toBe(0)
  const users = await page.locator('.user').allTextContents()
  expect(users.map((text) => text.split(/pro|free/)[0]).sort()).toEqual([hostile, 'ada', 'bob', 'cyd', 'dee', 'eve'].sort())
  const used = users.map((text) => Number(/([\d,]+) \//.exec(text)![1]!.replace(',', '')))
  expect(used).toEqual([...used].sort((a, b) => b - a)) // heaviest first
  const widths = await page.locator('.bar-fill').evaluateAll((bars) => bars.map((bar) => bar.getBoundingClientRect().width))
  expect(widths).toHaveLength(6)
  expect(users.every((text) => /resets 00:00/.test(text))).toBe(true)
  expect(widths.every((width) => width > 0)).toBe(true)
  expect(await page.locator('.bar-fill.high, .bar-fill.full').count()).toBeGreaterThanOrEqual(1) // cyd, near or at the limit
  // dee's plan allowance is spent and the rest spilled into her credits: her row shows both, adding up to the pack.
  const deeLine = (await page.locator('.user', { hasText: /^dee/ }).textContent())!
  expect(deeLine).toMatch(/^deefree400 \/ 400resets 00:00 credits [\d,]+ spilled [\d,]+$/)
  const [, left, spilled] = /credits ([\d,]+) spilled ([\d,]+)/.exec(deeLine)!.map((text) => Number(text.replaceAll(',', '')))
  expect(spilled).toBeGreaterThan(0)
  expect(left! + spilled!).toBe(1000)
  expect(await page.locator('.user', { hasText: /^dee/ }).locator('.badge.spill').isVisible()).toBe(true)
  expect(await page.locator('#cards').textContent()).toContain(`credits spent this month${spilled!.toLocaleString('en-US')}`)
  // A user without credits shows a zero balance and no spill.
  expect(await page.locator('.user', { hasText: /^ada/ }).textContent()).toMatch(/credits 0\s*$/)
  expect(await page.locator('#cards').textContent()).toContain('this month')
  expect(await page.locator('#models').textContent()).toContain('gpt-4o-mini')
  // A money policy prices every call: dollars show next to tokens.
  expect(await page.locator('#cards').textContent()).toMatch(/spent this month\$0\.0\d{3}/)
  expect(await page.locator('#models th').allTextContents()).toEqual(['name', 'tokens', 'cost', 'share'])
  expect(await page.locator('#models td:nth-child(3)').first().textContent()).toMatch(/^\$0\.\d{4}$/)

  // Usage over time: this hour's bar holds every token so far; the month line ends at the same
  // total, the projection goes on to the month's end, and the limit line is the monthly policy's.
  const hours = await page.locator('#hourly rect.hour').evaluateAll((bars) => bars.map((bar) => Number(bar.getAttribute('height'))))
  expect(hours).toHaveLength(24)
  expect(hours.filter((height) => height > 0)).toHaveLength(1)
  expect(await page.locator('#monthly polyline.used').count()).toBe(1)
  expect(await page.locator('#monthly line.projection').count()).toBe(1)
  expect(await page.locator('#monthly').textContent()).toContain('limit 20,000')

  // Alerts: cyd crossed 80 % of the daily limit; eve's calls are heavy. Recommendations follow.
  const alerts = await page.locator('#alerts li').allTextContents()
  expect(alerts.some((text) => /^cyd crossed 80 % of user-daily/.test(text))).toBe(true)
  expect(alerts.some((text) => /^eve: one call of \d+ tokens/.test(text))).toBe(true)
  const advice = await page.locator('#recommendations li').allTextContents()
  expect(advice.some((text) => /^eve averages \d+ tokens per call/.test(text))).toBe(true)
  expect(advice.some((text) => /^cyd was refused \d+ times today/.test(text))).toBe(true)

  const screenshot = await page.screenshot()
  expect(screenshot.subarray(1, 4).toString()).toBe('PNG')
  expect(screenshot.length).toBeGreaterThan(10_000)
  // DASHBOARD_SCREENSHOT=docs/dashboard.png renews the README's picture.
  const file = process.env.DASHBOARD_SCREENSHOT ?? join(await temporaryFolder('tokenquota-dashboard-'), 'dashboard.png')
  await writeFile(file, screenshot)

  // The admin form: a grant raises cyd's limit at once; a reset empties the window.
  const cydLine = () => page.locator('.user', { hasText: /^cyd/ }).textContent()
  expect(await cydLine()).toMatch(/\/ 400resets/)
  await page.selectOption('#admin-user', 'cyd')
  await page.fill('#admin-add', '5000')
  await page.click('#grant')
  await page.waitForSelector('body[data-ready="true"]')
  expect(await page.locator('#admin-result').textContent()).toBe('Granted 5,000 to cyd')
  expect(await cydLine()).toMatch(/\/ 5,400resets 00:00 granted/)
  expect((await chat('cyd', 'free')).status).toBe(200)
  await page.selectOption('#admin-user', 'cyd')
  await page.click('#reset')
  await page.waitForSelector('body[data-ready="true"]')
  expect(await cydLine()).toMatch(/^cydfree0 \/ 5,400/)
  const asAdmin = { authorization: `Bearer ${issueToken(secret, { sub: 'ops', plan: 'admin' })}`, 'content-type': 'application/json' }
  const missing = await fetch(`${url}/api/admin/grant`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ user: 'nobody', add: 5 }) })
  expect(missing.status).toBe(404)
  const forbidden = await fetch(`${url}/api/admin/reset`, { method: 'POST', headers: { ...asAdmin, ...asBob.headers }, body: JSON.stringify({ user: 'cyd' }) })
  expect(forbidden.status).toBe(403)
}, 60_000)
