//! Facts about this machine for the record (placeholder).
