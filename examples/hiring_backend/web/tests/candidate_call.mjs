// The call's controls and endings, with an agent on FAKE speech providers (a tone for a voice,
// so the timing is ours): Join -> greeting latency over several joins, the greeting's caption
// growing word by word, "End interview" with its confirmation, mute really stopping the
// candidate's audio (the agent's speech-to-text gets no turn while muted), the room closed
// mid-call, and the agent leaving mid-call.
// Steps asked of the test: `invite` -> {link, code} (the agent is already in the room),
// `stt-calls` -> {count}, `close-room` -> {}, `stop-agent` -> {}.

import { Scenario, diagnostics, enterCode, launch, sleep, until } from './browser.mjs';

const cfg = JSON.parse(process.env.SCENARIO);
const s = new Scenario('candidate-call');

async function joinCall(ctx, inv, tag) {
  const page = s.watch(await ctx.newPage(), tag);
  await page.goto(inv.link);
  const ok = await enterCode(page, inv.code);
  if (!ok.ok) throw new Error(`right code refused: ${ok.error}`);
  await page.click('#mic-allow');
  await until(page, 'the microphone', () => !document.getElementById('join').disabled);
  await page.click('#join-muted');
  await page.click('#join');
  await until(page, 'the greeting', () => window.interviewDiagnostics.firstAgentAudioAt != null, null, 20_000);
  return page;
}

/** The interviewer has finished speaking: listening, and 800 ms of quiet. */
const listening = (page) => until(page, 'the interviewer to listen', () => {
  const d = window.interviewDiagnostics;
  const last = d.samples.slice(-20);
  return d.state === 'listening' && last.length === 20 && last.every((x) => x[1] < -50);
}, null, 30_000);

await s.run(async () => {
  const browser = await launch({ micWav: cfg.micWav });

  // 1. Join -> first greeting audio, N times; the first greeting's captions; End interview.
  s.report.joinToGreetingMs = [];
  for (let i = 0; i < cfg.joins; i += 1) {
    const inv = await s.step('invite');
    const ctx = await browser.createBrowserContext();
    const page = await joinCall(ctx, inv, `join-${i}`);
    const d = await diagnostics(page);
    s.report.joinToGreetingMs.push(Math.round(d.firstAgentAudioAt - d.joinClickedAt));
    (s.report.joinTimeline ??= []).push({
      connected: Math.round(d.connectedAt - d.joinClickedAt),
      published: Math.round(d.publishedAt - d.joinClickedAt),
      agentTrack: Math.round(d.agentTrackAt - d.joinClickedAt),
      speakingState: Math.round((d.states.find((x) => x[1] === 'speaking')?.[0] ?? NaN) - d.joinClickedAt),
      firstAudio: Math.round(d.firstAgentAudioAt - d.joinClickedAt),
    });
    if (i === 0) {
      await s.shot(page, 'greeting');
      await listening(page);
      s.report.captions = (await diagnostics(page)).captions;
      s.report.greetingSamples = (await diagnostics(page)).samples;
    }
    await page.click('#end');
    s.report.confirmShown = await page.$eval('#end-dialog', (dlg) => dlg.open);
    if (i === 0) await s.shot(page, 'end-confirm');
    await page.click('#end-confirm');
    await until(page, 'the end screen', () => !document.getElementById('step-end').hidden);
    s.report.endedByCandidate = await page.$eval('#end-text', (e) => e.textContent);
    await ctx.close();
  }

  // 2. Mute: no turn reaches the agent while muted, one does while unmuted.
  const inv = await s.step('invite');
  const ctx = await browser.createBrowserContext();
  const page = await joinCall(ctx, inv, 'mute');
  await listening(page);
  const calls = async () => (await s.step('stt-calls')).count;
  const m = {};
  m.start = await calls();
  await sleep(5000); // muted, while the fake microphone talks
  m.afterMuted = await calls();
  await page.click('#mute');
  s.report.unmutedLabel = await page.$eval('#mute', (b) => `${b.textContent}|${b.getAttribute('aria-pressed')}`);
  await sleep(3000);
  await page.click('#mute');
  await until(page, 'the interviewer to react', () => ['thinking', 'speaking'].includes(window.interviewDiagnostics.state), null, 15_000);
  m.afterUnmuted = await calls();
  await listening(page);
  m.beforeMutedAgain = await calls();
  await sleep(5000);
  m.afterMutedAgain = await calls();
  s.report.mute = m;
  await s.shot(page, 'after-mute');

  // 3. The room closed mid-call.
  await s.step('close-room');
  await until(page, 'the end screen after the room closed', () => !document.getElementById('step-end').hidden, null, 15_000);
  s.report.roomClosed = await page.$eval('#end-text', (e) => e.textContent);
  await s.shot(page, 'room-closed');
  await ctx.close();

  // 4. The agent leaving mid-call (its worker stops).
  const inv2 = await s.step('invite');
  const ctx2 = await browser.createBrowserContext();
  const page2 = await joinCall(ctx2, inv2, 'agent-leaves');
  await s.step('stop-agent');
  await until(page2, 'the end screen after the agent left', () => !document.getElementById('step-end').hidden, null, 30_000);
  s.report.agentLost = await page2.$eval('#end-text', (e) => e.textContent);
  s.report.rejoinOffered = await page2.$eval('#rejoin', (b) => !b.hidden);
  await s.shot(page2, 'agent-left');
  await browser.close();
});
