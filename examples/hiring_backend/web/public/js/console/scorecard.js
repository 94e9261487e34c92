// The scorecard of a stored result (the agent's InterviewResultInput, as the backend keeps
// it): recommendation, average, each answer with its score bar, key points, areas to improve
// and the evidence quotes highlighted in the answer, injection attempts flagged, the summary,
// strengths and weaknesses, the transcript with time offsets following the recording (select a
// line to play from there), the models, and exports (print, JSON).

import { RECOMMENDATION_WORDS, el } from './gql.js';

const $ = (id) => document.getElementById(id);

const clock = (secs) => `${Math.floor(secs / 60)}:${String(Math.floor(secs % 60)).padStart(2, '0')}`;

/** The judge's quote matching (the agent's `normalize_quote`): lowercase, apostrophes dropped,
 * other punctuation a space, whitespace collapsed; with each kept character's index in `text`. */
function normalised(text) {
  let out = '';
  const at = [];
  for (let i = 0; i < text.length; i++) {
    for (const c of text[i].toLowerCase()) {
      if ("'\u2019\u2018`".includes(c)) continue;
      if (/[\p{L}\p{N}]/u.test(c)) {
        out += c;
        at.push(i);
      } else if (out && !out.endsWith(' ')) {
        out += ' ';
        at.push(i);
      }
    }
  }
  if (out.endsWith(' ')) {
    out = out.slice(0, -1);
    at.pop();
  }
  return { out, at };
}

/** `text` with every occurrence of the quotes in <mark> (no HTML parsing). Quotes match as
 * the judge's quotes were checked against the answer: punctuation and case aside, so a quote
 * that differs from the transcript by a comma is still found. Overlapping quotes (a judge
 * may quote a sentence and a part of it) share one mark. */
