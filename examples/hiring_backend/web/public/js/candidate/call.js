// The interview call: joins the LiveKit room with the candidate's token, publishes the
// microphone, plays the interviewer and drives the call screen (state in words and on the
// avatar, captions of both sides, mute, elapsed time, recording and observer notices,
// reconnecting and ended states).

import {
  DisconnectReason,
  ParticipantKind,
  Room,
  RoomEvent,
  Track,
} from '/static/vendor/livekit-client.esm.mjs';
import { Captions } from '../shared/captions.js';
import { LevelMeter, SILENCE_DB } from '../shared/level.js';
import { Avatar } from './avatar.js';

const STATE_WORDS = {
  absent: 'Waiting for the interviewer…',
  initializing: 'The interviewer is getting ready…',
  listening: 'The interviewer is listening',
  thinking: 'The interviewer is thinking…',
  speaking: 'The interviewer is speaking',
};
const TICK_MS = 40;
/** How long a departed interviewer may take to come back before the call ends. */
const AGENT_RETURN_MS = 5000;

const $ = (id) => document.getElementById(id);

function isAgent(p) {
  return p.kind === ParticipantKind.AGENT || 'lk.agent.state' in (p.attributes ?? {});
}

function isObserver(p) {
  return (p.attributes ?? {}).role === 'observer';
}

/** Why the call ended, for the end screen. */
export function endReason(reason) {
  switch (reason) {
    case 'agent-left':
    case 'agent-lost':
      return reason;
    case DisconnectReason.CLIENT_INITIATED:
      return 'you-left';
    case DisconnectReason.ROOM_DELETED:
    case DisconnectReason.ROOM_CLOSED:
      return 'room-closed';
    case DisconnectReason.PARTICIPANT_REMOVED:
      return 'removed';
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'elsewhere';
    default:
      return 'lost';
  }
}

export class Call {
  /**
   * @param {{url: string, token: string}} grant
   * @param {MediaStreamTrack} mic
   * @param {AudioContext} audioCtx
   * @param {object} diagnostics shared with the page (read by the browser tests)
   * @param {(why: string) => void} onEnded
   */
  constructor(grant, mic, audioCtx, diagnostics, onEnded) {
    this.grant = grant;
    this.mic = mic;
    this.audioCtx = audioCtx;
    this.diag = diagnostics;
    this.onEnded = onEnded;
    this.room = null;
    this.micPub = null;
    this.agentMeter = null;
    this.agentIdentity = null;
    this.agentGone = null;
    this.startedAt = 0;
    this.ended = false;
    this.avatar = new Avatar($('avatar'), $('avatar-video'));
    this.captions = new Captions($('captions'), (info) => this.sideOf(info), {
      you: 'You',
      interviewer: 'Interviewer',
    });
    this.diag.captions = this.captions.log;
    this.timer = null;
  }

