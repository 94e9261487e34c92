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
    if r["partial"] == true {
        let _ = writeln!(
            s,
            "PARTIAL: the interview was cut short; this is what was recorded until then."
        );
    }
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
    for (label, key) in [("strengths", "strengths"), ("weaknesses", "weaknesses")] {
        let l = list(&r[key]);
        let l = if l.is_empty() { "(none given)" } else { &l };
        let _ = writeln!(s, "{label}: {l}");
    }
    let _ = writeln!(
        s,
        "transcript: {} entries saved",
        r["transcript"].as_array().map_or(0, Vec::len)
    );
    let m = &r["models"];
    if m.is_object() {
        let _ = writeln!(
            s,
            "models: speech to text {}, judge {}, voice {}",
            m["stt"].as_str().unwrap_or("?"),
            m["judge"].as_str().unwrap_or("?"),
            m["tts"].as_str().unwrap_or("?"),
        );
        if m["scoresNotMeaningful"] == true {
            let _ = writeln!(
                s,
                "NOTE: the judge ({}) is a very small offline model: these scores and this \
                 recommendation are NOT meaningful. Set OPENAI_API_KEY for a real evaluation.",
                m["judge"].as_str().unwrap_or("?")
            );
        }
    }
    s.push_str("===========================================");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scorecard_shows_scores_lists_and_empty_lists() {
        let r = serde_json::json!({
            "applicationId": "app-1", "room": "interview-app-1-1", "endReason": "COMPLETED",
            "durationSeconds": 90.04, "questionsAsked": 2, "questionsAnswered": 2,
            "questionsScored": 1, "averageScore": 7.0, "recommendation": "YES",
            "questions": [
                {"index": 0, "question": "Q one?", "answer": "A one.", "score": 7,
                 "keyPoints": ["Clear", "Concrete"], "improvementAreas": [],
                 "evidenceQuotes": ["A one"]},
                {"index": 1, "question": "Q two?", "answer": "A two.", "score": null,
                 "scoringError": "no JSON object in the reply"}
            ],
            "summary": "Fine.", "strengths": ["Clear"], "weaknesses": [],
            "transcript": [{}, {}, {}], "partial": true,
            "models": {"stt": "whisper-tiny.en", "judge": "smollm2-135m-instruct",
                       "tts": "piper", "scoresNotMeaningful": true}
        });
        let s = scorecard(&r);
        assert!(s.contains("ended: COMPLETED  duration 90.0 s"), "{s}");
        assert!(s.contains("average score 7.0; recommendation YES"), "{s}");
        assert!(s.contains("Q1 [7/10] Q one?"), "{s}");
        assert!(s.contains("   key points: Clear; Concrete\n"), "{s}");
        assert!(
            !s.contains("to improve"),
            "empty per-question lists are left out: {s}"
        );
        assert!(s.contains("Q2 [unscored] Q two?"), "{s}");
        assert!(
            s.contains("   not scored: no JSON object in the reply"),
            "{s}"
        );
        assert!(s.contains("strengths: Clear\n"), "{s}");
        assert!(s.contains("weaknesses: (none given)\n"), "{s}");
        assert!(s.contains("transcript: 3 entries saved"), "{s}");
        assert!(s.contains("PARTIAL: the interview was cut short"), "{s}");
        assert!(s.contains("judge smollm2-135m-instruct"), "{s}");
        assert!(
            s.contains("these scores and this recommendation are NOT meaningful"),
            "{s}"
        );
    }
}
