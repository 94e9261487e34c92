#!/usr/bin/env python3
"""One engine of the local AI stack, exercised once in this process (run by smoke-engines.sh).

  .venv-ai/bin/python scripts/local_ai/engine_smoke.py tts --wav OUT.wav   # one TTS sentence
  .venv-ai/bin/python scripts/local_ai/engine_smoke.py stt --wav IN.wav    # one transcription
  .venv-ai/bin/python scripts/local_ai/engine_smoke.py llm                 # a few tokens

Each engine runs in its own process so that a crash (SIGILL from code built for another CPU,
SIGSEGV, an abort in a native library) names the engine. Prints one line of result on stdout.

LOCAL_AI_SMOKE_FAULT=ENGINE:SIGNAL (e.g. llm:SIGILL) or ENGINE:exit makes that engine's step
die that way instead of running: the fault injection that tests the driver's crash reports.
"""
import os
import signal
import sys
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SENTENCE = "I have five years of experience with Rust and distributed systems."


def injected_fault(engine: str):
    spec = os.environ.get("LOCAL_AI_SMOKE_FAULT", "")
    target, _, how = spec.partition(":")
    if target != engine:
        return
    if how == "exit":
        sys.exit(f"injected failure of the {engine} step (LOCAL_AI_SMOKE_FAULT)")
    sig = getattr(signal, how, None)
    if not isinstance(sig, signal.Signals):
        sys.exit(f"LOCAL_AI_SMOKE_FAULT: unknown signal {how!r}")
    sys.stdout.flush()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def main():
    engine = sys.argv[1]
    wav_path = sys.argv[sys.argv.index("--wav") + 1] if "--wav" in sys.argv else None
    injected_fault(engine)
    import numpy as np
    from server import ENG, OUT_RATE, resample, to_s16, wav_bytes

    t0 = time.monotonic()
    if engine == "tts":
        ENG.load_tts()
        audio = np.concatenate(list(ENG.tts_sentences(SENTENCE, 1.0)))
        pcm = to_s16(resample(audio, ENG.voice_rate, OUT_RATE))
        if len(pcm) < OUT_RATE:  # under half a second of speech for a whole sentence
            sys.exit(f"TTS returned {len(pcm) / 2 / OUT_RATE:.2f} s of audio for a sentence")
        Path(wav_path).write_bytes(wav_bytes(pcm, OUT_RATE))
        print(f"tts ok: {len(pcm) / 2 / OUT_RATE:.1f} s of speech in {time.monotonic() - t0:.1f} s")
    elif engine == "stt":
        ENG.load_whisper()
        if wav_path and Path(wav_path).is_file():
            with wave.open(wav_path) as w:
                rate = w.getframerate()
                x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
            x = resample(x, rate, 16000)
        else:  # no TTS output to listen to: a tone still runs every kernel
            x = (0.1 * np.sin(np.arange(32000) * 2 * np.pi * 220 / 16000)).astype(np.float32)
        segments, _ = ENG.whisper.transcribe(x, beam_size=1, language="en", condition_on_previous_text=False)
        text = " ".join(s.text.strip() for s in segments)
        print(f"stt ok: {text!r} in {time.monotonic() - t0:.1f} s")
    elif engine == "llm":
        ENG.load_llm()
        out = ENG.llm.create_chat_completion(
            messages=[{"role": "user", "content": "Say hello."}], max_tokens=4, temperature=0
        )
        text = out["choices"][0]["message"]["content"]
        print(f"llm ok: {text!r} in {time.monotonic() - t0:.1f} s")
    else:
        sys.exit(f"unknown engine {engine!r} (tts, stt or llm)")


if __name__ == "__main__":
    main()
