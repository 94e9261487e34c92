// The live view: the operator joins the interview room as a visible, listen-only participant
// (attribute role=observer, no publishing), hears both sides, sees the captions and the
// interviewer's state, and gets each answer's evaluation as soon as it is scored (the agent
// sends them on their own topic to observers only). "End the interview" asks the agent to
// close politely.

import { Room, RoomEvent, Track, ParticipantKind } from '/static/vendor/livekit-client.esm.mjs';
import { Captions } from '../shared/captions.js';
import { LevelMeter, loudness } from '../shared/level.js';
import { gql } from './gql.js';
import { renderEvaluation } from './scorecard.js';

const $ = (id) => document.getElementById(id);
const EVALUATION_TOPIC = 'interview.evaluation';
const CONTROL_TOPIC = 'interview.control';

const isAgent = (p) => p.kind === ParticipantKind.AGENT || 'lk.agent.state' in (p.attributes ?? {});

export class LiveView {
  constructor(applicationId, diagnostics, onEnded) {
    this.applicationId = applicationId;
    this.diag = diagnostics;
    this.onEnded = onEnded;
    this.room = null;
    this.meters = {};
    this.timer = null;
  }

  async start() {
    $('live-error').textContent = '';
    $('watch').disabled = true;
    try {
      const { observerToken } = await gql(
        'mutation($id: ID!) { observerToken(applicationId: $id) { url token roomName } }',
        { id: this.applicationId },
      );
      this.ctx = new AudioContext();
      await this.ctx.resume().catch(() => {});
      const room = new Room({ adaptiveStream: false, dynacast: false });
      this.room = room;
      const captions = new Captions($('live-captions'), (info) => (this.isCandidateTrack(info.trackId) ? 'you' : 'interviewer'),
        { you: 'Candidate', interviewer: 'Interviewer' });
      this.diag.captions = captions.log;
      room.registerTextStreamHandler('lk.transcription', captions.handler());
      room
        .on(RoomEvent.TrackSubscribed, (track, _pub, p) => this.trackSubscribed(track, p))
        .on(RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((e) => e.remove()))
        .on(RoomEvent.ParticipantAttributesChanged, () => this.showState())
        .on(RoomEvent.ParticipantConnected, () => this.showState())
        .on(RoomEvent.ParticipantDisconnected, () => this.showState())
        .on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => this.data(payload, participant, topic))
        .on(RoomEvent.Reconnecting, () => { $('live-connection').textContent = 'Reconnecting…'; })
        .on(RoomEvent.Reconnected, () => { $('live-connection').textContent = 'Connected'; })
        .on(RoomEvent.Disconnected, () => this.stopped());
      await room.connect(observerToken.url, observerToken.token, { rtcConfig: { iceServers: [] } });
      await room.startAudio().catch(() => {});
      $('live').hidden = false;
      $('live-connection').textContent = `Connected to ${observerToken.roomName}`;
      $('watch').hidden = true;
      $('stop-watching').hidden = false;
      $('end-interview').hidden = false;
      for (const p of room.remoteParticipants.values()) {
        for (const pub of p.trackPublications.values()) if (pub.track) this.trackSubscribed(pub.track, p);
      }
      this.showState();
      this.timer = setInterval(() => this.levels(), 100);
      this.diag.watching = true;
    } catch (e) {
      $('live-error').textContent = `Could not join the interview: ${e.message ?? e}`;
      $('watch').disabled = false;
    }
  }

  isCandidateTrack(sid) {
    for (const p of this.room?.remoteParticipants.values() ?? []) {
      if (isAgent(p)) continue;
      for (const pub of p.trackPublications.values()) if (pub.trackSid === sid) return true;
    }
    return false;
  }

  trackSubscribed(track, participant) {
    if (track.kind !== Track.Kind.Audio) return;
    const el = track.attach();
    document.body.append(el);
    const side = isAgent(participant) ? 'agent' : 'candidate';
    this.meters[side] = new LevelMeter(this.ctx, track.mediaStreamTrack);
  }

  levels() {
    for (const side of ['candidate', 'agent']) {
      const m = this.meters[side];
      if (!m) continue;
      const db = m.db();
      $(`level-${side}`).value = loudness(db);
      const key = `${side}AudioMs`;
      if (db > -50) this.diag[key] = (this.diag[key] ?? 0) + 100;
    }
  }

  agent() {
    for (const p of this.room?.remoteParticipants.values() ?? []) if (isAgent(p)) return p;
    return null;
  }

  showState() {
    const a = this.agent();
    const s = a ? a.attributes['lk.agent.state'] || 'initializing' : 'not in the room';
    $('live-state').textContent = s;
    (this.diag.states ??= []).push(s);
  }

  data(payload, participant, topic) {
    if (topic !== EVALUATION_TOPIC) return;
    let ev;
    try {
      ev = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    this.diag.evaluations.push({ ...ev, receivedAt: Date.now(), from: participant?.identity });
    const list = $('live-evaluations');
    list.querySelector(`[data-index="${ev.index}"]`)?.remove();
    const li = renderEvaluation(ev);
    li.dataset.index = ev.index;
    list.append(li);
  }

  async endInterview() {
    const agent = this.agent();
    if (!agent) {
      $('live-error').textContent = 'The interviewer is not in the room.';
      return;
    }
    const body = new TextEncoder().encode(JSON.stringify({ action: 'end' }));
    await this.room.localParticipant.publishData(body, {
      reliable: true,
      topic: CONTROL_TOPIC,
      destinationIdentities: [agent.identity],
    });
    this.diag.endRequested = true;
    $('live-connection').textContent = 'Asked the interviewer to end the interview…';
  }

  async stop() {
    await this.room?.disconnect();
  }

  stopped() {
    clearInterval(this.timer);
    for (const m of Object.values(this.meters)) m.close();
    this.meters = {};
    document.querySelectorAll('body > audio').forEach((e) => e.remove());
    this.room = null;
    $('stop-watching').hidden = true;
    $('end-interview').hidden = true;
    $('watch').hidden = false;
    $('watch').disabled = false;
    $('live-connection').textContent = 'Not watching.';
    this.diag.watching = false;
    this.onEnded();
  }
}
