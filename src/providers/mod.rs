//! STT / LLM / TTS provider traits, one file per vendor.
