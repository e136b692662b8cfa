// algolab report runtime: builds the interactive charts (TradingView Lightweight Charts,
// inlined above this script) from the JSON in #report-data, syncs their time axes and
// crosshairs, shows hover values in each chart's legend, pages the trades table and shows
// the tooltips of the static SVG charts. No network access, no external resources.
(function () {
  'use strict';
  var LWC = window.LightweightCharts;
  var dataEl = document.getElementById('report-data');
  if (!dataEl) { return; }
  var D = JSON.parse(dataEl.textContent);

  // ---------- number formats ----------
  function group(s) {
    var parts = s.split('.');
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return parts.join('.');
  }
  function fmtValue(v, kind) {
    if (v === null || v === undefined || !isFinite(v)) { return '—'; }
    var a = Math.abs(v);
    if (kind === 'pct') { return v.toFixed(2) + ' %'; }
    if (kind === 'int') { return group(v.toFixed(0)); }
    if (kind === 'money') {
      if (a !== 0 && a < 0.01) { return v.toPrecision(3); }
      return group(v.toFixed(2));
    }
    if (a >= 1000) { return group(v.toFixed(2)); }
    if (a >= 1) { return v.toFixed(a >= 100 ? 2 : 3); }
    if (a === 0) { return '0'; }
    return v.toPrecision(4);
  }
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function fmtTime(t, intraday) {
    var d = new Date(t * 1000);
    var s = d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
    if (intraday) { s += ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()); }
    return s;
  }

  // ---------- tooltips for the static SVG charts ----------
  var tip = document.createElement('div');
  tip.className = 'tip';
  document.body.appendChild(tip);
  document.addEventListener('mousemove', function (e) {
    var el = e.target && e.target.closest ? e.target.closest('[data-tip]') : null;
    if (!el) { tip.style.display = 'none'; return; }
    tip.textContent = el.getAttribute('data-tip');
    tip.style.display = 'block';
    var x = e.clientX + 14, y = e.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) { x = e.clientX - w - 10; }
    if (y + h > window.innerHeight - 4) { y = e.clientY - h - 10; }
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  });

  if (!LWC) { return; }

  // ---------- charts ----------
  var charts = [];      // {spec, chart, main, series:[{api, spec}], byTime}
  var syncing = false;

  function seriesData(s) {
    var out = new Array(s.data.length);
    for (var i = 0; i < s.data.length; i++) {
      var r = s.data[i];
      if (s.kind === 'candles') {
        out[i] = r[1] === null ? { time: r[0] } : { time: r[0], open: r[1], high: r[2], low: r[3], close: r[4] };
      } else if (s.kind === 'volume') {
        out[i] = r[1] === null ? { time: r[0] }
          : { time: r[0], value: r[1], color: r[2] ? 'rgba(21,128,61,.35)' : 'rgba(185,28,28,.35)' };
      } else {
        out[i] = r[1] === null ? { time: r[0] } : { time: r[0], value: r[1] };
      }
    }
    return out;
  }

  function addSeries(chart, s) {
    var common = { lastValueVisible: s.last !== false, priceLineVisible: false, title: '' };
    if (s.format) { common.priceFormat = { type: 'custom', formatter: function (v) { return fmtValue(v, s.format); } }; }
    if (s.scale) { common.priceScaleId = s.scale; }
    var api;
    if (s.kind === 'candles') {
      common.upColor = '#16a34a'; common.downColor = '#dc2626';
      common.borderUpColor = '#15803d'; common.borderDownColor = '#b91c1c';
      common.wickUpColor = '#15803d'; common.wickDownColor = '#b91c1c';
      api = chart.addSeries(LWC.CandlestickSeries, common);
    } else if (s.kind === 'volume') {
      common.priceScaleId = 'vol';
      common.priceFormat = { type: 'volume' };
      common.lastValueVisible = false;
      api = chart.addSeries(LWC.HistogramSeries, common);
      chart.priceScale('vol').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 }, visible: false });
    } else if (s.kind === 'area' && s.fill) {
      // a drawdown: filled between the line and 0, and 0 (the top) kept in view
      common.baseValue = { type: 'price', price: 0 };
      common.topLineColor = s.color; common.bottomLineColor = s.color;
      common.topFillColor1 = common.topFillColor2 = 'rgba(0,0,0,0)';
      common.bottomFillColor1 = common.bottomFillColor2 = s.fill;
      common.lineWidth = s.width || 1;
      common.autoscaleInfoProvider = function (orig) {
        var r = orig();
        if (r && r.priceRange) { r.priceRange.maxValue = 0; r.priceRange.minValue = Math.min(r.priceRange.minValue, -1); }
        return r;
      };
      api = chart.addSeries(LWC.BaselineSeries, common);
    } else if (s.kind === 'area') {
      common.lineColor = s.color; common.lineWidth = s.width || 1;
      common.topColor = 'rgba(0,0,0,0)'; common.bottomColor = 'rgba(0,0,0,0)';
      api = chart.addSeries(LWC.AreaSeries, common);
    } else if (s.kind === 'histogram') {
      common.color = s.color;
      api = chart.addSeries(LWC.HistogramSeries, common);
    } else {
      common.color = s.color; common.lineWidth = s.width || 2;
      if (s.dashed) { common.lineStyle = 2; }
      api = chart.addSeries(LWC.LineSeries, common);
    }
    api.setData(seriesData(s));
    return api;
  }

  function legendHtml(c, param) {
    var spec = c.spec, html = '';
    var t = param && param.time !== undefined ? param.time : null;
    if (t !== null) {
      var label = spec.axis === 'index' ? (spec.index_label || '') + ' ' + t : fmtTime(t, D.intraday);
      html += '<div class="row when">' + label + '</div>';
    }
    c.series.forEach(function (s) {
      if (s.spec.kind === 'volume' && t === null) { return; }
      var v = null;
      if (t !== null) {
        var d = param.seriesData.get(s.api);
        if (d) { v = d.close !== undefined ? d : d.value; }
      } else {
        v = s.spec.lastValue;
      }
      var txt;
      if (v !== null && typeof v === 'object') {
        txt = 'O ' + fmtValue(v.open) + ' H ' + fmtValue(v.high) + ' L ' + fmtValue(v.low) + ' C ' + fmtValue(v.close);
      } else {
        txt = fmtValue(v, s.spec.format);
      }
      html += '<div class="row"><span class="sw" style="background:' + (s.spec.color || '#374151') +
        '"></span>' + s.spec.name + ': <b>' + txt + '</b></div>';
    });
    if (t !== null && c.byTime && c.byTime[t]) {
      c.byTime[t].forEach(function (m) { html += '<div class="row trade">' + m + '</div>'; });
    }
    return html;
  }

  function lastValueOf(s) {
    for (var i = s.data.length - 1; i >= 0; i--) {
      var r = s.data[i];
      if (r[1] !== null) { return s.kind === 'candles' ? { open: r[1], high: r[2], low: r[3], close: r[4] } : r[1]; }
    }
    return null;
  }

  function legendRows(spec) {
    var n = 1;
    spec.series.forEach(function (s) { if (s.kind !== 'volume') { n += 1; } });
    return spec.axis === 'index' ? n - 1 : n;
  }

  function build(spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el) { return; }
    var opts = {
      autoSize: true,
      height: spec.height,
      layout: { background: { color: '#ffffff' }, textColor: '#4b5260', fontSize: 11,
        fontFamily: "-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Helvetica,Arial,sans-serif" },
      grid: { vertLines: { color: '#f1f3f6' }, horzLines: { color: '#f1f3f6' } },
      // room at the top for the legend (one row per series plus the date)
      rightPriceScale: { borderColor: '#d8dce3',
        scaleMargins: { top: Math.min(0.4, (legendRows(spec) * 18 + 8) / spec.height), bottom: 0.06 } },
      leftPriceScale: { borderColor: '#d8dce3', visible: !!spec.left_scale },
      timeScale: { borderColor: '#d8dce3', timeVisible: !!D.intraday, secondsVisible: false,
        rightOffset: spec.axis === 'index' ? 0 : 2,
        minBarSpacing: 0.001 },
      crosshair: { mode: 0 },
      localization: {}
    };
    if (spec.axis === 'index') {
      opts.localization.timeFormatter = function (t) { return (spec.index_label || '') + ' ' + t; };
      opts.timeScale.tickMarkFormatter = function (t) { return String(t); };
    } else {
      opts.localization.timeFormatter = function (t) { return fmtTime(t, D.intraday); };
    }
    el.style.height = spec.height + 'px';
    var chart = LWC.createChart(el, opts);
    var c = { spec: spec, chart: chart, series: [], byTime: null };
    spec.series.forEach(function (s) {
      s.lastValue = lastValueOf(s);
      c.series.push({ api: addSeries(chart, s), spec: s });
    });
    if (spec.markers && spec.markers.length && c.series.length) {
      var target = c.series[spec.marker_series || 0].api;
      var ms = [];
      c.byTime = {};
      spec.markers.forEach(function (m) {
        var entry = m.kind === 'entry';
        var long = m.side === 'long';
        var color = m.win ? '#15803d' : '#b91c1c';
        ms.push({
          time: m.t,
          position: entry ? (long ? 'belowBar' : 'aboveBar') : (long ? 'aboveBar' : 'belowBar'),
          shape: entry ? (long ? 'arrowUp' : 'arrowDown') : 'circle',
          color: color,
          size: entry ? 1 : 0.6
        });
        (c.byTime[m.t] = c.byTime[m.t] || []).push(m.text);
      });
      ms.sort(function (a, b) { return a.time - b.time; });
      LWC.createSeriesMarkers(target, ms);
    }
    var legend = document.createElement('div');
    legend.className = spec.left_scale ? 'legend left-scale' : 'legend';
    el.appendChild(legend);
    legend.innerHTML = legendHtml(c, null);
    chart.subscribeCrosshairMove(function (param) {
      legend.innerHTML = legendHtml(c, param && param.time !== undefined ? param : null);
      if (syncing || spec.axis === 'index') { return; }
      syncing = true;
      charts.forEach(function (o) {
        if (o === c || o.spec.axis === 'index' || !o.series.length) { return; }
        if (param && param.time !== undefined) {
          var s0 = o.series[0];
          var v = nearestValue(s0.spec, param.time);
          if (v !== null) { o.chart.setCrosshairPosition(v, param.time, s0.api); } else { o.chart.clearCrosshairPosition(); }
        } else {
          o.chart.clearCrosshairPosition();
        }
      });
      syncing = false;
    });
    if (spec.axis !== 'index') {
      chart.timeScale().subscribeVisibleTimeRangeChange(function (r) {
        if (syncing || !r) { return; }
        syncing = true;
        charts.forEach(function (o) {
          if (o !== c && o.spec.axis !== 'index') {
            try { o.chart.timeScale().setVisibleRange(r); } catch (e) { /* range outside data */ }
          }
        });
        syncing = false;
      });
    }
    chart.timeScale().fitContent();
    charts.push(c);
    el.algolab = c;
  }

  // the value of a series at (or just before) time t, for the synced crosshair
  function nearestValue(s, t) {
    var d = s.data, lo = 0, hi = d.length - 1, best = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (d[mid][0] <= t) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (best < 0 || d[best][1] === null) { return null; }
    return s.kind === 'candles' ? d[best][4] : d[best][1];
  }

  (D.charts || []).forEach(build);
  // fit again once the layout has settled (a chart measured before it had its width)
  window.addEventListener('load', function () {
    charts.forEach(function (c) { c.chart.timeScale().fitContent(); });
  });

  // log-scale toggles: <button data-log="chart id">
  Array.prototype.forEach.call(document.querySelectorAll('button[data-log]'), function (b) {
    b.addEventListener('click', function () {
      var el = document.getElementById('chart-' + b.getAttribute('data-log'));
      if (!el || !el.algolab) { return; }
      var on = b.getAttribute('aria-pressed') !== 'true';
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      el.algolab.chart.priceScale('right').applyOptions({ mode: on ? 1 : 0 });
    });
  });
  // reset-zoom buttons: <button data-fit>
  Array.prototype.forEach.call(document.querySelectorAll('button[data-fit]'), function (b) {
    b.addEventListener('click', function () {
      charts.forEach(function (c) { c.chart.timeScale().fitContent(); });
    });
  });

  // ---------- the paged trades table ----------
  var T = D.trades;
  var table = document.getElementById('trades-table');
  if (T && table) {
    var per = T.page_size || 25, page = 0, pages = Math.max(1, Math.ceil(T.rows.length / per));
    var body = table.querySelector('tbody');
    var info = document.getElementById('trades-info');
    var btn = function (id) { return document.getElementById(id); };
    var cls = T.classes || [];
    var render = function () {
      var html = '';
      var end = Math.min(T.rows.length, (page + 1) * per);
      for (var i = page * per; i < end; i++) {
        var r = T.rows[i];
        html += '<tr data-i="' + i + '">';
        for (var k = 0; k < r.length; k++) {
          var cl = cls[k] || '';
          if (cl === 'sign') { cl = r[k].charAt(0) === '-' ? 'neg' : (r[k] === '0.00' || r[k] === '0.00 %' || r[k] === '—' ? '' : 'pos'); }
          if (cl === 'side') { cl = 'l ' + (r[k] === 'long' ? 'pos' : 'neg'); }
          html += '<td class="' + cl + '">' + r[k] + '</td>';
        }
        html += '</tr>';
      }
      body.innerHTML = html;
      info.textContent = 'page ' + (page + 1) + ' of ' + pages + ' · trades ' + (T.rows.length ? page * per + 1 : 0) + '–' + end + ' of ' + T.rows.length;
      btn('trades-first').disabled = btn('trades-prev').disabled = page === 0;
      btn('trades-next').disabled = btn('trades-last').disabled = page >= pages - 1;
    };
    btn('trades-first').onclick = function () { page = 0; render(); };
    btn('trades-prev').onclick = function () { page = Math.max(0, page - 1); render(); };
    btn('trades-next').onclick = function () { page = Math.min(pages - 1, page + 1); render(); };
    btn('trades-last').onclick = function () { page = pages - 1; render(); };
    // a click on a trade zooms the price chart (and the synced ones) to it
    body.addEventListener('click', function (e) {
      var tr = e.target.closest('tr');
      var price = document.getElementById('chart-price');
      if (!tr || !price || !price.algolab) { return; }
      var span = T.spans[+tr.getAttribute('data-i')];
      if (!span) { return; }
      var pad = Math.max(span[1] - span[0], 86400) * 1.5;
      price.algolab.chart.timeScale().setVisibleRange({ from: span[0] - pad, to: span[1] + pad });
      price.scrollIntoView({ behavior: 'smooth', block: 'center' });
    });
    render();
  }

  // ---------- the paged AI decisions table (an `ai` backtest) ----------
  var A = D.decisions;
  var atable = document.getElementById('ai-table');
  if (A && atable) {
    var aper = A.page_size || 25, apage = 0, apages = Math.max(1, Math.ceil(A.rows.length / aper));
    var abody = atable.querySelector('tbody');
    var ainfo = document.getElementById('ai-info');
    var abtn = function (id) { return document.getElementById(id); };
    var arender = function () {
      var html = '';
      var end = Math.min(A.rows.length, (apage + 1) * aper);
      for (var i = apage * aper; i < end; i++) {
        var r = A.rows[i];
        html += '<tr data-d="' + i + '">';
        for (var k = 0; k < r.length; k++) {
          var cl = 'l';
          if (k === 3) { cl = r[k] === 'BUY' ? 'l pos' : (r[k] === 'SELL' ? 'l neg' : 'l'); }
          if (k === 9 && r[k]) { cl = 'l neg'; }
          html += '<td class="' + cl + '">' + r[k] + '</td>';
        }
        html += '</tr>';
      }
      abody.innerHTML = html;
      ainfo.textContent = 'page ' + (apage + 1) + ' of ' + apages + ' · decisions ' + (A.rows.length ? apage * aper + 1 : 0) + '–' + end + ' of ' + A.rows.length;
      abtn('ai-first').disabled = abtn('ai-prev').disabled = apage === 0;
      abtn('ai-next').disabled = abtn('ai-last').disabled = apage >= apages - 1;
    };
    abtn('ai-first').onclick = function () { apage = 0; arender(); };
    abtn('ai-prev').onclick = function () { apage = Math.max(0, apage - 1); arender(); };
    abtn('ai-next').onclick = function () { apage = Math.min(apages - 1, apage + 1); arender(); };
    abtn('ai-last').onclick = function () { apage = apages - 1; arender(); };
    // a click on a decision zooms the price chart to the trade it caused
    abody.addEventListener('click', function (e) {
      var tr = e.target.closest('tr');
      var price = document.getElementById('chart-price');
      if (!tr || !price || !price.algolab || !T) { return; }
      var span = T.spans[A.trades[+tr.getAttribute('data-d')]];
      if (!span) { return; }
      var pad = Math.max(span[1] - span[0], 86400) * 1.5;
      price.algolab.chart.timeScale().setVisibleRange({ from: span[0] - pad, to: span[1] + pad });
      price.scrollIntoView({ behavior: 'smooth', block: 'center' });
    });
    arender();
  }
})();
