//! One `energy_uj` file, opened once and re-read at offset 0 into a buffer that
//! lives as long as the file, so that a sample allocates nothing. sysfs
//! regenerates an attribute's text when it is read from offset 0, so `pread` at
//! 0 returns the current counter without reopening.

use crate::sensors::SensorError;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Enough for any u64 (20 digits), a newline, and room to notice junk.
const BUFFER_LEN: usize = 32;

#[derive(Debug)]
pub struct EnergyFile {
    file: File,
    path: PathBuf,
    buffer: [u8; BUFFER_LEN],
}

impl EnergyFile {
    /// Opens `path`; errors are mapped with [`open_error`].
    pub fn open(path: &Path) -> Result<EnergyFile, SensorError> {
        let file = File::open(path).map_err(|e| open_error(path, e))?;
        Ok(EnergyFile {
            file,
            path: path.to_path_buf(),
            buffer: [0; BUFFER_LEN],
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The counter now, in µJ.
    pub fn read_uj(&mut self) -> Result<u64, SensorError> {
        let len = self
            .file
            .read_at(&mut self.buffer, 0)
            .map_err(|e| read_error(&self.path, e))?;
        let text = &self.buffer[..len];
        if len == BUFFER_LEN {
            return Err(self.malformed(text, "longer than any µJ counter"));
        }
        parse_uj(text).ok_or_else(|| self.malformed(text, "not a decimal µJ counter"))
    }

    fn malformed(&self, text: &[u8], why: &str) -> SensorError {
        SensorError::Malformed {
            path: self.path.clone(),
            message: format!("{why}: {:?}", String::from_utf8_lossy(text)),
        }
    }
}

/// Parses a counter as sysfs prints it: decimal digits, then optional
/// whitespace (the newline). Leading zeros are accepted.
pub fn parse_uj(text: &[u8]) -> Option<u64> {
    let digits_len = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits_len == 0 || !text[digits_len..].iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    text[..digits_len].iter().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Maps an error from opening an `energy_uj` file.
///
/// Since CVE-2020-8694 (PLATYPUS) `energy_uj` is readable by root only, so an
/// unprivileged open fails with EACCES. Tests run as root in CI, where a mode
/// 000 file is still readable; that is why this mapping is a pure function,
/// tested with a constructed `io::Error`, rather than through a chmod'ed file.
pub fn open_error(path: &Path, err: io::Error) -> SensorError {
    match err.kind() {
        io::ErrorKind::PermissionDenied => SensorError::PermissionDenied {
            path: path.to_path_buf(),
            fix: permission_fix(path),
        },
        io::ErrorKind::NotFound => {
            SensorError::Unavailable(format!("{} does not exist", path.display()))
        }
        _ => SensorError::Io {
            path: path.to_path_buf(),
            source: err,
        },
    }
}

/// Maps an error from re-reading an open `energy_uj` file. A zone whose
/// device went away reads ENODEV: the sensor is gone, not broken.
fn read_error(path: &Path, err: io::Error) -> SensorError {
    if err.raw_os_error() == Some(libc::ENODEV) || err.kind() == io::ErrorKind::NotFound {
        return SensorError::Unavailable(format!("{} disappeared: {err}", path.display()));
    }
    SensorError::Io {
        path: path.to_path_buf(),
        source: err,
    }
}

/// The commands that let the agent read `path`'s zones: the powercap way
/// (chmod now, a udev rule to keep it) and the perf way (no file access needed).
fn permission_fix(path: &Path) -> String {
    // `<root>/class/powercap/intel-rapl:0:1/energy_uj` -> `<root>/class/powercap`
    let class = path
        .parent()
        .and_then(Path::parent)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/sys/class/powercap".to_string());
    format!(
        "energy_uj is readable by root only (CVE-2020-8694). Run the agent as root, or allow reading until reboot: \
         `sudo chmod a+r {class}/intel-rapl:*/energy_uj` (to keep it, a udev rule in /etc/udev/rules.d/70-powercap.rules: \
         `ACTION==\"add\", SUBSYSTEM==\"powercap\", KERNEL==\"intel-rapl:*\", RUN+=\"/bin/chmod a+r /sys%p/energy_uj\"`; \
         this reopens the PLATYPUS side channel to every local user). \
         Or read RAPL through perf_event instead: `sudo setcap cap_perfmon+ep $(which hoeveel-agent)` \
         or `sudo sysctl -w kernel.perf_event_paranoid=0`, then `--sensors rapl-perf`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_counters() {
        assert_eq!(parse_uj(b"123456\n"), Some(123_456));
        assert_eq!(parse_uj(b"00000000000000000042\n"), Some(42));
        assert_eq!(parse_uj(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_uj(b"18446744073709551616\n"), None);
        assert_eq!(parse_uj(b"\n"), None);
        assert_eq!(parse_uj(b""), None);
        assert_eq!(parse_uj(b"12 34\n"), None);
        assert_eq!(parse_uj(b"-1\n"), None);
    }

    #[test]
    fn permission_denied_names_the_fixes() {
        let path = Path::new("/host/sys/class/powercap/intel-rapl:0/energy_uj");
        let err = open_error(path, io::Error::from(io::ErrorKind::PermissionDenied));
        let SensorError::PermissionDenied { path: p, fix } = &err else {
            panic!("expected PermissionDenied, got {err:?}");
        };
        assert_eq!(p, path);
        assert!(fix.contains("sudo chmod a+r /host/sys/class/powercap/intel-rapl:*/energy_uj"));
        assert!(fix.contains("SUBSYSTEM==\"powercap\""));
        assert!(fix.contains("setcap cap_perfmon+ep"));
        assert!(fix.contains("kernel.perf_event_paranoid=0"));
        assert_eq!(err.fix(), Some(fix.as_str()));
    }

    #[test]
    fn eacces_from_the_os_is_permission_denied() {
        let err = open_error(
            Path::new("/sys/class/powercap/intel-rapl:0/energy_uj"),
            io::Error::from_raw_os_error(libc::EACCES),
        );
        assert!(matches!(err, SensorError::PermissionDenied { .. }));
    }

    #[test]
    fn other_open_errors_keep_the_path() {
        let path = Path::new("/sys/class/powercap/intel-rapl:0/energy_uj");
        assert!(matches!(
            open_error(path, io::Error::from(io::ErrorKind::NotFound)),
            SensorError::Unavailable(m) if m.contains("intel-rapl:0/energy_uj")
        ));
        assert!(matches!(
            open_error(path, io::Error::from_raw_os_error(libc::EIO)),
            SensorError::Io { path: p, .. } if p == path
        ));
    }

    #[test]
    fn rereads_the_same_open_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("energy_uj");
        std::fs::write(&path, "100\n").expect("write");
        let mut f = EnergyFile::open(&path).expect("open");
        assert_eq!(f.read_uj().expect("read"), 100);
        hoeveel_sysfs_fixture::write_counter(&path, 250).expect("advance");
        assert_eq!(f.read_uj().expect("read"), 250);
        std::fs::write(&path, "garbage\n").expect("write");
        assert!(matches!(f.read_uj(), Err(SensorError::Malformed { .. })));
    }
}
