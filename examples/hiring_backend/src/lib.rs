//! Example hiring backend (skeleton; being written).
