//! Whether `--threads N` fits this process before llama.cpp is asked for them.
//!
//! llama.cpp starts its threads through OpenMP; when the system refuses one
//! (`RLIMIT_NPROC`, a cgroup's `pids.max`), libgomp exits the process or a C++
//! exception crosses into Rust and aborts it, with no summary and no `run_end`.
//! So the room is measured first and a request beyond it is refused with a
//! clear error:
//!
//! - `RLIMIT_NPROC` counts every thread of the real user, in all its processes
//!   (root and holders of `CAP_SYS_RESOURCE` are exempt);
//! - `pids.max` of the cgroup and of each cgroup above it (cgroup v2), less its
//!   `pids.current`;
//! - the CPUs this process may run on: more threads than that contend for them
//!   (warned), and more than [`MAX_THREADS_PER_CPU`] times that measures the
//!   contention rather than the model (refused).

use std::path::Path;

/// Above this many threads per available CPU a request is refused.
pub const MAX_THREADS_PER_CPU: u64 = 8;

/// Threads this process could still start, by what bounds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRoom {
    /// CPUs this process may run on.
    pub cpus: u64,
    /// Threads left under `RLIMIT_NPROC`, with the limit; `None` without one.
    pub nproc: Option<Room>,
    /// Threads left under the tightest `pids.max` above this process, with the
    /// cgroup's path; `None` without one.
    pub pids: Option<(Room, String)>,
}

/// What is left under a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub limit: u64,
    pub left: u64,
}

/// Why `--threads` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThreadsError {
    #[error(
        "--threads {asked}: this user may start {} more threads (RLIMIT_NPROC {}, `ulimit -u`); llama.cpp would stop the agent when refused one — give --threads {} or fewer",
        .room.left, .room.limit, .room.left.saturating_sub(1).max(1)
    )]
    Nproc { asked: u32, room: Room },
    #[error(
        "--threads {asked}: the cgroup {cgroup} may start {} more tasks (pids.max {}); llama.cpp would stop the agent when refused one — give --threads {} or fewer",
        .room.left, .room.limit, .room.left.saturating_sub(1).max(1)
    )]
    Pids {
        asked: u32,
        room: Room,
        cgroup: String,
    },
    #[error(
        "--threads {asked} is more than {MAX_THREADS_PER_CPU} threads for each of the {cpus} CPUs this process may use: that measures contention, not the model"
    )]
    TooManyPerCpu { asked: u32, cpus: u64 },
}

impl ThreadRoom {
    /// This process's room, from `/proc` and the cgroup file system.
    pub fn of_this_process() -> ThreadRoom {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        ThreadRoom {
            cpus,
            nproc: nproc_limit(uid).map(|limit| Room {
                limit,
                left: limit.saturating_sub(threads_of_user(Path::new("/proc"), uid)),
            }),
            pids: pids_room(Path::new("/proc/self/cgroup"), Path::new("/sys/fs/cgroup")),
        }
    }

    /// Refuses `asked` threads beyond the room; a warning when they are more
    /// than the CPUs.
    pub fn check(&self, asked: u32) -> Result<Option<String>, ThreadsError> {
        let n = u64::from(asked);
        // The main thread stays, so `asked` new ones must fit in what is left.
        if let Some(room) = self.nproc.filter(|r| n >= r.left) {
            return Err(ThreadsError::Nproc { asked, room });
        }
        if let Some((room, cgroup)) = self.pids.as_ref().filter(|(r, _)| n >= r.left) {
            return Err(ThreadsError::Pids {
                asked,
                room: *room,
                cgroup: cgroup.clone(),
            });
        }
        if n > self.cpus.saturating_mul(MAX_THREADS_PER_CPU) {
            return Err(ThreadsError::TooManyPerCpu {
                asked,
                cpus: self.cpus,
            });
        }
        Ok((n > self.cpus).then(|| {
            format!(
                "--threads {asked} is more than the {} CPUs this process may use: the threads contend for them, and the figures show that contention",
                self.cpus
            )
        }))
    }
}

/// The soft `RLIMIT_NPROC`, unless it is unlimited or `uid` is exempt.
fn nproc_limit(uid: libc::uid_t) -> Option<u64> {
    if uid == 0 {
        return None;
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(limit.rlim_cur)
}

/// Threads of every process whose real user is `uid`, from `/proc/*/status`.
pub fn threads_of_user(proc_root: &Path, uid: libc::uid_t) -> u64 {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| real_uid(status) == Some(uid))
        .map(|status| field(&status, "Threads:").unwrap_or(1))
        .sum()
}

