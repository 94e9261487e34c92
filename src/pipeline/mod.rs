//! Voice pipeline (turns, speech scheduling, barge-in). Never touches LiveKit types.
