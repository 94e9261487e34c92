// The whole interview from the candidate's page, as a person would take it on a phone-sized
// screen: the code, the microphone check, join (muted), then each time the interviewer has
// finished speaking and listens, unmute, answer (the fake microphone loops a spoken answer),
// mute again; until the interviewer ends the call and the end screen shows.
// Config (env SCENARIO, JSON): {link, code, micWav, talkMs, maxSeconds}.

import { Scenario, answerUntilTheEnd, diagnostics, enterCode, launch, sleep, until } from './browser.mjs';

const cfg = JSON.parse(process.env.SCENARIO);
const s = new Scenario('candidate-interview');

await s.run(async () => {
  const browser = await launch({ micWav: cfg.micWav });
  const page = s.watch(await browser.newPage(), 'candidate');
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await page.goto(cfg.link);
  await s.shot(page, 'code-step');
  const entered = await enterCode(page, cfg.code);
  if (!entered.ok) throw new Error(`the right code was refused: ${entered.error}`);
  s.report.jobTitle = await page.$eval('#job-title', (e) => e.textContent);
  await s.shot(page, 'device-step');
  await page.click('#mic-allow');
  // The level meter moves with the fake microphone's speech.
  s.report.micMeterMax = await until(page, 'the microphone level meter to move', () => {
    const v = Number(document.getElementById('mic-level').value);
    return v > 0.05 ? v : 0;
  }, null, 15_000);
  await s.shot(page, 'microphone-works');
  await page.click('#join-muted');
  await page.click('#join');
  await until(page, 'the greeting to be heard', () => window.interviewDiagnostics.firstAgentAudioAt != null, null, 30_000);
  const d0 = await diagnostics(page);
  s.report.joinToGreetingMs = Math.round(d0.firstAgentAudioAt - d0.joinClickedAt);
  await sleep(1500);
  await s.shot(page, 'call-greeting');

  s.report.answers = await answerUntilTheEnd(page, {
    talkMs: cfg.talkMs,
    maxSeconds: cfg.maxSeconds,
    onAnswer: async (n) => {
      if (n === 1) await s.shot(page, 'call-answered');
    },
  });
  await until(page, 'the end screen', () => !document.getElementById('step-end').hidden, null, 60_000);
  await s.shot(page, 'end-screen');
  const d = await diagnostics(page);
  s.report.ended = d.ended;
  s.report.endText = await page.$eval('#end-text', (e) => e.textContent);
  s.report.states = d.states;
  s.report.samples = d.samples;
  s.report.captions = d.captions;
  s.report.captionLines = await page.$$eval('#captions li', (lis) => lis.map((li) => ({
    side: li.className.split(' ')[0],
    final: li.dataset.final === 'true',
    text: li.querySelector('.text').textContent,
  })));
  await browser.close();
});
