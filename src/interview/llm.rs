//! Talking to the LLM for structured output: collect a streamed completion into a string,
//! pull the JSON value out of it (tolerating code fences and stray prose around it), and
//! [`complete_validated`]: one call, and exactly ONE retry with a format reminder when the
//! reply does not validate. Provider errors are not retried here (the provider layer owns
//! retry policy).

use futures::StreamExt;

use super::error::InterviewError;
use crate::providers::{ChatMessage, Llm, LlmRequest};

/// The whole reply of one completion.
pub async fn complete(llm: &dyn Llm, request: &LlmRequest) -> Result<String, InterviewError> {
    let mut stream = llm.stream(request).await?;
    let mut out = String::new();
    while let Some(token) = stream.next().await {
        out.push_str(&token?);
    }
    Ok(out)
}

/// The outermost JSON object (`open = '{'`) or array (`'['`) in `text`.
pub fn extract_json(text: &str, open: char) -> Option<&str> {
    let close = if open == '{' { '}' } else { ']' };
    let start = text.find(open)?;
    let end = text.rfind(close)?;
    (end > start).then(|| &text[start..=end])
}

/// Ask, validate with `parse`, and on a validation failure ask once more with the invalid
/// reply and a reminder of `format` appended. Second failure: [`InterviewError::Malformed`].
pub async fn complete_validated<T>(
    llm: &dyn Llm,
    request: &LlmRequest,
    what: &'static str,
    format: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, InterviewError> {
    let first = complete(llm, request).await?;
    let reason = match parse(&first) {
        Ok(v) => return Ok(v),
        Err(reason) => reason,
    };
    tracing::warn!(what, %reason, "malformed LLM output, retrying once");
    let mut retry = request.clone();
    retry
        .messages
        .push(ChatMessage::assistant(truncate(&first, 2000)));
    retry.messages.push(ChatMessage::user(format!(
        "Your previous reply was invalid: {reason}. Reply again with ONLY one JSON value in \
         exactly this format, no prose and no code fences:\n{format}"
    )));
    let second = complete(llm, &retry).await?;
    parse(&second).map_err(|reason| InterviewError::Malformed { what, reason })
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_json_from_fences_and_prose() {
        assert_eq!(
            extract_json("```json\n{\"a\":1}\n```", '{'),
            Some("{\"a\":1}")
        );
        assert_eq!(extract_json("Sure: [\"x\"] done", '['), Some("[\"x\"]"));
        assert_eq!(extract_json("no json", '{'), None);
        assert_eq!(truncate("héllo", 2), "h");
    }
}
