//! Stand-in NVML (placeholder: being implemented).
