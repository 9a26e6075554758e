// What the dashboard shows beyond counters: tokens per hour and per day (from the quota's usage
// events), the alerts raised (thresholds crossed, anomalies, heavy calls) and recommendations drawn
// from them. In memory, bounded: 62 days of hours, the last 50 alerts, today's per-user calls.
const hourMs = 3_600_000
const dayMs = 24 * hourMs
const keptHours = 62 * 24
const keptAlerts = 50

/** @param {import('@tokenquota/core').TokenQuota} quota */
export function trackInsights(quota, { now = quota.now, heavyCallTokens = 1000 } = {}) {
  const hours = new Map()
  const alerts = []
  /** Today's calls per user: tokens, calls, refusals. */
  let today = { day: -1, users: new Map() }

  const rollover = () => {
    const day = Math.floor(now() / dayMs)
    if (today.day !== day) today = { day, users: new Map() }
  }
  const userToday = (user) => {
    rollover()
    let entry = today.users.get(user)
    if (!entry) {
      entry = { tokens: 0, calls: 0, refusals: 0 }
      today.users.set(user, entry)
    }
    return entry
  }
  const alert = (entry) => {
    alerts.unshift({ at: now(), ...entry })
    alerts.length = Math.min(alerts.length, keptAlerts)
  }

  quota.on('usage', (event) => {
    const hour = Math.floor(now() / hourMs) * hourMs
    hours.set(hour, (hours.get(hour) ?? 0) + event.usage.total)
    if (hours.size > keptHours) hours.delete(hours.keys().next().value)
    if (typeof event.context.user !== 'string') return
    const entry = userToday(event.context.user)
    entry.tokens += event.usage.total
    entry.calls += 1
    if (event.usage.total >= heavyCallTokens)
      alert({ kind: 'efficiency', user: event.context.user, message: `${event.context.user}: one call of ${event.usage.total} tokens` })
  })
  quota.on('exceeded', (event) => {
    if (typeof event.context.user === 'string') userToday(event.context.user).refusals += 1
  })
  quota.on('threshold', (event) => {
    const who = event.identifier ?? 'everyone'
    alert({
      kind: 'threshold',
      user: event.identifier,
      message: `${who} crossed ${Math.round(event.threshold.at * 100)} % of ${event.policy} (${Math.round(event.used)} of ${Math.round(event.allowed)} ${event.unit})`,
    })
  })

  return {
    /** A usage-tracking alert (anomaly, efficiency), from `trackUsage`'s `onAlert`. */
    noteAlert: (usageAlert) => alert({ kind: usageAlert.kind, user: usageAlert.user, message: usageAlert.message }),
    /** Tokens per hour today, and per day this month (UTC). */
    history() {
      const at = now()
      const dayStart = Math.floor(at / dayMs) * dayMs
      const date = new Date(at)
      const monthStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)
      const hourly = Array.from({ length: 24 }, (_, index) => ({ at: dayStart + index * hourMs, tokens: hours.get(dayStart + index * hourMs) ?? 0 }))
      const days = []
      for (let start = monthStart; start <= at; start += dayMs) {
        let tokens = 0
        for (let hour = start; hour < start + dayMs; hour += hourMs) tokens += hours.get(hour) ?? 0
        days.push({ day: new Date(start).toISOString().slice(0, 10), tokens })
      }
      return { hourly, days, monthEnd: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) }
    },
    alerts: () => [...alerts],
    /** Advice from today's users: heavy calls, callers at their limit, refusals. */
    recommendations(users) {
      rollover()
      return recommendationsOf(today.users, users, heavyCallTokens)
    },
  }
}

/**
 * @param {Map<string, { tokens: number, calls: number, refusals: number }>} todayByUser
 * @param {Array<{ user: string, plan: string, used: number, allowed: number }>} users
 */
function recommendationsOf(todayByUser, users, heavyCallTokens) {
  const advice = []
  const all = [...todayByUser]
  const calls = all.reduce((sum, [, entry]) => sum + entry.calls, 0)
  const average = calls > 0 ? all.reduce((sum, [, entry]) => sum + entry.tokens, 0) / calls : 0
  for (const [user, entry] of all) {
    if (entry.calls < 2) continue
    const perCall = entry.tokens / entry.calls
    if (perCall >= heavyCallTokens && perCall > 2 * average) {
      advice.push({
        user,
        kind: 'tokens-per-call',
        message: `${user} averages ${Math.round(perCall)} tokens per call, ${(perCall / average).toFixed(1)}× the average: trim the history sent or lower max_tokens`,
      })
    }
    if (entry.refusals > 0)
      advice.push({
        user,
        kind: 'refused',
        message: `${user} was refused ${entry.refusals} time${entry.refusals === 1 ? '' : 's'} today: grant a temporary increase or move them to a larger plan`,
      })
  }
  for (const user of users) {
    if (user.allowed > 0 && user.used / user.allowed >= 0.8 && !advice.some((entry) => entry.user === user.user && entry.kind === 'refused')) {
      advice.push({
        user: user.user,
        kind: 'near-limit',
        message: `${user.user} has used ${Math.round((user.used / user.allowed) * 100)} % of today's ${user.plan} limit`,
      })
    }
  }
  return advice
}
