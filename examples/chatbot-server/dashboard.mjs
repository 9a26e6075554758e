// A one-file dashboard: tokens per hour today and per day this month (with the projection and the
// limit), usage bars per user against their plan's daily allowance with their credit balance and
// what spilled into it, alerts, recommendations, an admin form to
// grant or reset, this month's breakdowns. The page holds no data: it asks for an admin token, keeps it in sessionStorage (never
// in the URL) and reads /api/dashboard with it in the Authorization header. Every value goes in as
// text (textContent), never as HTML: user ids, plans, projects and models come from callers.
const styles = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; background: #f6f8fa; }
  h1 { font-size: 20px; margin: 0 0 16px; }
  h2 { font-size: 15px; margin: 24px 0 8px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; }
  .card { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; min-width: 150px; }
  .card b { display: block; font-size: 22px; }
  .user { display: grid; grid-template-columns: 120px 70px 1fr 140px; align-items: center; gap: 8px; margin: 6px 0; }
  .bar { background: #e6e9ed; border-radius: 4px; height: 14px; overflow: hidden; }
  .bar-fill { background: #2f81f7; height: 100%; }
  .bar-fill.high { background: #d29922; }
  .bar-fill.full { background: #cf222e; }
  table { border-collapse: collapse; background: #fff; }
  td, th { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }
  #login[hidden], #report[hidden] { display: none; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 16px; }
  .panel { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 14px 12px; }
  .panel h2 { margin: 4px 0 8px; }
  svg { width: 100%; height: auto; display: block; }
  svg text { font-size: 10px; fill: #57606a; }
  .user { grid-template-columns: 110px 50px 1fr 120px 90px 150px; }
  .badge.spill { background: #fff8c5; }
  .reset, .badge { color: #57606a; font-size: 12px; }
  .badge { background: #ddf4ff; border-radius: 10px; padding: 0 6px; }
  ul { margin: 0; padding-left: 18px; }
  li { margin: 3px 0; }
  li.threshold, li.refused, li.near-limit { color: #9a6700; }
  li.anomaly { color: #cf222e; }
  #admin { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  #admin input { width: 80px; }
  #admin select { width: 130px; }
  .user > span:first-child { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
`

// Runs in the browser: every value goes in as text (textContent, text nodes), never as HTML.
const script = `
const format = (n) => Math.round(n).toLocaleString('en-US')
const dollars = (n) => '$' + n.toFixed(n < 1 ? 4 : 2)
/** An element with text children (strings become text nodes, never HTML). */
function element(tag, attributes, ...children) {
  const node = Object.assign(document.createElement(tag), attributes)
  node.append(...children)
  return node
}
/** A breakdown: tokens, and dollars next to them once some call was priced (a money policy). */
function rows(table, entries, priced) {
  const cost = (entry) => (priced ? [element('td', {}, dollars(entry.costUsd))] : [])
  table.replaceChildren(
    element('tr', {}, element('th', {}, 'name'), element('th', {}, 'tokens'), ...(priced ? [element('th', {}, 'cost')] : []), element('th', {}, 'share')),
    ...entries.map((entry) => element('tr', {}, element('td', {}, entry.name), element('td', {}, format(entry.tokens)), ...cost(entry), element('td', {}, (entry.share * 100).toFixed(1) + ' %'))),
  )
}
function userRow(user) {
  const share = user.allowed > 0 ? Math.min(1, user.used / user.allowed) : 1
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'high' : ''
  const fill = element('div', { className: ('bar-fill ' + level).trim() })
  fill.style.width = (share * 100).toFixed(1) + '%'
  const granted = user.overrides.length > 0 ? element('span', { className: 'badge', title: 'override in force' }, 'granted') : ''
  const resets = element('span', { className: 'reset' }, 'resets ' + new Date(user.resetAt).toISOString().slice(11, 16) + ' ', granted)
  return element('div', { className: 'user' }, element('span', {}, user.user), element('span', {}, user.plan), element('div', { className: 'bar' }, fill), element('span', {}, format(user.used) + ' / ' + format(user.allowed)), resets, creditsCell(user.credits))
}
/** The user's credit balance, and what spilled into it past the plan's allowance in this window. */
function creditsCell(credits) {
  if (!credits) return ''
  const spill = credits.spilled > 0 ? element('span', { className: 'badge spill', title: 'charged to credits past the plan allowance' }, 'spilled ' + format(credits.spilled)) : ''
  return element('span', { className: 'credits' }, 'credits ' + format(credits.balance) + ' ', spill)
}
const SVG = 'http://www.w3.org/2000/svg'
function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value))
  node.append(...children)
  return node
}
const chart = { width: 600, height: 170, left: 48, bottom: 18 }
/** A y axis of 0 and max, and the plotting scale. */
function scaleOf(max) {
  const top = max > 0 ? max * 1.1 : 1
  const y = (value) => chart.height - chart.bottom - (value / top) * (chart.height - chart.bottom - 8)
  const axis = [svg('line', { x1: chart.left, y1: y(0), x2: chart.width, y2: y(0), stroke: '#d0d7de' }), svg('text', { x: 2, y: y(0) }, '0'), svg('text', { x: 2, y: y(max) + 4 }, format(max))]
  return { y, axis }
}
function hourlyChart(hours) {
  const { y, axis } = scaleOf(Math.max(...hours.map((hour) => hour.tokens)))
  const step = (chart.width - chart.left) / 24
  const bars = hours.map((hour, index) =>
    svg('rect', { class: 'hour', x: chart.left + index * step + 1, y: y(hour.tokens), width: step - 2, height: y(0) - y(hour.tokens), fill: '#2f81f7' }, svg('title', {}, index + ':00 — ' + format(hour.tokens) + ' tokens')),
  )
  const labels = [0, 6, 12, 18].map((hour) => svg('text', { x: chart.left + hour * step, y: chart.height - 4 }, hour + ':00'))
  return svg('svg', { viewBox: '0 0 ' + chart.width + ' ' + chart.height, role: 'img', 'aria-label': 'tokens per hour today' }, ...axis, ...bars, ...labels)
}
/** Cumulative tokens per day so far, the projection to the month's end (dashed) and the limit (red). */
function monthChart({ days, monthEnd, monthLimit, projectedMonth }) {
  const total = days.length === 0 ? 1 : Math.round((monthEnd - Date.parse(days[0].day)) / 86400000)
  let sum = 0
  const cumulative = days.map((day) => (sum += day.tokens))
  const { y, axis } = scaleOf(Math.max(sum, projectedMonth ?? 0, monthLimit ?? 0))
  const x = (dayIndex) => chart.left + (dayIndex / total) * (chart.width - chart.left)
  const points = cumulative.map((value, index) => x(index + 1) + ',' + y(value)).join(' ')
  const parts = [...axis, svg('polyline', { class: 'used', points: x(0) + ',' + y(0) + ' ' + points, fill: 'none', stroke: '#2f81f7', 'stroke-width': 2 })]
  if (projectedMonth !== undefined) parts.push(svg('line', { class: 'projection', x1: x(days.length), y1: y(sum), x2: x(total), y2: y(projectedMonth), stroke: '#8250df', 'stroke-dasharray': '5 4', 'stroke-width': 2 }), svg('text', { x: x(total) - 110, y: y(projectedMonth) - 4 }, 'projected ' + format(projectedMonth)))
  if (monthLimit !== undefined) parts.push(svg('line', { class: 'limit', x1: chart.left, y1: y(monthLimit), x2: chart.width, y2: y(monthLimit), stroke: '#cf222e', 'stroke-dasharray': '2 2' }), svg('text', { x: chart.left + 4, y: y(monthLimit) - 4 }, 'limit ' + format(monthLimit)))
  parts.push(svg('text', { x: chart.left, y: chart.height - 4 }, days[0]?.day ?? ''), svg('text', { x: chart.width - 60, y: chart.height - 4 }, 'month end'))
  return svg('svg', { viewBox: '0 0 ' + chart.width + ' ' + chart.height, role: 'img', 'aria-label': 'tokens this month' }, ...parts)
}
function list(id, entries, empty) {
  const items = entries.map((entry) => element('li', { className: entry.kind }, entry.message))
  document.getElementById(id).replaceChildren(...(items.length > 0 ? items : [element('li', {}, empty)]))
}
function show({ report, users, usage, alerts, recommendations }) {
  if (report) {
    const priced = report.thisMonth.costUsd > 0
    const cards = [['today', format(report.today.tokens)], ['this month', format(report.thisMonth.tokens)], ['projected month', format(report.projectedMonth)], ['refused calls', format(report.limitHitRate * 100) + ' %']]
    if (priced) cards.splice(2, 0, ['spent this month', dollars(report.thisMonth.costUsd)])
    // Credits charged this month (spills past plan allowances, prepaid use), per token balance policy.
    for (const credit of report.credits ?? []) if (credit.unit === 'tokens') cards.push([credit.policy + ' spent this month', format(credit.spent)])
    document.getElementById('cards').replaceChildren(...cards.map(([label, value]) => element('div', { className: 'card' }, label, element('b', {}, value))))
    rows(document.getElementById('projects'), report.breakdown.project, priced)
    rows(document.getElementById('models'), report.breakdown.model, priced)
  }
  document.getElementById('users').replaceChildren(...users.map(userRow))
  if (usage) {
    document.getElementById('hourly').replaceChildren(hourlyChart(usage.hourly))
    document.getElementById('monthly').replaceChildren(monthChart(usage))
  }
  list('alerts', alerts, 'No alerts.')
  list('recommendations', recommendations, 'Nothing to recommend.')
  const select = document.getElementById('admin-user')
  const chosen = select.value
  select.replaceChildren(...users.map((user) => element('option', { value: user.user }, user.user)))
  if (users.some((user) => user.user === chosen)) select.value = chosen
  document.getElementById('report').hidden = false
  document.body.dataset.ready = 'true'
}
async function act(action) {
  document.body.dataset.ready = 'false'
  const token = sessionStorage.getItem('tokenquota-admin')
  const body = { user: document.getElementById('admin-user').value, add: Number(document.getElementById('admin-add').value), hours: Number(document.getElementById('admin-hours').value) }
  const response = await fetch('/api/admin/' + action, { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const answer = await response.json().catch(() => ({}))
  document.getElementById('admin-result').textContent = response.ok ? (action === 'grant' ? 'Granted ' + format(body.add) + ' to ' + body.user : 'Reset ' + body.user) : 'Failed: ' + (answer.error?.message ?? response.status)
  await open(token)
}
document.getElementById('admin').addEventListener('submit', (event) => {
  event.preventDefault()
  act(event.submitter?.value === 'reset' ? 'reset' : 'grant')
})
async function open(token) {
  const response = await fetch('/api/dashboard', { headers: { authorization: 'Bearer ' + token } })
  if (!response.ok) {
    sessionStorage.removeItem('tokenquota-admin')
    document.getElementById('login').hidden = false
    document.getElementById('login-error').textContent = response.status === 403 ? 'That token is not an admin token.' : 'That token is not valid.'
    return
  }
  sessionStorage.setItem('tokenquota-admin', token)
  document.getElementById('login').hidden = true
  show(await response.json())
}
document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault()
  open(document.getElementById('token').value)
})
const saved = sessionStorage.getItem('tokenquota-admin')
if (saved) open(saved)
else document.getElementById('login').hidden = false
`

export function dashboardPage() {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tokenquota dashboard</title>
<style>${styles}</style>
</head>
<body>
<h1>tokenquota — usage</h1>
<form id="login" hidden>
  <label>Admin token <input id="token" type="password" autocomplete="off" required></label>
  <button>Open</button>
  <p id="login-error"></p>
</form>
<div id="report" hidden>
<div class="cards" id="cards"></div>
<div class="grid">
  <div class="panel"><h2>Tokens per hour today (UTC)</h2><div id="hourly"></div></div>
  <div class="panel"><h2>This month: tokens so far, projection and limit</h2><div id="monthly"></div></div>
  <div class="panel"><h2>Users today</h2><div id="users"></div>
    <h2>Grant or reset</h2>
    <form id="admin">
      <select id="admin-user" aria-label="user"></select>
      <label>+ <input id="admin-add" type="number" min="1" value="10000" aria-label="tokens to add"> tokens</label>
      <label>for <input id="admin-hours" type="number" min="1" value="24" aria-label="hours"> h</label>
      <button id="grant" value="grant">Grant</button>
      <button id="reset" value="reset">Reset today</button>
      <span id="admin-result"></span>
    </form>
  </div>
  <div class="panel"><h2>Alerts</h2><ul id="alerts"></ul><h2>Recommendations</h2><ul id="recommendations"></ul></div>
  <div class="panel"><h2>This month by project</h2><table id="projects"></table></div>
  <div class="panel"><h2>This month by model</h2><table id="models"></table></div>
</div>
</div>
<script>${script}</script>
</body>
</html>`
}
