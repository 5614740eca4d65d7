// Drives headless Debian chromium over pages `raftkv view` wrote (run by
// tools/view/browser-test): for each OUT/NAME.html, checks that the lanes are
// drawn, that the arrows delivered equal the trace's deliveries, that a
// violation is highlighted and the view opens at it, that moving the cursor
// changes the logs shown, and that the page logs no console error. Saves
// OUT/NAME.png. Exit 0 when every check passes.
//   VIEW_NPM_DIR=DIR node browser-test.mjs OUT NAME...
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.env.VIEW_NPM_DIR, 'package.json'));
const puppeteer = require('puppeteer-core');
const [out, ...names] = process.argv.slice(2);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

let failures = 0;
function check(ok, what) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failures++;
}

// What the trace itself says, read here without the page's code.
function traceFacts(name) {
  const lines = readFileSync(path.join(root, 'traces', name + '.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cfg = lines[0].config;
  const clients = new Set();
  for (let c = 1; c <= cfg.num_clients; c++) clients.add(c);
  let deliveries = 0;
  for (const ev of lines.slice(1)) {
    if (ev.event === 'deliver' || ev.event === 'client_receive') deliveries++;
    if (ev.client !== undefined && ev.event.startsWith('client_')) clients.add(ev.client);
  }
  return { lanes: cfg.num_nodes + clients.size, deliveries, events: lines.length - 1 };
}

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  for (const name of names) {
    console.log('== ' + name);
    const facts = traceFacts(name);
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1100 });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
    const requests = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    const started = Date.now();
    await page.goto('file://' + path.resolve(out, name + '.html'), { waitUntil: 'load' });
    await page.waitForFunction(() => window.raftkvView && window.raftkvView.ready, { timeout: 60000 });
    console.log('     loaded in ' + (Date.now() - started) + ' ms');
    const verdict = JSON.parse(await page.$eval('#verdict-data', (e) => e.textContent));
    const first = await page.evaluate(() => ({
      lanes: raftkvView.lanes, stats: { ...raftkvView.stats }, delivered: raftkvView.delivered,
      banner: document.getElementById('verdict').innerText, cursor: raftkvView.cursor,
      highlighted: raftkvView.highlighted, logs: raftkvView.logsText(),
    }));
    check(first.lanes === facts.lanes && first.stats.lanesDrawn === facts.lanes,
      `lanes: ${first.stats.lanesDrawn} drawn, ${facts.lanes} nodes and clients in the trace`);
    check(first.delivered === facts.deliveries, `arrows: ${first.delivered} delivered messages, the trace has ${facts.deliveries} deliver/client_receive lines`);
    // The canvas is not blank where the lanes are.
    const inked = await page.evaluate(() => {
      const c = document.getElementById('diagram');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) n++;
      return n / (d.length / 4);
    });
    check(inked > 0.05, `diagram has ink on ${(inked * 100).toFixed(1)}% of its pixels`);
    if (verdict.ok) {
      check(first.banner.startsWith('OK'), 'banner says OK: ' + first.banner.split('\n')[0]);
    } else {
      check(first.banner.includes('VIOLATION of ' + verdict.check), 'banner names the violated check: ' + first.banner.split('\n')[0]);
      check(first.stats.highlightsDrawn === verdict.seqs.length && verdict.seqs.length > 0,
        `violation highlighted: ${first.stats.highlightsDrawn} of seqs ${verdict.seqs.join(', ')} circled in the opening view`);
      check(verdict.seqs.includes(first.cursor), `the view opens at the violation (cursor at seq ${first.cursor})`);
    }
    const charts = await page.evaluate(() => ({ n: raftkvView.charts, uplot: typeof uPlot, canvases: document.querySelectorAll('#plots canvas').length }));
    check(charts.uplot === 'function' && charts.n === 4 && charts.canvases >= 4, `plots: ${charts.n} uPlot charts (uPlot is a ${charts.uplot})`);
    await page.screenshot({ path: path.join(out, name + '.png'), fullPage: true });
    // Whole run: every delivered arrow drawn (when the range is small enough to draw them).
    const all = await page.evaluate(() => { raftkvView.zoomAll(); return { ...raftkvView.stats }; });
    if (facts.deliveries < 30000) {
      check(all.deliveredDrawn === facts.deliveries, `whole run: ${all.deliveredDrawn} delivered arrows drawn`);
    }
    // The cursor moves the logs: from the start to the end of the run.
    await page.evaluate(() => raftkvView.setCursor(1));
    const logsStart = await page.evaluate(() => raftkvView.logsText());
    await page.click('#fwd-step');
    const afterStep = await page.evaluate(() => raftkvView.cursor);
    check(afterStep > 1, `step button moves the cursor (1 -> ${afterStep})`);
    await page.evaluate((n) => raftkvView.setCursor(n), facts.events);
    const logsEnd = await page.evaluate(() => raftkvView.logsText());
    check(logsStart !== logsEnd && /\d/.test(logsEnd), 'moving the cursor changes the logs shown');
    // Unchecking a message type hides its arrows.
    const hiddenDrawn = await page.evaluate(() => {
      raftkvView.zoomAll();
      const before = raftkvView.stats.arrowsDrawn;
      document.querySelectorAll('#types input').forEach((b) => { if (b.checked) b.click(); });
      const after = raftkvView.stats.arrowsDrawn;
      document.querySelectorAll('#types input').forEach((b) => b.click());
      return { before, after };
    });
    check(hiddenDrawn.after === 0 && hiddenDrawn.before > 0, `type checkboxes hide arrows (${hiddenDrawn.before} -> ${hiddenDrawn.after})`);
    // Hovering an event shows its trace line; clicking it moves the cursor there.
    await page.evaluate(() => raftkvView.setCursor(1));
    const target = await page.evaluate(() => {
      for (let i = 2; i < 400; i++) {
        const xy = raftkvView.eventXY(i);
        if (xy) return { i, ...xy };
      }
      return null;
    });
    if (target) {
      await page.mouse.move(target.x, target.y);
      const tip = await page.evaluate(() => raftkvView.tooltip());
      check(/"seq":\d+/.test(tip) && tip.startsWith('{'), 'hover shows a trace line: ' + tip.slice(0, 80));
      await page.mouse.click(target.x, target.y);
      const at = await page.evaluate(() => raftkvView.cursor);
      check(at > 1, `click moves the cursor to the event there (seq ${at})`);
    } else {
      check(false, 'an event to hover in the opening view');
    }
    check(requests.length === 0, 'no network requests: ' + (requests.join(' ') || 'none'));
    check(errors.length === 0, 'no console errors' + (errors.length ? ': ' + errors.join(' | ') : ''));
    await page.close();
  }
} finally {
  await browser.close();
}
if (failures) {
  console.log(failures + ' check(s) failed');
  process.exit(1);
}
console.log('all browser checks passed');
