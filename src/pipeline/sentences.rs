//! Streaming sentence splitter for LLM output: tokens in, whole sentences out as soon as they
//! end, so TTS can start on the first sentence while the LLM is still writing.
//!
//! A sentence ends at `.`, `!`, `?` or `…` (plus closing quotes/brackets) followed by white space,
//! or at a newline. Not an end: abbreviations ("e.g.", "Dr.", "Mr."), initials ("J. Smith"),
//! decimals and dotted names ("3.5", "node.js"), and an ellipsis followed by a lower-case word.
//! Sentences shorter than `min_chars` are held and merged with the next one, so "Ok." does not
//! become its own tiny TTS request, unless it is the whole reply ([`SentenceSplitter::finish`]).
//!
//! The first piece of a reply is special, because the candidate waits for it: it ends at the
//! first clause end (`,` `;` `:` or a spaced dash, followed by white space) or sentence end
//! once it has `first_piece_min_chars`, so TTS starts after "Thanks," rather than after the
//! whole first sentence (or, worse, after a short first sentence merged with the next one).
//! The rest of a sentence cut that way goes out at its end whatever its length, so the second
//! piece is not held back waiting for a third.

#[derive(Debug, Clone)]
pub struct SentenceOptions {
    /// Shortest text sent to TTS on its own (except the last piece of a reply).
    pub min_chars: usize,
    /// The first piece may end at a clause as soon as it is this long (0: the first piece is
    /// cut like the others). Each LLM token of the first sentence the first piece no longer
    /// waits for is time the candidate does not wait.
    pub first_piece_min_chars: usize,
}

impl Default for SentenceOptions {
    fn default() -> Self {
        SentenceOptions {
            min_chars: 20,
            first_piece_min_chars: 6,
        }
    }
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "inc", "ltd", "co", "corp", "no",
    "approx", "dept", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "mt", "e.g", "i.e", "eg", "ie", "cf", "al", "u.s", "a.m", "p.m",
];

#[derive(Debug, Default)]
pub struct SentenceSplitter {
    opts: SentenceOptions,
    buf: String,
    held: String,
    /// A piece has been handed out (the first-piece rule no longer applies).
    started: bool,
    /// The first piece ended inside a sentence: its rest goes out at the sentence end.
    rest_of_sentence: bool,
}

impl SentenceSplitter {
    pub fn new(opts: SentenceOptions) -> Self {
        SentenceSplitter {
            opts,
            buf: String::new(),
            held: String::new(),
            started: false,
            rest_of_sentence: false,
        }
    }

    /// Add a text delta; returns the sentences completed by it.
    pub fn push(&mut self, delta: &str) -> Vec<String> {
        self.buf.push_str(delta);
        let mut out = Vec::new();
        while let Some((end, clause)) = self.next_end() {
            let sentence: String = self.buf[..end].trim().to_string();
            self.buf.drain(..end);
            self.offer(sentence, clause, &mut out);
        }
        out
    }

    /// End of the reply: whatever is left, as one piece (None if nothing).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        let mut all = std::mem::take(&mut self.held);
        join(&mut all, rest.trim());
        (!all.is_empty()).then_some(all)
    }

    /// Where the next piece of `buf` ends: a sentence end, or for the first piece also a
    /// clause end that makes it long enough.
    /// True with it: the end is a clause's, not a sentence's.
    fn next_end(&self) -> Option<(usize, bool)> {
        let sentence = find_boundary(&self.buf, false);
        if !self.first_piece() {
            return sentence.map(|e| (e, false));
        }
        let held = self.held.chars().count() + usize::from(!self.held.is_empty());
        let need = self.opts.first_piece_min_chars.saturating_sub(held);
        match (sentence, find_clause_end(&self.buf, need)) {
            (Some(a), Some(b)) if b < a => Some((b, true)),
            (Some(a), _) => Some((a, false)),
            (None, b) => b.map(|e| (e, true)),
        }
    }

    fn first_piece(&self) -> bool {
        !self.started && self.opts.first_piece_min_chars > 0
    }

    fn offer(&mut self, sentence: String, clause: bool, out: &mut Vec<String>) {
        if sentence.is_empty() {
            return;
        }
        join(&mut self.held, &sentence);
        let min = if self.first_piece() {
            self.opts.first_piece_min_chars
        } else if self.rest_of_sentence {
            1
        } else {
            self.opts.min_chars
        };
        if self.held.chars().count() >= min {
            out.push(std::mem::take(&mut self.held));
            // Only a clause cut as the first piece leaves a sentence's rest to hurry.
            self.rest_of_sentence = !self.started && clause;
            self.started = true;
        }
    }
}

