// The dashboard's API, for admins: GET /api/dashboard (counters and credits, usage over time, alerts,
// recommendations), POST /api/admin/grant and /api/admin/reset (through quota.admin, audited).

/**
 * @param {import('hono').Hono} app
 * @param {{ quota: import('@tokenquota/core').TokenQuota, reports?: import('@tokenquota/core/reports').UsageTracking, insights?: ReturnType<typeof import('./insights.mjs').trackInsights>, plans: Map<string, string>, adminOnly: import('hono').MiddlewareHandler, bodyLimit: import('hono').MiddlewareHandler }} options
 */
export function dashboardRoutes(app, { quota, reports, insights, plans, adminOnly, bodyLimit }) {
  /** Each user's own daily window (the first policy counting them by identifier), with plan, reset time and overrides, and their credits. */
  const userRows = () =>
    Promise.all(
      [...plans].map(async ([user, plan]) => {
        const rows = await quota.admin.inspect({ user, plan })
        const own = rows.find((row) => row.identifier === user)
        const window = { used: own.used, allowed: own.allowed, available: own.available, resetAt: own.resetAt, overrides: own.overrides }
        return { user, plan, ...window, credits: await creditsOf(user, own.windowStart) }
      }),
    )

  // The balance policy the plans spill into, if the quota has one.
  const balance = quota.policies.find((policy) => policy.type === 'balance')
  /** A user's balance, and what their calls drew from it since `since` (their plan window's start): the spill past the plan's allowance. */
  const creditsOf = async (user, since) => {
    if (!balance) return undefined
    const context = { user }
    const { balance: left, available } = await quota.admin.credits({ policy: balance.name, context })
    const rows = await quota.admin.ledger({ policy: balance.name, context, limit: 1000 })
    const spilled = rows.filter((row) => row.kind === 'charge' && row.at >= since).reduce((total, row) => total - row.amount, 0)
    return { balance: left, available, spilled }
  }

  app.get('/api/dashboard', adminOnly, async (c) => {
    const report = reports ? await reports.report() : undefined
    const users = (await userRows()).sort((a, b) => b.used - a.used)
    // The limit line of the month chart: the tightest shared monthly token policy, if any.
    const monthlyPolicies = new Set(
      quota.policies
        .filter((policy) => policy.timeUnit === 'month' && policy.identifier === undefined && policy.unit === 'tokens')
        .map((policy) => policy.name),
    )
    const monthly = (await quota.admin.inspect({})).filter((entry) => monthlyPolicies.has(entry.policy))
    const monthLimit = monthly.length > 0 ? Math.min(...monthly.map((entry) => entry.allowed)) : undefined
    return c.json({
      report,
      users,
      usage: insights ? { ...insights.history(), monthLimit, projectedMonth: report?.projectedMonth } : undefined,
      alerts: insights?.alerts() ?? [],
      recommendations: insights?.recommendations(users) ?? [],
    })
  })

  // The dashboard's admin form: grant tokens for some hours, or reset today's window, of a known user.
  const adminAction = (act) => async (c) => {
    const body = await c.req.json().catch(() => ({}))
    const plan = plans.get(body.user)
    if (typeof body.user !== 'string' || plan === undefined) return c.json({ error: { message: 'No such user', type: 'not_found' } }, 404)
    await act({ user: body.user, plan }, body, c.get('caller').user)
    return c.json({ ok: true })
  }
  app.post(
    '/api/admin/grant',
    adminOnly,
    bodyLimit,
    adminAction((context, body, by) =>
      quota.admin.grant({
        policy: 'user-daily',
        context,
        add: Number(body.add),
        until: Date.now() + Number(body.hours ?? 24) * 3_600_000,
        by,
        reason: 'dashboard',
      }),
    ),
  )
  app.post(
    '/api/admin/reset',
    adminOnly,
    bodyLimit,
    adminAction((context, _body, by) => quota.admin.reset({ policy: 'user-daily', context, by, reason: 'dashboard' })),
  )
}
