//! The demo interview's content: the application the demo creates and the candidate's
//! pre-recorded answers (synthesized with the TTS at start). One answer is deliberately thin
//! so the interviewer asks a follow-up; a spare closes the conversation if the judge asks for
//! more than planned.

use serde_json::{json, Value};

pub fn application() -> Value {
    json!({
        "candidateName": "Alex Morgan",
        "candidateEmail": "alex.morgan@example.com",
        "jobTitle": "Backend Engineer",
        "jobDescription": "Build and run the Rust services behind our hiring platform: APIs, storage and background jobs.",
        "questions": [
            "Tell me about a backend service you built and one trade-off you made.",
            "How would you make an API call safe to retry?",
            "How do you find the cause of a slow database query?"
        ],
        "language": "en",
        "voiceGender": "FEMALE",
        "maxDurationSeconds": 600,
        "recordAudio": true
    })
}

pub const ANSWERS: &[&str] = &[
    "I built a payment service in Rust. We chose PostgreSQL over a document store, because \
     strong consistency mattered more to us than flexible schemas, and we accepted slower \
     schema changes.",
    "I would use an idempotency key.",
    "The client sends a unique key with each request, and the server stores the key together \
     with the result, so a retry gets the stored result instead of charging the customer twice.",
    "I start with the query plan, look for sequential scans and missing indexes, check the \
     table statistics, and then measure again after adding the index.",
    "I think I have covered everything I wanted to say. Thank you.",
];
