//! The fixed lines the interviewer says verbatim (greeting with AI disclosure, closings,
//! silence re-prompts, default follow-up, clarification, the generic question bank), in
//! English and German. Other languages fall back to the English lines
//! ([`Lines::is_localized`] tells which); the LLM is still told to speak the interview
//! language, so only these fixed lines stay English.

use super::language::Language;

/// One language's fixed lines. Templates use `{name}`, `{title}` and `{question}`.
#[derive(Debug)]
pub struct Lines {
    pub code: &'static str,
    greeting: &'static str,
    closing: &'static str,
    closing_time_up: &'static str,
    silence_goodbye: &'static str,
    closing_early: &'static str,
    pub reprompt: &'static str,
    pub default_follow_up: &'static str,
    clarify: &'static str,
    pub question_bank: &'static [&'static str],
}

/// Said (in English: the interview language is unknown) when the room's application cannot be
/// found; the agent then leaves.
pub const UNKNOWN_APPLICATION: &str = "Hello, and sorry: I could not find the interview \
    details for this room, so I cannot run your interview right now. Please contact the hiring \
    team for a new link. Goodbye.";

/// Said (in English, as above) when the hiring backend cannot be reached after the client's
/// retries: the application may well exist, so the candidate is told to come back, not that
/// the link is wrong.
pub const BACKEND_UNAVAILABLE: &str = "Hello, and sorry: I am having a technical problem \
    loading your interview right now. Please try joining again in a few minutes, or contact \
    the hiring team if it keeps happening. Goodbye.";

static EN: Lines = Lines {
    code: "en",
    greeting: "Hello {name}, and welcome! I am an AI interviewer, and I will be conducting your \
        interview for the {title} position today. I will ask you a few questions; take your time \
        with each answer, and feel free to ask me to repeat or clarify a question. Let's begin.",
    closing: "That was my last question. Thank you very much for your time, {name}. The hiring \
        team will review this interview and get back to you about the next steps. Goodbye!",
    closing_time_up: "We have reached the end of our time, so let's wrap up here. Thank you very \
        much, {name}. The hiring team will review this interview and get back to you about the \
        next steps. Goodbye!",
    silence_goodbye: "I haven't heard from you for a while, so I will end the interview here. \
        Thank you for your time, {name}. The hiring team will be in touch about the next steps. \
        Goodbye!",
    closing_early: "We need to end the interview here. Thank you very much for your time, \
        {name}. The hiring team will review what we covered and get back to you about the next \
        steps. Goodbye!",
    reprompt: "Take your time. Would you like me to repeat the question?",
    default_follow_up: "Could you tell me a bit more about that, ideally with a concrete \
        example from your experience?",
    clarify: "Of course. In other words: {question} There is no single right answer; describe \
        it in your own words, ideally with an example from your own experience.",
    question_bank: &[
        "Could you walk me through your background and what drew you to this role?",
        "Tell me about a challenging problem you solved at work. What was your approach, and \
         what was the outcome?",
        "Describe a time you disagreed with a colleague or a manager. How did you handle it?",
        "Tell me about a mistake you made at work and what you learned from it.",
        "How do you prioritise when you have several important tasks with competing deadlines?",
        "What achievement are you most proud of, and what was your personal contribution to it?",
    ],
};

