#!/usr/bin/env python3
"""The demo's scripted candidate: a real LiveKit client (the official `livekit` Python SDK)
that joins an interview room with a join token, keeps a microphone track open, and answers
each interviewer turn with the next pre-recorded WAV.

When to answer: the agent publishes `lk.agent.state`; once it has been "speaking" and then
stays "listening" for --settle seconds, the next answer plays. When the answers run out the
candidate stays silent (the agent re-prompts, then ends politely). Exits when the agent leaves
the room, or after --max-seconds.

Output on stdout, one JSON object per line (flushed), for the caller to print:
  {"event": "joined"}
  {"event": "said", "speaker": "interviewer"|"candidate", "text": "..."}  (final transcripts the
      agent published on lk.transcription; the candidate's are what the agent understood)
  {"event": "answering", "index": N, "file": "..."}
  {"event": "left", "reason": "..."}
"""

import argparse
import asyncio
import json
import sys
import time
import wave

import numpy as np
from livekit import rtc

RATE = 48000
FRAME = RATE // 100  # 10 ms


def emit(**kw):
    print(json.dumps(kw), flush=True)


def load_wav(path):
    with wave.open(path, "rb") as w:
        ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        raise SystemExit(f"{path}: only 16-bit PCM WAV is supported")
    x = np.frombuffer(raw, dtype=np.int16).reshape(-1, ch).mean(axis=1)
    if rate != RATE:
        t_old = np.arange(x.size) / rate
        t_new = np.arange(int(x.size * RATE / rate)) / RATE
        x = np.interp(t_new, t_old, x)
    return x.astype(np.int16)


class Mic:
    """A microphone that never stops: silence unless an answer is queued."""

    def __init__(self, source):
        self.source = source
        self.queue = asyncio.Queue()
        self.playing = False

    async def run(self):
        silence = np.zeros(FRAME, dtype=np.int16)
        while True:
            try:
                pcm = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                await self.source.capture_frame(rtc.AudioFrame(silence.tobytes(), RATE, 1, FRAME))
                continue
            self.playing = True
            for i in range(0, pcm.size - FRAME + 1, FRAME):
                chunk = pcm[i:i + FRAME]
                await self.source.capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME))
            self.playing = False


async def run(args):
    answers = [load_wav(p) for p in args.answer]
    room = rtc.Room()
    # "spoke": the agent has said something since our last answer (so it is our turn).
    state = {"agent": None, "value": None, "since": time.monotonic(), "spoke": args.answer_at_once}
    done = asyncio.Event()

    def track_state(p):
        v = p.attributes.get("lk.agent.state")
        if v is None:
            return
        state["agent"] = p.identity
        if v != state["value"]:
            state["value"] = v
            state["since"] = time.monotonic()
            if v == "speaking":
                state["spoke"] = True

    @room.on("participant_attributes_changed")
    def _ac(changed, participant):
        track_state(participant)

    @room.on("participant_connected")
    def _pc(p):
        track_state(p)

    @room.on("participant_disconnected")
    def _pd(p):
        if p.identity == state["agent"]:
            emit(event="left", reason="the interviewer left the room")
            done.set()

    @room.on("disconnected")
    def _dc(reason):
        emit(event="left", reason=f"disconnected: {reason}")
        done.set()

    def on_text(reader, identity):
        async def read():
            text = await reader.read_all()
            attrs = dict(reader.info.attributes or {})
            if attrs.get("lk.transcription_final") != "true" or not text.strip():
                return
            seg = attrs.get("lk.segment_id", "")
            emit(event="said", speaker="candidate" if seg.startswith("user-") else "interviewer",
                 text=text.strip())
        asyncio.ensure_future(read())

    room.register_text_stream_handler("lk.transcription", on_text)

    try:
        await asyncio.wait_for(room.connect(args.url, args.token, rtc.RoomOptions(auto_subscribe=True)),
                               timeout=20)
    except Exception as e:  # noqa: BLE001 - report any connect failure plainly
        print(f"candidate: cannot join {args.url}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2
    emit(event="joined")
    for p in room.remote_participants.values():
        track_state(p)

    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    mic = Mic(source)
    mic_task = asyncio.ensure_future(mic.run())

    async def answer_loop():
        i = 0
        while True:
            await asyncio.sleep(0.1)
            listening = state["value"] == "listening" and state["spoke"]
            settled = time.monotonic() - state["since"] >= args.settle
            if args.leave_after_answers is not None and i >= args.leave_after_answers:
                # Hang up once the agent has moved on (said something after our last answer).
                if listening and not mic.playing and mic.queue.empty():
                    emit(event="left", reason=f"hung up after {i} answer(s)")
                    done.set()
                    return
                continue
            if i < len(answers) and listening and settled and not mic.playing and mic.queue.empty():
                emit(event="answering", index=i, file=args.answer[i])
                state["spoke"] = False  # wait for the next interviewer turn
                await mic.queue.put(answers[i])
                i += 1

    answering = asyncio.ensure_future(answer_loop())
    try:
        await asyncio.wait_for(done.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        emit(event="left", reason=f"gave up after {args.max_seconds} s")
    answering.cancel()
    mic_task.cancel()
    await room.disconnect()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--answer", action="append", default=[], metavar="WAV",
                    help="answers in order (repeat the flag)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds the agent must stay listening before the next answer")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--leave-after-answers", type=int, metavar="N",
                    help="hang up after N answers, once the agent has spoken again")
    ap.add_argument("--answer-at-once", action="store_true",
                    help="answer as soon as the agent is listening, without waiting for it to speak "
                         "first (a candidate rejoining mid-interview)")
    sys.exit(asyncio.run(run(ap.parse_args())))


if __name__ == "__main__":
    main()
