#!/usr/bin/env python3
"""Make a spoken WAV with the local AI server's /v1/audio/speech (stdlib only).

  make_speech.py --url http://127.0.0.1:PORT --text "..." --out answer.wav [--rate 48000]
                 [--voice alloy] [--speed 1.0] [--pad-ms 0]

Writes a mono 16-bit WAV at --rate (default 24000, the server's native pcm rate),
resampled by linear interpolation. --pad-ms adds that much silence at both ends.
"""
import argparse
import array
import json
import sys
import urllib.error
import urllib.request
import wave

SRC_RATE = 24000


def resample(samples, src, dst):
    if src == dst or not samples:
        return samples
    n_out = int(round(len(samples) * dst / src))
    step = src / dst
    last = len(samples) - 1
    out = array.array("h", bytes(2 * n_out))
    for i in range(n_out):
        t = i * step
        j = int(t)
        if j >= last:
            out[i] = samples[last]
            continue
        f = t - j
        out[i] = int(round(samples[j] * (1.0 - f) + samples[j + 1] * f))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    ap.add_argument("--text", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate", type=int, default=SRC_RATE)
    ap.add_argument("--voice", default="alloy")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--pad-ms", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()

    body = json.dumps(
        {"model": "tts-1", "input": a.text, "voice": a.voice, "response_format": "pcm", "speed": a.speed}
    ).encode()
    req = urllib.request.Request(
        a.url.rstrip("/") + "/v1/audio/speech", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=a.timeout) as r:
            pcm = r.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"make_speech: HTTP {e.code}: {e.read().decode(errors='replace')}")
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder != "little":
        samples.byteswap()
    out = resample(samples, SRC_RATE, a.rate)
    if a.pad_ms > 0:
        pad = array.array("h", bytes(2 * (a.rate * a.pad_ms // 1000)))
        out = pad + out + pad
    if sys.byteorder != "little":
        out.byteswap()
    with wave.open(a.out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(a.rate)
        w.writeframes(out.tobytes())
    print(f"{a.out}: {len(out) / a.rate:.2f}s at {a.rate} Hz", file=sys.stderr)


if __name__ == "__main__":
    main()
