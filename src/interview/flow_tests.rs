//! Tests of the conversation state machine (`flow`): order, follow-ups, time budget,
//! silence, repeat / clarify, judge timeout, transcript.

use std::time::{Duration, Instant};

use super::flow::*;
use super::language::Language;
use super::lines::Lines;
use super::plan::{PlanSource, QuestionPlan};
use super::transcript::Speaker;

const LONG: &str = "I designed the payment retry service, measured failure rates, and cut \
                    duplicate charges by ninety percent within two months.";

fn plan(n: usize) -> QuestionPlan {
    QuestionPlan {
        questions: (1..=n).map(|i| format!("Question number {i}?")).collect(),
        source: PlanSource::Job,
    }
}

fn flow(n: usize, config: FlowConfig) -> Flow {
    let lines = Lines::for_language(&Language::english());
    Flow::new(plan(n), lines, "Ana", "Rust Engineer", config)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn turn(text: &str, at: Instant) -> Input {
    Input::CandidateTurn {
        text: text.into(),
        at,
    }
}

fn judged(i: usize, thin: bool, follow_up: Option<&str>) -> Input {
    Input::Judgement(Judgement {
        question_index: i,
        thin,
        follow_up: follow_up.map(String::from),
    })
}

fn says(actions: &[Action]) -> Vec<(SayKind, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say { text, kind } => Some((*kind, text.clone())),
            _ => None,
        })
        .collect()
}

