//! The tantivy index over a corpus, built once and cached.
//!
//! The cache entry is `<cache>/search-index/<corpus>-<key>/`, where the key hashes the
//! corpus fingerprint, [`SCHEMA_VERSION`] and tantivy's version: any change to the
//! documents, to how we index them, or to the on-disk format gives a new entry. An entry
//! is built in a temporary folder and renamed into place when complete, so a half-built
//! index is never opened; `corpus.json` inside it says what it holds.

use super::corpus::CorpusSource;
use super::extract::Document;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexWriter, TantivyDocument};

/// Bump when the schema, the tokenizer or the extraction rules change.
pub const SCHEMA_VERSION: u32 = 1;

/// The tokenizer: tantivy's `en_stem` (lower case, words over 40 bytes dropped, English
/// Snowball stemming), so that "collection" also finds "collections".
pub const TOKENIZER: &str = "en_stem";

/// Memory budget of the index writer, split over its threads.
const WRITER_MEMORY_BYTES: usize = 100_000_000;

/// What a cache entry holds, stored next to the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub schema_version: u32,
    pub tantivy_version: String,
    pub corpus_name: String,
    pub corpus_fingerprint: String,
    pub corpus_bytes: u64,
    pub documents: u64,
    pub build_duration_s: f64,
    pub built_at: String,
    /// The corpus's whole document count, when the index holds only its first
    /// `documents` (`--corpus-docs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset_of: Option<u64>,
}

pub struct Fields {
    pub title: Field,
    pub body: Field,
}

pub fn schema() -> (Schema, Fields) {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let mut builder = Schema::builder();
    // Only the title is stored: a hit returns its title, as a result list does.
    let title = builder.add_text_field(
        "title",
        TextOptions::default()
            .set_indexing_options(indexing.clone())
            .set_stored(),
    );
    let body = builder.add_text_field(
        "body",
        TextOptions::default().set_indexing_options(indexing),
    );
    (builder.build(), Fields { title, body })
}

/// The cache entry for `source` under `cache_root`, or for its first
/// `corpus_docs` documents: each subset has its own entry, so measuring one never
/// replaces the whole corpus's index (whose key is unchanged by subsets).
pub fn entry_dir(cache_root: &Path, source: &CorpusSource, corpus_docs: Option<u64>) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "hoeveel-search-index/{SCHEMA_VERSION}/tantivy-{}/{}",
        tantivy::version_string(),
        source.fingerprint
    ));
    if let Some(n) = corpus_docs {
        hasher.update(format!("/first-{n}"));
    }
    let key = crate::workload::fetch::verify::hex(&hasher.finalize());
    let name: String = source
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let subset = corpus_docs.map_or_else(String::new, |n| format!("-first{n}"));
    cache_root
        .join("search-index")
        .join(format!("{name}{subset}-{}", &key[..16]))
}

const META_FILE: &str = "corpus.json";

/// Opens the cached index at `dir` if it is complete and matches `source`; `None` when
/// it must be built. A damaged entry is removed so that it can be built again.
pub fn open_cached(
    dir: &Path,
    source: &CorpusSource,
) -> anyhow::Result<Option<(Index, IndexMeta)>> {
    if !dir.exists() {
        return Ok(None);
    }
    let usable = std::fs::read(dir.join(META_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<IndexMeta>(&bytes).ok())
        .filter(|meta| {
            meta.schema_version == SCHEMA_VERSION && meta.corpus_fingerprint == source.fingerprint
        })
        .and_then(|meta| Index::open_in_dir(dir).ok().map(|index| (index, meta)));
    if usable.is_none() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("removing the unusable index cache {}", dir.display()))?;
    }
    Ok(usable)
}

/// Builds the index of `documents` into `dir` (via a temporary sibling folder) and opens it.
pub fn build(
    dir: &Path,
    source: &CorpusSource,
    documents: &[Document],
    subset_of: Option<u64>,
) -> anyhow::Result<(Index, IndexMeta)> {
    let started = Instant::now();
    let parent = dir
        .parent()
        .with_context(|| format!("{} has no parent folder", dir.display()))?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("creating the index cache {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a build folder in {}", parent.display()))?;
    let (schema, fields) = schema();
    let index = Index::create_in_dir(staging.path(), schema)
        .with_context(|| format!("creating an index in {}", staging.path().display()))?;
    let mut writer: IndexWriter = index
        .writer(WRITER_MEMORY_BYTES)
        .context("starting the index writer")?;
    for doc in documents {
        let mut tantivy_doc = TantivyDocument::default();
        tantivy_doc.add_text(fields.title, &doc.title);
        tantivy_doc.add_text(fields.body, &doc.body);
        writer
            .add_document(tantivy_doc)
            .context("adding a document to the index")?;
    }
    writer.commit().context("committing the index")?;
    // One segment: the index is read-only from here on, and one segment answers fastest.
    let segments = index
        .searchable_segment_ids()
        .context("listing index segments")?;
    if segments.len() > 1 {
        writer
            .merge(&segments)
            .wait()
            .context("merging index segments")?;
    }
    writer
        .wait_merging_threads()
        .context("finishing index merges")?;
    drop(index);

    let meta = IndexMeta {
        schema_version: SCHEMA_VERSION,
        tantivy_version: tantivy::version_string().to_string(),
        corpus_name: source.name.clone(),
        corpus_fingerprint: source.fingerprint.clone(),
        corpus_bytes: source.size_bytes(),
        documents: documents.len() as u64,
        build_duration_s: started.elapsed().as_secs_f64(),
        built_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        subset_of,
    };
    let meta_path = staging.path().join(META_FILE);
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta)?)
        .with_context(|| format!("writing {}", meta_path.display()))?;

    let staged = staging.keep();
    match std::fs::rename(&staged, dir) {
        Ok(()) => {}
        // Another process finished the same index first: theirs is as good as ours.
        Err(_) if dir.join(META_FILE).is_file() => {
            let _ = std::fs::remove_dir_all(&staged);
        }
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(err)
                .with_context(|| format!("moving the built index to {}", dir.display()));
        }
    }
    let index =
        Index::open_in_dir(dir).with_context(|| format!("opening the index {}", dir.display()))?;
    Ok((index, meta))
}
