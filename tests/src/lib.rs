//! End-to-end tests of hoeveel live in `tests/`; this library is empty.
