//! Audio primitives shared by the room and (later) the voice pipeline: typed PCM frames, the
//! Opus codec, and a bounded frame queue with a drop-oldest overflow policy.

mod frame;
mod opus_codec;
mod queue;

pub use frame::{AudioFrame, SampleRate, FRAME_DURATION, SAMPLES_PER_FRAME_48K};
pub use opus_codec::{OpusDecoder, OpusEncoder, OpusError};
pub use queue::{frame_queue, FrameReceiver, FrameSender};
