#!/usr/bin/env python3
"""TEST FIXTURE, not a product: a scripted LiveKit participant built on the official
`livekit` Python SDK (Google libwebrtc inside). interview-agent's integration tests and the
livekit-test-server's own tests run it as "the real client".

Prints READY (flushed) once connected, does its thing for --listen-seconds, then writes a JSON
report to --out and exits 0. Exits non-zero with a message on stderr if it cannot connect.
"""

import argparse
import asyncio
import faulthandler
import json
import math
import os
import sys
import time
import wave

import numpy as np
from livekit import rtc

SAMPLE_RATE = 48000
FRAME_MS = 10
SAMPLES_PER_FRAME = SAMPLE_RATE * FRAME_MS // 1000


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--publish-tone", type=float, metavar="HZ")
    ap.add_argument("--tone-seconds", type=float, metavar="S",
                    help="how long to play the tone (default: the whole listen period)")
    ap.add_argument("--tone-dbfs", type=float, default=-12.0)
    ap.add_argument("--publish-wav", metavar="PATH")
    ap.add_argument("--wav-delay", type=float, default=0.0, metavar="S",
                    help="seconds of silence before the WAV starts (then silence continues, like a microphone)")
    ap.add_argument("--publish-video", action="store_true")
    ap.add_argument("--disable-red", action="store_true", help="publish audio as plain Opus")
    ap.add_argument("--listen-seconds", type=float, default=10.0)
    ap.add_argument("--send-text", action="append", default=[], metavar="TOPIC:TEXT",
                    help="text stream(s) sent once another participant is present")
    ap.add_argument("--send-data", action="append", default=[], metavar="TOPIC:TEXT",
                    help="reliable user data packet(s) sent once another participant is present")
    ap.add_argument("--set-attribute", action="append", default=[], metavar="K=V")
    ap.add_argument("--unpublish-after", type=float, metavar="S",
                    help="unpublish all local tracks S seconds after connecting")
    ap.add_argument("--leave-after", type=float, metavar="S")
    ap.add_argument("--connect-timeout", type=float, default=20.0)
    ap.add_argument("--dual-pc", action="store_true",
                    help="join on /rtc with two peer connections (the SDK default is single-PC /rtc/v1, "
                         "falling back to /rtc on 404)")
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def split_pair(s, sep):
    if sep not in s:
        raise SystemExit(f"expected '{sep}' in {s!r}")
    a, b = s.split(sep, 1)
    return a, b


