//! The local AI stack's set-up guards, tested as scripts:
//! - `scripts/local_ai/smoke-engines.sh` passes on the installed engines and, when an engine
//!   dies (fault-injected: the LLM step kills itself with SIGILL, the STT step exits 1), names
//!   the engine, its signal or status, what to do, and exits non-zero;
//! - `scripts/local_ai/check-wheel-isa.sh` refuses a wheel whose library holds AVX-512 code
//!   (built here with gcc -mavx512f, as a native build on an AVX-512 machine would be) and
//!   accepts one built for the AVX2 baseline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn ai_python() -> PathBuf {
    std::env::var("AI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo(".venv-ai/bin/python"))
}

fn smoke(fault: Option<&str>) -> Output {
    let mut cmd = Command::new(repo("scripts/local_ai/smoke-engines.sh"));
    cmd.arg(ai_python()).env_remove("LOCAL_AI_SMOKE_FAULT");
    if let Some(f) = fault {
        cmd.env("LOCAL_AI_SMOKE_FAULT", f);
    }
    cmd.output().expect("run smoke-engines.sh")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn engine_smoke_passes_on_the_installed_stack_and_names_a_crashed_engine() {
    assert!(
        ai_python().exists(),
        "run scripts/setup-ai.sh first (or set AI_PYTHON)"
    );
    let ok = smoke(None);
    let out = text(&ok.stdout);
    assert!(ok.status.success(), "{out}\n{}", text(&ok.stderr));
    for engine in ["tts ok", "stt ok", "llm ok"] {
        assert!(out.contains(engine), "{out}");
    }
    // Whisper heard the TTS sentence: both engines really ran.
    assert!(out.to_lowercase().contains("experience"), "{out}");

    let crashed = smoke(Some("llm:SIGILL"));
    let err = text(&crashed.stderr);
    assert_eq!(crashed.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the LLM (llama.cpp via llama-cpp-python) engine crashed with SIGILL (signal 4)"
        ),
        "{err}"
    );
    assert!(
        err.contains("built for another CPU; rerun with LOCAL_AI_CPU=plain scripts/setup-ai.sh"),
        "{err}"
    );
    // The engines before it still ran and said so.
    assert!(
        text(&crashed.stdout).contains("stt ok"),
        "{}",
        text(&crashed.stdout)
    );

    let failed = smoke(Some("stt:exit"));
    let err = text(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the STT (faster-whisper, CTranslate2) engine failed (exit status 1)"),
        "{err}"
    );
    assert!(err.contains("injected failure of the stt step"), "{err}");
}

/// A wheel (a zip) holding one shared library compiled from `code` with `flags`.
fn wheel_with_library(dir: &Path, name: &str, code: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, code).unwrap();
    let lib_dir = dir.join(name).join("llama_cpp").join("lib");
    std::fs::create_dir_all(&lib_dir).unwrap();
    let so = lib_dir.join("libggml-cpu.so");
    let cc = Command::new("gcc")
        .args(["-O3", "-shared", "-fPIC"])
        .args(flags)
        .arg("-o")
        .arg(&so)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(cc.status.success(), "{}", text(&cc.stderr));
    let wheel = dir.join(format!("llama_cpp_python-0.0.0-{name}.whl"));
    let zip = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.write(sys.argv[2], 'llama_cpp/lib/libggml-cpu.so')",
        ])
        .arg(&wheel)
        .arg(&so)
        .output()
        .expect("python3 zip");
    assert!(zip.status.success(), "{}", text(&zip.stderr));
    wheel
}

#[test]
fn wheel_isa_check_refuses_avx512_code_and_accepts_the_avx2_baseline() {
    let dir = std::env::temp_dir().join(format!("isa-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let code = "void scale(float *restrict x, float k, int n) { for (int i = 0; i < n; i++) x[i] *= k; }\n";
    let check = |wheel: &Path, level: &str| {
        Command::new(repo("scripts/local_ai/check-wheel-isa.sh"))
            .arg(wheel)
            .arg(level)
            .output()
            .expect("check-wheel-isa.sh")
    };

    let native_like = wheel_with_library(
        &dir,
        "avx512",
        code,
        &["-mavx512f", "-mprefer-vector-width=512"],
    );
    let out = check(&native_like, "avx2");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("beyond the 'avx2' baseline"), "{err}");
    assert!(err.contains("refusing to install it"), "{err}");

    let baseline = wheel_with_library(&dir, "avx2", code, &["-mavx2", "-mfma", "-mf16c"]);
    let out = check(&baseline, "avx2");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // ... but AVX2 code is too much for the plain fallback.
    let out = check(&baseline, "plain");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));

    let _ = std::fs::remove_dir_all(&dir);
}
