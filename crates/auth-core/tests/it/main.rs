//! Integration tests of auth-core: one binary, one module per area.

mod client;
mod conformance;
mod model;
mod support;
mod traces;
