// The application list and the form that creates one (field messages from the backend's
// validation next to each field).

import { GqlError, RECOMMENDATION_WORDS, STATE_WORDS, el, gql, signOut } from './gql.js';

const $ = (id) => document.getElementById(id);
document.getElementById('sign-out').addEventListener('click', signOut);

async function load() {
  const status = $('apps-status');
  try {
    const { applications } = await gql(`{ applications {
      id candidateName jobTitle state averageScore recommendation endReason } }`);
    const body = $('apps').querySelector('tbody');
    body.replaceChildren(...applications.map((a) => el('tr', { 'data-id': a.id },
      el('td', {}, el('a', { href: `/console/applications/${encodeURIComponent(a.id)}`, text: a.candidateName })),
      el('td', { text: a.jobTitle }),
      el('td', {}, el('span', { class: `state state-${a.state.toLowerCase()}`, text: STATE_WORDS[a.state] ?? a.state })),
      el('td', { text: a.averageScore == null ? '–' : a.averageScore.toFixed(1) }),
      el('td', { text: a.recommendation ? RECOMMENDATION_WORDS[a.recommendation] : '–' }),
    )));
    status.textContent = applications.length ? '' : 'No applications yet: create the first one below.';
  } catch (e) {
    status.textContent = e.message;
  }
}

const FIELDS = ['candidateName', 'candidateEmail', 'candidatePhone', 'jobTitle', 'jobDescription',
  'questions', 'language', 'voiceGender', 'maxDurationSeconds'];

function clearErrors() {
  $('form-error').textContent = '';
  for (const f of FIELDS) {
    $(`${f}-error`).textContent = '';
    const input = $(f === 'maxDurationSeconds' ? 'maxMinutes' : f);
    input.removeAttribute('aria-invalid');
  }
}

function showErrors(fields) {
  let first = null;
  for (const { field, message } of fields) {
    const msg = $(`${field}-error`);
    if (!msg) continue;
    msg.textContent = message;
    const input = $(field === 'maxDurationSeconds' ? 'maxMinutes' : field);
    input.setAttribute('aria-invalid', 'true');
    first ??= input;
  }
  $('form-error').textContent = `Please fix ${fields.length === 1 ? 'the field' : `${fields.length} fields`} below.`;
  first?.focus();
}

$('new-app').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors();
  const v = (id) => $(id).value.trim();
  // The browser's own checks first (required fields), then the backend's.
  const missing = [];
  if (!v('candidateName')) missing.push({ field: 'candidateName', message: "Enter the candidate's name." });
  if (!v('jobTitle')) missing.push({ field: 'jobTitle', message: 'Enter the job title.' });
  if (missing.length) return showErrors(missing);
  const minutes = Number(v('maxMinutes'));
  const input = {
    candidateName: v('candidateName'),
    candidateEmail: v('candidateEmail') || null,
    candidatePhone: v('candidatePhone') || null,
    jobTitle: v('jobTitle'),
    jobDescription: v('jobDescription') || null,
    questions: v('questions').split('\n').map((q) => q.trim()).filter(Boolean),
    language: v('language') || null,
    voiceGender: v('voiceGender'),
    maxDurationSeconds: Number.isFinite(minutes) ? Math.round(minutes * 60) : -1,
    recordAudio: $('recordAudio').checked,
  };
  $('create').disabled = true;
  try {
    const { createApplication } = await gql(
      'mutation($input: CreateApplicationInput!) { createApplication(input: $input) { id } }', { input });
    location.assign(`/console/applications/${encodeURIComponent(createApplication.id)}`);
  } catch (err) {
    if (err instanceof GqlError && err.fields.length) showErrors(err.fields);
    else $('form-error').textContent = err.message;
  } finally {
    $('create').disabled = false;
  }
});

load();
