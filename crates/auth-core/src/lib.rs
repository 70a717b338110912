//! Traits, types, the pure user-state machine and `AuthClient`.
