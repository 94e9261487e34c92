//! Which application an interview is for, from what the session knows when it starts. Sources,
//! first usable one wins:
//!
//! 1. Job metadata: a JSON object with `applicationId` (else `application_id`), a non-empty
//!    string or a non-negative integer. Metadata that is not an object is ignored.
//! 2. The room name `interview-{applicationId}-{n}`: the id is everything between the
//!    `interview-` prefix (lowercase) and the LAST `-`, which must be followed by one or more
//!    ASCII digits. Ids may contain dashes (`interview-3f2a-9c41-7` -> `3f2a-9c41`); the
//!    numeric suffix is required (`interview-42` is not parsed, since a dashed id ending in
//!    digits would be ambiguous without it).
//! 3. The participant attribute `applicationId` (else `application_id`) of the FIRST
//!    non-agent participant in the order given (join order; the candidate is the only human
//!    in an interview room). `lk.`-prefixed attributes are reserved by LiveKit and not read.
//!
//! An id is trimmed and must be 1..=128 characters without control characters; an unusable
//! value in one field falls through to the next field or source.

use std::collections::HashMap;

use serde::Serialize;

const MAX_ID_CHARS: usize = 128;
const ROOM_PREFIX: &str = "interview-";
const KEYS: [&str; 2] = ["applicationId", "application_id"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationSource {
    Metadata,
    RoomName,
    Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationRef {
    pub id: String,
    pub source: ApplicationSource,
}

/// What resolution needs of a room participant (the session maps `room::Participant` to it).
#[derive(Debug, Clone, Copy)]
pub struct ParticipantView<'a> {
    pub is_agent: bool,
    pub attributes: &'a HashMap<String, String>,
}

/// Metadata, then room name, then the first human's attributes; None when no source has one.
pub fn resolve_application<'a>(
    metadata: &serde_json::Value,
    room_name: &str,
    participants: impl IntoIterator<Item = ParticipantView<'a>>,
) -> Option<ApplicationRef> {
    let found = from_metadata(metadata)
        .map(|id| (id, ApplicationSource::Metadata))
        .or_else(|| from_room_name(room_name).map(|id| (id, ApplicationSource::RoomName)))
        .or_else(|| from_attributes(participants).map(|id| (id, ApplicationSource::Attributes)));
    found.map(|(id, source)| ApplicationRef { id, source })
}

pub fn from_metadata(metadata: &serde_json::Value) -> Option<String> {
    let obj = metadata.as_object()?;
    KEYS.iter().find_map(|k| match obj.get(*k)? {
        serde_json::Value::String(s) => clean_id(s),
        serde_json::Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    })
}

pub fn from_room_name(room: &str) -> Option<String> {
    let rest = room.strip_prefix(ROOM_PREFIX)?;
    let (id, n) = rest.rsplit_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // No trimming here: a room name with spaces around the id is not this format.
    (id == id.trim()).then(|| clean_id(id)).flatten()
}

pub fn from_attributes<'a>(
    participants: impl IntoIterator<Item = ParticipantView<'a>>,
) -> Option<String> {
    let first_human = participants.into_iter().find(|p| !p.is_agent)?;
    KEYS.iter()
        .find_map(|k| first_human.attributes.get(*k).and_then(|v| clean_id(v)))
}

