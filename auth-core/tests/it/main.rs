//! Integration tests of auth-core: one binary, one module per area.

mod client;
mod conformance;
mod model;
mod sign_in_provider;
mod state_diagram;
mod support;
mod traces;
