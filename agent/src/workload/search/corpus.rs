//! Where the documents come from: the default corpus (fetched, verified) or a folder.
//!
//! A corpus is identified cheaply, without reading it, so that a cached index can be
//! found before anything is parsed: the default corpus by its pinned sha256, a folder
//! by the path, size and modification time of every file in it.
//!
//! A folder's corpus is read into memory to be indexed, so its size is bounded:
//! a file over [`MAX_CORPUS_FILE_BYTES`], or one that looks binary (a NUL byte in
//! its first 8 KiB, as `grep` decides), is skipped with a note; a folder over
//! [`MAX_CORPUS_BYTES`] in all is refused, naming the limit. The walk stays inside
//! the folder: a symbolic link out of it, or one that leads nowhere, is skipped
//! with a note, and a document reached through several links is indexed once,
//! so that links neither leak other files into the index nor skew BM25.

/// The most bytes one corpus file may have; a larger one is skipped with a note.
pub const MAX_CORPUS_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The most bytes a folder's corpus may have in all.
pub const MAX_CORPUS_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// How much of a file is looked at to tell text from binary.
const SNIFF_BYTES: u64 = 8 * 1024;

use super::extract::{self, Document, Kind};
use crate::workload::fetch::{self, Artifact};
use anyhow::Context;
use hoeveel_record::capped::read_file_text_at_most;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
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
    /// Entries left out, each with why (too large, binary, unreadable, a link
    /// that leads nowhere or out of the folder, a document already counted).
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
    /// files and folders are skipped. Symbolic links are followed inside the folder
    /// only, and a document reached by several paths is counted once; an entry
    /// that cannot be read is skipped with a note. Fails, naming the folder, when
    /// it is missing or holds no such file.
    pub fn folder(dir: &Path) -> anyhow::Result<CorpusSource> {
        let meta = std::fs::metadata(dir)
            .with_context(|| format!("corpus folder {} cannot be read", dir.display()))?;
        if !meta.is_dir() {
            anyhow::bail!("corpus {} is not a folder", dir.display());
        }
        let root = dir
            .canonicalize()
            .with_context(|| format!("corpus folder {} cannot be read", dir.display()))?;
        std::fs::read_dir(dir)
            .with_context(|| format!("listing corpus folder {}", dir.display()))?;
        let mut walk = Walk {
            seen: HashSet::from([root.clone()]),
            root,
            found: Vec::new(),
            skipped: Vec::new(),
        };
        walk.folder(dir);
        let Walk {
            root: canonical,
            mut found,
            mut skipped,
            ..
        } = walk;
        let mut hasher = Sha256::new();
        found.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let mut files = Vec::with_capacity(found.len());
        for (file, mtime_ns) in found {
            match why_skipped(&file) {
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
            // Capped again as it is read: the file may have grown since it was listed.
            let text = read_file_text_at_most(&file.path, MAX_CORPUS_FILE_BYTES)
                .with_context(|| format!("reading corpus file {}", file.path.display()))?;
            documents.extend(extract::documents(&file.path, file.kind, &text)?);
        }
        if documents.is_empty() {
            anyhow::bail!("corpus {} holds no documents", self.name);
        }
        Ok(documents)
    }
}

/// Why a file of a folder's corpus is left out, if it is.
fn why_skipped(file: &CorpusFile) -> Option<String> {
    use std::io::Read;
    if file.size_bytes > MAX_CORPUS_FILE_BYTES {
        return Some(format!(
            "{} bytes, more than the {MAX_CORPUS_FILE_BYTES} a corpus file may have",
            file.size_bytes
        ));
    }
    let mut head = Vec::new();
    if let Err(e) =
        std::fs::File::open(&file.path).and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
    {
        return Some(format!("cannot be read ({e})"));
    }
    head.contains(&0)
        .then(|| "binary, not text (a NUL byte in its first 8 KiB)".to_string())
}

/// What the walk of a folder's corpus has seen, so that no document is counted
/// twice and no link leads out of the folder or round in a circle.
struct Walk {
    /// The corpus folder, canonical: nothing outside it is read.
    root: PathBuf,
    /// Canonical paths of the files taken and the folders entered.
    seen: HashSet<PathBuf>,
    found: Vec<(CorpusFile, u128)>,
    /// Entries left out, each with why.
    skipped: Vec<String>,
}

