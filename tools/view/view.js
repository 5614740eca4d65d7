// raftkv view: the page's script. Reads the trace (spec/trace-schema.md) and
// the checker's verdict that `raftkv view` wrote into the page, then draws a
// space-time diagram (canvas, only what the visible time range holds), the
// logs at a time cursor, the client operations and plots of the run.
'use strict';
(function () {
  const V = JSON.parse(document.getElementById('verdict-data').textContent);
  const T = JSON.parse(document.getElementById('trace-data').textContent);
  const header = T[0];
  const cfg = header.config;
  const N = cfg.num_nodes;
  // T[i] is the i-th event the page holds: the event with seq i + base (the
  // page may hold a window of a long trace: `raftkv view --max-events`).
  const last = T.length - 1;
  const base = last ? T[1].seq - 1 : 0;
  const endT = T[last].t;

  // ---- lanes: one per node, then one per client (client 0: scenarios' requests)
  const lanes = []; // {kind, id, name}
  const nodeLane = [];
  for (let n = 1; n <= N; n++) { nodeLane[n] = lanes.length; lanes.push({ kind: 'node', id: n, name: 'node ' + n }); }
  const clientLane = new Map();
  function laneOfClient(c) {
    if (!clientLane.has(c)) { clientLane.set(c, lanes.length); lanes.push({ kind: 'client', id: c, name: 'client ' + c }); }
    return clientLane.get(c);
  }
  for (let c = 1; c <= cfg.num_clients; c++) laneOfClient(c);

  // ---- one pass over the trace
  const laneEvents = lanes.map(() => []); // seqs of the events drawn on each lane (grows for client 0)
  const roleSegs = []; // per node: [{t0, t1, role, term}]
  const stateSeqs = [], states = []; // per node: seqs of lines with a state, and the states
  const entHist = []; // per node: index -> [[seq, term, cmd], ...]
  const restarts = []; // per node: seqs of crash and restart (the store is lost)
  const applies = []; // per node: key -> [[seq, value or null]]
  const progress = []; // per node: peer -> {seqs, next, match, mode}
  const leaderSince = []; // per node: seqs of become_leader
  for (let n = 1; n <= N; n++) {
    roleSegs[n] = []; stateSeqs[n] = []; states[n] = []; entHist[n] = []; restarts[n] = [];
    applies[n] = new Map(); progress[n] = new Map(); leaderSince[n] = [];
  }
  // The logs nodes boot with (a scenario's initial_state) or, for a page that
  // holds a window of a long trace, the logs at the window's first event.
  for (const init of header.window_logs || header.initial_state || []) {
    init.log.forEach((e, i) => { entHist[init.node][i + 1] = [[0, e.term, e.cmd]]; });
  }
  // Messages: the arrows, as parallel arrays, in delivery order (so t1 ascends).
  const A = { t0: [], t1: [], l0: [], l1: [], type: [], flags: [], s0: [], s1: [] };
  const F_DROP = 1, F_DUP = 2;
  const typeNames = []; const typeIndex = new Map();
  function typeOf(msg) {
    let name = msg.type;
    if (name === 'AppendEntries' && msg.entries.length === 0) name = 'AppendEntries (heartbeat)';
    if (!typeIndex.has(name)) { typeIndex.set(name, typeNames.length); typeNames.push(name); }
    return typeIndex.get(name);
  }
  const sent = new Map(); // msg id -> [seq, t, lane, type]
  const duplicated = new Set();
  const markers = []; // [seq, kind] partition, heal, cut, uncut: drawn across node lanes
  const ops = []; // client operations {lane, s0, t0, s1, t1, cmd, result}
  const openOps = new Map();
  const sendBuckets = []; // type -> counts per bucket of sendBucket ms
  const sendBucket = Math.max(1, niceStep(endT, 80));
  const candidates = [], leaders = []; // times
  const latencies = [];
  let delivered = 0, dropped = 0, maxLatency = 0;

  function receiverLane(msg) {
    return msg.type === 'ClientReply' ? laneOfClient(msg.client) : nodeLane[msg.to];
  }
  function arrow(s0, t0, l0, type, s1, t1, l1, flags) {
    A.t0.push(t0); A.t1.push(t1); A.l0.push(l0); A.l1.push(l1); A.type.push(type);
    A.flags.push(flags); A.s0.push(s0); A.s1.push(s1);
    if (t1 - t0 > maxLatency) maxLatency = t1 - t0;
  }
  function noteSend(ev, msg, lane) {
    const type = typeOf(msg);
    sent.set(msg.id, [ev.seq, ev.t, lane, type]);
    const sec = Math.floor(ev.t / sendBucket);
    const b = sendBuckets[type] || (sendBuckets[type] = []);
    b[sec] = (b[sec] || 0) + 1;
  }

  for (let s = 1; s <= last; s++) {
    const ev = T[s];
    const n = ev.node;
    if (n !== undefined) {
      laneEvents[nodeLane[n]].push(s);
      if (ev.state) {
        const prev = states[n].length ? states[n][states[n].length - 1] : null;
        // A line writes only the fields of its state that changed (schema v4).
        const st = prev ? Object.assign({}, prev, ev.state) : ev.state;
        stateSeqs[n].push(s); states[n].push(st);
        const segs = roleSegs[n];
        if (!prev || prev.role !== st.role || prev.term !== st.term) {
          if (segs.length) segs[segs.length - 1].t1 = ev.t;
          segs.push({ t0: ev.t, t1: endT, role: st.role, term: st.term, s0: s });
        }
      }
    }
    switch (ev.event) {
      case 'send': noteSend(ev, ev.msg, nodeLane[n]); break;
      case 'inject': noteSend(ev, ev.msg, nodeLane[ev.msg.from]); break;
      case 'client_send': noteSend(ev, ev.msg, laneOfClient(ev.client)); break;
      case 'deliver': case 'client_receive': {
        const id = ev.event === 'deliver' ? ev.msg_id : ev.msg.id;
        const m = sent.get(id);
        const lane = ev.event === 'deliver' ? nodeLane[n] : laneOfClient(ev.client);
        if (ev.event === 'client_receive') laneEvents[lane].push(s);
        if (m) { arrow(m[0], m[1], m[2], m[3], s, ev.t, lane, duplicated.has(id) ? F_DUP : 0); delivered++; }
        break;
      }
      case 'drop': {
        const m = sent.get(ev.msg.id);
        if (m) { arrow(m[0], m[1], m[2], m[3], s, ev.t, receiverLane(ev.msg), F_DROP | (duplicated.has(ev.msg.id) ? F_DUP : 0)); dropped++; }
        break;
      }
      case 'duplicate': duplicated.add(ev.msg.id); break;
      case 'partition': case 'heal': case 'cut': case 'uncut': markers.push(s); break;
      case 'append':
        ev.entries.forEach((e, i) => {
          const h = entHist[n][ev.first_index + i] || (entHist[n][ev.first_index + i] = []);
          h.push([s, e.term, e.cmd]);
        });
        break;
      case 'install_snapshot': {
        // Raft §7: the node now holds the snapshot's entries 1..index, which are
        // committed, so any log holding entry index of that term has them.
        let src = 0;
        for (let m = 1; m <= N && !src; m++) {
          const e = m !== n && entryAt(m, ev.index, s);
          if (e && e[1] === ev.term) src = m;
        }
        for (let i = 1; src && i <= ev.index; i++) {
          const e = entryAt(src, i, s), mine = entryAt(n, i, s);
          if (e && (!mine || mine[1] !== e[1] || mine[2] !== e[2])) {
            (entHist[n][i] || (entHist[n][i] = [])).push([s, e[1], e[2]]);
          }
        }
        break;
      }
      case 'crash': case 'restart': restarts[n].push(s); break;
      case 'apply': {
        const c = ev.entry.cmd;
        if (ev.result.status === 'ok' && (c.op === 'put' || c.op === 'delete')) {
          const h = applies[n].get(c.key) || [];
          applies[n].set(c.key, h);
          h.push([s, c.op === 'put' ? c.value : null]);
        }
        break;
      }
      case 'progress': {
        let p = progress[n].get(ev.peer);
        if (!p) { p = { seqs: [], next: [], match: [], mode: [] }; progress[n].set(ev.peer, p); }
        p.seqs.push(s); p.next.push(ev.next_index); p.match.push(ev.match_index); p.mode.push(ev.mode);
        break;
      }
      case 'become_leader': leaderSince[n].push(s); leaders.push(ev.t); break;
      case 'become_candidate': candidates.push(ev.t); break;
      case 'client_invoke': {
        const lane = laneOfClient(ev.client);
        laneEvents[lane].push(s);
        const op = { lane, s0: s, t0: ev.t, s1: 0, t1: endT, cmd: ev.cmd, result: null };
        ops.push(op); openOps.set(ev.client + '/' + ev.client_seq, op);
        break;
      }
      case 'client_complete': {
        const key = ev.client + '/' + ev.client_seq;
        const op = openOps.get(key);
        laneEvents[laneOfClient(ev.client)].push(s);
        if (op) {
          op.s1 = s; op.t1 = ev.t; op.result = ev.result; openOps.delete(key);
          if (ev.result.status !== 'unknown') latencies.push(ev.t - op.t0);
        }
        break;
      }
      case 'client_retry': laneEvents[laneOfClient(ev.client)].push(s); break;
    }
  }
  // A window of a long trace: a node with no line in it keeps, all through,
  // the state its last line before the window gave (raftkv view carries it).
  for (const w of header.window_logs || []) {
    const n = w.node;
    if (!w.state || stateSeqs[n].length || last < 1) continue;
    stateSeqs[n].push(1); states[n].push(w.state);
    roleSegs[n].push({ t0: T[1].t, t1: endT, role: w.state.role, term: w.state.term, s0: 1 });
  }

  // Client operations are in invocation order; the longest bounds the search for the visible ones.
  let maxOpTime = 0;
  for (const op of ops) maxOpTime = Math.max(maxOpTime, op.t1 - op.t0);

  // ---- helpers
  function lowerBound(arr, x, key) { // first i with key(arr[i]) >= x
    let lo = 0, hi = arr.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (key(arr[mid]) < x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function lastAtOrBefore(seqs, s) { // index of the last seq <= s, or -1
    return lowerBound(seqs, s + 1, (v) => v) - 1;
  }
  function laneOfEvent(ev) {
    if (ev.node !== undefined) return nodeLane[ev.node];
    if (ev.client !== undefined) return laneOfClient(ev.client);
    return -1;
  }
  const termColor = (term) => 'hsl(' + ((term * 67) % 360) + ',65%,72%)';
  const roleColor = { follower: '#e8eef5', candidate: '#fbd38d', leader: '#a7e3b5', down: '#9a9a9a' };
  const typeColor = (name) => ({
    'RequestVote': '#d35400', 'RequestVoteResponse': '#e59866', 'AppendEntries': '#1f5f99',
    'AppendEntries (heartbeat)': '#b0bccb', 'AppendEntriesResponse': '#5dade2',
    'CommitNotification': '#8e44ad', 'ClientRequest': '#1e8449', 'ClientReply': '#76c893',
  })[name] || '#555';
  const statusColor = { ok: '#7bc67e', key_exists: '#f6d55c', not_found: '#f6d55c', unknown: '#e76f51' };

  // ---- verdict banner
  const banner = document.getElementById('verdict');
  const highlighted = new Set((V.seqs || []).map((s) => s - base).filter((i) => i >= 1 && i <= last));
  if (V.ok) {
    banner.className = 'verdict ok';
    banner.textContent = 'OK: ' + V.trace + ' passes every check (' + V.events + ' events)' +
      (V.planted_bugs.length ? ' [planted bugs: ' + V.planted_bugs.join(', ') + ']' : '');
  } else {
    banner.className = 'verdict bad';
    banner.textContent = 'VIOLATION of ' + V.check + ' in ' + V.trace + ' at seq ' + V.seqs.join(', ') +
      (V.nodes.length ? ' on node(s) ' + V.nodes.join(', ') : '');
    const ex = document.createElement('span');
    ex.className = 'explanation'; ex.textContent = V.explanation;
    banner.appendChild(ex);
  }
  document.getElementById('title').textContent = N + ' nodes, ' + cfg.num_clients + ' clients, seed ' +
    header.seed + ', ' + V.events + ' events, ' + endT + ' ms';
  if (V.first !== 1 || V.last !== V.events) {
    const w = document.createElement('span');
    w.className = 'explanation';
    w.textContent = 'This page holds events ' + V.first + '..' + V.last + ' of ' + V.events +
      ' (raftkv view --max-events)' + (V.first > 1 ? '; logs and states start as they were at event ' + V.first : '') + '.';
    banner.appendChild(w);
  }

  // ---- message type checkboxes
  const hidden = new Set();
  const typesBox = document.getElementById('types');
  typeNames.forEach((name, i) => {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox'; box.checked = true; box.dataset.type = name;
    box.addEventListener('change', () => { if (box.checked) hidden.delete(i); else hidden.add(i); draw(); });
    label.appendChild(box);
    const sw = document.createElement('span');
    sw.textContent = ' ' + name; sw.style.color = typeColor(name);
    label.appendChild(sw);
    typesBox.appendChild(label);
  });

  // ---- the diagram
  const canvas = document.getElementById('diagram');
  const ctx = canvas.getContext('2d');
  const TOP = 24, LANE = 30, LEFT = 72, RIGHT = 12, MAX_ARROWS = 30000;
  let v0 = 0, v1 = Math.min(endT, 400) || 1;
  let cursor = 1;
  const stats = { lanesDrawn: 0, arrowsDrawn: 0, deliveredDrawn: 0, highlightsDrawn: 0 };
  const laneY = (l) => TOP + l * LANE + LANE / 2;
  let W = 0;
  const xOf = (t) => LEFT + (t - v0) / (v1 - v0) * (W - LEFT - RIGHT);
  const tOf = (x) => v0 + (x - LEFT) / (W - LEFT - RIGHT) * (v1 - v0);

  function resize() {
    const dpr = window.devicePixelRatio || 1;
    W = canvas.clientWidth;
    const H = TOP + lanes.length * LANE + 8;
    canvas.style.height = H + 'px';
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function niceStep(span, count) {
    const raw = span / count, p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
    return 10 * p;
  }

  function drawArrowHead(x1, y1, x0, y0, color) {
    const a = Math.atan2(y1 - y0, x1 - x0);
    ctx.fillStyle = color;
    ctx.beginPath(); ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 7 * Math.cos(a - 0.35), y1 - 7 * Math.sin(a - 0.35));
    ctx.lineTo(x1 - 7 * Math.cos(a + 0.35), y1 - 7 * Math.sin(a + 0.35));
    ctx.closePath(); ctx.fill();
  }

  function draw() {
    const H = canvas.height / (window.devicePixelRatio || 1);
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px system-ui, sans-serif';
    stats.lanesDrawn = 0; stats.arrowsDrawn = 0; stats.deliveredDrawn = 0; stats.highlightsDrawn = 0;
    // time axis
    const step = niceStep(v1 - v0, 10);
    ctx.strokeStyle = '#eee'; ctx.fillStyle = '#666'; ctx.textAlign = 'center';
    for (let t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      const x = xOf(t);
      ctx.beginPath(); ctx.moveTo(x, TOP - 4); ctx.lineTo(x, H); ctx.stroke();
      ctx.fillText(+t.toFixed(3) + ' ms', x, 12);
    }
    // lanes, role bands
    ctx.save();
    ctx.beginPath(); ctx.rect(LEFT, 0, W - LEFT - RIGHT, H); ctx.clip();
    lanes.forEach((lane, l) => {
      const y = laneY(l);
      if (lane.kind === 'node') {
        const segs = roleSegs[lane.id];
        for (let i = lowerBound(segs, v0, (sg) => sg.t1); i < segs.length && segs[i].t0 <= v1; i++) {
          const sg = segs[i];
          const x0 = Math.max(xOf(sg.t0), LEFT - 2), x1 = Math.min(xOf(sg.t1), W);
          ctx.fillStyle = roleColor[sg.role];
          ctx.fillRect(x0, y - 9, Math.max(x1 - x0, 1), 18);
          if (x1 - x0 > 30) {
            ctx.fillStyle = sg.role === 'down' ? '#fff' : '#333'; ctx.textAlign = 'left';
            ctx.fillText((sg.role === 'down' ? 'down' : sg.role[0].toUpperCase() + ' term ' + sg.term), x0 + 3, y + 4);
          }
        }
      } else {
        ctx.strokeStyle = '#ccc';
        ctx.beginPath(); ctx.moveTo(LEFT, y); ctx.lineTo(W, y); ctx.stroke();
      }
      stats.lanesDrawn++;
    });
    // client operations: invocation to completion
    for (let i = lowerBound(ops, v0 - maxOpTime, (op) => op.t0); i < ops.length && ops[i].t0 <= v1; i++) {
      const op = ops[i];
      if (op.t1 < v0) continue;
      const y = laneY(op.lane) - 6;
      const x0 = xOf(op.t0), x1 = xOf(op.t1);
      const status = op.result ? op.result.status : 'unknown';
      const open = status === 'unknown';
      ctx.fillStyle = statusColor[status] || '#bbb';
      ctx.globalAlpha = open ? 0.35 : 0.8;
      ctx.fillRect(x0, y, Math.max(x1 - x0, 2), 12);
      ctx.globalAlpha = 1;
      if (open) { // an open end: no reply accepted
        ctx.strokeStyle = '#c0392b'; ctx.setLineDash([3, 3]);
        ctx.strokeRect(x0, y, Math.max(x1 - x0, 2), 12); ctx.setLineDash([]);
      }
      if (x1 - x0 > 60) {
        ctx.fillStyle = '#222'; ctx.textAlign = 'left';
        const c = op.cmd;
        ctx.fillText(c.op + ' ' + c.key + (c.op === 'put' ? '=' + c.value : '') + ' → ' +
          (op.result ? status + (op.result.value ? ' ' + op.result.value : '') : 'open') + (open ? ' ?' : ''), x0 + 3, y + 10);
      }
    }
    // partitions, heals, cuts
    for (const s of markers) {
      const ev = T[s];
      if (ev.t < v0 || ev.t > v1) continue;
      const x = xOf(ev.t);
      ctx.strokeStyle = '#7d3c98'; ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(x, TOP); ctx.lineTo(x, laneY(N - 1) + 12); ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = '#7d3c98'; ctx.textAlign = 'left';
      const what = ev.event === 'partition' ? 'partition ' + JSON.stringify(ev.groups) :
        ev.event === 'heal' ? 'heal' : ev.event + ' ' + ev.from + '→' + ev.to;
      ctx.fillText(what, x + 2, TOP + 8);
    }
    // messages
    let first = lowerBound(A.t1, v0, (v) => v), count = 0;
    let end = lowerBound(A.t1, v1 + maxLatency + 1e-9, (v) => v);
    for (let i = first; i < end; i++) if (A.t0[i] <= v1 && !hidden.has(A.type[i])) count++;
    const note = document.getElementById('note');
    if (count > MAX_ARROWS) {
      note.textContent = count + ' messages in this range: zoom in to see them';
    } else {
      note.textContent = '';
      for (let i = first; i < end; i++) {
        if (A.t0[i] > v1 || hidden.has(A.type[i])) continue;
        const x0 = xOf(A.t0[i]), y0 = laneY(A.l0[i]), x1 = xOf(A.t1[i]), y1 = laneY(A.l1[i]);
        const color = typeColor(typeNames[A.type[i]]);
        const drop = A.flags[i] & F_DROP;
        ctx.strokeStyle = color; ctx.lineWidth = A.type[i] === typeIndex.get('AppendEntries (heartbeat)') ? 1 : 1.5;
        if (A.flags[i] & F_DUP) ctx.setLineDash([5, 2]);
        const yEnd = drop ? (y0 + y1) / 2 : y1; // a dropped message stops half way
        const xEnd = drop ? (x0 + x1) / 2 + 4 : x1;
        ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(xEnd, yEnd); ctx.stroke();
        ctx.setLineDash([]); ctx.lineWidth = 1;
        if (drop) {
          ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 2;
          ctx.beginPath(); ctx.moveTo(xEnd - 4, yEnd - 4); ctx.lineTo(xEnd + 4, yEnd + 4);
          ctx.moveTo(xEnd - 4, yEnd + 4); ctx.lineTo(xEnd + 4, yEnd - 4); ctx.stroke(); ctx.lineWidth = 1;
        } else {
          drawArrowHead(x1, y1, x0, y0, color);
          stats.deliveredDrawn++;
        }
        if (A.flags[i] & F_DUP) { ctx.fillStyle = '#000'; ctx.fillText('×2', xEnd + 3, yEnd - 3); }
        stats.arrowsDrawn++;
      }
    }
    // lane events: timeouts, crashes, restarts
    lanes.forEach((lane, l) => {
      if (lane.kind !== 'node') return;
      const evs = laneEvents[l];
      const y = laneY(l);
      const i0 = lowerBound(evs, v0, (s) => T[s].t);
      for (let i = i0; i < evs.length && T[evs[i]].t <= v1; i++) {
        const ev = T[evs[i]], x = xOf(ev.t);
        if (ev.event === 'timeout' && ev.timer !== 'heartbeat') {
          ctx.fillStyle = '#d35400';
          ctx.beginPath(); ctx.moveTo(x, y - 14); ctx.lineTo(x - 4, y - 20); ctx.lineTo(x + 4, y - 20); ctx.fill();
        } else if (ev.event === 'crash') {
          ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 3;
          ctx.beginPath(); ctx.moveTo(x - 7, y - 7); ctx.lineTo(x + 7, y + 7); ctx.moveTo(x - 7, y + 7); ctx.lineTo(x + 7, y - 7); ctx.stroke();
          ctx.lineWidth = 1;
        } else if (ev.event === 'restart') {
          ctx.fillStyle = '#1e8449';
          ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.fill();
        }
      }
    });
    // the checker's events
    for (const s of highlighted) {
      const ev = T[s];
      if (!ev || ev.t < v0 || ev.t > v1) continue;
      const l = laneOfEvent(ev);
      const y = l < 0 ? TOP + 4 : laneY(l);
      ctx.strokeStyle = '#e00'; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.arc(xOf(ev.t), y, 11, 0, 2 * Math.PI); ctx.stroke(); ctx.lineWidth = 1;
      stats.highlightsDrawn++;
    }
    // the cursor
    const ct = T[cursor].t;
    if (ct >= v0 && ct <= v1) {
      ctx.strokeStyle = '#000'; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(xOf(ct), TOP - 4); ctx.lineTo(xOf(ct), H); ctx.stroke(); ctx.lineWidth = 1;
    }
    ctx.restore();
    // lane labels
    ctx.textAlign = 'left';
    lanes.forEach((lane, l) => {
      ctx.fillStyle = highlightedLane(lane) ? '#e00' : '#222';
      ctx.fillText(lane.name, 4, laneY(l) + 4);
    });
  }
  function highlightedLane(lane) { return lane.kind === 'node' && (V.nodes || []).includes(lane.id); }

  // ---- interaction: zoom, pan, hover, click
  let drag = null;
  const tip = document.createElement('pre');
  tip.style.cssText = 'position:fixed;pointer-events:none;background:#ffffe8;border:1px solid #999;padding:4px;font-size:11px;max-width:600px;white-space:pre-wrap;display:none;margin:0;z-index:5';
  document.body.appendChild(tip);
  function eventAt(x, y) {
    const l = Math.floor((y - TOP) / LANE);
    if (l < 0 || l >= lanes.length) return 0;
    const evs = laneEvents[l];
    const t = tOf(x);
    let i = lowerBound(evs, t, (s) => T[s].t);
    let best = 0, bestD = 7;
    for (const j of [i - 1, i, i + 1]) {
      if (j < 0 || j >= evs.length) continue;
      const d = Math.abs(xOf(T[evs[j]].t) - x);
      if (d < bestD) { bestD = d; best = evs[j]; }
    }
    return best;
  }
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const t = tOf(e.offsetX), f = e.deltaY > 0 ? 1.25 : 0.8;
    v0 = t - (t - v0) * f; v1 = t + (v1 - t) * f;
    if (v1 - v0 < 0.5) { v1 = v0 + 0.5; }
    draw();
  }, { passive: false });
  canvas.addEventListener('mousedown', (e) => { drag = { x: e.offsetX, v0, v1, moved: false }; });
  window.addEventListener('mouseup', (e) => {
    if (drag && !drag.moved && e.target === canvas) {
      const s = eventAt(e.offsetX, e.offsetY);
      if (s) setCursor(s, false);
    }
    drag = null;
  });
  canvas.addEventListener('mousemove', (e) => {
    if (drag) {
      const dt = (e.offsetX - drag.x) / (W - LEFT - RIGHT) * (drag.v1 - drag.v0);
      if (Math.abs(e.offsetX - drag.x) > 3) drag.moved = true;
      v0 = drag.v0 - dt; v1 = drag.v1 - dt; draw(); return;
    }
    const s = eventAt(e.offsetX, e.offsetY);
    if (s) {
      tip.textContent = JSON.stringify(T[s]);
      tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 620) + 'px';
      tip.style.top = (e.clientY + 14) + 'px'; tip.style.display = 'block';
    } else tip.style.display = 'none';
  });
  canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  document.getElementById('zoom-all').addEventListener('click', () => { v0 = 0; v1 = Math.max(endT, 1); draw(); });

  // ---- the cursor: logs, stores, progress at an event
  const slider = document.getElementById('cursor');
  slider.max = last;
  const isInput = (ev) => ['start', 'deliver', 'timeout', 'crash', 'restart'].includes(ev.event);
  document.getElementById('back').addEventListener('click', () => setCursor(Math.max(1, cursor - 1)));
  document.getElementById('fwd').addEventListener('click', () => setCursor(Math.min(last, cursor + 1)));
  document.getElementById('fwd-step').addEventListener('click', () => {
    let s = cursor + 1; while (s < last && !isInput(T[s])) s++; setCursor(Math.min(s, last));
  });
  document.getElementById('back-step').addEventListener('click', () => {
    let s = cursor - 1; while (s > 1 && !isInput(T[s])) s--; setCursor(Math.max(s, 1));
  });
  slider.addEventListener('input', () => setCursor(+slider.value));
  window.addEventListener('keydown', (e) => {
    if (e.target.tagName === 'INPUT' && e.target.type !== 'range') return;
    if (e.key === 'ArrowRight') { setCursor(Math.min(last, cursor + 1)); e.preventDefault(); }
    if (e.key === 'ArrowLeft') { setCursor(Math.max(1, cursor - 1)); e.preventDefault(); }
  });

  function stateAt(n, s) {
    const i = lastAtOrBefore(stateSeqs[n], s);
    return i < 0 ? null : states[n][i];
  }
  function entryAt(n, idx, s) {
    const h = entHist[n][idx];
    if (!h) return null;
    let best = null;
    for (const e of h) { if (e[0] <= s) best = e; else break; }
    return best;
  }
  function storeAt(n, s) {
    const r = lastAtOrBefore(restarts[n], s);
    const since = r < 0 ? 0 : restarts[n][r];
    const out = [];
    for (const [key, h] of applies[n]) {
      const i = lowerBound(h, s + 1, (e) => e[0]) - 1;
      if (i >= 0 && h[i][0] > since && h[i][1] !== null) out.push(key + '=' + h[i][1]);
    }
    return out.sort();
  }
  function progressAt(n, s) {
    const li = lastAtOrBefore(leaderSince[n], s);
    if (li < 0) return [];
    const since = leaderSince[n][li];
    const out = [];
    for (const [peer, p] of [...progress[n]].sort((a, b) => a[0] - b[0])) {
      const i = lastAtOrBefore(p.seqs, s);
      if (i >= 0 && p.seqs[i] >= since) out.push('n' + peer + ' ' + p.next[i] + '/' + p.match[i] + ' ' + p.mode[i]);
    }
    return out;
  }
  const logsBox = document.getElementById('logs');
  function showLogs() {
    const s = cursor;
    logsBox.textContent = '';
    const width = Math.max(logsBox.clientWidth - 160, 100);
    const cells = Math.max(5, Math.floor(width / 21));
    for (let n = 1; n <= N; n++) {
      const st = stateAt(n, s);
      const row = document.createElement('div'); row.className = 'node-row';
      const name = document.createElement('span'); name.className = 'node-name';
      row.appendChild(name);
      logsBox.appendChild(row);
      if (!st) { name.textContent = 'node ' + n + ': not started'; continue; }
      name.textContent = 'node ' + n + ' ' + st.role + ' T' + st.term;
      name.title = 'commit ' + st.commit + ', applied ' + st.applied + ', last index ' + st.last_index;
      const log = document.createElement('span'); log.className = 'log';
      const lo = Math.max(1, st.last_index - cells + 1);
      if (lo > 1) { const more = document.createElement('span'); more.textContent = '…' + (lo - 1); log.appendChild(more); }
      for (let i = lo; i <= st.last_index; i++) {
        const e = entryAt(n, i, s);
        const cell = document.createElement('span');
        cell.className = 'entry' + (i > st.commit ? ' uncommitted' : '') + (i === st.commit ? ' commit' : '') + (i === st.applied ? ' applied' : '');
        if (e) {
          cell.style.background = termColor(e[1]); cell.textContent = e[1];
          const c = e[2];
          cell.title = 'index ' + i + ', term ' + e[1] + ': ' + c.op + ' ' + c.key + (c.op === 'put' ? '=' + c.value : '') + (c.client ? ' (client ' + c.client + ' #' + c.seq + ')' : '');
        }
        log.appendChild(cell);
      }
      row.appendChild(log);
      const store = document.createElement('span'); store.className = 'store';
      store.textContent = st.role === 'down' ? '(down)' : 'c' + st.commit + ' a' + st.applied + ' {' + storeAt(n, s).join(' ') + '}';
      row.appendChild(store);
      if (st.role === 'leader') {
        const p = document.createElement('div'); p.className = 'progress';
        p.textContent = 'next/match: ' + progressAt(n, s).join(', ');
        logsBox.appendChild(p);
      }
    }
  }
  function setCursor(s, follow = true) {
    cursor = s; slider.value = s;
    const ev = T[s];
    document.getElementById('cursor-label').textContent = 'seq ' + ev.seq + ' / ' + V.events + ', t = ' + ev.t + ' ms, ' + ev.event;
    document.getElementById('line').textContent = JSON.stringify(ev, null, 1);
    if (follow && (ev.t < v0 || ev.t > v1)) { const w = v1 - v0; v0 = ev.t - w / 2; v1 = ev.t + w / 2; }
    showLogs();
    draw();
  }

  // ---- plots, with uPlot (vendored into the page from npm by the build)
  const charts = [];
  function chart(id, xlabel, ylabel, xs, series) {
    const opts = {
      width: 560, height: 230,
      scales: { x: { time: false } },
      axes: [{ label: xlabel }, { label: ylabel }],
      series: [{ label: xlabel }, ...series.map((sr) => ({
        label: sr.label, stroke: sr.color, width: 1.5,
        fill: sr.bars ? sr.color : undefined,
        paths: sr.bars ? uPlot.paths.bars({ size: [0.9] }) : sr.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        points: sr.points ? { show: true, size: 7 } : { show: false },
        ...(sr.points ? { paths: () => null } : {}),
      }))],
      legend: { live: true },
    };
    charts.push(new uPlot(opts, [xs, ...series.map((sr) => sr.ys)], document.getElementById(id)));
  }
  function plots() {
    // Time in seconds, or in milliseconds for a run under 5 s; one bucket per
    // round share of the run.
    const bucket = Math.max(1, niceStep(endT, 80)), perSec = 1000 / bucket;
    const U = endT < 5000 ? 1 : 1000, unit = U === 1 ? 'ms' : 's';
    const nb = Math.floor(endT / bucket) + 1;
    const xs = []; for (let i = 0; i < nb; i++) xs.push(i * bucket / U);
    // commit index per node at the end of each bucket
    const commit = [];
    for (let n = 1; n <= N; n++) {
      const ys = new Array(nb).fill(null);
      stateSeqs[n].forEach((s, i) => { ys[Math.floor(T[s].t / bucket)] = states[n][i].commit; });
      let prev = null;
      for (let i = 0; i < nb; i++) { if (ys[i] === null) ys[i] = prev; else prev = ys[i]; }
      commit.push({ label: 'node ' + n, color: 'hsl(' + (n * 67 % 360) + ',60%,40%)', ys, stepped: true });
    }
    chart('plot-commit', 'time (' + unit + ')', 'commit index', xs, commit);
    // latency histogram of completed client operations
    let maxLat = 1;
    for (const l of latencies) if (l > maxLat) maxLat = l;
    const bins = Math.min(40, maxLat + 1), bw = (maxLat + 1) / bins, hist = new Array(bins).fill(0);
    for (const l of latencies) hist[Math.min(bins - 1, Math.floor(l / bw))]++;
    chart('plot-latency', 'latency (ms)', 'operations', hist.map((_, i) => +(i * bw).toFixed(2)),
      [{ label: latencies.length + ' operations', color: '#2874a6', ys: hist, bars: true }]);
    // messages per second by type (sent)
    chart('plot-msgs', 'time (' + unit + '), ' + bucket + ' ms buckets', 'messages/s', xs, typeNames.map((name, k) => ({
      label: name, color: typeColor(name),
      ys: xs.map((_, i) => ((sendBuckets[k] || [])[i] || 0) * perSec),
    })));
    // elections: candidacies and leaders per second
    const cb = new Array(nb).fill(0), lb = new Array(nb).fill(0);
    for (const t of candidates) cb[Math.floor(t / bucket)] += perSec;
    for (const t of leaders) lb[Math.floor(t / bucket)] += perSec;
    chart('plot-elections', 'time (' + unit + '), ' + bucket + ' ms buckets', 'per second', xs, [
      { label: candidates.length + ' candidacies', color: '#d35400', ys: cb, bars: true },
      { label: leaders.length + ' leaders', color: '#1e8449', ys: lb.map((v) => v || null), points: true }]);
  }

  // ---- open: at the violation, else at the start
  resize();
  if (highlighted.size) {
    const ts = [...highlighted].map((s) => T[s].t);
    const lo = Math.min(...ts), hi = Math.max(...ts), pad = Math.max(20, (hi - lo) * 0.15);
    v0 = lo - pad; v1 = hi + pad;
    setCursor(Math.max(...highlighted), false);
  } else {
    setCursor(1, false);
  }
  plots();
  window.addEventListener('resize', () => { resize(); draw(); });
  // For tests (tools/view/browser-test.mjs) and the curious, in the console.
  window.raftkvView = {
    lanes: lanes.length, delivered, dropped, arrows: A.t0.length, stats, typeNames,
    get cursor() { return cursor; }, setCursor, zoomAll: () => { v0 = 0; v1 = Math.max(endT, 1); draw(); },
    // Where event i (1-based, in the page) is drawn, in client coordinates, or null off screen.
    eventXY: (i) => {
      const l = laneOfEvent(T[i]), r = canvas.getBoundingClientRect();
      if (l < 0 || T[i].t < v0 || T[i].t > v1) return null;
      return { x: r.left + xOf(T[i].t), y: r.top + laneY(l) };
    },
    tooltip: () => (tip.style.display === 'none' ? '' : tip.textContent),
    logsText: () => logsBox.innerText, highlighted: [...highlighted], charts: charts.length, ready: true,
  };
})();
