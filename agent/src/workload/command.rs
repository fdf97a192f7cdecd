//! A command run once per repetition (placeholder).
