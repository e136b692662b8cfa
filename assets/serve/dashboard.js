// algolab serve dashboard: polls this server's API and renders; no other origin is contacted.
(function () {
  'use strict';
  var LWC = window.LightweightCharts;
  var EVERY = Math.max(2, Number(new URLSearchParams(location.search).get('every')) || 10);
  var COLORS = ['#4c9aff', '#a371f7', '#e3b341', '#2fbf71', '#f778ba', '#39c5cf', '#f0883e', '#8b98a9'];
  var $ = function (id) { return document.getElementById(id); };
  document.getElementById('every').textContent = String(EVERY);

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function num(v, d) {
    if (v == null || !isFinite(v)) return '–';
    return Number(v).toLocaleString('en-US', { minimumFractionDigits: d == null ? 2 : d, maximumFractionDigits: d == null ? 2 : d });
  }
  function signed(v, d) { return v == null || !isFinite(v) ? '–' : (v > 0 ? '+' : '') + num(v, d); }
  function cls(v) { return v > 0 ? 'pos' : v < 0 ? 'neg' : 'muted'; }
  function pct(v, d) { return v == null || !isFinite(v) ? '–' : signed(v, d == null ? 2 : d) + ' %'; }
  function when(ms) {
    if (ms == null) return '–';
    var d = new Date(ms);
    return d.toISOString().slice(0, 16).replace('T', ' ');
  }
  // `long 1.0886588 @ 5176.93` as `long 1.0887 @ 5,176.93`
  function position(p) {
    var m = /^(\w+) ([-\d.e]+) @ ([-\d.e]+)$/.exec(String(p || ''));
    if (!m) return esc(p || 'flat');
    var q = Number(m[2]);
    return '<span class="side-' + esc(m[1]) + '">' + esc(m[1]) + '</span> ' + num(q, Math.abs(q) >= 100 ? 0 : 4) + ' @ ' + num(Number(m[3]));
  }
  function isoShort(s) { return s ? String(s).replace('T', ' ').replace(/:\d\dZ$|Z$/, '') : '–'; }

  // reads only (GET needs no token on loopback; off loopback a proxy in front adds it)
  function api(path) {
    return fetch(path, { cache: 'no-store' }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; });
    });
  }

  // ---- equity chart -------------------------------------------------------------------
  var chart = null, series = {}, totalSeries = null;
  function ensureChart() {
    if (chart || !LWC) return;
    chart = LWC.createChart($('equity-chart'), {
      autoSize: true,
      layout: { background: { color: 'transparent' }, textColor: '#8b98a9', fontSize: 11,
        fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif', attributionLogo: false },
      grid: { vertLines: { color: 'rgba(38,48,64,.55)' }, horzLines: { color: 'rgba(38,48,64,.55)' } },
      rightPriceScale: { borderColor: '#263040' },
      timeScale: { borderColor: '#263040', timeVisible: true, secondsVisible: false },
      crosshair: { mode: 0 }
    });
    totalSeries = chart.addSeries(LWC.AreaSeries, {
      lineColor: '#2fbf71', topColor: 'rgba(47,191,113,.28)', bottomColor: 'rgba(47,191,113,.02)',
      lineWidth: 2, title: 'Total', priceLineVisible: false
    });
  }
  function drawEquity(bots, curves) {
    ensureChart();
    if (!chart) return;
    var legend = ['<span><i style="background:#2fbf71"></i>Total</span>'];
    var all = {};
    bots.forEach(function (b, i) {
      var pts = (curves[b.name] || []).slice().reverse();
      var color = COLORS[i % COLORS.length];
      if (!series[b.name]) {
        series[b.name] = chart.addSeries(LWC.LineSeries, { color: color, lineWidth: 1, priceLineVisible: false, lastValueVisible: false });
      }
      series[b.name].setData(pts.map(function (p) { return { time: Math.floor(p.ts_ms / 1000), value: p.equity }; }));
      pts.forEach(function (p) { all[Math.floor(p.ts_ms / 1000)] = true; });
      legend.push('<span><i style="background:' + color + '"></i>' + esc(b.name) + '</span>');
    });
    // the total: every bot's last known equity at each time (a bot counts from its first point)
    var times = Object.keys(all).map(Number).sort(function (a, b) { return a - b; });
    var idx = {}, last = {}, total = [];
    times.forEach(function (t) {
      var sum = 0, any = false;
      bots.forEach(function (b) {
        var pts = (curves[b.name] || []).slice().reverse();
        var k = idx[b.name] || 0;
        while (k < pts.length && Math.floor(pts[k].ts_ms / 1000) <= t) { last[b.name] = pts[k].equity; k++; }
        idx[b.name] = k;
        if (last[b.name] != null) { sum += last[b.name]; any = true; }
      });
      if (any) total.push({ time: t, value: sum });
    });
    totalSeries.setData(total);
    $('eq-legend').innerHTML = legend.join('');
    if (!drawEquity.fitted && total.length) { chart.timeScale().fitContent(); drawEquity.fitted = true; }
  }

  // ---- panels -------------------------------------------------------------------------
  function healthBadge(h) {
    var s = (h && h.last_status) || '';
    if (s === 'error' || (h && h.failures > 0)) return '<span class="badge bad" title="' + esc(h.last_error || '') + '">error</span>';
    if (s === 'ok') return '<span class="badge ok">ok</span>';
    if (s === 'idle') return '<span class="badge info">idle</span>';
    if (s === 'market_closed') return '<span class="badge info">closed</span>';
    if (s === 'busy') return '<span class="badge warn">busy</span>';
    return '<span class="badge info" title="no health.json: ticks run by cron or by hand">ticked</span>';
  }
  function renderStatus(st) {
    var bots = st.bots || [];
    var ret = st.initial_cash > 0 ? 100 * st.total_pnl / st.initial_cash : null;
    $('k-value').textContent = num(st.total_value);
    $('k-value-sub').textContent = bots.length + (bots.length === 1 ? ' bot' : ' bots') + ' · started with ' + num(st.initial_cash, 0);
    $('k-pnl').innerHTML = '<span class="' + cls(st.total_pnl) + '">' + signed(st.total_pnl) + '</span>';
    $('k-pnl-sub').innerHTML = '<span class="' + cls(ret) + '">' + pct(ret) + '</span>';
    $('k-today').innerHTML = '<span class="' + cls(st.today_pnl) + '">' + signed(st.today_pnl) + '</span>';
    var open = bots.filter(function (b) { return b.position && b.position !== 'flat'; });
    var upnl = open.reduce(function (a, b) { return a + (b.unrealized_pnl || 0); }, 0);
    $('k-open').textContent = String(open.length);
    $('k-open-sub').innerHTML = 'unrealized <span class="' + cls(upnl) + '">' + signed(upnl) + '</span>';
    var trades = bots.reduce(function (a, b) { return a + (b.trades || 0); }, 0);
    var wins = bots.reduce(function (a, b) { return a + (b.wins || 0); }, 0);
    $('k-trades').textContent = String(trades);
    $('k-trades-sub').textContent = trades ? 'win rate ' + num(100 * wins / trades, 1) + ' %' : 'no closed trade yet';
    var bad = bots.filter(function (b) { return (b.health && (b.health.last_status === 'error' || b.health.failures > 0)); }).length;
    $('k-health').innerHTML = bots.length ? '<span class="' + (bad ? 'neg' : 'pos') + '">' + (bots.length - bad) + ' / ' + bots.length + '</span>' : '–';

    $('bots').querySelector('tbody').innerHTML = bots.length ? bots.map(function (b) {
      var wr = b.trades ? 100 * b.wins / b.trades : null;
      return '<tr><td><b>' + esc(b.name) + '</b></td><td>' + esc(b.symbol || '–') + (b.market ? ' <span class="muted">' + esc(b.market) + '</span>' : '') +
        '</td><td><span class="badge ' + (b.mode === 'live' ? 'bad' : b.mode === 'testnet' ? 'warn' : 'info') + '">' + esc(b.mode || '–') + '</span></td><td>' + esc(b.strategy || '–') +
        '</td><td>' + position(b.position) + '</td><td class="r">' + num(b.equity) + '</td><td class="r ' + cls(b.total_pnl) + '">' + signed(b.total_pnl) +
        '</td><td class="r ' + cls(b.today_pnl) + '">' + signed(b.today_pnl) + '</td><td class="r ' + cls(b.return_pct) + '">' + pct(b.return_pct) +
        '</td><td class="r">' + (b.trades || 0) + '</td><td class="r">' + (wr == null ? '–' : num(wr, 1) + ' %') + '</td><td>' + isoShort(b.last_bar) +
        '</td><td>' + healthBadge(b.health) + '</td></tr>';
    }).join('') : '<tr><td colspan="13" class="empty">No bots yet: start one with <code>algolab paper</code> or <code>algolab run</code>.</td></tr>';

    var max = bots.reduce(function (a, b) { return Math.max(a, Math.abs(b.total_pnl || 0)); }, 0) || 1;
    $('pnl-bars').innerHTML = bots.length ? bots.map(function (b, i) {
      var v = b.total_pnl || 0, w = 50 * Math.abs(v) / max;
      var style = v >= 0 ? 'left:50%;width:' + w + '%;background:var(--green)' : 'left:' + (50 - w) + '%;width:' + w + '%;background:var(--red)';
      return '<div class="bar-row"><div class="bar-name" title="' + esc(b.name) + '"><i style="display:inline-block;width:8px;height:8px;border-radius:2px;margin-right:6px;background:' + COLORS[i % COLORS.length] + '"></i>' + esc(b.name) +
        '</div><div class="bar-track"><div class="mid"></div><div class="bar-fill" style="' + style + '"></div></div><div class="bar-val ' + cls(v) + '">' + signed(v) + '</div></div>';
    }).join('') : '<div class="empty">No bots.</div>';

    $('positions').innerHTML = open.length ? open.map(function (b) {
      return '<div class="pos-card"><div class="sym">' + esc(b.symbol || b.name) + '</div><div class="m">' +
        position(b.position) + '</div><div class="m">' + esc(b.name) + '</div><div class="pl ' + cls(b.unrealized_pnl) + '">' + signed(b.unrealized_pnl) + '</div><div class="m">unrealized · ' + esc(b.market || b.mode || '') + '</div></div>';
    }).join('') : '<div class="empty">All bots are flat.</div>';
  }

  function renderTrades(rows) {
    rows.sort(function (a, b) { return b.t.exit_ts_ms - a.t.exit_ts_ms; });
    $('trades').querySelector('tbody').innerHTML = rows.length ? rows.slice(0, 12).map(function (r) {
      var t = r.t;
      return '<tr><td>' + esc(r.bot) + '</td><td class="side-' + esc(t.side) + '">' + esc(t.side) + '</td><td>' + when(t.entry_ts_ms) + '</td><td>' + when(t.exit_ts_ms) +
        '</td><td class="r">' + num(t.entry_price) + '</td><td class="r">' + num(t.exit_price) + '</td><td class="r">' + num(t.qty, 4) +
        '</td><td class="r ' + cls(t.pnl) + '">' + signed(t.pnl) + '</td><td class="r ' + cls(t.return_pct) + '">' + pct(t.return_pct) + '</td><td>' + esc(t.exit_reason) + '</td></tr>';
    }).join('') : '<tr><td colspan="10" class="empty">No closed trades yet.</td></tr>';
  }

  function renderDecisions(run, page) {
    if (!run) {
      $('ai-run').textContent = 'no ai run recorded';
      $('decisions').innerHTML = '<div class="empty">Run <code>algolab backtest --strategy ai</code> to record decisions.</div>';
      return;
    }
    $('ai-run').textContent = 'run ' + run.id + ' · ' + (run.symbol || '') + ' · ' + (run.trades == null ? '' : run.trades + ' trades') + (run.return_pct == null ? '' : ' · ' + pct(run.return_pct));
    var items = (page && page.items) || [];
    $('decisions').innerHTML = items.length ? items.map(function (d) {
      var tr = d.trade;
      var votes = (d.votes || []).filter(function (v) { return v.action; }).map(function (v) {
        var w = Math.round(100 * (v.confidence || 0));
        return '<div class="vote"><span class="c">' + esc(v.component) + '</span><span class="act ' + esc(v.action) + '">' + esc(v.action) + '</span><span class="w" title="confidence ' + num(v.confidence, 2) +
          ', weight ' + num(v.effective_weight, 2) + '"><span style="width:' + w + '%;' + (v.blocked ? 'background:var(--muted)' : '') + '"></span></span><span class="muted">' + num(v.confidence, 2) + '</span></div>';
      }).join('');
      return '<div class="dec"><div class="dec-h"><span><span class="act ' + esc(d.action) + '">' + esc(d.action) + '</span> <span class="muted">' + esc(d.intent) + ' · conf ' + num(d.confidence, 2) + '</span></span>' +
        '<span>' + (d.regime ? '<span class="badge info">' + esc(d.regime) + '</span> ' : '') + (d.veto ? '<span class="badge bad">LLM veto</span> ' : '') + '<span class="t">' + esc(isoShort(d.time)) + '</span></span></div>' +
        '<div class="why" title="' + esc(d.why) + '">' + esc(d.why) + '</div><div class="votes">' + votes + '</div>' +
        (tr ? '<div class="dec-f"><span>trade #' + tr.seq + ' <span class="side-' + esc(tr.side) + '">' + esc(tr.side) + '</span></span><span>' + esc(isoShort(tr.entry_time)) + ' → ' + esc(isoShort(tr.exit_time)) +
          '</span><span class="' + cls(tr.return_pct) + '">' + pct(tr.return_pct) + '</span><span>' + esc(tr.exit_reason) + '</span></div>' : '') + '</div>';
    }).join('') : '<div class="empty">This run has no decision linked to a trade.</div>';
  }

  function renderAi(ai) {
    if (!ai) return;
    $('llm-state').innerHTML = ai.llm ? (ai.llm.reachable ? '<span class="badge ok">LLM reachable</span>' : '<span class="badge warn" title="' + esc(ai.llm.detail) + '">LLM unreachable</span>') + ' <span class="muted">' + esc(ai.llm.model) + '</span>' : '';
    var blocked = ai.blocked || [];
    $('components').innerHTML = (ai.components || []).map(function (c) {
      var w = Math.round(100 * (c.weight || 0));
      return '<div class="comp"><span><span class="badge ' + (c.available ? 'ok' : 'warn') + '">' + esc(c.component) + '</span></span><span class="d" title="' + esc(c.detail) + '">' + esc(c.detail) +
        '</span><span class="muted" style="text-align:right">w ' + num(c.weight, 2) + '</span></div>';
    }).join('') + (blocked.length ? '<div class="empty">Blocked by drift/health: ' + esc(blocked.join(', ')) + '</div>' : '') +
      ((ai.health || []).length ? '<div class="table-wrap"><table class="tbl" style="margin-top:6px"><thead><tr><th>strategy | regime</th><th>status</th><th class="r">trades</th><th class="r">win rate</th></tr></thead><tbody>' +
        ai.health.slice(0, 8).map(function (h) {
          return '<tr><td>' + esc(h.key) + '</td><td>' + esc(h.status) + '</td><td class="r">' + h.trades + '</td><td class="r">' + num(100 * h.win_rate, 1) + ' %</td></tr>';
        }).join('') + '</tbody></table></div>' : '');
  }

  function spark(el, lines, opts) {
    opts = opts || {};
    var pts = [];
    lines.forEach(function (l) { l.points.forEach(function (p) { if (isFinite(p[1])) pts.push(p); }); });
    if (!pts.length) { el.innerHTML = '<div class="none">' + esc(opts.empty || 'no data yet') + '</div>'; return; }
    var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = opts.yMin != null ? opts.yMin : Math.min.apply(null, ys), y1 = opts.yMax != null ? opts.yMax : Math.max.apply(null, ys);
    if (x1 === x0) x1 = x0 + 1; if (y1 === y0) { y1 = y0 + 1; y0 = y0 - 1; }
    var W = 400, H = 100, P = 6;
    var sx = function (x) { return P + (W - 2 * P) * (x - x0) / (x1 - x0); };
    var sy = function (y) { return H - P - (H - 2 * P) * (y - y0) / (y1 - y0); };
    var svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" preserveAspectRatio="none">';
    if (opts.mid != null) svg += '<line x1="0" x2="' + W + '" y1="' + sy(opts.mid) + '" y2="' + sy(opts.mid) + '" stroke="#263040" stroke-dasharray="3 3"/>';
    lines.forEach(function (l) {
      var d = l.points.filter(function (p) { return isFinite(p[1]); }).map(function (p, i) { return (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1); }).join(' ');
      svg += '<path d="' + d + '" fill="none" stroke="' + l.color + '" stroke-width="1.6" vector-effect="non-scaling-stroke"/>';
    });
    svg += '</svg>';
    var leg = lines.map(function (l) { var last = l.points[l.points.length - 1]; return '<span style="color:' + l.color + '">' + esc(l.name) + (last ? ' ' + num(last[1], opts.digits == null ? 1 : opts.digits) + (opts.unit || '') : '') + '</span>'; }).join(' · ');
    el.innerHTML = svg;
    // the legend goes in the title line, above the plot
    var t = el.parentNode.querySelector('.spark-t');
    if (t) {
      if (!t.hasAttribute('data-title')) t.setAttribute('data-title', t.textContent);
      t.innerHTML = esc(t.getAttribute('data-title')) + ' <span class="spark-l">' + leg + '</span>';
    }
  }

  function renderLearning(l) {
    if (!l) return;
    var c = l.counts || {};
    var mini = [['trades learned', c.labelled_trades], ['trades recorded', c.trades], ['AI decisions', c.decisions], ['models', c.models]];
    $('learning-kpis').innerHTML = mini.map(function (m) { return '<div class="mini"><div class="k">' + m[0] + '</div><div class="v">' + (m[1] == null ? 0 : m[1]) + '</div></div>'; }).join('');
    spark($('winrate'), (l.win_rate || []).map(function (s, i) {
      return { name: s.strategy, color: COLORS[i % COLORS.length], points: s.points.map(function (p) { return [p.trade, p.win_rate_pct]; }) };
    }), { yMin: 0, yMax: 100, mid: 50, unit: ' %', empty: 'no trades recorded yet' });
    spark($('evolver'), [{ name: 'best', color: '#a371f7', points: (l.evolver || []).map(function (g) { return [g.generation, g.best_fitness]; }) }], { digits: 3, empty: 'no evolved genomes (algolab evolve)' });
    spark($('dqn'), [{ name: 'reward', color: '#e3b341', points: (l.dqn_rewards || []).map(function (e) { return [e.episode, e.reward]; }) }], { digits: 2, empty: 'no DQN model (algolab train-rl)' });
    var models = l.models || [];
    $('models').innerHTML = models.length ? 'Model versions: ' + models.slice(-6).map(function (m) { return esc(m.kind) + ' #' + m.id + ' (' + esc(m.symbol) + ', ' + esc(isoShort(m.created_at)) + ')'; }).join(' → ') : 'No trained models yet.';
  }

  function renderReady(r) {
    if (!r) return;
    $('k-ready').innerHTML = r.ready ? '<span class="pos">ready</span>' : '<span class="neg">not ready: ' + esc((r.failing || []).length) + ' failing</span>';
    $('checks').innerHTML = (r.checks || []).map(function (c) {
      return '<div class="check"><span class="badge ' + (c.ok ? 'ok' : 'bad') + '">' + (c.ok ? 'ok' : 'fail') + '</span><div><div class="n">' + esc(c.name) + '</div><div class="d">' + esc(c.detail) + '</div></div></div>';
    }).join('');
  }

  // ---- refresh loop -------------------------------------------------------------------
  var busy = false;
  function refresh() {
    if (busy) return;
    busy = true;
    var done = function (ok) {
      busy = false;
      $('dot').className = 'dot ' + (ok ? 'ok' : 'bad');
      $('updated').textContent = (ok ? 'updated ' : 'update failed ') + new Date().toISOString().slice(11, 19) + ' UTC';
      // the rendered height, for tools that take a screenshot of the whole page
      document.documentElement.setAttribute('data-height', String(document.documentElement.scrollHeight));
    };
    api('/api/status').then(function (s) {
      if (s.status !== 200) throw new Error(s.body && s.body.error);
      var st = s.body;
      renderStatus(st);
      var bots = st.bots || [];
      var eq = Promise.all(bots.map(function (b) {
        return api('/api/bots/' + encodeURIComponent(b.name) + '/equity?limit=5000').then(function (r) { return [b.name, r.status === 200 ? r.body.items : []]; });
      })).then(function (pairs) { var m = {}; pairs.forEach(function (p) { m[p[0]] = p[1]; }); drawEquity(bots, m); });
      var tr = Promise.all(bots.map(function (b) {
        return api('/api/bots/' + encodeURIComponent(b.name) + '/trades?limit=12').then(function (r) {
          return (r.status === 200 ? r.body.items : []).map(function (t) { return { bot: b.name, t: t }; });
        });
      })).then(function (lists) { renderTrades([].concat.apply([], lists)); });
      var dec = api('/api/runs?limit=100').then(function (r) {
        var runs = r.status === 200 ? r.body : [];
        var run = runs.filter(function (x) { return x.strategy === 'ai' && x.command === 'backtest' && x.status === 'completed'; })[0];
        if (!run) { renderDecisions(null); return null; }
        return api('/api/runs/' + run.id + '/decisions?trades_only=true&limit=12').then(function (p) { renderDecisions(run, p.status === 200 ? p.body : null); });
      });
      var ai = api('/api/ai/status').then(function (r) { renderAi(r.status === 200 ? r.body : null); });
      var le = api('/api/ai/learning').then(function (r) { renderLearning(r.status === 200 ? r.body : null); });
      var rd = api('/api/unified/readiness-check').then(function (r) { renderReady(r.body); });
      return Promise.all([eq, tr, dec, ai, le, rd]);
    }).then(function () { done(true); }, function () { done(false); });
  }
  refresh();
  setInterval(refresh, EVERY * 1000);
})();
