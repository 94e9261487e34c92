//! The scorecard, printed from the result exactly as the backend stored it
//! (`InterviewResultInput`, camelCase JSON).

use std::fmt::Write;

use serde_json::Value;

pub fn scorecard(r: &Value) -> String {
    let mut s = String::new();
    let num = |v: &Value| v.as_f64().map_or("-".to_string(), |n| format!("{n:.1}"));
    let list = |v: &Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    };
    let _ = writeln!(s, "\n================ SCORECARD ================");
    let _ = writeln!(
        s,
        "application {}  room {}  ended: {}  duration {} s",
        r["applicationId"].as_str().unwrap_or("?"),
        r["room"].as_str().unwrap_or("?"),
        r["endReason"].as_str().unwrap_or("-"),
        num(&r["durationSeconds"]),
    );
    let _ = writeln!(
        s,
        "questions asked {}, answered {}, scored {}; average score {}; recommendation {}",
        r["questionsAsked"],
        r["questionsAnswered"],
        r["questionsScored"],
        num(&r["averageScore"]),
        r["recommendation"].as_str().unwrap_or("-"),
    );
    for q in r["questions"].as_array().into_iter().flatten() {
        let score = q["score"]
            .as_i64()
            .map_or("unscored".to_string(), |n| format!("{n}/10"));
        let _ = writeln!(
            s,
            "\nQ{} [{score}] {}",
            q["index"].as_i64().unwrap_or(0) + 1,
            q["question"].as_str().unwrap_or("")
        );
        let _ = writeln!(s, "   answer: {}", q["answer"].as_str().unwrap_or(""));
        if let Some(e) = q["scoringError"].as_str() {
            let _ = writeln!(s, "   not scored: {e}");
        }
        for (label, key) in [
            ("key points", "keyPoints"),
            ("to improve", "improvementAreas"),
            ("evidence", "evidenceQuotes"),
        ] {
            let l = list(&q[key]);
            if !l.is_empty() {
                let _ = writeln!(s, "   {label}: {l}");
            }
        }
    }
    let _ = writeln!(s, "\nsummary: {}", r["summary"].as_str().unwrap_or(""));
    let _ = writeln!(s, "strengths: {}", list(&r["strengths"]));
    let _ = writeln!(s, "weaknesses: {}", list(&r["weaknesses"]));
    let _ = writeln!(
        s,
        "transcript: {} entries saved",
        r["transcript"].as_array().map_or(0, Vec::len)
    );
    s.push_str("===========================================");
    s
}
