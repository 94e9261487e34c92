//! LiveKit data packets: user messages and text streams (header / chunks / trailer), encoded
//! and decoded as `DataPacket` protobufs, plus reassembly of incoming text streams.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use livekit_protocol as proto;
use prost::Message;
use proto::data_packet::Value;

/// Largest chunk of text per packet (LiveKit SDKs use 15 000 bytes).
const CHUNK_BYTES: usize = 15_000;

/// One user data message.
pub fn user_packet(
    identity: &str,
    topic: Option<&str>,
    payload: Vec<u8>,
    destinations: &[String],
) -> proto::DataPacket {
    proto::DataPacket {
        participant_identity: identity.to_string(),
        destination_identities: destinations.to_vec(),
        value: Some(Value::User(proto::UserPacket {
            payload,
            topic: topic.map(str::to_string),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Split `text` at char boundaries into pieces of at most `max` bytes.
fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// The packets of one complete text stream (what `sendText` produces in LiveKit SDKs).
pub fn text_stream_packets(
    identity: &str,
    stream_id: &str,
    topic: &str,
    text: &str,
    attributes: &HashMap<String, String>,
) -> Vec<proto::DataPacket> {
    let wrap = |value: Value| proto::DataPacket {
        participant_identity: identity.to_string(),
        value: Some(value),
        ..Default::default()
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let header = proto::data_stream::Header {
        stream_id: stream_id.to_string(),
        timestamp: now_ms,
        topic: topic.to_string(),
        mime_type: "text/plain".to_string(),
        total_length: Some(text.len() as u64),
        attributes: attributes.clone(),
        content_header: Some(proto::data_stream::header::ContentHeader::TextHeader(
            proto::data_stream::TextHeader {
                operation_type: proto::data_stream::OperationType::Create as i32,
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    let mut packets = vec![wrap(Value::StreamHeader(header))];
    for (i, piece) in chunks(text, CHUNK_BYTES).into_iter().enumerate() {
        packets.push(wrap(Value::StreamChunk(proto::data_stream::Chunk {
            stream_id: stream_id.to_string(),
            chunk_index: i as u64,
            content: piece.as_bytes().to_vec(),
            ..Default::default()
        })));
    }
    packets.push(wrap(Value::StreamTrailer(proto::data_stream::Trailer {
        stream_id: stream_id.to_string(),
        ..Default::default()
    })));
    packets
}

pub fn encode(packet: &proto::DataPacket) -> Vec<u8> {
    packet.encode_to_vec()
}

/// A packet larger than a data channel message may be is refused here, with the reason,
/// instead of failing inside the SCTP stack.
pub fn check_size(packet: &proto::DataPacket) -> Result<(), String> {
    let n = packet.encoded_len();
    if n > super::peer::MAX_DATA_MESSAGE {
        return Err(format!(
            "a data packet of {n} bytes is over LiveKit's limit of {} bytes (send long text \
             as a text stream)",
            super::peer::MAX_DATA_MESSAGE
        ));
    }
    Ok(())
}

/// What an incoming packet amounts to, once reassembled.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    User {
        identity: String,
        topic: Option<String>,
        payload: Vec<u8>,
    },
    Text {
        identity: String,
        topic: String,
        attributes: HashMap<String, String>,
        text: String,
    },
}

struct PartialText {
    identity: String,
    topic: String,
    attributes: HashMap<String, String>,
    bytes: Vec<u8>,
}

/// Reassembles text streams; bounded so a sender that never finishes cannot grow it forever.
#[derive(Default)]
pub struct Reassembler {
    open: HashMap<String, PartialText>,
}

const MAX_OPEN_STREAMS: usize = 64;
const MAX_STREAM_BYTES: usize = 1 << 20;

impl Reassembler {
    pub fn push(&mut self, raw: &[u8]) -> Option<Incoming> {
        let packet = proto::DataPacket::decode(raw).ok()?;
        let identity = packet.participant_identity.clone();
        match packet.value? {
            Value::User(u) => Some(Incoming::User {
                identity,
                topic: u.topic,
                payload: u.payload,
            }),
            Value::StreamHeader(h) => {
                let is_text = matches!(
                    h.content_header,
                    Some(proto::data_stream::header::ContentHeader::TextHeader(_))
                );
                if is_text && self.open.len() < MAX_OPEN_STREAMS {
                    self.open.insert(
                        h.stream_id,
                        PartialText {
                            identity,
                            topic: h.topic,
                            attributes: h.attributes,
                            bytes: Vec::new(),
                        },
                    );
                }
                None
            }
            Value::StreamChunk(c) => {
                if let Some(p) = self.open.get_mut(&c.stream_id) {
                    if p.bytes.len() + c.content.len() <= MAX_STREAM_BYTES {
                        p.bytes.extend_from_slice(&c.content);
                    }
                }
                None
            }
            Value::StreamTrailer(t) => {
                let p = self.open.remove(&t.stream_id)?;
                let mut attributes = p.attributes;
                attributes.extend(t.attributes);
                Some(Incoming::Text {
                    identity: p.identity,
                    topic: p.topic,
                    attributes,
                    text: String::from_utf8_lossy(&p.bytes).into_owned(),
                })
            }
            _ => None,
        }
    }
}

/// A fresh random id for streams and segments.
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stream_round_trips_through_the_reassembler() {
        let text = "héllo ".repeat(6000); // > 2 chunks, multi-byte chars across boundaries
        let attrs: HashMap<String, String> =
            [("lk.segment_id".to_string(), "SG_1".to_string())].into();
        let packets = text_stream_packets("agent", "ST_1", "lk.transcription", &text, &attrs);
        assert!(packets.len() >= 5);
        let mut r = Reassembler::default();
        let mut got = None;
        for p in &packets {
            if let Some(i) = r.push(&encode(p)) {
                got = Some(i);
            }
        }
        assert_eq!(
            got,
            Some(Incoming::Text {
                identity: "agent".into(),
                topic: "lk.transcription".into(),
                attributes: attrs,
                text,
            })
        );
    }

    #[test]
    fn packets_fit_a_data_channel_message_or_are_refused() {
        // A full text-stream chunk of multi-byte text with long ids still fits.
        let long_id = "participant-".repeat(20);
        let text = "é".repeat(3 * CHUNK_BYTES);
        let stream_id = random_id("TS_");
        for p in text_stream_packets(&long_id, &stream_id, "lk.chat", &text, &HashMap::new()) {
            check_size(&p).unwrap();
        }
        let ok = user_packet("a", Some("t"), vec![0; 15 * 1024], &[]);
        check_size(&ok).unwrap();
        let big = user_packet("a", Some("t"), vec![0; 17 * 1024], &[]);
        let err = check_size(&big).unwrap_err();
        assert!(err.contains("17") && err.contains("16384"), "{err}");
    }

    #[test]
    fn user_packets_decode_and_garbage_is_ignored() {
        let p = user_packet("a", Some("chat"), b"hi".to_vec(), &[]);
        let mut r = Reassembler::default();
        assert_eq!(
            r.push(&encode(&p)),
            Some(Incoming::User {
                identity: "a".into(),
                topic: Some("chat".into()),
                payload: b"hi".to_vec()
            })
        );
        assert_eq!(r.push(&[0xff, 0xff, 0xff]), None);
    }
}
