//! Where the documents come from: the default corpus (fetched, verified) or a folder.
//!
//! A corpus is identified cheaply, without reading it, so that a cached index can be
//! found before anything is parsed: the default corpus by its pinned sha256, a folder
//! by the path, size and modification time of every file in it.
//!
//! A folder's corpus is read into memory to be indexed, so its size is bounded:
//! a file over [`MAX_CORPUS_FILE_BYTES`], or one that looks binary (a NUL byte in
//! its first 8 KiB, as `grep` decides), is skipped with a note; a folder over
//! [`MAX_CORPUS_BYTES`] in all is refused, naming the limit.

/// The most bytes one corpus file may have; a larger one is skipped with a note.
pub const MAX_CORPUS_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The most bytes a folder's corpus may have in all.
pub const MAX_CORPUS_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// How much of a file is looked at to tell text from binary.
const SNIFF_BYTES: u64 = 8 * 1024;

use super::extract::{self, Document, Kind};
use crate::workload::fetch::{self, Artifact};
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A corpus located and identified, not yet read.
#[derive(Debug, Clone)]
pub struct CorpusSource {
    /// `wiki-vital`, or the folder's name.
    pub name: String,
    /// Provenance and licence, for the record.
    pub licence: String,
    /// The files, sorted by path.
    pub files: Vec<CorpusFile>,
    /// sha256 over what identifies the content (see the module docs).
    pub fingerprint: String,
    /// Files left out, each with why (too large, binary).
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub path: PathBuf,
    pub kind: Kind,
    pub size_bytes: u64,
}

impl CorpusSource {
    /// The default corpus: English Wikipedia summaries of the vital articles, fetched
    /// into the cache on first use.
    pub fn default_corpus() -> anyhow::Result<CorpusSource> {
        let path = fetch::ensure(Artifact::WikiVital).context("fetching the default corpus")?;
        Self::wiki_vital_at(path)
    }

    /// The default corpus from a file already fetched and verified.
    pub fn wiki_vital_at(path: PathBuf) -> anyhow::Result<CorpusSource> {
        let spec = Artifact::WikiVital.spec();
        let size_bytes = std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        Ok(CorpusSource {
            name: spec.name.to_string(),
            licence: spec.licence.to_string(),
            fingerprint: spec.sha256.to_string(),
            files: vec![CorpusFile {
                path,
                kind: Kind::Json,
                size_bytes,
            }],
            skipped: Vec::new(),
        })
    }

    /// Every `.txt`, `.md`, `.html` and `.json` file under `dir`, recursively; hidden
    /// files and folders are skipped. Fails, naming the folder, when it is missing or
    /// holds no such file.
    pub fn folder(dir: &Path) -> anyhow::Result<CorpusSource> {
        let meta = std::fs::metadata(dir)
            .with_context(|| format!("corpus folder {} cannot be read", dir.display()))?;
        if !meta.is_dir() {
            anyhow::bail!("corpus {} is not a folder", dir.display());
        }
        let mut found = Vec::new();
        let mut hasher = Sha256::new();
        walk(dir, &mut found)?;
        found.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let mut files = Vec::with_capacity(found.len());
        let mut skipped = Vec::new();
        for (file, mtime_ns) in found {
            match why_skipped(&file)? {
                Some(why) => skipped.push(format!("skipped {}: {why}", file.path.display())),
                None => files.push((file, mtime_ns)),
            }
        }
        let total: u64 = files.iter().map(|(f, _)| f.size_bytes).sum();
        if total > MAX_CORPUS_BYTES {
            anyhow::bail!(
                "corpus folder {} holds {total} bytes of documents, more than the {MAX_CORPUS_BYTES} a corpus may have (it is read into memory to be indexed)",
                dir.display()
            );
        }
        if files.is_empty() {
            anyhow::bail!(
                "corpus folder {} holds no .txt, .md, .html or .json files{}",
                dir.display(),
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(" that can be read ({})", skipped.join("; "))
                }
            );
        }
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        hasher.update(canonical.as_os_str().as_encoded_bytes());
        for (file, mtime_ns) in &files {
            hasher.update([0u8]);
            hasher.update(file.path.as_os_str().as_encoded_bytes());
            hasher.update(file.size_bytes.to_le_bytes());
            hasher.update(mtime_ns.to_le_bytes());
        }
        let name = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "corpus".to_string());
        Ok(CorpusSource {
            name,
            licence: "user-supplied documents".to_string(),
            fingerprint: fetch::verify::hex(&hasher.finalize()),
            files: files.into_iter().map(|(f, _)| f).collect(),
            skipped,
        })
    }

    pub fn size_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size_bytes).sum()
    }

    /// Reads and parses every file. Fails naming the file that cannot be read or parsed,
    /// and when the corpus holds no document at all.
    pub fn load(&self) -> anyhow::Result<Vec<Document>> {
        let mut documents = Vec::new();
        for file in &self.files {
            let bytes = std::fs::read(&file.path)
                .with_context(|| format!("reading corpus file {}", file.path.display()))?;
            let text = String::from_utf8(bytes).map_err(|e| {
                anyhow::anyhow!(
                    "corpus file {} is not UTF-8 text (invalid byte at offset {})",
                    file.path.display(),
                    e.utf8_error().valid_up_to()
                )
            })?;
            documents.extend(extract::documents(&file.path, file.kind, &text)?);
        }
        if documents.is_empty() {
            anyhow::bail!("corpus {} holds no documents", self.name);
        }
        Ok(documents)
    }
}

