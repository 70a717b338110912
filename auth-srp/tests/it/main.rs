//! Integration tests of auth-srp: the reference vector, pycognito's vectors and client/server
//! round trips.

mod fast_paths;
mod reference;
mod roundtrip;
mod vectors;
