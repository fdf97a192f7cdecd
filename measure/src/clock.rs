//! CPU time and memory of the agent itself, so its overhead can be shown.

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
