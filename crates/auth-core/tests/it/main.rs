//! Integration tests of auth-core: one binary, one module per area.

mod conformance;
