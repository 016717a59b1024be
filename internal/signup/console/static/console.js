// tenantfleet console: live parts of server-rendered pages, over the
// service's Server-Sent Events streams. Pages work without it (reload).
(function () {
  'use strict';

  var settled = { ready: true, failed: true, deleted: true };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function urnName(urn) {
    if (!urn) return '';
    var parts = urn.split('::');
    return parts[parts.length - 1];
  }

  // seconds mirrors seconds() in console_pages.go: 4.2s, 1m5s, 1h2m3s.
  function seconds(s) {
    if (s === undefined || s === null) return '';
    if (s < 60) return s.toFixed(1) + 's';
    var t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), r = t % 60;
    return (h ? h + 'h' + m + 'm' : m + 'm') + r + 's';
  }

  function changesText(changes) {
    if (!changes) return '';
    return Object.keys(changes).filter(function (k) { return changes[k] > 0; }).sort()
      .map(function (k) { return changes[k] + ' ' + k; }).join(', ');
  }

  // timelineRow mirrors timelineOf in console_pages.go.
  function timelineRow(ev) {
    var d = ev.data || {}, summary = '', name = '', op = '', status = '';
    switch (ev.type) {
      case 'state':
        summary = 'state: ' + d.state + (d.error ? ' — ' + d.error : '');
        status = d.state;
        break;
      case 'operation':
        summary = d.operation + ' ' + d.phase + (d.attempt ? ' (attempt ' + d.attempt + ')' : '');
        var c = changesText(d.changes);
        if (c) summary += ': ' + c;
        if (d.error) summary += ' — ' + d.error;
        status = d.phase;
        break;
      case 'resource':
        name = urnName(d.urn);
        summary = d.type + (d.error ? ' — ' + d.error : '');
        op = d.op; status = d.status;
        break;
      case 'diagnostic':
        summary = d.message; status = d.severity; name = urnName(d.urn);
        break;
      default:
        summary = JSON.stringify(d);
    }
    var tr = el('tr', 'ev-' + ev.type);
    var at = new Date(ev.at);
    var td = el('td'), time = el('time', null, at.toISOString().substring(11, 19));
    time.setAttribute('datetime', ev.at);
    td.appendChild(time);
    tr.appendChild(td);
    tr.appendChild(el('td', null, summary));
    tr.appendChild(el('td', null, name));
    tr.appendChild(el('td', null, op || ''));
    var st = el('td');
    st.appendChild(el('span', 'phase phase-' + (status || ''), status || ''));
    tr.appendChild(st);
    tr.appendChild(el('td', 'num', seconds(d.seconds)));
    return tr;
  }

  // inUse reports whether the operator is working in el: focus in it, or
  // a confirmation (details) open in it. Such a part is not replaced.
  function inUse(el) {
    return el.contains(document.activeElement) && document.activeElement !== document.body ||
      el.querySelector('details[open]') !== null;
  }

  // refresh replaces the elements with these ids by the same elements of
  // a fresh copy of this page, without reloading it; those the operator
  // is working in are left as they are.
  function refresh(ids) {
    return fetch(window.location.pathname, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (res) {
        if (res.redirected || !res.ok) throw new Error('status ' + res.status);
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        ids.forEach(function (id) {
          var now = document.getElementById(id), fresh = doc.getElementById(id);
          if (now && fresh && !inUse(now)) now.replaceWith(document.adoptNode(fresh));
        });
        return doc;
      });
  }

  function stopped(status, why) {
    if (status) status.textContent = why;
  }

  function followTenant(table) {
    var body = table.tBodies[0], status = document.getElementById('live-status');
    var badge = document.getElementById('tenant-state');
    var es = new EventSource(table.dataset.live);
    function settle(st) {
      es.close();
      badge.textContent = st;
      badge.className = 'state state-' + st;
      var which = document.getElementById('timeline-which');
      if (which) which.textContent = 'last';
      stopped(status, 'The tenant is ' + st + '.');
      refresh(['tenant-details']).catch(function () {
        stopped(status, 'The tenant is ' + st + '; reload the page for its outputs.');
      });
    }
    ['state', 'operation', 'resource', 'diagnostic'].forEach(function (type) {
      es.addEventListener(type, function (msg) {
        var ev = JSON.parse(msg.data);
        body.appendChild(timelineRow(ev));
        if (ev.type !== 'state') return;
        badge.textContent = ev.data.state;
        badge.className = 'state state-' + ev.data.state;
        if (settled[ev.data.state]) settle(ev.data.state);
      });
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        stopped(status, 'Live updates stopped (signed out, or the service went away): reload the page.');
        return;
      }
      // The stream ended and the browser is about to reconnect: when the
      // tenant settled meanwhile (its last event came before this page
      // subscribed), there is nothing more to follow.
      fetch(window.location.pathname, { credentials: 'same-origin' }).then(function (res) {
        if (res.redirected || !res.ok) throw new Error('status ' + res.status);
        return res.text();
      }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.getElementById('timeline'), st = doc.getElementById('tenant-state');
        if (fresh && !fresh.dataset.live && st) settle(st.textContent.trim());
      }).catch(function () {
        es.close();
        stopped(status, 'Live updates stopped (signed out, or the service went away): reload the page.');
      });
    };
  }

  // followRollout refreshes the rollout's parts on each of its events:
  // one fetch at a time, one more after it when events came meanwhile.
  function followRollout(head) {
    var es = new EventSource(head.dataset.live), timer = null, busy = false, again = false;
    function update() {
      timer = null;
      if (busy) { again = true; return; }
      busy = true;
      refresh(['rollout-head', 'rollout-actions', 'rollout-body']).then(function () {
        var now = document.getElementById('rollout-head');
        if (now && !now.dataset.live) es.close();
      }).catch(function () {
        es.close();
        stopped(document.getElementById('live-status'), 'Live updates stopped: reload the page.');
      }).then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
    }
    function schedule() {
      if (!timer) timer = setTimeout(update, 250);
    }
    ['state', 'wave', 'tenant'].forEach(function (type) {
      es.addEventListener(type, schedule);
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        stopped(document.getElementById('live-status'), 'Live updates stopped (signed out, or the service went away): reload the page.');
        return;
      }
      schedule(); // the stream ended: the refresh says whether the rollout is over
    };
  }

  function start() {
    var tl = document.getElementById('timeline');
    if (tl && tl.dataset.live) followTenant(tl);
    var ro = document.getElementById('rollout-head');
    if (ro && ro.dataset.live) followRollout(ro);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
