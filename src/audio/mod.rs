//! Audio primitives shared by the room and the voice pipeline: typed PCM frames, the Opus codec,
//! Ogg Opus files, a bounded frame queue with a drop-oldest overflow policy, a streaming
//! resampler and the VAD.

mod frame;
pub mod ogg;
mod opus_codec;
mod queue;
pub mod resample;
pub mod vad;

pub use frame::{AudioFrame, SampleRate, FRAME_DURATION, SAMPLES_PER_FRAME_48K};
pub use opus_codec::{OpusDecoder, OpusEncoder, OpusError, StereoOpusEncoder, ENCODER_COMPLEXITY};
pub use queue::{frame_queue, FrameReceiver, FrameSender};
pub use resample::{ResampleError, StreamResampler};
pub use vad::{
    Hysteresis, Vad, VadError, VadEvent, VadMode, VadOptions, VoiceClassifier, WebRtcClassifier,
};
