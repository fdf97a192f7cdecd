//! Where the documents come from: the default corpus (fetched, verified) or a folder.
//!
//! A corpus is identified cheaply, without reading it, so that a cached index can be
//! found before anything is parsed: the default corpus by its pinned sha256, a folder
//! by the path, size and modification time of every file in it.

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
        let mut files = Vec::new();
        let mut hasher = Sha256::new();
        walk(dir, &mut files)?;
        files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        if files.is_empty() {
            anyhow::bail!(
                "corpus folder {} holds no .txt, .md, .html or .json files",
                dir.display()
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