/// Byte index just past the first clause end in `s` whose text before it (trimmed) has at
/// least `min_chars` characters: `,` `;` `:` or a dash standing alone, followed by white space.
/// "1,000" and "10:30" are not clause ends (no space after).
fn find_clause_end(s: &str, min_chars: usize) -> Option<usize> {
    let mut prev = ' ';
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        let clause = match c {
            ',' | ';' | ':' => true,
            '—' | '–' | '-' => prev.is_whitespace(),
            _ => false,
        };
        prev = c;
        if !clause || !next.is_some_and(char::is_whitespace) {
            continue;
        }
        let end = i + c.len_utf8();
        if s[..end].trim().chars().count() >= min_chars.max(1) {
            return Some(end);
        }
    }
    None
}

/// A fixed line (known whole, often prepared ahead) in the pieces TTS is asked for: whole
/// sentences. The first-piece rule is for text still streaming from the LLM; here it would
/// only make the prepared first piece shorter than the wait for the second.
pub fn fixed_line(text: &str, opts: &SentenceOptions) -> Vec<String> {
    let mut splitter = SentenceSplitter::new(SentenceOptions {
        first_piece_min_chars: 0,
        ..opts.clone()
    });
    let mut pieces = splitter.push(text);
    pieces.extend(splitter.finish());
    pieces
}

/// The first piece a fixed line is spoken in (what TTS is asked for first).
pub fn first_sentence(text: &str, opts: &SentenceOptions) -> Option<String> {
    fixed_line(text, opts).into_iter().next()
}

fn join(acc: &mut String, s: &str) {
    if s.is_empty() {
        return;
    }
    if !acc.is_empty() {
        acc.push(' ');
    }
    acc.push_str(s);
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '*' | '_')
}

/// Byte index just past the first sentence end in `s`, or None if there is none yet (or it
/// cannot be decided until more text arrives).
fn find_boundary(s: &str, at_end: bool) -> Option<usize> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        if c == '\n' {
            if !s[..i].trim().is_empty() {
                return Some(i + 1);
            }
            k += 1;
            continue;
        }
        if !is_terminal(c) {
            k += 1;
            continue;
        }
        // The run of terminal punctuation and closing marks.
        let mut j = k;
        while j < chars.len() && (is_terminal(chars[j].1) || is_closing(chars[j].1)) {
            j += 1;
        }
        let run: String = chars[k..j].iter().map(|&(_, c)| c).collect();
        let end_byte = chars.get(j).map(|&(b, _)| b).unwrap_or(s.len());
        let Some(&(_, next)) = chars.get(j) else {
            // Nothing after the punctuation yet: "3." may become "3.5".
            return at_end.then_some(s.len());
        };
        if !next.is_whitespace() {
            k = j;
            continue;
        }
        let dots_only: String = run.chars().filter(|c| !is_closing(*c)).collect();
        if dots_only == "." && is_abbreviation(&s[..i]) {
            k = j;
            continue;
        }
        if dots_only.starts_with("..") || dots_only == "…" {
            // Ellipsis: a pause unless the next word starts a new sentence.
            match chars[j..].iter().find(|(_, c)| !c.is_whitespace()) {
                None if !at_end => return None,
                None => return Some(s.len()),
                Some(&(_, n)) if n.is_lowercase() => {
                    k = j;
                    continue;
                }
                Some(_) => return Some(end_byte),
            }
        }
        return Some(end_byte);
    }
    None
}

