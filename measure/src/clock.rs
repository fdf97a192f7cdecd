//! CPU time and memory of the agent itself, so its overhead can be shown.

/// The longest span a sleep or a sampling pace is given, in seconds (about 31
/// years): callers bound what they accept far below it (the command line takes
/// a day at most); this only keeps a larger number from panicking in
/// `Duration` or `Instant` arithmetic.
pub const MAX_SPAN_S: f64 = 1e9;

/// `seconds` as a `Duration`: NaN and negatives are zero, and anything above
/// [`MAX_SPAN_S`] is that.
pub fn span(seconds: f64) -> std::time::Duration {
    let bounded = if seconds.is_nan() {
        0.0
    } else {
        seconds.clamp(0.0, MAX_SPAN_S)
    };
    std::time::Duration::from_secs_f64(bounded)
}

/// CPU time (user + system) the calling thread has used, in seconds.
pub fn thread_cpu_time_s() -> f64 {
    cpu_time_s(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time (user + system) of the whole process, every thread, in seconds.
pub fn process_cpu_time_s() -> f64 {
    cpu_time_s(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn cpu_time_s(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Peak resident memory of this process (includes in-process workloads).
pub fn max_rss_bytes() -> Option<u64> {
    // SAFETY: getrusage fills the struct we own; zeroed is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    // Linux reports ru_maxrss in kilobytes.
    (rc == 0).then(|| usage.ru_maxrss.max(0) as u64 * 1024)
}

/// Resident memory of this process now, from `/proc/self/statm` (pages × page size).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    (page > 0).then(|| pages * page as u64)
}

#[cfg(test)]
mod span_tests {
    use super::*;

    #[test]
    fn a_span_never_panics_and_is_bounded() {
        assert_eq!(span(1e300), std::time::Duration::from_secs(1_000_000_000));
        assert_eq!(
            span(f64::INFINITY),
            std::time::Duration::from_secs(1_000_000_000)
        );
        assert_eq!(span(f64::NAN), std::time::Duration::ZERO);
        assert_eq!(span(-3.0), std::time::Duration::ZERO);
        assert_eq!(span(0.25), std::time::Duration::from_millis(250));
        // Far in the future, but still a time an Instant can hold.
        assert!(std::time::Instant::now().checked_add(span(1e300)).is_some());
    }
}