fn clean_id(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty() && s.chars().count() <= MAX_ID_CHARS && !s.chars().any(char::is_control);
    ok.then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve(
        meta: serde_json::Value,
        room: &str,
        people: &[(bool, &HashMap<String, String>)],
    ) -> Option<ApplicationRef> {
        resolve_application(
            &meta,
            room,
            people.iter().map(|(is_agent, attributes)| ParticipantView {
                is_agent: *is_agent,
                attributes,
            }),
        )
    }

    fn app(id: &str, source: ApplicationSource) -> Option<ApplicationRef> {
        Some(ApplicationRef {
            id: id.into(),
            source,
        })
    }

    #[test]
    fn metadata_string_number_and_snake_case() {
        use ApplicationSource::Metadata;
        assert_eq!(
            resolve(json!({"applicationId": " app-1 "}), "", &[]),
            app("app-1", Metadata)
        );
        assert_eq!(
            resolve(json!({"applicationId": 42}), "", &[]),
            app("42", Metadata)
        );
        assert_eq!(
            resolve(json!({"application_id": "a_2"}), "", &[]),
            app("a_2", Metadata)
        );
        // camelCase wins; an unusable camelCase value falls through to snake_case.
        let both = json!({"applicationId": "camel", "application_id": "snake"});
        assert_eq!(from_metadata(&both).as_deref(), Some("camel"));
        let bad_camel = json!({"applicationId": "", "application_id": "snake"});
        assert_eq!(from_metadata(&bad_camel).as_deref(), Some("snake"));
    }

    #[test]
    fn malformed_metadata_is_ignored() {
        for meta in [
            json!(null),
            json!("applicationId"),
            json!(["applicationId", "x"]),
            json!({}),
            json!({"applicationId": ""}),
            json!({"applicationId": "   "}),
            json!({"applicationId": null}),
            json!({"applicationId": -3}),
            json!({"applicationId": 4.5}),
            json!({"applicationId": {"id": "x"}}),
            json!({"applicationId": "a\u{0}b"}),
            json!({"applicationId": "x".repeat(129)}),
        ] {
            assert_eq!(from_metadata(&meta), None, "{meta}");
        }
        assert_eq!(
            from_metadata(&json!({"applicationId": "x".repeat(128)})).map(|s| s.len()),
            Some(128)
        );
    }

    #[test]
    fn room_name_id_is_between_prefix_and_last_numeric_suffix() {
        assert_eq!(from_room_name("interview-42-1").as_deref(), Some("42"));
        assert_eq!(
            from_room_name("interview-app-7-12").as_deref(),
            Some("app-7")
        );
        let uuid = "3f2a9c41-0b7e-4d2a-9f1e-123456789012";
        assert_eq!(
            from_room_name(&format!("interview-{uuid}-3")).as_deref(),
            Some(uuid)
        );
        for bad in [
            "interview-42",    // no suffix
            "interview-42-",   // empty suffix
            "interview-42-x1", // non-numeric suffix
            "interview-42-1a",
            "interview--1", // empty id
            "interview-",
            "Interview-42-1", // prefix is lowercase
            "room-42-1",
            "interview- 42-1", // spaces are not part of the format
            "",
        ] {
            assert_eq!(from_room_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn attributes_of_the_first_human_only() {
        let agent = attrs(&[("applicationId", "from-agent")]);
        let human = attrs(&[("applicationId", "from-human")]);
        let snake = attrs(&[("application_id", "snake")]);
        let reserved = attrs(&[("lk.application_id", "reserved")]);
        let second = attrs(&[("applicationId", "second-human")]);
        use ApplicationSource::Attributes;
        assert_eq!(
            resolve(json!({}), "", &[(true, &agent), (false, &human)]),
            app("from-human", Attributes)
        );
        assert_eq!(
            resolve(json!({}), "", &[(false, &snake)]),
            app("snake", Attributes)
        );
        assert_eq!(
            resolve(json!({}), "", &[(false, &reserved), (false, &second)]),
            None
        );
        assert_eq!(resolve(json!({}), "", &[(true, &agent)]), None);
        assert_eq!(
            resolve(json!({}), "", &[(false, &attrs(&[("applicationId", " ")]))]),
            None
        );
        assert_eq!(resolve(json!({}), "", &[]), None);
    }

    #[test]
    fn precedence_metadata_then_room_then_attributes() {
        let human = attrs(&[("applicationId", "attr")]);
        let people = [(false, &human)];
        assert_eq!(
            resolve(
                json!({"applicationId": "meta"}),
                "interview-room-1",
                &people
            ),
            app("meta", ApplicationSource::Metadata)
        );
        assert_eq!(
            resolve(json!({"applicationId": ""}), "interview-room-1", &people),
            app("room", ApplicationSource::RoomName)
        );
        assert_eq!(
            resolve(json!([1]), "interview-room-x", &people),
            app("attr", ApplicationSource::Attributes)
        );
        let r = resolve(json!({}), "interview-room-1", &[]);
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            json!({"id": "room", "source": "room_name"})
        );
    }
}