impl Walk {
    /// Walks `dir` (inside the root); an entry that cannot be listed, followed or
    /// read is left out with a note rather than refusing the whole corpus.
    fn folder(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.skipped
                    .push(format!("skipped {}: cannot be listed ({e})", dir.display()));
                return;
            }
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) if entry.file_name().to_string_lossy().starts_with('.') => {}
                Ok(entry) => paths.push(entry.path()),
                Err(e) => self
                    .skipped
                    .push(format!("skipped an entry of {}: {e}", dir.display())),
            }
        }
        // In name order, so that of two paths to one document the same one is
        // kept every time (the corpus's fingerprint, and its cached index, hold).
        paths.sort();
        for path in paths {
            self.entry(path);
        }
    }

    fn entry(&mut self, path: PathBuf) {
        let skip = |why: String| format!("skipped {}: {why}", path.display());
        // A symbolic link is followed only to a place inside the folder, and a
        // file or folder reached twice is taken once.
        let canonical = match path.canonicalize() {
            Ok(canonical) => canonical,
            Err(e) => {
                let why = if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
                    format!("a symbolic link that leads nowhere ({e})")
                } else {
                    format!("cannot be resolved ({e})")
                };
                self.skipped.push(skip(why));
                return;
            }
        };
        if !canonical.starts_with(&self.root) {
            self.skipped.push(skip(format!(
                "leads out of the corpus folder (to {})",
                canonical.display()
            )));
            return;
        }
        let meta = match std::fs::metadata(&canonical) {
            Ok(meta) => meta,
            Err(e) => {
                self.skipped.push(skip(format!("cannot be read ({e})")));
                return;
            }
        };
        if meta.is_dir() {
            if self.seen.insert(canonical) {
                self.folder(&path);
            } else {
                self.skipped
                    .push(skip("a folder already walked, walked once".to_string()));
            }
            return;
        }
        let Some(kind) = Kind::of(&path) else {
            return;
        };
        if !meta.is_file() {
            self.skipped.push(skip("not a regular file".to_string()));
            return;
        }
        if !self.seen.insert(canonical) {
            self.skipped.push(skip(
                "the same document as another path, counted once".to_string(),
            ));
            return;
        }
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        self.found.push((
            CorpusFile {
                path,
                kind,
                size_bytes: meta.len(),
            },
            mtime_ns,
        ));
    }
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

    #[cfg(unix)]
    #[test]
    fn links_stay_inside_the_folder_and_count_a_document_once() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.txt"), "not for the index").expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), "alpha").expect("write");
        for i in 0..30 {
            symlink(
                dir.path().join("a.txt"),
                dir.path().join(format!("link-{i:02}.txt")),
            )
            .expect("symlink");
        }
        symlink(outside.path(), dir.path().join("away")).expect("symlink");
        symlink(outside.path().join("secret.txt"), dir.path().join("s.txt")).expect("symlink");
        symlink(dir.path().join("gone.txt"), dir.path().join("dangling.txt")).expect("symlink");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        symlink(dir.path(), dir.path().join("sub/loop")).expect("symlink");

        let source = CorpusSource::folder(dir.path()).expect("the real document is kept");
        assert_eq!(source.files.len(), 1, "{:?}", source.files);
        assert!(
            source.files[0].path.ends_with("a.txt"),
            "{:?}",
            source.files
        );
        let notes = source.skipped.join("\n");
        assert_eq!(
            notes.matches("the same document as another path").count(),
            30,
            "{notes}"
        );
        assert!(
            notes.contains("away: leads out of the corpus folder"),
            "{notes}"
        );
        assert!(
            notes.contains("s.txt: leads out of the corpus folder"),
            "{notes}"
        );
        assert!(
            notes.contains("dangling.txt: a symbolic link that leads nowhere"),
            "{notes}"
        );
        assert!(notes.contains("loop: a folder already walked"), "{notes}");
        assert_eq!(source.load().expect("loads").len(), 1);
        assert_eq!(
            CorpusSource::folder(dir.path()).expect("again").fingerprint,
            source.fingerprint,
            "the same paths are kept every time"
        );
    }
}
