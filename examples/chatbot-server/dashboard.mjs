// A one-file dashboard: usage bars per user against their daily limit, this month's figures and
// breakdowns. It reads /api/dashboard with the admin token it was opened with.
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
</style>
</head>
<body>
<h1>tokenquota — usage</h1>
<div class="cards" id="cards"></div>
<h2>Users today</h2>
<div id="users"></div>
<h2>This month by project</h2>
<table id="projects"></table>
<h2>This month by model</h2>
<table id="models"></table>
<script>
const token = new URLSearchParams(location.search).get('token')
const format = (n) => Math.round(n).toLocaleString('en-US')
function rows(table, entries) {
  table.innerHTML = '<tr><th>name</th><th>tokens</th><th>share</th></tr>' +
    entries.map((entry) => '<tr><td>' + entry.name + '</td><td>' + format(entry.tokens) + '</td><td>' + (entry.share * 100).toFixed(1) + ' %</td></tr>').join('')
}
fetch('/api/dashboard?token=' + encodeURIComponent(token)).then((response) => response.json()).then(({ report, users }) => {
  if (report) {
    const cards = [['today', report.today.tokens], ['this month', report.thisMonth.tokens], ['projected month', report.projectedMonth], ['refused calls', report.limitHitRate * 100]]
    document.getElementById('cards').innerHTML = cards.map(([label, value], index) => '<div class="card">' + label + '<b>' + format(value) + (index === 3 ? ' %' : '') + '</b></div>').join('')
    rows(document.getElementById('projects'), report.breakdown.project)
    rows(document.getElementById('models'), report.breakdown.model)
  }
  document.getElementById('users').innerHTML = users.map((user) => {
    const share = user.allowed > 0 ? Math.min(1, user.used / user.allowed) : 1
    const level = share >= 1 ? 'full' : share >= 0.8 ? 'high' : ''
    return '<div class="user"><span>' + user.user + '</span><span>' + user.plan + '</span><div class="bar"><div class="bar-fill ' + level + '" style="width:' + (share * 100).toFixed(1) + '%"></div></div><span>' + format(user.used) + ' / ' + format(user.allowed) + '</span></div>'
  }).join('')
  document.body.dataset.ready = 'true'
})
</script>
</body>
</html>`
}