fn kinds(actions: &[Action]) -> Vec<SayKind> {
    says(actions).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn asks_all_questions_in_order_and_follows_up_only_on_thin_answers() {
    let t0 = Instant::now();
    let mut f = flow(3, FlowConfig::new(secs(30 * 60)));
    let a = f.start(t0);
    let s = says(&a);
    assert_eq!(s[0].0, SayKind::Greeting);
    assert!(s[0].1.contains("Ana") && s[0].1.contains("Rust Engineer"));
    assert!(s[0].1.contains("I am an AI interviewer"));
    assert_eq!(s[1], (SayKind::Question, "Question number 1?".into()));

    // Q1: a full answer, judge says fine -> scored, next question.
    let a = f.handle(turn(LONG, t0 + secs(30)), t0 + secs(30));
    assert_eq!(
        a,
        vec![Action::AskLlmToJudge {
            question_index: 0,
            question: "Question number 1?".into(),
            answer: LONG.into()
        }]
    );
    let a = f.handle(judged(0, false, None), t0 + secs(31));
    assert!(matches!(&a[0], Action::Score { question_index: 0, answer, .. } if answer == LONG));
    assert_eq!(
        says(&a),
        vec![(SayKind::Question, "Question number 2?".into())]
    );

    // Q2: a thin answer (few words): follow-up even though the judge says "not thin".
    f.handle(turn("Yes, I did that.", t0 + secs(60)), t0 + secs(60));
    let a = f.handle(
        judged(1, false, Some("Which system was it?")),
        t0 + secs(61),
    );
    assert_eq!(
        says(&a),
        vec![(SayKind::FollowUp, "Which system was it?".into())]
    );
    assert_eq!(f.current_prompt(), Some("Which system was it?"));
    // The follow-up budget (1) is used: the next answer completes the question, no judge.
    let a = f.handle(turn("The billing one.", t0 + secs(80)), t0 + secs(80));
    assert!(
        matches!(&a[0], Action::Score { question_index: 1, answer, .. }
        if answer == "Yes, I did that. The billing one.")
    );
    assert_eq!(kinds(&a), vec![SayKind::Question]);
    assert!(!a.iter().any(|x| matches!(x, Action::AskLlmToJudge { .. })));

    // Q3: long answer, but the judge says thin: follow-up with the default line.
    f.handle(turn(LONG, t0 + secs(120)), t0 + secs(120));
    let a = f.handle(judged(2, true, None), t0 + secs(121));
    let lines = Lines::for_language(&Language::english());
    assert_eq!(
        says(&a),
        vec![(SayKind::FollowUp, lines.default_follow_up.into())]
    );
    let a = f.handle(turn(LONG, t0 + secs(150)), t0 + secs(150));
    assert!(matches!(
        &a[0],
        Action::Score {
            question_index: 2,
            ..
        }
    ));
    assert_eq!(kinds(&a), vec![SayKind::Closing]);
    assert!(says(&a)[0].1.contains("next steps"));
    assert_eq!(
        a.last(),
        Some(&Action::End {
            reason: EndReason::Completed
        })
    );
    assert!(f.is_ended());
    assert_eq!((f.questions_asked(), f.questions_answered()), (3, 3));
    assert!(f
        .handle(turn("hello?", t0 + secs(160)), t0 + secs(160))
        .is_empty());
    assert_eq!(f.next_deadline(), None);
}

#[test]
fn follow_ups_never_exceed_the_budget() {
    let t0 = Instant::now();
    let mut config = FlowConfig::new(secs(30 * 60));
    config.max_follow_ups = 2;
    let mut f = flow(2, config);
    f.start(t0);
    let mut follow_ups = 0;
    let mut t = t0;
    for _ in 0..5 {
        t += secs(20);
        let a = f.handle(turn("No.", t), t);
        if a.iter().any(|x| matches!(x, Action::Score { .. })) {
            break;
        }
        let a = f.handle(judged(0, true, Some("More?")), t);
        follow_ups += kinds(&a)
            .iter()
            .filter(|k| **k == SayKind::FollowUp)
            .count();
    }
    assert_eq!(follow_ups, 2);
    assert_eq!(f.current_question(), Some((1, "Question number 2?")));

    // max_follow_ups = 0: never a judge call, never a follow-up.
    let mut config = FlowConfig::new(secs(30 * 60));
    config.max_follow_ups = 0;
    let mut f = flow(1, config);
    f.start(t0);
    let a = f.handle(turn("No.", t0 + secs(5)), t0 + secs(5));
    assert!(matches!(a[0], Action::Score { .. }));
    assert_eq!(
        a.last(),
        Some(&Action::End {
            reason: EndReason::Completed
        })
    );
}

#[test]
fn time_budget_closes_before_max_duration_and_starts_no_question_after_it() {
    // 5 min, 60 s wrap-up, 120 s per question: a question may start until elapsed 120 s.
    let t0 = Instant::now();
    let max = secs(5 * 60);
    let mut f = flow(10, FlowConfig::new(max));
    f.start(t0);
    let mut all = Vec::new();
    let mut t = t0;
    while !f.is_ended() {
        t += secs(50);
        let mut a = f.handle(turn(LONG, t), t);
        a.extend(f.handle(
            judged(f.current_question().map_or(0, |q| q.0), false, None),
            t,
        ));
        all.extend(a);
        assert!(t - t0 < max, "must close before max_duration");
    }
    // Questions started at 0 s, 50 s, 100 s; at 150 s 150 + 120 > 240: closing.
    assert_eq!(f.questions_asked(), 3);
    assert_eq!(f.questions_answered(), 3);
    assert_eq!(f.end_reason(), Some(EndReason::TimeBudget));
    let said = says(&all);
    assert_eq!(said.last().map(|s| s.0), Some(SayKind::Closing));
    assert!(said.last().is_some_and(|s| s.1.contains("end of our time")));
    // No follow-up either when it does not fit.
    let mut f = flow(3, FlowConfig::new(max));
    f.start(t0);
    let a = f.handle(turn("Short.", t0 + secs(190)), t0 + secs(190));
    assert!(
        matches!(a[0], Action::Score { .. }),
        "no judge/follow-up past the budget"
    );
    assert_eq!(
        a.last(),
        Some(&Action::End {
            reason: EndReason::TimeBudget
        })
    );
}

#[test]
fn hard_stop_closes_mid_answer_and_scores_what_was_said() {
    let t0 = Instant::now();
    let mut f = flow(3, FlowConfig::new(secs(5 * 60)));
    f.start(t0);
    f.handle(
        Input::CandidateSpeechStarted { at: t0 + secs(5) },
        t0 + secs(5),
    );
    assert_eq!(f.next_deadline(), Some(t0 + secs(280)));
    assert!(f.poll(t0 + secs(279)).is_empty());
    let a = f.poll(t0 + secs(280));
    assert_eq!(kinds(&a), vec![SayKind::Closing]);
    assert_eq!(
        a.last(),
        Some(&Action::End {
            reason: EndReason::TimeBudget
        })
    );
    assert_eq!(f.questions_answered(), 0);

    // Mid-judge at the hard stop: the answer is still scored.
    let mut f = flow(3, FlowConfig::new(secs(5 * 60)));
    f.start(t0);
    f.handle(turn("Short.", t0 + secs(100)), t0 + secs(100));
    let a = f.poll(t0 + secs(281));
    assert!(matches!(&a[0], Action::Score { answer, .. } if answer == "Short."));
}

#[test]
fn silence_reprompts_twice_then_ends_politely() {
    let t0 = Instant::now();
    let mut f = flow(2, FlowConfig::new(secs(30 * 60)));
    f.start(t0);
    // The silence timer starts when the interviewer finished speaking.
    f.handle(Input::AgentDoneSpeaking { at: t0 + secs(8) }, t0 + secs(8));
    assert_eq!(f.next_deadline(), Some(t0 + secs(18)));
    assert!(f.poll(t0 + secs(17)).is_empty());
    let a = f.poll(t0 + secs(18));
    assert_eq!(
        says(&a),
        vec![(
            SayKind::Reprompt,
            "Take your time. Would you like me to repeat the question?".into()
        )]
    );
    assert!(f.poll(t0 + secs(27)).is_empty());
    let a = f.poll(t0 + secs(28));
    assert_eq!(kinds(&a), vec![SayKind::Reprompt]);
    let a = f.poll(t0 + secs(38));
    assert_eq!(kinds(&a), vec![SayKind::Closing]);
    assert!(says(&a)[0].1.contains("haven't heard from you"));
    assert_eq!(
        a.last(),
        Some(&Action::End {
            reason: EndReason::Silence
        })
    );
    assert_eq!((f.questions_asked(), f.questions_answered()), (1, 0));
}

#[test]
fn speaking_pauses_the_silence_timer_and_answers_reset_reprompts() {
    let t0 = Instant::now();
    let mut f = flow(2, FlowConfig::new(secs(30 * 60)));
    f.start(t0);
    assert_eq!(kinds(&f.poll(t0 + secs(10))), vec![SayKind::Reprompt]);
    // A long answer: speech starts, no re-prompt however long it lasts.
    f.handle(
        Input::CandidateSpeechStarted { at: t0 + secs(12) },
        t0 + secs(12),
    );
    assert!(f.poll(t0 + secs(60)).is_empty());
    assert_eq!(f.next_deadline(), Some(t0 + secs(30 * 60 - 20)));
    // An empty (unintelligible) turn restarts the timer from its end.
    f.handle(turn("  ", t0 + secs(61)), t0 + secs(61));
    assert_eq!(f.next_deadline(), Some(t0 + secs(71)));
    assert_eq!(kinds(&f.poll(t0 + secs(71))), vec![SayKind::Reprompt]);
    // "Yes" after "would you like me to repeat the question?" repeats it.
    let a = f.handle(turn("Yes please.", t0 + secs(75)), t0 + secs(75));
    assert_eq!(
        says(&a),
        vec![(SayKind::Repeat, "Question number 1?".into())]
    );
    // Counter was reset by the candidate's turn: two more re-prompts before the end.
    assert_eq!(kinds(&f.poll(t0 + secs(85))), vec![SayKind::Reprompt]);
    assert_eq!(kinds(&f.poll(t0 + secs(95))), vec![SayKind::Reprompt]);
    assert_eq!(kinds(&f.poll(t0 + secs(105))), vec![SayKind::Closing]);
}

#[test]
fn repeat_and_clarify_requests() {
    let t0 = Instant::now();
    let mut f = flow(2, FlowConfig::new(secs(30 * 60)));
    f.start(t0);
    for ask in [
        "Could you repeat the question?",
        "Sorry?",
        "Pardon?",
        "Say that again",
    ] {
        let a = f.handle(turn(ask, t0 + secs(5)), t0 + secs(5));
        assert_eq!(
            says(&a),
            vec![(SayKind::Repeat, "Question number 1?".into())]
        );
    }
    let a = f.handle(turn("What do you mean?", t0 + secs(6)), t0 + secs(6));
    let s = says(&a);
    assert_eq!(s[0].0, SayKind::Clarify);
    assert!(s[0].1.contains("In other words: Question number 1?"));
    // Neither counted as an answer.
    assert_eq!(f.questions_answered(), 0);
    assert_eq!(f.current_question(), Some((0, "Question number 1?")));
    // During a follow-up, "repeat" repeats the follow-up.
    f.handle(turn("Ok.", t0 + secs(7)), t0 + secs(7));
    f.handle(
        judged(0, true, Some("Can you give an example?")),
        t0 + secs(8),
    );
    let a = f.handle(turn("Could you repeat that?", t0 + secs(9)), t0 + secs(9));
    assert_eq!(
        says(&a),
        vec![(SayKind::Repeat, "Can you give an example?".into())]
    );
}

#[test]
fn judge_timeout_and_stale_judgements() {
    let t0 = Instant::now();
    let mut f = flow(2, FlowConfig::new(secs(30 * 60)));
    f.start(t0);
    f.handle(turn(LONG, t0 + secs(20)), t0 + secs(20));
    assert_eq!(f.next_deadline(), Some(t0 + secs(28)));
    // A judgement for another question is ignored.
    assert!(f.handle(judged(5, true, None), t0 + secs(21)).is_empty());
    // No silence re-prompt while judging.
    assert!(f.poll(t0 + secs(27)).is_empty());
    let a = f.poll(t0 + secs(28));
    assert!(matches!(
        a[0],
        Action::Score {
            question_index: 0,
            ..
        }
    ));
    assert_eq!(kinds(&a), vec![SayKind::Question]);
    // A late judgement for the finished question changes nothing.
    assert!(f
        .handle(judged(0, true, Some("Late?")), t0 + secs(29))
        .is_empty());
    // Speech while judging is the same answer.
    f.handle(turn("Short.", t0 + secs(40)), t0 + secs(40));
    f.handle(turn("And more.", t0 + secs(41)), t0 + secs(41));
    let a = f.handle(judged(1, false, None), t0 + secs(42));
    // "Short. And more." is thin (< 12 words): follow-up.
    assert_eq!(kinds(&a), vec![SayKind::FollowUp]);
}

#[test]
fn records_the_transcript_and_closes_at_once_when_nothing_fits() {
    let t0 = Instant::now();
    let mut f = flow(2, FlowConfig::new(secs(30 * 60)));
    f.start(t0);
    f.handle(
        turn(LONG, t0 + Duration::from_millis(12_500)),
        t0 + secs(13),
    );
    let tr = f.transcript();
    assert_eq!(tr.len(), 3);
    assert_eq!(tr[0].speaker, Speaker::Interviewer);
    assert_eq!(
        (tr[2].speaker, tr[2].offset_ms),
        (Speaker::Candidate, 12_500)
    );

    let mut f = flow(2, FlowConfig::new(secs(150)));
    let a = f.start(t0);
    assert_eq!(kinds(&a), vec![SayKind::Greeting, SayKind::Closing]);
    assert_eq!(f.questions_asked(), 0);
}

#[test]
fn the_hiring_team_ends_early_politely_and_what_was_said_is_scored() {
    let t0 = Instant::now();
    let mut f = flow(3, FlowConfig::new(secs(30 * 60)));
    f.start(t0);
    // A thin answer is being judged when the observer ends the interview.
    f.handle(turn("Short.", t0 + secs(20)), t0 + secs(20));
    let a = f.end_early(t0 + secs(22));
    assert!(matches!(&a[0], Action::Score { answer, question_index: 0, .. } if answer == "Short."));
    let s = says(&a);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, SayKind::Closing);
    assert!(
        s[0].1.starts_with(
            "We need to end the interview here. Thank you very much for your time, Ana."
        ),
        "{}",
        s[0].1
    );
    assert_eq!(
        a.last(),
        Some(&Action::End {
            reason: EndReason::Terminated
        })
    );
    assert_eq!(f.end_reason(), Some(EndReason::Terminated));
    // Only once.
    assert!(f.end_early(t0 + secs(23)).is_empty());
}

#[test]
fn the_likely_next_line_follows_the_plan_and_ends_with_the_closing() {
    let t0 = Instant::now();
    let mut f = flow(2, FlowConfig::new(secs(30 * 60)));
    // Before the start: the line after the first answer.
    assert_eq!(f.likely_next_line().as_deref(), Some("Question number 2?"));
    f.start(t0);
    assert_eq!(f.likely_next_line().as_deref(), Some("Question number 2?"));
    f.handle(turn(LONG, t0 + secs(30)), t0 + secs(30));
    let a = f.handle(judged(0, false, None), t0 + secs(31));
    assert_eq!(kinds(&a), vec![SayKind::Question]);
    let closing = f
        .likely_next_line()
        .expect("a closing after the last question");
    assert!(closing.contains("Ana"), "{closing}");
    f.handle(turn(LONG, t0 + secs(60)), t0 + secs(60));
    let a = f.handle(judged(1, false, None), t0 + secs(61));
    assert!(kinds(&a).contains(&SayKind::Closing));
    assert_eq!(f.likely_next_line(), None, "nothing after the end");
}