fn real_uid(status: &str) -> Option<libc::uid_t> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
}

fn field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.trim().parse().ok())
}

/// The tightest `pids.max` less `pids.current` of this process's cgroup (v2,
/// from `cgroup_file`, a `/proc/PID/cgroup`) and the cgroups above it.
pub fn pids_room(cgroup_file: &Path, cgroup_root: &Path) -> Option<(Room, String)> {
    let text = std::fs::read_to_string(cgroup_file).ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mut tightest: Option<(Room, String)> = None;
    let mut at = Some(Path::new(path));
    while let Some(cgroup) = at {
        let dir = cgroup_root.join(cgroup.strip_prefix("/").unwrap_or(cgroup));
        let limit = std::fs::read_to_string(dir.join("pids.max"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        let current = std::fs::read_to_string(dir.join("pids.current"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        if let (Some(limit), Some(current)) = (limit, current) {
            let room = Room {
                limit,
                left: limit.saturating_sub(current),
            };
            if tightest.as_ref().is_none_or(|(t, _)| room.left < t.left) {
                tightest = Some((room, cgroup.display().to_string()));
            }
        }
        at = cgroup.parent();
    }
    tightest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(cpus: u64) -> ThreadRoom {
        ThreadRoom {
            cpus,
            nproc: None,
            pids: None,
        }
    }

    #[test]
    fn threads_beyond_the_user_limit_are_refused_before_llama_cpp_sees_them() {
        let limited = ThreadRoom {
            nproc: Some(Room {
                limit: 40,
                left: 10,
            }),
            ..room(64)
        };
        assert_eq!(limited.check(9), Ok(None));
        let err = limited.check(10).expect_err("no room for the tenth");
        assert!(matches!(err, ThreadsError::Nproc { asked: 10, .. }));
        assert!(
            err.to_string().contains("give --threads 9 or fewer"),
            "{err}"
        );
    }

    #[test]
    fn the_tightest_cgroup_above_the_process_bounds_the_threads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("cgroup");
        for (path, max, current) in [
            ("", "max", "900"),
            ("user", "100", "90"),
            ("user/app", "50", "3"),
        ] {
            let d = root.join(path);
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(d.join("pids.max"), format!("{max}\n")).expect("write");
            std::fs::write(d.join("pids.current"), format!("{current}\n")).expect("write");
        }
        let cgroup_file = dir.path().join("self-cgroup");
        std::fs::write(&cgroup_file, "0::/user/app\n").expect("write");
        let (left, at) = pids_room(&cgroup_file, &root).expect("a pids limit");
        assert_eq!(
            left,
            Room {
                limit: 100,
                left: 10
            }
        );
        assert_eq!(at, "/user");
        let err = ThreadRoom {
            pids: Some((left, at)),
            ..room(64)
        }
        .check(16)
        .expect_err("over pids.max");
        assert!(
            err.to_string()
                .contains("the cgroup /user may start 10 more tasks"),
            "{err}"
        );
    }

    #[test]
    fn more_threads_than_cpus_is_warned_and_far_more_refused() {
        assert_eq!(room(4).check(4), Ok(None));
        assert!(
            room(4)
                .check(5)
                .expect("allowed")
                .is_some_and(|w| w.contains("contend"))
        );
        assert!(matches!(
            room(4).check(33),
            Err(ThreadsError::TooManyPerCpu { asked: 33, cpus: 4 })
        ));
    }

    #[test]
    fn the_threads_of_a_user_are_counted_across_processes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (pid, uid, threads) in [
            ("1", 0, 3),
            ("20", 1000, 5),
            ("31", 1000, 7),
            ("self", 1000, 9),
        ] {
            let d = dir.path().join(pid);
            std::fs::create_dir(&d).expect("mkdir");
            std::fs::write(
                d.join("status"),
                format!("Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nThreads:\t{threads}\n"),
            )
            .expect("write");
        }
        assert_eq!(
            threads_of_user(dir.path(), 1000),
            12,
            "`self` is not a process"
        );
        assert_eq!(threads_of_user(dir.path(), 0), 3);
    }
}