static DE: Lines = Lines {
    code: "de",
    greeting: "Hallo {name}, herzlich willkommen! Ich bin ein KI-Interviewer und führe heute \
        Ihr Interview für die Position {title}. Ich stelle Ihnen einige Fragen; lassen Sie sich \
        mit jeder Antwort Zeit, und bitten Sie mich gern, eine Frage zu wiederholen oder zu \
        erklären. Lassen Sie uns beginnen.",
    closing: "Das war meine letzte Frage. Vielen Dank für Ihre Zeit, {name}. Das Recruiting-Team \
        wertet dieses Interview aus und meldet sich bei Ihnen zu den nächsten Schritten. Auf \
        Wiederhören!",
    closing_time_up: "Unsere Zeit ist leider um, deshalb schließen wir hier ab. Vielen Dank, \
        {name}. Das Recruiting-Team wertet dieses Interview aus und meldet sich bei Ihnen zu den \
        nächsten Schritten. Auf Wiederhören!",
    silence_goodbye: "Ich habe eine Weile nichts von Ihnen gehört, deshalb beende ich das \
        Interview hier. Vielen Dank für Ihre Zeit, {name}. Das Recruiting-Team meldet sich bei \
        Ihnen zu den nächsten Schritten. Auf Wiederhören!",
    closing_early: "Wir müssen das Interview an dieser Stelle beenden. Vielen Dank für Ihre \
        Zeit, {name}. Das Recruiting-Team wertet das Gespräch aus und meldet sich bei Ihnen zu \
        den nächsten Schritten. Auf Wiederhören!",
    reprompt: "Lassen Sie sich Zeit. Soll ich die Frage wiederholen?",
    default_follow_up: "Könnten Sie dazu noch etwas mehr erzählen, am besten mit einem \
        konkreten Beispiel aus Ihrer Erfahrung?",
    clarify: "Gern. Anders gesagt: {question} Es gibt keine einzig richtige Antwort; beschreiben \
        Sie es in Ihren eigenen Worten, am besten mit einem Beispiel aus Ihrer Erfahrung.",
    question_bank: &[
        "Könnten Sie mir Ihren Werdegang schildern und was Sie an dieser Stelle reizt?",
        "Erzählen Sie mir von einem schwierigen Problem, das Sie bei der Arbeit gelöst haben. \
         Wie sind Sie vorgegangen, und was war das Ergebnis?",
        "Beschreiben Sie eine Situation, in der Sie anderer Meinung waren als ein Kollege oder \
         eine Führungskraft. Wie sind Sie damit umgegangen?",
        "Erzählen Sie mir von einem Fehler, den Sie bei der Arbeit gemacht haben, und was Sie \
         daraus gelernt haben.",
        "Wie setzen Sie Prioritäten, wenn mehrere wichtige Aufgaben mit konkurrierenden Fristen \
         anstehen?",
        "Auf welche Leistung sind Sie am meisten stolz, und was war Ihr persönlicher Beitrag?",
    ],
};

impl Lines {
    /// The lines for `language`; English when it is not localized.
    pub fn for_language(language: &Language) -> &'static Lines {
        match language.code() {
            "de" => &DE,
            _ => &EN,
        }
    }

    /// Whether `language` has its own lines (false: the English fallback is used).
    pub fn is_localized(language: &Language) -> bool {
        Lines::for_language(language).code == language.code()
    }

    pub fn greeting(&self, name: &str, title: &str) -> String {
        fill(self.greeting, name, title, "")
    }
    pub fn closing(&self, name: &str) -> String {
        fill(self.closing, name, "", "")
    }
    pub fn closing_time_up(&self, name: &str) -> String {
        fill(self.closing_time_up, name, "", "")
    }
    pub fn silence_goodbye(&self, name: &str) -> String {
        fill(self.silence_goodbye, name, "", "")
    }
    pub fn closing_early(&self, name: &str) -> String {
        fill(self.closing_early, name, "", "")
    }
    pub fn clarify(&self, question: &str) -> String {
        fill(self.clarify, "", "", question)
    }
}

fn fill(template: &str, name: &str, title: &str, question: &str) -> String {
    template
        .replace("{name}", name.trim())
        .replace("{title}", title.trim())
        .replace("{question}", question.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_discloses_ai_and_fallback_is_english() {
        let en = Lines::for_language(&Language::parse("en"));
        let g = en.greeting("Ana", "Rust Engineer");
        assert!(g.contains("Ana") && g.contains("Rust Engineer"));
        assert!(g.contains("I am an AI interviewer"));
        let de = Lines::for_language(&Language::parse("de"));
        assert!(de.greeting("Ana", "X").contains("KI-Interviewer"));
        let fr = Language::parse("fr");
        assert_eq!(Lines::for_language(&fr).code, "en");
        assert!(!Lines::is_localized(&fr));
        assert!(Lines::is_localized(&Language::parse("de")));
        assert!(EN.question_bank.len() >= 5 && DE.question_bank.len() == EN.question_bank.len());
    }
}
