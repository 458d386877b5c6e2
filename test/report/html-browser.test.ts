/**
 * The HTML report in a real browser (headless Chromium): opened over HTTP from 127.0.0.1 and from
 * file://, it must show the verdict and draw the diagram, with no console or page error and no
 * request leaving the machine, and the sequence diagram's labels, measured on the rendered page,
 * must not overlap each other, the notes, faults, the loop's tab or another arrow's head (on
 * scenarios/deadlock.yaml and on a crowded trace: long labels between close lanes, many messages at
 * the same step). Screenshots go to artifacts/screenshots/ for people to look at.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { runCli } from '../../src/cli/program.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { launchBrowser, type Browser } from './browser.js';
import { crowdedCycleStart, crowdedTrace, suite } from './fixtures.js';
import { makeSuiteReport } from '../../src/report/case-result.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const screenshots = join(root, 'artifacts', 'screenshots');

let browser: Browser | undefined;
/** Why the browser did not start (Chromium missing...): every test fails with it, none is skipped. */
let launchError: unknown = null;
let server: Server;
let baseUrl: string;
let dir: string;
const external: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'protosim-html-'));
  mkdirSync(screenshots, { recursive: true });
  // The run report comes from the real pipeline: `protosim run ... --report html=FILE`.
  // Run from the project root, as a user would, so the report names scenarios/deadlock.yaml.
  const io = { stdout: () => {}, stderr: () => {}, cwd: root };
  const code = await runCli(['run', 'scenarios/deadlock.yaml', '--seed', '2', '--no-save-trace', '--report', `html=${join(dir, 'run.html')}`], io);
  expect(code).toBe(0);
  writeFileSync(join(dir, 'suite.html'), renderHtmlReport(suite));
  const crowded = makeSuiteReport('tcp://127.0.0.1:9000', [{ id: 'crowded/burst', title: 'a crowded trace', level: 'required', points: 0, maxPoints: 1, verdict: 'FAIL', reason: 'livelock', durationMs: 70, trace: crowdedTrace, cycleStart: crowdedCycleStart }], 70, 'crowded');
  writeFileSync(join(dir, 'crowded.html'), renderHtmlReport(crowded));
  server = createServer((req, res) => {
    const name = (req.url ?? '/').replace(/^\/+/, '');
    if (!/^[\w.-]+\.html$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(join(dir, name));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    browser = await launchBrowser();
  } catch (error) {
    launchError = error;
    return;
  }
  // Anything but this server and local files is a request the report must not make.
  await browser.context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(baseUrl) || url.startsWith('file://') || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens a page and records every console error and uncaught page error on it. */
async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  if (!browser) throw launchError;
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const response = await page.goto(url, { waitUntil: 'load', timeout: 10_000 });
  if (url.startsWith('http')) expect(response?.status()).toBe(200);
  return { page, errors };
}

/** The diagram is drawn: an SVG with arrows of real size, on screen. */
async function expectDiagram(page: Page, arrows: number): Promise<void> {
  const svg = page.locator('svg.sequence').first();
  await expect.poll(() => svg.isVisible()).toBe(true);
  const box = await svg.boundingBox();
  expect(box!.width).toBeGreaterThan(400);
  expect(box!.height).toBeGreaterThan(300);
  expect(await svg.locator('g.msg').count()).toBe(arrows);
  // each arrow's shaft has a length on screen
  const lengths = await svg.locator('g.msg line').evaluateAll((lines) => lines.map((l) => (l as unknown as { getTotalLength(): number }).getTotalLength()));
  expect(lengths.every((n) => n > 20)).toBe(true);
  expect(await page.locator('svg.timeline g.segment').count()).toBeGreaterThan(3);
}

/** The little of the DOM the overlap check uses (the tests compile without the DOM's types). */
interface El {
  getBoundingClientRect(): { left: number; top: number; right: number; bottom: number };
  closest(selector: string): El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
  getAttribute(name: string): string | null;
  getScreenCTM(): { a: number; b: number; c: number; d: number; e: number; f: number } | null;
  textContent: string | null;
}

/** What overlaps what among the first sequence diagram's labels, measured on the rendered page. */
async function labelOverlaps(page: Page): Promise<{ labels: number; overlaps: string[]; crossings: number }> {
  return page.locator('svg.sequence').first().evaluate((node) => {
    const svg = node as unknown as El;
    type R = { x1: number; y1: number; x2: number; y2: number; what: string; group: El | null };
    const box = (e: El, what: string): R => {
      const r = e.getBoundingClientRect();
      return { x1: r.left, y1: r.top, x2: r.right, y2: r.bottom, what, group: e.closest('g') };
    };
    const text = (e: El): string => (e.textContent ?? '').slice(0, 40);
    // half a pixel of anti-aliasing is not an overlap
    const hit = (a: R, b: R): boolean => a.x1 < b.x2 - 0.5 && b.x1 < a.x2 - 0.5 && a.y1 < b.y2 - 0.5 && b.y1 < a.y2 - 0.5;
    const all = (selector: string): El[] => [...svg.querySelectorAll(selector)];
    const labels = all('g.msg text.label').map((e) => box(e, `label "${text(e)}"`));
    const others = [
      ...all('g.note').map((e) => box(e, `note "${text(e)}"`)),
      ...all('g.fault text, g.finding text, text.elided').map((e) => box(e, `"${text(e)}"`)),
      ...all('g.cycle-label').map((e) => box(e, 'the loop tab')),
      ...all('g.participant').map((e) => box(e, `node box "${text(e)}"`)),
    ];
    const heads = all('g.msg polygon.head, g.msg path.lost').map((e) => box(e, `the head of "${text(e.closest('g')!.querySelector('text.label') ?? e)}"`));
    const overlaps: string[] = [];
    labels.forEach((a, i) => {
      for (const b of labels.slice(i + 1)) if (hit(a, b)) overlaps.push(`${a.what} / ${b.what}`);
      for (const b of others) if (hit(a, b)) overlaps.push(`${a.what} / ${b.what}`);
      for (const b of heads) if (b.group !== a.group && hit(a, b)) overlaps.push(`${a.what} / ${b.what}`);
    });
    // other arrows' shafts through a label (counted, for the record: a long arrow in flight may have to)
    const shafts = all('g.msg line').map((l) => {
      const m = l.getScreenCTM()!;
      const p = (x: string, y: string): { x: number; y: number } => {
        const [u, v] = [Number(l.getAttribute(x)), Number(l.getAttribute(y))];
        return { x: m.a * u + m.c * v + m.e, y: m.b * u + m.d * v + m.f };
      };
      return { a: p('x1', 'y1'), b: p('x2', 'y2'), group: l.closest('g') };
    });
    let crossings = 0;
    for (const lab of labels) {
      for (const s of shafts) {
        if (s.group === lab.group) continue;
        let t0 = 0;
        let t1 = 1;
        let inside = true;
        const dx = s.b.x - s.a.x;
        const dy = s.b.y - s.a.y;
        for (const [p, q] of [[-dx, s.a.x - lab.x1], [dx, lab.x2 - s.a.x], [-dy, s.a.y - lab.y1], [dy, lab.y2 - s.a.y]] as const) {
          if (p === 0) {
            if (q < 0) inside = false;
            continue;
          }
          const r = q / p;
          if (p < 0) t0 = Math.max(t0, r);
          else t1 = Math.min(t1, r);
        }
        if (inside && t0 <= t1) crossings++;
      }
    }
    return { labels: labels.length, overlaps, crossings };
  });
}

describe('HTML report in headless Chromium', () => {
  // deliveries and drops in the shortest deadlock trace of seed 2
  const runArrows = (): number => (readFileSync(join(dir, 'run.html'), 'utf8').match(/<g class="msg[" ]/g) ?? []).length;

  it('over HTTP from 127.0.0.1: verdict, diagram, no errors', async () => {
    const { page, errors } = await open(`${baseUrl}/run.html`);
    await expect.poll(() => page.locator('#verdict').getAttribute('data-verdict')).toBe('PASS');
    expect(await page.locator('#verdict').innerText()).toContain('PASS');
    expect(await page.locator('h1').innerText()).toBe('lock-alternation/deadlock');
    expect(runArrows()).toBeGreaterThan(10);
    await expectDiagram(page, runArrows());
    await expect.poll(() => page.locator('.cycle-label').count()).toBe(1);
    expect(await page.locator('.scenario').innerText()).toContain('scenarios/deadlock.yaml');
    await page.screenshot({ path: join(screenshots, 'run-deadlock.png'), fullPage: true });
    await page.locator('svg.sequence').first().screenshot({ path: join(screenshots, 'run-deadlock-diagram.png') });
    // the copy button works without an error (clipboard or selection fallback)
    await page.locator('.finding button[data-copy]').first().click({ timeout: 5000 });
    await expect.poll(() => page.locator('.finding button[data-copy]').first().innerText()).toMatch(/copied|selected/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('from file://: the same page works offline', async () => {
    const { page, errors } = await open(pathToFileURL(join(dir, 'run.html')).href);
    expect(await page.locator('#verdict').getAttribute('data-verdict')).toBe('PASS');
    await expectDiagram(page, runArrows());
    await page.locator('.finding button[data-copy]').first().click({ timeout: 5000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a suite report: a row per case, the failing one with its diagram', async () => {
    const { page, errors } = await open(`${baseUrl}/suite.html`);
    expect(await page.locator('#verdict').getAttribute('data-verdict')).toBe('FAIL');
    expect(await page.locator('details.case').count()).toBe(4);
    expect(await page.locator('details.case[data-verdict="FAIL"]').getAttribute('open')).not.toBeNull();
    await expectDiagram(page, 6);
    // a closed case opens on click
    await page.locator('details.case[data-verdict="SKIP"] > summary').click({ timeout: 5000 });
    await expect.poll(() => page.locator('details.case[data-verdict="SKIP"] .body').isVisible()).toBe(true);
    await page.screenshot({ path: join(screenshots, 'suite.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("lays the sequence diagram's labels out so that none overlaps another, a note, a fault or an arrow head", async () => {
    for (const [file, shot] of [['run.html', 'run-deadlock-labels.png'], ['crowded.html', 'crowded-diagram.png']] as const) {
      const { page, errors } = await open(`${baseUrl}/${file}`);
      await expect.poll(() => page.locator('svg.sequence').first().isVisible()).toBe(true);
      const measured = await labelOverlaps(page);
      await page.locator('svg.sequence').first().screenshot({ path: join(screenshots, shot) });
      if (process.env.PROTOSIM_SHOW_LABELS) console.log(file, measured);
      expect(measured.labels, file).toBeGreaterThan(10);
      expect(measured.overlaps, `${file}: ${measured.crossings} label/arrow crossings`).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('made no request off the machine', () => {
    if (!browser) throw launchError;
    expect(external).toEqual([]);
  });
});
