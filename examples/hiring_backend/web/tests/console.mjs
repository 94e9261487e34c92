// The hiring team's side in the browser, with a candidate taking the interview in a second
// browser context: sign in (a wrong password first), create an application (a bad email
// first), invite, watch live (captions, the interviewer's state, evaluations as they are
// scored) while the candidate answers, then the scorecard: every stored field, the recording
// playing with the transcript following it, JSON export, print layout.
// Config (env SCENARIO): {base, password, micWav, talkMs, maxSeconds}.
// Steps asked of the test: `invited` {link, code} -> {} (the test checks the notifier).

import { Scenario, answerUntilTheEnd, joinAsCandidate, launch, sleep, until } from './browser.mjs';

const cfg = JSON.parse(process.env.SCENARIO);
const s = new Scenario('console');
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());

await s.run(async () => {
  const browser = await launch({ micWav: cfg.micWav });
  const ops = await browser.createBrowserContext();
  const con = s.watch(await ops.newPage(), 'console');
  await con.setViewport({ width: 1100, height: 900 });

  // Sign in.
  const first = await con.goto(`${cfg.base}/console`);
  s.report.unauthenticatedStatus = first.status();
  await s.shot(con, 'sign-in');
  await con.type('#password', 'not-the-password');
  await con.keyboard.press('Enter');
  s.report.wrongPassword = await until(con, 'the wrong-password message', () => document.getElementById('login-error').textContent, null, 10_000);
  await con.click('#password', { clickCount: 3 });
  await con.type('#password', cfg.password);
  await Promise.all([con.waitForNavigation(), con.keyboard.press('Enter')]);
  await until(con, 'the application list', () => document.getElementById('new-app') != null);

  // Create an application: a bad email first.
  await con.type('#candidateName', 'Dana Console');
  await con.type('#candidateEmail', 'dana-at-example');
  await con.type('#jobTitle', 'Site Reliability Engineer');
  await con.type('#jobDescription', 'Keep our services fast and reliable.');
  await con.type('#questions', 'What have you built with Rust?\nHow do you keep a distributed system reliable?');
  await con.click('#create');
  s.report.emailError = await until(con, 'the email field message', () => document.getElementById('candidateEmail-error').textContent, null, 10_000);
  s.report.emailInvalid = await con.$eval('#candidateEmail', (e) => e.getAttribute('aria-invalid'));
  await s.shot(con, 'form-field-error');
  await con.click('#candidateEmail', { clickCount: 3 });
  await con.type('#candidateEmail', 'dana@example.com');
  await Promise.all([con.waitForNavigation(), con.click('#create')]);
  await until(con, 'the application page', () => window.consoleDiagnostics?.loaded);
  s.report.applicationUrl = con.url();

  // Invite.
  await con.click('#invite');
  await until(con, 'the invitation', () => !document.getElementById('invitation').hidden && document.getElementById('inv-code').textContent);
  const link = await text(con, '#inv-link');
  const code = await text(con, '#inv-code');
  s.report.expiry = await text(con, '#inv-expiry');
  await s.shot(con, 'invited');
  await s.step('invited', { link, code });

  // Watch live.
  await con.click('#watch');
  await until(con, 'the live view', () => window.consoleDiagnostics.watching, null, 20_000);

  // The candidate, in a second context with the fake microphone.
  const cand = await browser.createBrowserContext();
  const page = s.watch(await cand.newPage(), 'candidate');
  await joinAsCandidate(page, link, code);
  s.report.observerNoticeShown = await until(page, 'the observer notice', () => !document.getElementById('observer-notice').hidden, null, 10_000);
  s.report.candidateRecordingIndicator = await until(page, 'the recording indicator', () => !document.getElementById('recording').hidden, null, 10_000);
  await s.shot(page, 'candidate-observed');
  s.report.answers = await answerUntilTheEnd(page, {
    talkMs: cfg.talkMs,
    maxSeconds: cfg.maxSeconds,
    onAnswer: async (n) => {
      if (n === 2) {
        await s.shot(con, 'live-view');
        await con.$eval('#live-title', (e) => e.scrollIntoView());
        await s.shot(con, 'live-view-top', { fullPage: false });
      }
    },
  });
  s.report.candidateEndedAt = Date.now();
  s.report.candidateDataTopics = await page.evaluate(() => window.interviewDiagnostics.dataTopics);
  const live = await con.evaluate(() => ({
    evaluations: window.consoleDiagnostics.evaluations,
    captions: window.consoleDiagnostics.captions,
    states: window.consoleDiagnostics.states,
    candidateAudioMs: window.consoleDiagnostics.candidateAudioMs ?? 0,
    agentAudioMs: window.consoleDiagnostics.agentAudioMs ?? 0,
  }));
  s.report.live = live;
  await cand.close();

  // The scorecard, once the result and the recording are in.
  await until(con, 'the scorecard with its recording', () => !document.getElementById('scorecard').hidden
    && window.consoleDiagnostics.recordingDuration > 0, null, 120_000);
  await sleep(500);
  await s.shot(con, 'scorecard');
  await con.$eval('#score-title', (e) => e.scrollIntoView());
  await s.shot(con, 'scorecard-top', { fullPage: false });
  s.report.scorecardText = await con.$eval('#scorecard', (e) => e.innerText);
  s.report.marks = await con.$$eval('#sc-questions mark', (m) => m.map((x) => x.textContent));
  s.report.transcriptLines = await con.$$eval('#sc-transcript li', (l) => l.length);
  s.report.recordingDuration = await con.evaluate(() => window.consoleDiagnostics.recordingDuration);
  s.report.exported = await con.evaluate(async () => (await fetch(document.getElementById('export').href)).json());
  // Select the third transcript line: the recording plays from there and the line is current.
  const lines = await con.$$('#sc-transcript li button');
  const target = lines[Math.min(2, lines.length - 1)];
  const offset = Number(await target.evaluate((b) => b.dataset.offset));
  await target.click();
  await sleep(1500);
  s.report.seek = await con.evaluate(() => ({
    currentTime: document.getElementById('recording').currentTime,
    currentLine: window.consoleDiagnostics.currentLine,
    ariaCurrent: document.querySelector('#sc-transcript li[aria-current]')?.dataset.i ?? null,
  }));
  s.report.seekOffset = offset;
  await con.evaluate(() => document.getElementById('recording').pause());
  // Print: controls gone.
  await con.emulateMediaType('print');
  s.report.printHides = await con.evaluate(() => ['print', 'invitation-section', 'live-section'].map((id) => getComputedStyle(document.getElementById(id)).display));
  await s.shot(con, 'scorecard-print');
  await con.emulateMediaType('screen');
  // The list shows the state and the score.
  await con.goto(`${cfg.base}/console`);
  await until(con, 'the list', () => document.querySelector('#apps tbody tr'));
  s.report.listRow = await con.$eval('#apps tbody tr', (tr) => tr.innerText);
  await s.shot(con, 'list', { fullPage: false });
  await browser.close();
});
