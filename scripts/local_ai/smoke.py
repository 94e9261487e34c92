#!/usr/bin/env python3
"""Smoke test + timings for a running local AI server (uses the pinned `openai` client).

  .venv-ai/bin/python scripts/local_ai/smoke.py --url http://127.0.0.1:PORT
Exits non-zero if a check fails. Prints TTS first-byte, LLM first-token and STT times.
"""
import argparse
import io
import sys
import time
import wave

import json
import urllib.error
import urllib.request
import uuid

import openai


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post_json(url, obj):
    return http("POST", url, json.dumps(obj).encode(), {"Content-Type": "application/json"})


def post_form(url, fields, wav):
    b = uuid.uuid4().hex
    parts = [f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode() + wav + b"\r\n")
    parts.append(f"--{b}--\r\n".encode())
    return http("POST", url, b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={b}"})

SENTENCES = [
    "I have five years of experience with Rust and distributed systems.",
    "My favorite language is Python, and I also use Kubernetes and Postgres.",
    "I led a team of four engineers building a payment service.",
]
KEYWORDS = [["rust", "distributed"], ["python", "kubernetes", "postgres"], ["team", "four", "payment"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    a = ap.parse_args()
    base = a.url.rstrip("/")
    client = openai.OpenAI(base_url=base + "/v1", api_key="local", max_retries=0)
    ok = True

    # TTS streamed pcm: time to first byte
    for text in SENTENCES[:1] + ["Thanks for joining. Tell me about a hard bug you fixed. Take your time."]:
        t0 = time.monotonic()
        first = None
        n = 0
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=text, response_format="pcm"
        ) as r:
            for chunk in r.iter_bytes():
                if first is None and chunk:
                    first = time.monotonic() - t0
                n += len(chunk)
        total = time.monotonic() - t0
        print(f"TTS pcm: first byte {first:.3f}s, total {total:.3f}s, {n/48000:.2f}s audio, {n} bytes ({len(text)} chars)")

    # STT round trip on our own TTS (wav format)
    for text, keys in zip(SENTENCES, KEYWORDS):
        wav = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="wav").content
        with wave.open(io.BytesIO(wav)) as w:
            assert w.getframerate() == 24000 and w.getnchannels() == 1 and w.getsampwidth() == 2
            dur = w.getnframes() / 24000
        t0 = time.monotonic()
        tr = client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", wav, "audio/wav"), response_format="verbose_json", language="en"
        )
        dt = time.monotonic() - t0
        hit = all(k in tr.text.lower() for k in keys)
        ok &= hit
        print(f"STT {dur:.2f}s clip in {dt:.3f}s: {tr.text!r} keywords {keys} {'OK' if hit else 'MISSING'}")
    seg = tr.segments[0]
    print(f"  verbose_json: language={tr.language} duration={tr.duration} seg0=({seg.start},{seg.end},{seg.no_speech_prob:.3f},{seg.avg_logprob:.3f})")
    st, b = post_form(base + "/v1/audio/transcriptions", {"response_format": "text", "model": "whisper-1"}, wav)
    print(f"  text format: {st} {b.decode()!r}")
    st, b = post_form(base + "/v1/audio/transcriptions", {"response_format": "json", "model": "whisper-1"}, wav)
    print(f"  json format: {st} {b.decode()}")

    # LLM streaming: time to first token
    msgs = [
        {"role": "system", "content": "You are a friendly job interviewer. Ask one short question."},
        {"role": "user", "content": "Hi, I am ready for the interview."},
    ]
    for i in range(2):
        t0 = time.monotonic()
        first = None
        parts = []
        finish = None
        for ch in client.chat.completions.create(model="local", messages=msgs, stream=True, max_tokens=48, temperature=0.2):
            d = ch.choices[0].delta
            if d.content and first is None:
                first = time.monotonic() - t0
            parts.append(d.content or "")
            finish = ch.choices[0].finish_reason or finish
        total = time.monotonic() - t0
        print(f"LLM stream #{i}: first token {first:.3f}s, total {total:.3f}s, {len(parts)} chunks, finish={finish}: {''.join(parts)!r}")
    r = client.chat.completions.create(model="local", messages=msgs, max_tokens=16, stop=["?"])
    print(f"LLM non-stream (max_tokens=16, stop='?'): finish={r.choices[0].finish_reason} {r.choices[0].message.content!r} usage={r.usage}")

    # errors
    st, b = post_json(base + "/v1/audio/speech", {"model": "tts-1", "input": "", "voice": "x"})
    print(f"error shape: {st} {b.decode()}")
    ok &= st == 400 and "error" in json.loads(b)
    print(f"models: {[m.id for m in client.models.list().data]}; health: {http('GET', base + '/health')[1].decode()}")
    print("SMOKE OK" if ok else "SMOKE FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