/// Is the word right before a '.' an abbreviation or an initial?
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"')
        .next()
        .unwrap_or("");
    if word.is_empty() {
        return false;
    }
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // Initials: "J." in "J. Smith"; dotted abbreviations like "U.S" already contain a '.'.
    let mut letters = word.chars();
    let single_upper =
        matches!((letters.next(), letters.next()), (Some(c), None) if c.is_uppercase());
    single_upper || (word.contains('.') && word.chars().all(|c| c.is_alphabetic() || c == '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_tokens(tokens: &[&str], min_chars: usize) -> Vec<String> {
        let mut s = SentenceSplitter::new(SentenceOptions {
            min_chars,
            first_piece_min_chars: 0,
        });
        let mut out = Vec::new();
        for t in tokens {
            out.extend(s.push(t));
        }
        out.extend(s.finish());
        out
    }

    fn by_chars(text: &str, min_chars: usize) -> Vec<String> {
        let tokens: Vec<String> = text.chars().map(|c| c.to_string()).collect();
        let refs: Vec<&str> = tokens.iter().map(|s| s.as_str()).collect();
        split_tokens(&refs, min_chars)
    }

    #[test]
    fn emits_each_sentence_as_soon_as_it_ends() {
        // "there." could still become "there.com": wait for the next token's space.
        let mut s = SentenceSplitter::new(SentenceOptions {
            min_chars: 5,
            first_piece_min_chars: 0,
        });
        assert!(s.push("Hello there.").is_empty());
        assert_eq!(s.push(" How"), vec!["Hello there."]);
        assert_eq!(s.push(" are you? Fine"), vec!["How are you?"]);
        assert_eq!(s.finish(), Some("Fine".into()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn abbreviations_decimals_and_initials_do_not_split() {
        let text = "Dr. Smith used e.g. Rust 3.5 times more at Acme Inc. in the U.S. today. J. R. R. Tolkien wrote books! Really?";
        assert_eq!(
            by_chars(text, 1),
            vec![
                "Dr. Smith used e.g. Rust 3.5 times more at Acme Inc. in the U.S. today.",
                "J. R. R. Tolkien wrote books!",
                "Really?"
            ]
        );
        assert_eq!(
            by_chars("Version 2.0.1 of node.js is out. Yes.", 1),
            vec!["Version 2.0.1 of node.js is out.", "Yes."]
        );
    }

    #[test]
    fn ellipsis_is_a_pause_unless_a_new_sentence_starts() {
        assert_eq!(
            by_chars("Well... let me think. Hmm… Okay then.", 1),
            vec!["Well... let me think.", "Hmm…", "Okay then."]
        );
        assert_eq!(by_chars("And then...", 1), vec!["And then..."]);
    }

    #[test]
    fn short_sentences_are_merged_unless_they_are_the_whole_reply() {
        assert_eq!(by_chars("Ok.", 20), vec!["Ok."]);
        assert_eq!(
            by_chars("Ok. Sure. Tell me about your last project.", 20),
            vec!["Ok. Sure. Tell me about your last project."]
        );
        assert_eq!(
            by_chars("Great answer, thank you! Next. Why Rust?", 20),
            vec!["Great answer, thank you!", "Next. Why Rust?"]
        );
    }

    #[test]
    fn quotes_newlines_and_multibyte_text() {
        assert_eq!(
            by_chars(
                "He said \"stop.\" Then left.\n- item one\nDas ist schön. Ja!",
                1
            ),
            vec![
                "He said \"stop.\"",
                "Then left.",
                "- item one",
                "Das ist schön.",
                "Ja!"
            ]
        );
        let whole = split_tokens(&["Hello", " world", ".", " Bye", "."], 1);
        assert_eq!(whole, vec!["Hello world.", "Bye."]);
    }

    fn first_pieces(tokens: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::new(SentenceOptions::default());
        let mut out = Vec::new();
        for t in tokens {
            out.extend(s.push(t));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn the_first_piece_ends_at_the_first_long_enough_clause() {
        // Out as soon as the token after the comma shows the space: TTS starts on "Thanks,".
        let mut s = SentenceSplitter::new(SentenceOptions::default());
        assert!(s.push("Than").is_empty());
        assert!(s.push("ks,").is_empty());
        assert_eq!(s.push(" that"), vec!["Thanks,"]);
        // The rest of that sentence at its end, however short; commas no longer cut.
        assert_eq!(s.push(" is, I think. Go"), vec!["that is, I think."]);
        // Then whole sentences of at least 20 characters.
        assert!(
            s.push(" on. Why").is_empty(),
            "\"Go on.\" is too short alone"
        );
        assert_eq!(s.finish(), Some("Go on. Why".into()));
    }

    #[test]
    fn the_first_piece_skips_too_short_clauses_and_numbers() {
        assert_eq!(
            first_pieces(&[
                "So, ",
                "in 2,000 ",
                "cases, yes. ",
                "Next. ",
                "Question please."
            ]),
            vec!["So, in 2,000 cases,", "yes.", "Next. Question please."]
        );
        // A short first sentence goes out alone instead of waiting for the next one.
        assert_eq!(
            first_pieces(&["Great. ", "Tell me about ", "your last project."]),
            vec!["Great.", "Tell me about your last project."]
        );
        // A spaced dash is a clause end; a hyphen inside a word is not.
        assert_eq!(
            first_pieces(&["Well-known ", "tools — ", "like Cargo."]),
            vec!["Well-known tools —", "like Cargo."]
        );
        // Too short for any rule: the whole reply at the end.
        assert_eq!(first_pieces(&["Ok, ", "go."]), vec!["Ok, go."]);
    }

    #[test]
    fn fixed_lines_are_cut_in_whole_sentences() {
        let opts = SentenceOptions::default();
        let line = "Thanks, that is helpful. Next, tell me about a hard bug you fixed.";
        assert_eq!(
            fixed_line(line, &opts),
            vec![
                "Thanks, that is helpful.",
                "Next, tell me about a hard bug you fixed."
            ]
        );
        assert_eq!(
            first_sentence(line, &opts).as_deref(),
            Some("Thanks, that is helpful.")
        );
    }
}
