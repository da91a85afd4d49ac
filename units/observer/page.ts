/**
 * The observer page: one HTML document, no external assets, fed by `/observer/events`. It draws
 * the members, each node's supervision tree (every actor's activity, mailbox, messages handled,
 * restarts, uptime), the AO processes each node works on, and the recent crashes. On a node with
 * chaos on, each actor has a kill button.
 */
export const OBSERVER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>aotp observer</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
  h1 { font-size: 18px; margin: 0 0 .3em; }
  h2 { font-size: 15px; margin: 1.2em 0 .3em; }
  h3 { font-size: 13px; margin: .8em 0 .2em; color: #555; }
  table { border-collapse: collapse; }
  td, th { padding: 1px 8px; text-align: left; border-bottom: 1px solid #eee; }
  th { color: #666; font-weight: normal; }
  .state-up { color: #070; } .state-draining { color: #a60; } .state-down { color: #b00; }
  ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 1.2em; }
  ul.tree { padding-left: 0; }
  .actor { font-family: ui-monospace, monospace; white-space: nowrap; }
  .sup > .actor .label { font-weight: bold; }
  .num { color: #555; margin-left: .8em; }
  .restarts-hot { color: #b00; }
  .running { color: #06c; }
  button.kill { font-size: 11px; margin-left: .8em; padding: 0 4px; color: #b00; }
  #flash { min-height: 1.4em; color: #06c; }
  .node { border-top: 2px solid #ddd; margin-top: 1em; }
  .muted { color: #888; }
</style>
</head>
<body>
<h1>aotp observer</h1>
<div id="status" class="muted">connecting…</div>
<div id="flash"></div>
<h2>Members</h2>
<table id="members"><thead><tr><th>node</th><th>state</th><th>actors</th><th>processes</th><th>push jobs</th></tr></thead><tbody></tbody></table>
<div id="nodes"></div>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const secs = (ms) => ms < 60e3 ? (ms / 1e3).toFixed(0) + 's' : ms < 3600e3 ? (ms / 60e3).toFixed(0) + 'm' : (ms / 3600e3).toFixed(1) + 'h';
const SHOWN = 50;

function tree(view) {
  const byParent = new Map();
  const pids = new Set(view.actors.map((a) => a.pid));
  for (const a of view.actors) {
    const p = a.parent && pids.has(a.parent) ? a.parent : '';
    if (!byParent.has(p)) byParent.set(p, []);
    byParent.get(p).push(a);
  }
  const label = (a) => a.name ?? (a.childId ? a.childId + ' ' + a.pid : a.pid);
  const item = (a) => {
    const kids = (byParent.get(a.pid) ?? []).sort((x, y) => label(x).localeCompare(label(y)));
    const kill = view.chaos && a.name !== 'node/status' ? '<button class="kill" data-node="' + esc(view.node) + '" data-pid="' + esc(a.pid) + '">kill</button>' : '';
    const row = '<span class="actor" title="' + esc(a.pid) + '"><span class="label">' + esc(label(a)) + '</span>' +
      '<span class="num">' + a.kind + '</span>' +
      '<span class="num ' + (a.activity === 'running' ? 'running' : '') + '" data-field="activity">' + a.activity + '</span>' +
      '<span class="num" data-field="queued">mailbox ' + a.queued + '</span>' +
      '<span class="num" data-field="handled">handled ' + a.handled + '</span>' +
      '<span class="num ' + (a.restarts > 0 ? 'restarts-hot' : '') + '" data-field="restarts">restarts ' + a.restarts + '</span>' +
      '<span class="num" data-field="uptime">up ' + secs(a.uptimeMs) + '</span>' + kill + '</span>';
    const shown = kids.slice(0, SHOWN).map(item).join('');
    const more = kids.length > SHOWN ? '<li class="muted">… ' + (kids.length - SHOWN) + ' more</li>' : '';
    return '<li class="' + (a.kind === 'supervisor' ? 'sup' : 'worker') + '" data-actor="' + esc(label(a)) + '" data-pid="' + esc(a.pid) + '">' + row +
      (kids.length ? '<ul>' + shown + more + '</ul>' : '') + '</li>';
  };
  const roots = (byParent.get('') ?? []).sort((x, y) => label(x).localeCompare(label(y)));
  return '<ul class="tree">' + roots.map(item).join('') + '</ul>' + (view.truncated ? '<div class="muted">' + view.truncated + ' more actors not shown</div>' : '');
}

function processes(ao) {
  if (!ao || !ao.processes) return '<div class="muted">no AO view</div>';
  if (ao.processes.length === 0) return '<div class="muted">no AO process here now</div>';
  const cell = (v) => v === undefined ? '<td class="muted">–</td>' : '<td>' + esc(v) + '</td>';
  return '<table class="processes"><thead><tr><th>process</th><th>owner</th><th>SU slot</th><th>CU slot</th><th>lag</th><th>since checkpoint</th><th>unpublished</th><th>push jobs</th></tr></thead><tbody>' +
    ao.processes.map((p) => '<tr data-process="' + esc(p.id) + '"><td class="actor">' + esc(p.id) + '</td>' + cell(p.owner) + cell(p.suSlot) + cell(p.cuSlot) + cell(p.lag) + cell(p.sinceCheckpoint) + cell(p.unpublished) + cell(p.jobs) + '</tr>').join('') +
    '</tbody></table>';
}

function render(v) {
  document.getElementById('status').textContent = 'as seen by ' + v.asked + ', ' + new Date(v.at).toLocaleTimeString();
  const members = document.querySelector('#members tbody');
  members.innerHTML = v.nodes.map((n) => {
    const state = n.error ? n.state : (n.draining ? 'draining' : 'up');
    const ao = n.extra && n.extra.processes ? n.extra : undefined;
    const jobs = ao ? Object.values(ao.jobs).reduce((a, b) => a + b, 0) : '–';
    return '<tr data-member="' + esc(n.node) + '" data-state="' + state + '"><td>' + esc(n.node) + '</td><td class="state-' + state + '">' + state + '</td><td>' +
      (n.actors ? n.actors.length + n.truncated : '–') + '</td><td>' + (ao ? ao.processes.length : '–') + '</td><td>' + jobs + '</td></tr>';
  }).join('');
  document.getElementById('nodes').innerHTML = v.nodes.map((n) => {
    if (n.error) return '<section class="node" data-node="' + esc(n.node) + '"><h2>' + esc(n.node) + ' <span class="state-' + n.state + '">' + n.state + '</span></h2><div class="muted">' + esc(n.error) + '</div></section>';
    const crashes = n.crashes.slice().reverse().map((c) => '<li><span class="muted">' + new Date(c.at).toLocaleTimeString() + '</span> ' + esc(c.name ?? c.pid) + ': ' + esc(c.reason) + '</li>').join('');
    return '<section class="node" data-node="' + esc(n.node) + '"><h2>' + esc(n.node) + (n.chaos ? ' <span class="muted">(chaos on)</span>' : '') + '</h2>' +
      '<h3>Supervision tree</h3>' + tree(n) +
      '<h3>AO processes</h3>' + processes(n.extra) +
      '<h3>Recent crashes</h3>' + (crashes ? '<ol class="crashes">' + crashes + '</ol>' : '<div class="muted">none</div>') + '</section>';
  }).join('');
}

document.addEventListener('click', async (e) => {
  const b = e.target.closest('button.kill');
  if (!b) return;
  const r = await fetch('/observer/kill', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ node: b.dataset.node, pid: b.dataset.pid }) });
  const body = await r.json();
  document.getElementById('flash').textContent = r.ok ? 'killed ' + body.killed.map((k) => k.name).join(', ') + ' on ' + b.dataset.node : 'kill refused: ' + body.error;
});

const events = new EventSource('/observer/events');
events.addEventListener('view', (e) => render(JSON.parse(e.data)));
events.onerror = () => { document.getElementById('status').textContent = 'disconnected, retrying…'; };
</script>
</body>
</html>
`;
