// The candidate's interview page: the code from the invitation -> a LiveKit token (no WebRTC
// before that), the microphone check with a live level meter, the call, the end screen.
// The token lives only in this page's memory: never in the URL, storage or logs.

import { ApiError, postJson } from '../shared/api.js';
import { LevelMeter, loudness } from '../shared/level.js';
import { Call } from './call.js';

const $ = (id) => document.getElementById(id);
const steps = ['step-code', 'step-device', 'step-call', 'step-end'];

/** Read by the browser tests, handy in devtools; holds no secret. */
const diagnostics = {
  joinClickedAt: null,
  connectedAt: null,
  publishedAt: null,
  agentTrackAt: null,
  firstAgentAudioAt: null,
  agentDb: -100,
  agentAudioMs: 0,
  state: null,
  states: [],
  samples: [],
  captions: [],
  muted: false,
  observers: 0,
  dataTopics: {},
  connection: null,
  ended: null,
};
window.interviewDiagnostics = diagnostics;

const applicationId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
let grant = null;
let mic = null;
let micMeter = null;
let meterTimer = null;
let audioCtx = null;
let call = null;

function show(step) {
  for (const id of steps) $(id).hidden = id !== step;
  const heading = $(step).querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

// --- 1. the code --------------------------------------------------------------------------

$('code').addEventListener('input', (e) => {
  e.target.value = e.target.value.replace(/\D/g, '').slice(0, 6);
  e.target.removeAttribute('aria-invalid');
});

$('code-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('code');
  const error = $('code-error');
  const code = input.value.trim();
  if (!/^\d{6}$/.test(code)) {
    error.textContent = 'Enter the 6 digits from your invitation.';
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const button = $('code-submit');
  button.disabled = true;
  error.textContent = '';
  try {
    grant = await postJson(`/api/interview/${encodeURIComponent(applicationId)}/token`, { password: code });
    if (grant.jobTitle) $('job-title').textContent = grant.jobTitle;
    $('recording-notice').hidden = !grant.recording;
    show('step-device');
  } catch (err) {
    error.textContent = err instanceof ApiError ? err.message : 'Something went wrong. Try again.';
    input.setAttribute('aria-invalid', 'true');
    input.select();
    input.focus();
  } finally {
    button.disabled = false;
  }
});

// --- 2. the microphone --------------------------------------------------------------------

function micProblem(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Your browser blocked the microphone. Open the site settings (the icon next to the ' +
        'address), allow the microphone for this page, then press "Allow microphone" again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Connect a microphone or a headset, then press ' +
        '"Allow microphone" again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'Your microphone is in use by another application or could not be started. ' +
        'Close other calls or apps using it, then press "Allow microphone" again.';
    default:
      return 'The microphone could not be started. Try again, or use another browser.';
  }
}

$('mic-allow').addEventListener('click', async () => {
  $('mic-error').textContent = '';
  audioCtx ??= new AudioContext();
  await audioCtx.resume().catch(() => {});
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw new DOMException('no mediaDevices', 'NotFoundError');
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    mic = stream.getAudioTracks()[0];
  } catch (err) {
    $('mic-error').textContent = micProblem(err);
    return;
  }
  micMeter?.close();
  micMeter = new LevelMeter(audioCtx, mic);
  clearInterval(meterTimer);
  meterTimer = setInterval(() => {
    $('mic-level').value = loudness(micMeter.db());
  }, 60);
  $('mic-check').hidden = false;
  $('mic-allow').textContent = 'Microphone allowed';
  $('mic-allow').disabled = true;
  $('join').disabled = false;
  $('join').focus();
});

// --- 3. the call --------------------------------------------------------------------------

$('join').addEventListener('click', async () => {
  diagnostics.joinClickedAt = performance.now();
  $('join').disabled = true;
  $('join-error').textContent = '';
  clearInterval(meterTimer);
  micMeter?.close();
  micMeter = null;
  await audioCtx.resume().catch(() => {});
  call = new Call(grant, mic, audioCtx, diagnostics, ended);
  show('step-call');
  try {
    await call.join($('join-muted').checked);
  } catch (err) {
    console.error('joining failed', err);
    call = null;
    show('step-device');
    $('join').disabled = false;
    $('join-error').textContent = 'We could not connect you to the interview. Check your ' +
      'connection and press "Join interview" again.';
  }
});

$('mute').addEventListener('click', () => {
  call?.setMuted(!call.muted).catch((e) => console.error('mute failed', e));
});

$('end').addEventListener('click', () => $('end-dialog').showModal());
$('end-cancel').addEventListener('click', () => $('end-dialog').close());
$('end-confirm').addEventListener('click', () => {
  $('end-dialog').close();
  call?.leave().catch((e) => console.error('leaving failed', e));
});

// --- 4. the end ---------------------------------------------------------------------------

const END_TEXT = {
  'agent-left': 'The interviewer has ended the call. Your interview is complete.',
  'agent-lost': 'The interviewer left the call unexpectedly. What you said so far is saved. ' +
    'You can try to rejoin; if the interviewer does not come back, the hiring team will contact you.',
  'you-left': 'You ended the interview.',
  'room-closed': 'The interview room was closed.',
  removed: 'You were removed from the interview.',
  elsewhere: 'You joined this interview from another window or device, so this one was closed.',
  lost: 'The connection to the interview was lost.',
};

function ended(why) {
  const broken = why === 'lost' || why === 'agent-lost';
  $('end-title').textContent = broken ? 'The call was interrupted' : 'Thank you';
  $('end-text').textContent = END_TEXT[why] ?? END_TEXT.lost;
  // A broken call can be picked up again while the interviewer waits for you.
  $('rejoin').hidden = !broken;
  $('end-next').hidden = broken;
  call = null;
  show('step-end');
}

$('rejoin').addEventListener('click', () => {
  // Leaving the room stopped the microphone: ask for it again.
  mic = null;
  $('captions').replaceChildren();
  $('mic-check').hidden = true;
  $('mic-allow').textContent = 'Allow microphone';
  $('mic-allow').disabled = false;
  $('join').disabled = true;
  show('step-device');
});

show('step-code');
