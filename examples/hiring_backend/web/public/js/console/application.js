// One application for the hiring team: its invitation (invite, the link and code that were
// sent, expiry countdown, send again), the live view of a running interview, and the
// scorecard once a result is stored.

import { GqlError, STATE_WORDS, gql, signOut } from './gql.js';
import { LiveView } from './live.js';
import { renderScorecard } from './scorecard.js';

const $ = (id) => document.getElementById(id);
const applicationId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[2] ?? '');
/** Read by the browser tests. */
const diagnostics = { loaded: false, evaluations: [], recordingDuration: null };
window.consoleDiagnostics = diagnostics;

$('sign-out').addEventListener('click', signOut);

let expiryTimer = null;
let state = null;

function showInvitation(inv) {
  $('invitation').hidden = false;
  const link = $('inv-link');
  link.textContent = inv.link;
  link.href = inv.link;
  $('inv-code').textContent = inv.password;
  clearInterval(expiryTimer);
  const until = Date.parse(inv.expiresAt);
  const tick = () => {
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    $('inv-expiry').textContent = left > 0
      ? `in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} (${new Date(until).toLocaleTimeString()})`
      : 'expired: send again for a new code';
  };
  tick();
  expiryTimer = setInterval(tick, 1000);
  $('copy-invitation').onclick = () => navigator.clipboard
    ?.writeText(`${inv.link}\nCode: ${inv.password}`)
    .catch(() => {});
}

function showState(s) {
  state = s;
  $('invite-state').textContent = `State: ${STATE_WORDS[s.state] ?? s.state}${s.room ? ` (room ${s.room})` : ''}.`;
  $('invite').hidden = s.state !== 'NOT_INVITED';
  $('resend').hidden = !['INVITED', 'IN_INTERVIEW'].includes(s.state);
  $('watch').disabled = !s.room;
}

async function refresh() {
  const data = await gql(`query($id: ID!) {
    application(id: $id) { id candidate { name email phone } job { title language questions }
      settings { voiceGender maxDurationSeconds recordAudio } }
    applications { id state room }
    interviewResults(applicationId: $id) { idempotencyKey partial savedAt resultJson }
    recordings(applicationId: $id) { idempotencyKey url durationSeconds partial bytes }
  }`, { id: applicationId });
  if (!data.application) {
    $('app-title').textContent = 'No such application';
    return;
  }
  const a = data.application;
  document.title = `${a.candidate.name}: hiring console`;
  $('app-title').textContent = `${a.candidate.name}, ${a.job.title}`;
  const contact = [a.candidate.email, a.candidate.phone].filter(Boolean).join(', ');
  const rec = a.settings?.recordAudio ? 'audio recorded' : 'no recording';
  $('app-meta').textContent = `${contact || 'no contact given'} · language ${a.job.language ?? 'en'} · ${rec}`;
  showState(data.applications.find((x) => x.id === applicationId) ?? { state: 'NOT_INVITED' });
  // The final result if there is one, else the newest partial one.
  const results = data.interviewResults.slice().sort((x, y) => (x.partial - y.partial) || y.savedAt.localeCompare(x.savedAt));
  if (results.length) {
    const r = results[0];
    const recording = data.recordings.find((x) => x.idempotencyKey === r.idempotencyKey) ?? null;
    await renderScorecard(JSON.parse(r.resultJson), recording, diagnostics);
  }
  diagnostics.loaded = true;
}

async function act(button, fn) {
  $('invite-error').textContent = '';
  button.disabled = true;
  try {
    await fn();
  } catch (e) {
    $('invite-error').textContent = e instanceof GqlError ? e.message : String(e);
  } finally {
    button.disabled = false;
  }
}

$('invite').addEventListener('click', () => act($('invite'), async () => {
  const { createInterviewRoom } = await gql(`mutation($id: ID!) { createInterviewRoom(applicationId: $id) {
    invitation { roomName link password expiresAt } } }`, { id: applicationId });
  showInvitation(createInterviewRoom.invitation);
  await refresh();
}));

$('resend').addEventListener('click', () => act($('resend'), async () => {
  const { resendInvitation } = await gql(`mutation($id: ID!) { resendInvitation(applicationId: $id) {
    roomName link password expiresAt } }`, { id: applicationId });
  showInvitation(resendInvitation);
}));

const live = new LiveView(applicationId, diagnostics, () => refresh().catch(() => {}));
$('watch').addEventListener('click', () => live.start());
$('stop-watching').addEventListener('click', () => live.stop());
$('end-interview').addEventListener('click', () => $('end-dialog').showModal());
$('end-cancel').addEventListener('click', () => $('end-dialog').close());
$('end-confirm').addEventListener('click', () => {
  $('end-dialog').close();
  live.endInterview();
});
$('print').addEventListener('click', () => window.print());

refresh().catch((e) => {
  $('app-status').textContent = e.message;
});
// While an interview may be running, look for its result now and then.
setInterval(() => {
  if (state && ['INVITED', 'IN_INTERVIEW'].includes(state.state)) refresh().catch(() => {});
}, 5000);