/// Why a file of a folder's corpus is left out, if it is.
fn why_skipped(file: &CorpusFile) -> anyhow::Result<Option<String>> {
    use std::io::Read;
    if file.size_bytes > MAX_CORPUS_FILE_BYTES {
        return Ok(Some(format!(
            "{} bytes, more than the {MAX_CORPUS_FILE_BYTES} a corpus file may have",
            file.size_bytes
        )));
    }
    let mut head = Vec::new();
    std::fs::File::open(&file.path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .with_context(|| format!("reading corpus file {}", file.path.display()))?;
    Ok(head
        .contains(&0)
        .then(|| "binary, not text (a NUL byte in its first 8 KiB)".to_string()))
}

fn walk(dir: &Path, out: &mut Vec<(CorpusFile, u128)>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("listing corpus folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing corpus folder {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symbolic links, as a person listing the folder would expect.
        let meta =
            std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if let Some(kind) = Kind::of(&path).filter(|_| meta.is_file()) {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push((
                CorpusFile {
                    path,
                    kind,
                    size_bytes: meta.len(),
                },
                mtime_ns,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("notes.pdf"), b"%PDF").expect("write");
        std::fs::create_dir(dir.path().join(".hidden")).expect("mkdir");
        std::fs::write(dir.path().join(".hidden/a.txt"), b"x").expect("write");
        let err = CorpusSource::folder(dir.path()).expect_err("empty");
        let message = format!("{err:#}");
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("no .txt, .md, .html or .json"),
            "{message}"
        );
    }

    #[test]
    fn a_huge_or_binary_file_is_skipped_with_a_note_and_memory_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), b"Waste is sorted at the kerb.\n").expect("write");
        // A 1 GB sparse file: no disk used, and never read.
        let big = std::fs::File::create(dir.path().join("big.txt")).expect("create");
        big.set_len(1_000_000_000).expect("sparse");
        std::fs::write(dir.path().join("blob.md"), b"\x7fELF\x02\x01\x00\x00binary")
            .expect("write");
        let source = CorpusSource::folder(dir.path()).expect("the text file is kept");
        assert_eq!(source.files.len(), 1, "{:?}", source.files);
        assert_eq!(source.skipped.len(), 2, "{:?}", source.skipped);
        assert!(
            source.skipped[0].contains("big.txt: 1000000000 bytes, more than the 268435456"),
            "{:?}",
            source.skipped
        );
        assert!(
            source.skipped[1].contains("blob.md: binary, not text"),
            "{:?}",
            source.skipped
        );
        assert_eq!(source.load().expect("loads").len(), 1);
    }

    #[test]
    fn a_folder_of_nothing_but_skipped_files_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("blob.txt"), b"\x00\x01").expect("write");
        let err = format!(
            "{:#}",
            CorpusSource::folder(dir.path()).expect_err("nothing left")
        );
        assert!(err.contains("that can be read (skipped"), "{err}");
        assert!(err.contains("blob.txt: binary"), "{err}");
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no-such-corpus");
        let err = CorpusSource::folder(&missing).expect_err("missing");
        let message = format!("{err:#}");
        assert!(message.contains("no-such-corpus"), "{message}");
        assert!(message.contains("corpus folder"), "{message}");
    }

    #[test]
    fn folders_are_walked_and_fingerprinted_by_content_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("a.txt"), "alpha").expect("write");
        std::fs::write(dir.path().join("sub/b.md"), "# Beta\nbeta text").expect("write");
        std::fs::write(dir.path().join("c.bin"), "ignored").expect("write");
        let source = CorpusSource::folder(dir.path()).expect("corpus");
        assert_eq!(source.files.len(), 2);
        assert_eq!(source.size_bytes(), 5 + 16);
        let docs = source.load().expect("load");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].title, "Beta");

        let again = CorpusSource::folder(dir.path()).expect("corpus");
        assert_eq!(again.fingerprint, source.fingerprint);
        std::fs::write(dir.path().join("a.txt"), "alpha, changed").expect("write");
        let changed = CorpusSource::folder(dir.path()).expect("corpus");
        assert_ne!(changed.fingerprint, source.fingerprint);
    }

    #[test]
    fn unreadable_content_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("latin1.txt"), b"caf\xe9").expect("write");
        let err = CorpusSource::folder(dir.path())
            .expect("corpus")
            .load()
            .expect_err("not utf-8");
        assert!(err.to_string().contains("latin1.txt"), "{err}");
    }
}
