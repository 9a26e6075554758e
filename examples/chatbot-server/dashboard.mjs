// A one-file dashboard: usage bars per user against their daily limit, this month's figures and
// breakdowns. The page holds no data: it asks for an admin token, keeps it in sessionStorage (never
// in the URL) and reads /api/dashboard with it in the Authorization header. Every value goes in as
// text (textContent), never as HTML: user ids, plans, projects and models come from callers.
export function dashboardPage() {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tokenquota dashboard</title>
<style>
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
</style>
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
<h2>Users today</h2>
<div id="users"></div>
<h2>This month by project</h2>
<table id="projects"></table>
<h2>This month by model</h2>
<table id="models"></table>
</div>
<script>
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
  return element('div', { className: 'user' }, element('span', {}, user.user), element('span', {}, user.plan), element('div', { className: 'bar' }, fill), element('span', {}, format(user.used) + ' / ' + format(user.allowed)))
}
function show({ report, users }) {
  if (report) {
    const priced = report.thisMonth.costUsd > 0
    const cards = [['today', format(report.today.tokens)], ['this month', format(report.thisMonth.tokens)], ['projected month', format(report.projectedMonth)], ['refused calls', format(report.limitHitRate * 100) + ' %']]
    if (priced) cards.splice(2, 0, ['spent this month', dollars(report.thisMonth.costUsd)])
    document.getElementById('cards').replaceChildren(...cards.map(([label, value]) => element('div', { className: 'card' }, label, element('b', {}, value))))
    rows(document.getElementById('projects'), report.breakdown.project, priced)
    rows(document.getElementById('models'), report.breakdown.model, priced)
  }
  document.getElementById('users').replaceChildren(...users.map(userRow))
  document.getElementById('report').hidden = false
  document.body.dataset.ready = 'true'
}
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
</script>
</body>
</html>`
}