  async join(startMuted) {
    const room = new Room({ adaptiveStream: false, dynacast: false, disconnectOnPageLeave: true });
    this.room = room;
    room.registerTextStreamHandler('lk.transcription', this.captions.handler());
    room
      .on(RoomEvent.ParticipantConnected, () => this.refreshParticipants())
      .on(RoomEvent.ParticipantDisconnected, (p) => this.participantLeft(p))
      .on(RoomEvent.ParticipantAttributesChanged, () => this.refreshParticipants())
      .on(RoomEvent.TrackSubscribed, (track, _pub, p) => this.trackSubscribed(track, p))
      .on(RoomEvent.TrackUnsubscribed, (track, _pub, p) => this.trackUnsubscribed(track, p))
      .on(RoomEvent.Reconnecting, () => this.connection('Connection lost, reconnecting…'))
      .on(RoomEvent.SignalReconnecting, () => this.connection('Connection lost, reconnecting…'))
      .on(RoomEvent.Reconnected, () => this.connection('Connected'))
      .on(RoomEvent.Disconnected, (reason) => this.finish(endReason(reason)))
      // Diagnostics: which data topics reached this page (evaluations must never).
      .on(RoomEvent.DataReceived, (_payload, _p, _kind, topic) => {
        this.diag.dataTopics[topic ?? ''] = (this.diag.dataTopics[topic ?? ''] ?? 0) + 1;
      });
    await room.connect(this.grant.url, this.grant.token, { rtcConfig: { iceServers: [] } });
    this.diag.connectedAt = performance.now();
    this.connection('Connected');
    this.micPub = await room.localParticipant.publishTrack(this.mic, {
      source: Track.Source.Microphone,
      name: 'microphone',
    });
    this.diag.publishedAt = performance.now();
    if (startMuted) await this.setMuted(true);
    await room.startAudio().catch((e) => console.warn('audio playback blocked', e));
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.refreshParticipants();
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        if (pub.track) this.trackSubscribed(pub.track, p);
      }
    }
  }

  get muted() {
    return this.micPub?.isMuted ?? false;
  }

  async setMuted(muted) {
    if (!this.micPub) return;
    if (muted) await this.micPub.mute();
    else await this.micPub.unmute();
    const button = $('mute');
    button.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
    button.setAttribute('aria-pressed', String(muted));
    this.diag.muted = muted;
  }

  async leave() {
    if (this.room) await this.room.disconnect();
    else this.finish('you-left');
  }

  // --- room state ----------------------------------------------------------------------

  sideOf(info) {
    const local = this.room?.localParticipant;
    if (local) {
      for (const pub of local.trackPublications.values()) {
        if (pub.trackSid === info.trackId) return 'you';
      }
    }
    return info.participant === local?.identity && !info.trackId ? 'you' : 'interviewer';
  }

  agent() {
    for (const p of this.room.remoteParticipants.values()) if (isAgent(p)) return p;
    return null;
  }

  refreshParticipants() {
    if (!this.room) return;
    const agent = this.agent();
    if (agent && this.agentGone) {
      clearTimeout(this.agentGone);
      this.agentGone = null;
    }
    const state = agent ? agent.attributes['lk.agent.state'] || 'initializing' : 'absent';
    if (this.diag.state !== state) {
      this.diag.state = state;
      this.diag.states.push([Math.round(performance.now()), state]);
    }
    $('agent-state').textContent = STATE_WORDS[state] ?? STATE_WORDS.listening;
    this.avatar.setState(state);
    $('recording').hidden = !(agent && agent.attributes['interview.recording'] === 'on');
    const observers = [...this.room.remoteParticipants.values()].filter(isObserver);
    $('observer-notice').hidden = observers.length === 0;
    this.diag.observers = observers.length;
  }

  participantLeft(p) {
    this.refreshParticipants();
    if (!isAgent(p) || this.agent() || this.ended) return;
    // The agent says `interview.ended` before it leaves a finished interview; without it the
    // departure is a failure: wait a little for an interviewer to come back.
    if (p.attributes?.['interview.ended']) {
      this.endWith('agent-left');
      return;
    }
    this.agentGone = setTimeout(() => {
      if (!this.agent()) this.endWith('agent-lost');
    }, AGENT_RETURN_MS);
  }

  trackSubscribed(track, participant) {
    if (!isAgent(participant)) {
      // Observers publish nothing; anyone else's audio still plays.
      if (track.kind === Track.Kind.Audio) $('audio-sink').append(track.attach());
      return;
    }
    if (track.kind === Track.Kind.Video) {
      this.avatar.showVideo(track);
      return;
    }
    if (track.kind !== Track.Kind.Audio || this.agentMeter) return;
    // Chromium feeds remote WebRTC audio to WebAudio only while an element plays it.
    const el = track.attach();
    el.id = 'agent-audio';
    $('audio-sink').append(el);
    this.agentMeter = new LevelMeter(this.audioCtx, track.mediaStreamTrack);
    this.diag.agentTrackAt ??= performance.now();
    this.agentIdentity = participant.identity;
  }

  trackUnsubscribed(track, participant) {
    track.detach().forEach((el) => el.remove());
    if (!isAgent(participant)) return;
    if (track.kind === Track.Kind.Video) this.avatar.showVideo(null);
    if (track.kind === Track.Kind.Audio && this.agentMeter) {
      this.agentMeter.close();
      this.agentMeter = null;
    }
  }

  connection(text) {
    $('connection').textContent = text;
    this.diag.connection = text;
  }

  tick() {
    const now = performance.now();
    const db = this.agentMeter ? this.agentMeter.db() : -100;
    this.avatar.follow(db);
    this.diag.agentDb = db;
    if (db > SILENCE_DB && this.diag.firstAgentAudioAt == null) this.diag.firstAgentAudioAt = now;
    if (db > SILENCE_DB) this.diag.agentAudioMs += TICK_MS;
    const samples = this.diag.samples;
    // [ms, dBFS, mouth opening 0..1, agent state, audible (above the silence threshold)]
    samples.push([Math.round(now), Math.round(db), Number(this.avatar.open.toFixed(2)), this.diag.state, db > SILENCE_DB]);
    if (samples.length > 20000) samples.shift();
    const secs = Math.floor((now - this.startedAt) / 1000);
    const el = $('elapsed');
    const text = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
    if (el.textContent !== text) {
      el.textContent = text;
      el.setAttribute('datetime', `PT${secs}S`);
    }
  }

  endWith(why) {
    if (this.room) {
      this.pendingReason = why;
      this.room.disconnect().catch(() => {});
    }
    this.finish(why);
  }

  finish(why) {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    clearTimeout(this.agentGone);
    this.agentMeter?.close();
    this.diag.ended = this.pendingReason ?? why;
    this.onEnded(this.pendingReason ?? why);
  }
}
