//! The built-in engine: BM25 ranking by tantivy over an opened index.

use super::index::{self, Fields};
use anyhow::Context;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::Value;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument};

/// A title match counts double: a query naming an article should find that article
/// before the articles that mention it.
pub const TITLE_BOOST: f32 = 2.0;

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub title: String,
    pub score: f32,
}

pub struct Engine {
    // Kept so that the searcher's segments stay open.
    _reader: IndexReader,
    searcher: Searcher,
    parser: QueryParser,
    fields: Fields,
}

impl Engine {
    pub fn new(index: &Index) -> anyhow::Result<Engine> {
        let (_, fields) = index::schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("opening an index reader")?;
        let searcher = reader.searcher();
        let mut parser = QueryParser::for_index(index, vec![fields.title, fields.body]);
        parser.set_field_boost(fields.title, TITLE_BOOST);
        Ok(Engine {
            _reader: reader,
            searcher,
            parser,
            fields,
        })
    }

    pub fn documents(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// The `top_k` best hits for `query`, titles fetched from the document store as a
    /// result page would show them. Query syntax errors are forgiven (a search box does
    /// not reject `C++`): the parts that parse are searched.
    pub fn search(&self, query: &str, top_k: usize) -> anyhow::Result<Vec<Hit>> {
        let (query, _syntax_errors) = self.parser.parse_query_lenient(query);
        let top = self
            .searcher
            .search(&query, &TopDocs::with_limit(top_k.max(1)).order_by_score())
            .context("searching the index")?;
        top.into_iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = self
                    .searcher
                    .doc(address)
                    .context("reading a hit from the document store")?;
                let title = doc
                    .get_first(self.fields.title)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                Ok(Hit { title, score })
            })
            .collect()
    }
}
