//! TEST FIXTURE, not a product: RFC 2198 RED helpers. LiveKit publishers send Opus wrapped in
//! `audio/red`; subscribers that only negotiate Opus get the primary (last) block.

/// Returns the primary encoding of a RED payload (the last block, RFC 2198 §3), or `None`
/// if the payload is malformed.
pub(crate) fn primary_block(payload: &[u8]) -> Option<&[u8]> {
    let mut pos = 0usize;
    let mut redundant_len = 0usize;
    loop {
        let b = *payload.get(pos)?;
        if b & 0x80 == 0 {
            // Final header: 1 byte (F=0, block PT).
            pos += 1;
            break;
        }
        // 4-byte header: F(1) PT(7) | ts offset(14) | length(10)
        let h = payload.get(pos..pos + 4)?;
        let len = (((h[2] & 0x03) as usize) << 8) | h[3] as usize;
        redundant_len += len;
        pos += 4;
    }
    let start = pos + redundant_len;
    payload.get(start..)
}

/// Like livekit-server does for publishers that did not set `disable_red`: in the audio
/// m-sections whose `a=msid` track id is in `track_ids`, move the RED payload type to the front
/// of the format list so the answer (and therefore the publisher) uses RED.
pub(crate) fn prefer_red(sdp: &str, track_ids: &[String]) -> String {
    if track_ids.is_empty() {
        return sdp.to_owned();
    }
    let mut sections: Vec<String> = sdp.split("\r\nm=").map(str::to_owned).collect();
    for section in sections.iter_mut().skip(1) {
        if !section.starts_with("audio ") {
            continue;
        }
        let wants = section.split("\r\n").any(|l| {
            l.strip_prefix("a=msid:")
                .and_then(|v| v.split_whitespace().nth(1))
                .is_some_and(|t| track_ids.iter().any(|id| id == t))
        });
        if !wants {
            continue;
        }
        let red_pt = section.split("\r\n").find_map(|l| {
            let rest = l.strip_prefix("a=rtpmap:")?;
            let (pt, codec) = rest.split_once(' ')?;
            codec
                .to_ascii_lowercase()
                .starts_with("red/")
                .then(|| pt.to_owned())
        });
        let Some(red_pt) = red_pt else { continue };
        let (mline, rest) = section.split_once("\r\n").unwrap_or((section.as_str(), ""));
        let fields: Vec<&str> = mline.split(' ').collect();
        if fields.len() < 4 {
            continue;
        }
        let mut out: Vec<&str> = fields[..3].to_vec();
        out.push(&red_pt);
        out.extend(fields[3..].iter().filter(|f| **f != red_pt));
        *section = format!("{}\r\n{}", out.join(" "), rest);
    }
    sections.join("\r\nm=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_red_for_listed_tracks() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9\r\na=mid:0\r\na=msid:- cid1\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=mid:1\r\na=msid:- other\r\na=rtpmap:63 red/48000/2\r\n";
        let out = prefer_red(sdp, &["cid1".to_string()]);
        assert!(out.contains("m=audio 9 UDP/TLS/RTP/SAVPF 63 111 9\r\na=mid:0"));
        assert!(out.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=mid:1"));
    }

    #[test]
    fn primary_only() {
        // Single final header, PT 111, then primary data.
        let p = [111u8, 1, 2, 3];
        assert_eq!(primary_block(&p), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn one_redundant_block() {
        // F=1 PT=111, ts offset 960, len 2; then final header PT 111; redundant [9,9]; primary [1,2,3]
        let ts: u16 = 960;
        let len: u16 = 2;
        let hdr = [
            0x80 | 111,
            (ts >> 6) as u8,
            (((ts & 0x3f) << 2) as u8) | ((len >> 8) as u8 & 0x03),
            (len & 0xff) as u8,
        ];
        let mut p = hdr.to_vec();
        p.push(111);
        p.extend_from_slice(&[9, 9, 1, 2, 3]);
        assert_eq!(primary_block(&p), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn malformed() {
        assert_eq!(primary_block(&[0x80 | 111, 0, 0]), None);
        assert_eq!(primary_block(&[]), None);
    }
}
