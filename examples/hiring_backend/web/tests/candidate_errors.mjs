// What goes wrong before the call, from the candidate's page: a wrong code, a malformed one,
// an expired one, too many wrong codes (locked), an unknown interview link; microphone
// permission denied; no microphone at all. Each gets its own plain message in an alert region,
// the code field stays usable, and no WebRTC starts before a right code.
// Steps asked of the test: `invite` -> {link, code, wrong}, `expire` -> {}.

import { Scenario, enterCode, launch, until } from './browser.mjs';

const s = new Scenario('candidate-errors');

/** Count RTCPeerConnections a page creates (installed before any page script). */
async function countPeerConnections(page) {
  await page.evaluateOnNewDocument(() => {
    window.__peerConnections = 0;
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...args) {
      window.__peerConnections += 1;
      return new Native(...args);
    };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
}

async function codeFieldUsable(page) {
  return page.evaluate(() => {
    const input = document.getElementById('code');
    const alert = document.getElementById('code-error');
    return {
      enabled: !input.disabled && !document.getElementById('code-submit').disabled,
      focused: document.activeElement === input,
      invalid: input.getAttribute('aria-invalid'),
      alertRole: alert.getAttribute('role'),
      stepVisible: !document.getElementById('step-code').hidden,
    };
  });
}

await s.run(async () => {
  const browser = await launch();
  const page = s.watch(await browser.newPage(), 'candidate');
  await countPeerConnections(page);
  const a = await s.step('invite');

  await page.goto(a.link);
  s.report.malformed = (await enterCode(page, '12')).error;
  s.report.wrong = (await enterCode(page, a.wrong)).error;
  s.report.afterWrong = await codeFieldUsable(page);
  await s.shot(page, 'wrong-code');

  await s.step('expire');
  s.report.expired = (await enterCode(page, a.code)).error;
  await s.shot(page, 'expired-code');

  const b = await s.step('invite');
  await page.goto(b.link);
  s.report.attempts = [];
  for (let i = 0; i < 5; i += 1) s.report.attempts.push((await enterCode(page, b.wrong)).error);
  s.report.lockedEvenWithTheRightCode = (await enterCode(page, b.code)).error;
  await s.shot(page, 'locked');

  const unknown = new URL(a.link);
  unknown.pathname = '/interview/app-doesnotexist';
  await page.goto(unknown.href);
  s.report.unknownApplication = (await enterCode(page, a.code)).error;
  s.report.peerConnectionsBeforeARightCode = await page.evaluate(() => window.__peerConnections);

  // Microphone permission denied (the browser's site setting).
  const c = await s.step('invite');
  await browser.close();
  // A browser that answers every permission prompt with "block", as a person would.
  const blocking = await launch({ fakeUi: false, extraArgs: ['--deny-permission-prompts'] });
  const denied = s.watch(await blocking.newPage(), 'denied');
  await denied.goto(c.link);
  const ok = await enterCode(denied, c.code);
  if (!ok.ok) throw new Error(`right code refused: ${ok.error}`);
  await denied.click('#mic-allow');
  s.report.micDenied = await until(denied, 'the denied message', () => document.getElementById('mic-error').textContent, null, 10_000);
  s.report.joinDisabledWhenDenied = await denied.$eval('#join', (b) => b.disabled);
  await s.shot(denied, 'microphone-denied');
  await blocking.close();

  // No microphone at all (a browser without the fake device).
  const d = await s.step('invite');
  const bare = await launch({ fakeDevice: false });
  const none = s.watch(await bare.newPage(), 'no-microphone');
  await none.goto(d.link);
  const ok2 = await enterCode(none, d.code);
  if (!ok2.ok) throw new Error(`right code refused: ${ok2.error}`);
  await none.click('#mic-allow');
  s.report.noMicrophone = await until(none, 'the no-microphone message', () => document.getElementById('mic-error').textContent, null, 10_000);
  await s.shot(none, 'no-microphone');
  await bare.close();
});