export function highlighted(text, quotes) {
  const spans = [];
  const hay = normalised(text);
  for (const q of quotes ?? []) {
    const needle = normalised(q).out;
    if (!needle) continue;
    let at = hay.out.indexOf(needle);
    while (at >= 0) {
      spans.push([hay.at[at], hay.at[at + needle.length - 1] + 1]);
      at = hay.out.indexOf(needle, at + needle.length);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const out = el('span', { class: 'answer' });
  let pos = 0;
  for (const [s, e] of merged) {
    out.append(text.slice(pos, s), el('mark', { text: text.slice(s, e) }));
    pos = e;
  }
  out.append(text.slice(pos));
  return out;
}

function list(items, empty = '(none)') {
  const ul = el('ul');
  if (!items?.length) ul.append(el('li', { class: 'help', text: empty }));
  for (const i of items ?? []) ul.append(el('li', { text: i }));
  return ul;
}

function scoreBar(score) {
  if (score == null) return el('p', { class: 'score-none', text: 'Not scored' });
  return el('p', { class: 'score' },
    el('span', { class: 'score-value', text: `${score}/10` }),
    el('meter', { min: 0, max: 10, value: score, low: 4, high: 7, optimum: 10, 'aria-label': `score ${score} of 10` }));
}

/** One question's evaluation (the live view and the scorecard share it). */
export function renderEvaluation(q) {
  const li = el('li', { class: 'evaluation' });
  li.append(el('h4', { text: `Q${q.index + 1}. ${q.question}` }), scoreBar(q.score));
  if (q.injectionAttempt) {
    li.append(el('p', { class: 'warning', text: 'Injection attempt: the answer tried to instruct the judge (flagged, not obeyed).' }));
  }
  li.append(el('p', {}, el('strong', { text: 'Answer: ' }), highlighted(q.answer || '(no answer)', q.evidenceQuotes)));
  if (q.scoringError) li.append(el('p', { class: 'help', text: `Not scored: ${q.scoringError}` }));
  li.append(
    el('div', { class: 'row' },
      el('div', {}, el('h5', { text: 'Key points' }), list(q.keyPoints)),
      el('div', {}, el('h5', { text: 'To improve' }), list(q.improvementAreas)),
      el('div', {}, el('h5', { text: 'Evidence' }), list(q.evidenceQuotes))),
  );
  if (q.confidence != null) li.append(el('p', { class: 'help', text: `Judge's confidence: ${Math.round(q.confidence * 100)}%` }));
  return li;
}

export async function renderScorecard(r, recording, diag) {
  $('score-empty').hidden = true;
  $('scorecard').hidden = false;
  $('sc-partial').hidden = !r.partial;
  const m = r.models;
  $('sc-not-meaningful').hidden = !m?.scoresNotMeaningful;
  if (m?.scoresNotMeaningful) {
    $('sc-not-meaningful').textContent = `The judge (${m.judge}) is a very small offline model: `
      + 'these scores and this recommendation are not meaningful. Use a real model for evaluations.';
  }
  $('sc-models').textContent = m ? `speech to text ${m.stt}, judge ${m.judge}, voice ${m.tts}` : 'not reported';
  $('sc-recommendation').textContent = RECOMMENDATION_WORDS[r.recommendation] ?? r.recommendation;
  $('sc-average').textContent = r.averageScore == null ? '–' : `${r.averageScore.toFixed(1)} / 10`;
  $('sc-counts').textContent = `${r.questionsAsked} asked, ${r.questionsAnswered} answered, ${r.questionsScored} scored`
    + (r.injectionAttempts ? `, ${r.injectionAttempts} injection attempt(s)` : '');
  $('sc-ended').textContent = `${r.endReason ?? 'cut short'} after ${clock(r.durationSeconds)} (started ${new Date(r.startedAt).toLocaleString()})`;
  const questions = $('sc-questions');
  questions.replaceChildren(el('ol', { class: 'evaluations' }, ...r.questions.map(renderEvaluation)));
  $('sc-summary').textContent = r.summary;
  $('sc-strengths').replaceChildren(...list(r.strengths, '(none given)').children);
  $('sc-weaknesses').replaceChildren(...list(r.weaknesses, '(none given)').children);

  const json = new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' });
  const exp = $('export');
  exp.href = URL.createObjectURL(json);
  exp.download = `interview-${r.applicationId}${r.partial ? '-partial' : ''}.json`;

  const audio = $('recording');
  const lines = r.transcript.map((t, i) => {
    const b = el('button', { type: 'button', class: 'line', 'data-offset': String(t.offsetSeconds) },
      el('span', { class: 'offset', text: clock(t.offsetSeconds) }),
      el('span', { class: `who ${t.speaker.toLowerCase()}`, text: t.speaker === 'CANDIDATE' ? 'Candidate' : 'Interviewer' }),
      el('span', { class: 'text', text: t.text }));
    b.addEventListener('click', () => {
      if (!audio.src) return;
      audio.currentTime = t.offsetSeconds;
      audio.play().catch(() => {});
    });
    return el('li', { 'data-i': String(i) }, b);
  });
  $('sc-transcript').replaceChildren(...lines);

  if (!recording) return;
  $('recording-box').hidden = false;
  $('recording-meta').textContent = `Ogg/Opus, stereo (left: candidate, right: interviewer), ${clock(recording.durationSeconds)}`
    + `${recording.partial ? ', cut short' : ''}, ${Math.round(recording.bytes / 1024)} kB.`;
  if (audio.dataset.key === recording.idempotencyKey) return;
  audio.dataset.key = recording.idempotencyKey;
  const res = await fetch(recording.url, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) {
    $('recording-meta').textContent += ' (could not be loaded)';
    return;
  }
  audio.src = URL.createObjectURL(await res.blob());
  audio.addEventListener('loadedmetadata', () => {
    diag.recordingDuration = audio.duration;
  });
  // The transcript follows the audio.
  audio.addEventListener('timeupdate', () => {
    let current = -1;
    r.transcript.forEach((t, i) => {
      if (t.offsetSeconds <= audio.currentTime) current = i;
    });
    for (const li of $('sc-transcript').children) {
      const on = Number(li.dataset.i) === current;
      li.classList.toggle('current', on);
      if (on) li.setAttribute('aria-current', 'true');
      else li.removeAttribute('aria-current');
    }
    diag.currentLine = current;
  });
}