class Recorder:
    """Collects everything observed, with times relative to the connect moment."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.remote = {}
        self.tracks = []
        self.data = []
        self.text_streams = []
        self.attribute_changes = []
        self.tasks = []
        self.disconnect_reason = None
        self.disconnected_at = None
        self.reconnects = []
        self.unpublished = []

    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def joined(self, p):
        self.remote.setdefault(p.identity, {"attributes": dict(p.attributes), "joined": self.now(), "left": None})

    def left(self, p):
        entry = self.remote.setdefault(p.identity, {"attributes": dict(p.attributes), "joined": None, "left": None})
        entry["left"] = self.now()


async def consume_audio(rec, track, participant, publication):
    entry = {"participant": participant.identity, "track_sid": publication.sid, "kind": "audio",
             "mime_type": publication.mime_type, "frames": 0, "first_frame_s": None}
    rec.tracks.append(entry)
    chunks = []
    stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
    try:
        async for ev in stream:
            frame = ev.frame
            if entry["first_frame_s"] is None:
                entry["first_frame_s"] = rec.now()
            entry["frames"] += 1
            chunks.append(np.frombuffer(frame.data, dtype=np.int16).copy())
    finally:
        entry["_pcm"] = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


async def consume_video(rec, track, participant, publication):
    entry = {"participant": participant.identity, "track_sid": publication.sid, "kind": "video",
             "mime_type": publication.mime_type, "frames": 0, "first_frame_s": None}
    rec.tracks.append(entry)
    stream = rtc.VideoStream(track)
    async for ev in stream:
        if entry["first_frame_s"] is None:
            entry["first_frame_s"] = rec.now()
            entry["width"] = ev.frame.width
            entry["height"] = ev.frame.height
        entry["frames"] += 1


def analyse(pcm):
    """dominant_hz / rms_dbfs / seconds_above_-40dbfs of 48 kHz mono int16, skipping 200 ms."""
    x = pcm[SAMPLE_RATE // 5:].astype(np.float64) / 32768.0
    if x.size < SAMPLES_PER_FRAME:
        return {"dominant_hz": None, "rms_dbfs": None, "seconds_above_-40dbfs": 0.0}
    rms = math.sqrt(float(np.mean(x * x)))
    rms_dbfs = 20 * math.log10(rms) if rms > 0 else -120.0
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1.0 / SAMPLE_RATE)
    spec[freqs < 20] = 0
    dominant = float(freqs[int(np.argmax(spec))]) if rms > 0 else None
    n = x.size // SAMPLES_PER_FRAME
    blocks = x[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME)
    block_rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    above = int(np.sum(block_rms > 10 ** (-40 / 20)))
    return {"dominant_hz": round(dominant, 1) if dominant is not None else None,
            "rms_dbfs": round(rms_dbfs, 2), "seconds_above_-40dbfs": round(above * FRAME_MS / 1000, 2)}


async def play_tone(source, hz, dbfs, seconds):
    amp = 32767 * 10 ** (dbfs / 20)
    n = 0
    total = int(seconds * 1000 / FRAME_MS) if seconds is not None else None
    i = 0
    while total is None or i < total:
        t = (np.arange(SAMPLES_PER_FRAME) + n) / SAMPLE_RATE
        samples = (amp * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        n += SAMPLES_PER_FRAME
        frame = rtc.AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, SAMPLES_PER_FRAME)
        await source.capture_frame(frame)
        i += 1


def load_wav(path):
    with wave.open(path, "rb") as w:
        ch, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(frames)
    if width != 2:
        raise SystemExit(f"{path}: only 16-bit PCM WAV is supported")
    x = np.frombuffer(raw, dtype=np.int16).reshape(-1, ch).mean(axis=1)
    if rate != SAMPLE_RATE:
        t_old = np.arange(x.size) / rate
        t_new = np.arange(int(x.size * SAMPLE_RATE / rate)) / SAMPLE_RATE
        x = np.interp(t_new, t_old, x)
    return x.astype(np.int16)


async def play_silence(source, seconds):
    silence = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16).tobytes()
    for _ in range(int(seconds * 1000 / FRAME_MS)):
        await source.capture_frame(rtc.AudioFrame(silence, SAMPLE_RATE, 1, SAMPLES_PER_FRAME))


async def play_wav_like_a_microphone(source, pcm, delay):
    """Silence, the WAV, then silence until the peer exits: a microphone never stops."""
    await play_silence(source, delay)
    await play_pcm(source, pcm)
    while True:
        await play_silence(source, 1.0)


async def play_pcm(source, pcm):
    for i in range(0, pcm.size - SAMPLES_PER_FRAME + 1, SAMPLES_PER_FRAME):
        chunk = pcm[i:i + SAMPLES_PER_FRAME]
        await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, SAMPLES_PER_FRAME))
    # trailing silence so the tail is not cut by the encoder
    silence = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16).tobytes()
    for _ in range(30):
        await source.capture_frame(rtc.AudioFrame(silence, SAMPLE_RATE, 1, SAMPLES_PER_FRAME))


async def play_video(source):
    w, h = 320, 240
    i = 0
    while True:
        color = np.array([(i * 5) % 256, 128, 255 - (i * 5) % 256, 255], dtype=np.uint8)
        buf = np.tile(color, w * h).tobytes()
        source.capture_frame(rtc.VideoFrame(w, h, rtc.VideoBufferType.RGBA, buf))
        i += 1
        await asyncio.sleep(1 / 15)


async def wait_for_remote(room, timeout):
    deadline = time.monotonic() + timeout
    while not room.remote_participants and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return bool(room.remote_participants)


async def run(args):
    rec = Recorder()
    room = rtc.Room()

    @room.on("participant_connected")
    def _pc(p):
        rec.joined(p)

    @room.on("participant_disconnected")
    def _pd(p):
        rec.left(p)

    @room.on("track_subscribed")
    def _ts(track, publication, participant):
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            rec.tasks.append(asyncio.ensure_future(consume_audio(rec, track, participant, publication)))
        else:
            rec.tasks.append(asyncio.ensure_future(consume_video(rec, track, participant, publication)))

    @room.on("disconnected")
    def _dc(reason):
        if rec.disconnect_reason is not None:
            return  # keep the first (e.g. a server kick), not our own final disconnect
        rec.disconnect_reason = rtc.DisconnectReason.Name(reason) if isinstance(reason, int) else str(reason)
        rec.disconnected_at = rec.now()

    @room.on("reconnecting")
    def _rc():
        rec.reconnects.append({"event": "reconnecting", "t": rec.now()})

    @room.on("reconnected")
    def _rd():
        rec.reconnects.append({"event": "reconnected", "t": rec.now()})

    @room.on("track_unpublished")
    def _tu(publication, participant):
        rec.unpublished.append({"participant": participant.identity, "track_sid": publication.sid,
                                "t": rec.now()})

    @room.on("data_received")
    def _dr(packet):
        rec.data.append({"participant": packet.participant.identity if packet.participant else None,
                         "topic": packet.topic, "payload": packet.data.decode("utf-8", "replace"),
                         "t": rec.now()})

    @room.on("participant_attributes_changed")
    def _ac(changed, participant):
        rec.attribute_changes.append({"participant": participant.identity, "t": rec.now(),
                                      "attributes": dict(participant.attributes)})
        if participant.identity in rec.remote:
            rec.remote[participant.identity]["attributes"] = dict(participant.attributes)

    text_topics = set(split_pair(s, ":")[0] for s in args.send_text)

    def make_text_handler(topic):
        def handler(reader, participant_identity):
            async def read():
                text = await reader.read_all()
                rec.text_streams.append({"participant": participant_identity, "topic": topic,
                                         "attributes": dict(reader.info.attributes or {}),
                                         "text": text, "t": rec.now()})
            rec.tasks.append(asyncio.ensure_future(read()))
        return handler

    # Receive text streams on every topic we were told about plus the common ones.
    for topic in text_topics | {"lk.chat", "lk.transcription", "chat", "test"}:
        room.register_text_stream_handler(topic, make_text_handler(topic))

    try:
        options = rtc.RoomOptions(auto_subscribe=True)
        if args.dual_pc:
            options.single_peer_connection = False
        await asyncio.wait_for(room.connect(args.url, args.token, options),
                               timeout=args.connect_timeout)
    except Exception as e:  # noqa: BLE001 - report any connect failure plainly
        print(f"lk_peer: failed to connect to {args.url}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2
    rec.t0 = time.monotonic()
    for p in room.remote_participants.values():
        rec.remote[p.identity] = {"attributes": dict(p.attributes), "joined": 0.0, "left": None}
    print("READY", flush=True)

    background = []
    if args.set_attribute:
        attrs = dict(split_pair(s, "=") for s in args.set_attribute)
        await room.local_participant.set_attributes(attrs)

    opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, red=not args.disable_red)
    if args.publish_tone is not None:
        src = rtc.AudioSource(SAMPLE_RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("tone", src)
        await room.local_participant.publish_track(track, opts)
        background.append(asyncio.ensure_future(play_tone(src, args.publish_tone, args.tone_dbfs, args.tone_seconds)))
    if args.publish_wav:
        pcm = load_wav(args.publish_wav)
        src = rtc.AudioSource(SAMPLE_RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("wav", src)
        await room.local_participant.publish_track(track, opts)
        background.append(asyncio.ensure_future(play_wav_like_a_microphone(src, pcm, args.wav_delay)))
    if args.publish_video:
        vsrc = rtc.VideoSource(320, 240)
        vtrack = rtc.LocalVideoTrack.create_video_track("camera", vsrc)
        await room.local_participant.publish_track(
            vtrack, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA))
        background.append(asyncio.ensure_future(play_video(vsrc)))

    async def send_messages():
        if not (args.send_text or args.send_data):
            return
        if not await wait_for_remote(room, args.listen_seconds):
            print("lk_peer: nobody to send to", file=sys.stderr, flush=True)
            return
        await asyncio.sleep(1.0)  # let the newcomer's data channels open
        for s in args.send_text:
            topic, text = split_pair(s, ":")
            await room.local_participant.send_text(text, topic=topic)
        for s in args.send_data:
            topic, text = split_pair(s, ":")
            await room.local_participant.publish_data(text.encode(), reliable=True, topic=topic)

    background.append(asyncio.ensure_future(send_messages()))

    async def unpublish_later(delay):
        await asyncio.sleep(delay)
        for sid in list(room.local_participant.track_publications.keys()):
            await room.local_participant.unpublish_track(sid)

    if args.unpublish_after is not None:
        background.append(asyncio.ensure_future(unpublish_later(args.unpublish_after)))

    listen = args.listen_seconds
    if args.leave_after is not None:
        listen = min(listen, args.leave_after)
    await asyncio.sleep(listen)

    for t in background:
        t.cancel()
    await room.disconnect()
    await asyncio.sleep(0.2)
    for t in rec.tasks:
        t.cancel()
    await asyncio.gather(*rec.tasks, return_exceptions=True)

    tracks = []
    for entry in rec.tracks:
        pcm = entry.pop("_pcm", None)
        if entry["kind"] == "audio":
            entry.update(analyse(pcm if pcm is not None else np.zeros(0, dtype=np.int16)))
        tracks.append(entry)
    result = {
        "identity": room.local_participant.identity,
        "room": room.name,
        "remote_participants": rec.remote,
        "tracks": tracks,
        "data": rec.data,
        "text_streams": rec.text_streams,
        "attribute_changes": rec.attribute_changes,
        "disconnect_reason": rec.disconnect_reason,
        "disconnected_at": rec.disconnected_at,
        "reconnects": rec.reconnects,
        "unpublished": rec.unpublished,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    return 0


def main():
    # A native crash prints the Python stack of every thread, so a failure says where it was.
    faulthandler.enable()
    args = parse_args()
    code = asyncio.run(run(args))
    print(f"lk_peer: exiting {code}, report written", file=sys.stderr, flush=True)
    sys.stdout.flush()
    # The report is on disk. Skip the interpreter's exit hooks: the SDK's atexit FFI dispose
    # races its own runtime threads and can abort (SIGABRT, "panic in a function that cannot
    # unwind") after everything we test has already happened and been written down.
    os._exit(code)


if __name__ == "__main__":
    main()
