//! Queries per second of the built-in engine (tantivy BM25, top 10 with titles).
//!
//! Uses the real default corpus when it is already in the cache (`hoeveel-agent fetch
//! wiki-vital`), else a generated corpus of the same size, so the bench never downloads.
//! The index is built into a temporary folder, leaving the user's cache untouched.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hoeveel_agent::workload::fetch::{self, Artifact, verify};
use hoeveel_agent::workload::search::corpus::CorpusSource;
use hoeveel_agent::workload::search::engine::Engine;
use hoeveel_agent::workload::search::extract::Document;
use hoeveel_agent::workload::search::index;
use std::hint::black_box;

const QUERIES: [&str; 3] = [
    "photosynthesis",
    "waste collection",
    "history of the roman empire",
];

fn generated_corpus() -> Vec<Document> {
    const WORDS: [&str; 24] = [
        "waste",
        "collection",
        "history",
        "roman",
        "empire",
        "energy",
        "photosynthesis",
        "light",
        "plant",
        "river",
        "city",
        "music",
        "war",
        "science",
        "language",
        "mountain",
        "art",
        "trade",
        "king",
        "church",
        "sea",
        "star",
        "engine",
        "law",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64: a fixed, reproducible word stream.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        WORDS[(state % WORDS.len() as u64) as usize]
    };
    (0..10_033)
        .map(|i| Document {
            title: format!("Article {i} {}", next()),
            body: (0..100).map(|_| next()).collect::<Vec<_>>().join(" "),
        })
        .collect()
}

fn bench_search(c: &mut Criterion) {
    let cached = fetch::cached_path(Artifact::WikiVital, &fetch::cache_dir());
    let real = verify::check_cached(&cached, Artifact::WikiVital.spec().sha256)
        .is_ok_and(|state| state == verify::CacheState::Valid);
    let (label, source, documents) = if real {
        let source = CorpusSource::wiki_vital_at(cached).expect("corpus");
        let documents = source.load().expect("load corpus");
        ("wiki-vital", source, documents)
    } else {
        let source = CorpusSource {
            name: "generated".into(),
            licence: "generated".into(),
            files: Vec::new(),
            fingerprint: "generated".into(),
            skipped: Vec::new(),
        };
        ("generated", source, generated_corpus())
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = index::entry_dir(scratch.path(), &source, None);
    let (index, _) = index::build(&dir, &source, &documents, None).expect("build index");
    let engine = Engine::new(&index).expect("engine");

    let mut group = c.benchmark_group(format!("search/{label}/top10"));
    group.throughput(Throughput::Elements(1));
    for query in QUERIES {
        group.bench_function(query, |b| {
            b.iter(|| engine.search(black_box(query), 10).expect("search"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_search);
criterion_main!(benches);
