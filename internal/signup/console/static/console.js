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

  function seconds(s) {
    if (s === undefined || s === null) return '';
    if (s >= 60) {
      var m = Math.floor(s / 60), r = Math.round(s - m * 60);
      return m + 'm' + r + 's';
    }
    return s.toFixed(1) + 's';
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

  // refresh replaces the element with id by the same element of a fresh
  // copy of this page, without reloading it.
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
          if (now && fresh) now.replaceWith(document.adoptNode(fresh));
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
    ['state', 'operation', 'resource', 'diagnostic'].forEach(function (type) {
      es.addEventListener(type, function (msg) {
        var ev = JSON.parse(msg.data);
        body.appendChild(timelineRow(ev));
        if (ev.type !== 'state') return;
        var st = ev.data.state;
        badge.textContent = st;
        badge.className = 'state state-' + st;
        if (settled[st]) {
          es.close();
          var which = document.getElementById('timeline-which');
          if (which) which.textContent = 'last';
          stopped(status, 'The tenant is ' + st + '.');
          refresh(['tenant-details']).catch(function () {
            stopped(status, 'The tenant is ' + st + '; reload the page for its outputs.');
          });
        }
      });
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        stopped(status, 'Live updates stopped (signed out, or the service went away): reload the page.');
      }
    };
  }

  function followRollout(section) {
    var es = new EventSource(section.dataset.live), pending = null;
    function update() {
      pending = null;
      refresh(['rollout-live']).then(function () {
        var now = document.getElementById('rollout-live');
        if (now && !now.dataset.live) es.close();
      }).catch(function () {
        stopped(document.getElementById('live-status'), 'Live updates stopped: reload the page.');
      });
    }
    ['state', 'wave', 'tenant'].forEach(function (type) {
      es.addEventListener(type, function () {
        if (!pending) pending = setTimeout(update, 250);
      });
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        stopped(document.getElementById('live-status'), 'Live updates stopped (signed out, or the service went away): reload the page.');
      }
    };
  }

  function start() {
    var tl = document.getElementById('timeline');
    if (tl && tl.dataset.live) followTenant(tl);
    var ro = document.getElementById('rollout-live');
    if (ro && ro.dataset.live) followRollout(ro);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
