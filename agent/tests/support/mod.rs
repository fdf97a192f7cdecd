//! Shared by the agent's integration tests (each test file uses a part of it).
#![allow(dead_code)]

pub mod fake_http;
pub mod hostile;
