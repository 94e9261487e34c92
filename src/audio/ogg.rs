//! Ogg Opus files (RFC 7845 on RFC 3533), written page by page so that what is on disk is
//! always a playable file up to the last complete page: [`OggOpusWriter`] (ID and comment
//! headers, then one page per `packets_per_page` 20 ms packets, granule positions in 48 kHz
//! samples) and [`valid_prefix`], which finds the complete, CRC-checked pages at the start of a
//! file a crash may have cut off mid-page.

use std::io::Write;

/// Samples of a 20 ms packet at 48 kHz (granule positions count 48 kHz samples).
const PACKET_SAMPLES: u64 = 960;
/// The encoder's lookahead to skip at playback (libopus' usual 6.5 ms).
pub const PRE_SKIP: u16 = 312;

/// CRC-32 of Ogg: polynomial 0x04c11db7, not reflected, initial value 0.
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ table[(((crc >> 24) as u8) ^ b) as usize]
    })
}

/// One Ogg page holding whole `packets` (each < 255 * 255 bytes).
fn page(serial: u32, sequence: u32, granule: u64, flags: u8, packets: &[Vec<u8>]) -> Vec<u8> {
    let mut lacing = Vec::new();
    for p in packets {
        let mut n = p.len();
        while n >= 255 {
            lacing.push(255u8);
            n -= 255;
        }
        lacing.push(n as u8);
    }
    let body: usize = packets.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(27 + lacing.len() + body);
    out.extend_from_slice(b"OggS");
    out.push(0); // version
    out.push(flags);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // CRC, filled below
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    for p in packets {
        out.extend_from_slice(p);
    }
    let crc = crc32(&out);
    out[22..26].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Writes 20 ms Opus packets into an Ogg stream.
pub struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    sequence: u32,
    /// Samples (48 kHz) of all packets written, pre-skip included.
    granule: u64,
    pending: Vec<Vec<u8>>,
    packets_per_page: usize,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the ID header (`channels`, 48 kHz, [`PRE_SKIP`]) and the comment header.
    pub fn new(
        mut out: W,
        channels: u8,
        serial: u32,
        packets_per_page: usize,
    ) -> std::io::Result<Self> {
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(channels);
        head.extend_from_slice(&PRE_SKIP.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0 (mono / stereo)
        let vendor = b"interview-agent";
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes()); // no user comments
        out.write_all(&page(serial, 0, 0, 0x02, &[head]))?;
        out.write_all(&page(serial, 1, 0, 0, &[tags]))?;
        out.flush()?;
        Ok(OggOpusWriter {
            out,
            serial,
            sequence: 2,
            granule: u64::from(PRE_SKIP),
            pending: Vec::new(),
            packets_per_page: packets_per_page.max(1),
        })
    }

    /// Queue one 20 ms packet; a page is written once `packets_per_page` are queued.
    pub fn packet(&mut self, packet: Vec<u8>) -> std::io::Result<()> {
        self.granule += PACKET_SAMPLES;
        self.pending.push(packet);
        if self.pending.len() >= self.packets_per_page {
            self.flush_page(0)?;
        }
        Ok(())
    }

    fn flush_page(&mut self, flags: u8) -> std::io::Result<()> {
        let packets = std::mem::take(&mut self.pending);
        self.out.write_all(&page(
            self.serial,
            self.sequence,
            self.granule,
            flags,
            &packets,
        ))?;
        self.sequence += 1;
        self.out.flush()
    }

    /// Audio written so far (pre-skip excluded).
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_micros((self.granule - u64::from(PRE_SKIP)) * 1_000_000 / 48_000)
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Write what is queued as the last page (end of stream); returns the sink.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.flush_page(0x04)?;
        Ok(self.out)
    }
}

/// The complete, CRC-valid pages at the start of `bytes` (a file cut off mid-page keeps what
/// came before): (their length in bytes, the audio they hold excluding the pre-skip).
pub fn valid_prefix(bytes: &[u8]) -> (usize, std::time::Duration) {
    let mut at = 0;
    let mut granule = 0u64;
    let mut pre_skip = u64::from(PRE_SKIP);
    while bytes.len() >= at + 27 && &bytes[at..at + 4] == b"OggS" {
        let segments = bytes[at + 26] as usize;
        let header = 27 + segments;
        if bytes.len() < at + header {
            break;
        }
        let body: usize = bytes[at + 27..at + header]
            .iter()
            .map(|&b| b as usize)
            .sum();
        let end = at + header + body;
        if bytes.len() < end {
            break;
        }
        let mut copy = bytes[at..end].to_vec();
        let stored = u32::from_le_bytes([copy[22], copy[23], copy[24], copy[25]]);
        copy[22..26].fill(0);
        if crc32(&copy) != stored {
            break;
        }
        if bytes[at + header..].starts_with(b"OpusHead") && body >= 12 {
            pre_skip = u64::from(u16::from_le_bytes([
                bytes[at + header + 10],
                bytes[at + header + 11],
            ]));
        }
        let g = u64::from_le_bytes(copy[6..14].try_into().unwrap_or([0; 8]));
        granule = granule.max(g);
        at = end;
    }
    let samples = granule.saturating_sub(pre_skip);
    (
        at,
        std::time::Duration::from_micros(samples * 1_000_000 / 48_000),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_ogg_reference_value() {
        // The CRC of "OggS" + zeros, as libogg computes it (non-reflected 0x04c11db7, init 0).
        assert_eq!(crc32(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn pages_hold_the_headers_then_the_audio_and_a_cut_file_keeps_its_complete_pages() {
        let mut w = OggOpusWriter::new(Vec::new(), 2, 7, 50).unwrap();
        for i in 0..120u32 {
            w.packet(vec![(i % 250) as u8; 40 + (i as usize % 300)])
                .unwrap();
        }
        assert_eq!(w.duration(), std::time::Duration::from_millis(2400));
        let bytes = w.finish().unwrap();
        let (len, dur) = valid_prefix(&bytes);
        assert_eq!(len, bytes.len(), "every page is complete and valid");
        assert_eq!(dur, std::time::Duration::from_millis(2400));
        // Five pages: two headers, two of 50 packets, the last 20 (end of stream).
        assert_eq!(bytes.windows(4).filter(|w| *w == b"OggS").count(), 5);
        assert_eq!(&bytes[28..36], b"OpusHead");
        assert_eq!(bytes[5], 0x02, "first page begins the stream");

        // Cut in the middle of the last page: the two full audio pages survive.
        let (len, dur) = valid_prefix(&bytes[..bytes.len() - 100]);
        assert!(len < bytes.len() - 100);
        assert_eq!(dur, std::time::Duration::from_millis(2000));
        // A flipped byte fails that page's CRC.
        let mut bad = bytes.clone();
        let last_page = bytes.windows(4).rposition(|w| w == b"OggS").unwrap();
        bad[last_page + 40] ^= 0xff;
        assert_eq!(valid_prefix(&bad).0, last_page);
        assert_eq!(valid_prefix(b"not ogg").0, 0);
    }
}
