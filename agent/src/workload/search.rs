//! A plain search: the built-in BM25 engine over a corpus, or a search service
//! behind a URL (placeholder: being implemented).
