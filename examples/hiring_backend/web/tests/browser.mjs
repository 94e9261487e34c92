// Test driver plumbing for the pages, shared by the browser tests (run by the Rust tests in
// tests/browser_*.rs, which start the servers and the agent): Debian's Chromium through
// puppeteer-core (no browser download), a fake microphone playing a WAV, a screenshot of every
// step, the console and page errors collected, and a line protocol with the Rust side:
//   stdout `STEP <name> <json>`  -> the test does something, answers one JSON line on stdin
//   stdout `REPORT <json>`       -> the scenario's observations (the last line)
// Exit status 0 when the scenario ran to the end (the Rust test asserts), 1 on a failure
// (screenshots and the console log are kept in the artifacts directory).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Flags loopback WebRTC needs in headless Chromium (see ../shared/field-notes.md). */
export function chromiumArgs({ micWav, fakeDevice = true, fakeUi = true, extraArgs = [] } = {}) {
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints',
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
    '--window-size=1000,900',
  ];
  if (fakeUi) args.push('--use-fake-ui-for-media-stream');
  if (fakeDevice) args.push('--use-fake-device-for-media-stream');
  if (micWav) args.push(`--use-file-for-fake-audio-capture=${micWav}`);
  return args.concat(extraArgs);
}

export async function launch(opts = {}) {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: chromiumArgs(opts),
    userDataDir: opts.userDataDir,
    protocolTimeout: 120_000,
  });
}

/** A scenario: its artifacts directory, console log, screenshots and the Rust line protocol. */
export class Scenario {
  constructor(name) {
    this.name = name;
    this.dir = process.env.ARTIFACTS ?? join('target', 'browser-artifacts', name);
    mkdirSync(this.dir, { recursive: true });
    this.console = [];
    this.errors = [];
    this.shots = 0;
    this.lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    this.report = {};
  }

  /** Record console messages and uncaught errors of a page (tag: which page). */
  watch(page, tag) {
    const t0 = Date.now();
    const at = () => String(Date.now() - t0).padStart(6);
    page.on('console', (m) => this.console.push(`${at()} [${tag}] ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => {
      this.errors.push(`[${tag}] ${e.message}`);
      this.console.push(`${at()} [${tag}] PAGE ERROR: ${e.stack ?? e.message}`);
    });
    page.on('requestfailed', (r) => this.console.push(`${at()} [${tag}] request failed: ${r.url()} ${r.failure()?.errorText}`));
    if (process.env.LK_DEBUG) {
      page.on('load', () => page.evaluate(() => import('/static/vendor/livekit-client.esm.mjs').then((m) => m.setLogLevel('debug'))).catch(() => {}));
    }
    return page;
  }

  async shot(page, step, { fullPage = true } = {}) {
    this.shots += 1;
    const file = join(this.dir, `${String(this.shots).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file, fullPage }).catch((e) => this.console.push(`screenshot ${step}: ${e}`));
    return file;
  }

  /** Ask the Rust side to do something; resolves to its JSON answer. */
  async step(name, data = {}) {
    process.stdout.write(`STEP ${name} ${JSON.stringify(data)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`the test closed stdin at step ${name}`);
    return JSON.parse(value);
  }

  saveLogs() {
    writeFileSync(join(this.dir, 'console.log'), this.console.join('\n') + '\n');
  }

  /** Run the scenario body; always writes the console log; prints the report. */
  async run(body) {
    let ok = false;
    try {
      await body(this);
      ok = true;
    } catch (e) {
      this.report.failure = e.stack ?? String(e);
      this.console.push(`SCENARIO FAILED: ${e.stack ?? e}`);
    } finally {
      this.report.pageErrors = this.errors;
      this.saveLogs();
      process.stdout.write(`REPORT ${JSON.stringify(this.report)}\n`);
      process.exit(ok ? 0 : 1);
    }
  }
}

/** Poll `fn` in the page until it returns a truthy value (or throw after `timeout` ms). */
export async function until(page, what, fn, arg, timeout = 30_000) {
  try {
    const handle = await page.waitForFunction(fn, { timeout, polling: 50 }, arg);
    return handle.jsonValue();
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message}`);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The page's diagnostics object. */
export const diagnostics = (page) => page.evaluate(() => window.interviewDiagnostics);

/** Type the code and submit; returns the alert text or null when the device step showed. */
export async function enterCode(page, code) {
  await page.click('#code', { clickCount: 3 });
  await page.type('#code', code);
  await page.keyboard.press('Enter');
  return page.waitForFunction(
    () => (!document.getElementById('step-device').hidden ? { ok: true } :
      document.getElementById('code-error').textContent ? { error: document.getElementById('code-error').textContent } : null),
    { timeout: 15_000, polling: 50 },
  ).then((h) => h.jsonValue());
}

/**
 * Take the interview on a candidate page that joined muted: each time the interviewer has
 * finished speaking and listens, unmute, let the fake microphone talk for `talkMs`, mute
 * again; until the end screen. Returns the number of answers given.
 */
export async function answerUntilTheEnd(page, { talkMs, maxSeconds, onAnswer }) {
  const deadline = Date.now() + maxSeconds * 1000;
  let answers = 0;
  while (Date.now() < deadline) {
    const ready = await until(page, 'the interviewer to listen', () => {
      const d = window.interviewDiagnostics;
      if (d.ended) return 'ended';
      const last = d.samples.slice(-20);
      const quiet = last.length === 20 && last.every((x) => x[1] < -50);
      return d.state === 'listening' && quiet ? 'listening' : null;
    }, null, Math.max(1000, deadline - Date.now()));
    if (ready === 'ended') break;
    await page.click('#mute');
    await sleep(talkMs);
    await page.click('#mute');
    answers += 1;
    await until(page, 'the interviewer to react to the answer', () => {
      const d = window.interviewDiagnostics;
      return d.ended || d.state === 'thinking' || d.state === 'speaking' ? (d.state ?? 'ended') : null;
    }, null, 30_000);
    if (onAnswer) await onAnswer(answers);
  }
  await until(page, 'the end screen', () => !document.getElementById('step-end').hidden, null, 60_000);
  return answers;
}

/** Open the candidate page, enter the code, allow the microphone, join muted. */
export async function joinAsCandidate(page, link, code) {
  await page.goto(link);
  const entered = await enterCode(page, code);
  if (!entered.ok) throw new Error(`the right code was refused: ${entered.error}`);
  await page.click('#mic-allow');
  await until(page, 'the microphone', () => !document.getElementById('join').disabled);
  await page.click('#join-muted');
  await page.click('#join');
  await until(page, 'the greeting', () => window.interviewDiagnostics.firstAgentAudioAt != null, null, 30_000);
}
