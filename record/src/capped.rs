//! Reading a whole input with a cap that holds whatever the input is.
//!
//! A cap checked against a file's size (`st_size`) holds for a regular file
//! only: a pipe, a FIFO or a device such as `/dev/zero` reports 0 and then
//! streams without end. [`read_at_most`] reads at most the cap plus one byte
//! from any reader, so an input over its cap costs the cap in memory and time,
//! never more, and is told apart from one exactly at the cap.
//!
//! [`open_without_waiting`] opens a path for reading without blocking on a FIFO
//! that no program writes to (a plain `open` waits for a writer forever); it
//! then reads as the end of an empty input.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why an input could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum CappedError {
    /// More than `limit_bytes` bytes: `size_bytes` is the file's size when it
    /// has one (a regular file, refused unread), `None` for a stream, of which
    /// `limit_bytes + 1` bytes were read.
    #[error("{} is more than the {limit_bytes} bytes allowed", size_text(*.size_bytes))]
    TooLarge {
        limit_bytes: u64,
        size_bytes: Option<u64>,
    },
    /// Not UTF-8 from byte `valid_up_to_bytes` on (text readers only).
    #[error("not UTF-8 text (byte {valid_up_to_bytes})")]
    NotUtf8 { valid_up_to_bytes: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn size_text(size_bytes: Option<u64>) -> String {
    match size_bytes {
        Some(bytes) => format!("{bytes} bytes"),
        None => "what it streams".to_string(),
    }
}

/// Reads everything `reader` holds, refusing it once it passes `limit_bytes`.
pub fn read_at_most(reader: impl Read, limit_bytes: u64) -> Result<Vec<u8>, CappedError> {
    let mut bytes = Vec::new();
    reader
        .take(limit_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit_bytes {
        return Err(CappedError::TooLarge {
            limit_bytes,
            size_bytes: None,
        });
    }
    Ok(bytes)
}

/// [`read_at_most`] for text: the bytes must be UTF-8.
pub fn read_text_at_most(reader: impl Read, limit_bytes: u64) -> Result<String, CappedError> {
    let bytes = read_at_most(reader, limit_bytes)?;
    String::from_utf8(bytes).map_err(|e| CappedError::NotUtf8 {
        valid_up_to_bytes: e.utf8_error().valid_up_to(),
    })
}

/// The text of the file at `path`, at most `limit_bytes` of it: a regular file
/// over the cap is refused before it is read, anything else (a pipe, a FIFO, a
/// device) is read to the cap plus one byte. The open does not wait for a
/// FIFO's writer.
pub fn read_file_text_at_most(path: &Path, limit_bytes: u64) -> Result<String, CappedError> {
    let file = open_without_waiting(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit_bytes {
        return Err(CappedError::TooLarge {
            limit_bytes,
            size_bytes: Some(meta.len()),
        });
    }
    read_text_at_most(file, limit_bytes)
}

/// Opens `path` for reading. On Unix the open does not block on a FIFO with no
/// writer (`O_NONBLOCK`), and reads on the file block as usual after it: a
/// FIFO nobody writes to reads as empty instead of hanging its reader.
pub fn open_without_waiting(path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns, with integer flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        File::open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_is_refused_after_the_cap_plus_one_byte() {
        let mut endless = std::io::repeat(b'x');
        let err = read_at_most(&mut endless, 1000).expect_err("over the cap");
        assert!(matches!(
            err,
            CappedError::TooLarge {
                limit_bytes: 1000,
                size_bytes: None
            }
        ));
    }

    #[test]
    fn an_input_exactly_at_the_cap_is_read_whole() {
        let bytes = read_at_most(&[7u8; 1000][..], 1000).expect("at the cap");
        assert_eq!(bytes.len(), 1000);
        let err = read_at_most(&[7u8; 1001][..], 1000).expect_err("one over");
        assert!(matches!(err, CappedError::TooLarge { .. }));
    }

    #[test]
    fn text_that_is_not_utf8_says_where_it_stops() {
        let err = read_text_at_most(&b"ab\xffcd"[..], 100).expect_err("not UTF-8");
        assert!(matches!(
            err,
            CappedError::NotUtf8 {
                valid_up_to_bytes: 2
            }
        ));
    }

    #[test]
    fn a_regular_file_over_the_cap_is_refused_unread_with_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.txt");
        std::fs::File::create(&path)
            .and_then(|f| f.set_len(5_000_000_000))
            .expect("sparse");
        let err = read_file_text_at_most(&path, 1000).expect_err("too large");
        assert!(
            matches!(
                err,
                CappedError::TooLarge {
                    size_bytes: Some(5_000_000_000),
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "5000000000 bytes is more than the 1000 bytes allowed"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_device_that_reports_no_size_is_still_capped() {
        let path = Path::new("/dev/zero");
        assert_eq!(std::fs::metadata(path).expect("stat").len(), 0);
        let err = read_file_text_at_most(path, 64 * 1024).expect_err("endless");
        assert!(matches!(
            err,
            CappedError::TooLarge {
                size_bytes: None,
                ..
            }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_with_no_writer_reads_as_empty_instead_of_hanging() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // A plain open would wait here for a writer that never comes.
        let text = read_file_text_at_most(&fifo, 1000).expect("no writer: empty");
        assert_eq!(text, "");
    }
}
