//! CPU time and memory of the agent itself, so its overhead can be shown.

/// CPU time (user + system) the calling thread has used, in seconds.
pub fn thread_cpu_time_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
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
