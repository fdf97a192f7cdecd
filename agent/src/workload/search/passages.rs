//! The text an answer is written from: every document's body, by title.
//!
//! The index stores only titles (a hit returns what a results page shows), so
//! an AI search reads its passages from the corpus kept in memory, as a
//! retrieval system reads its document store. Documents are found by title; a
//! folder corpus with two documents of one title answers with the first.

use super::extract::Document;
use std::collections::HashMap;

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub title: String,
    pub text: String,
}

pub struct PassageStore {
    documents: Vec<Document>,
    by_title: HashMap<String, usize>,
}

impl PassageStore {
    pub fn new(documents: Vec<Document>) -> PassageStore {
        let mut by_title = HashMap::with_capacity(documents.len());
        for (i, doc) in documents.iter().enumerate() {
            by_title.entry(doc.title.clone()).or_insert(i);
        }
        PassageStore {
            documents,
            by_title,
        }
    }

    /// The document titled `title`, as a passage.
    pub fn passage(&self, title: &str) -> Option<Passage> {
        let doc = &self.documents[*self.by_title.get(title)?];
        Some(Passage {
            title: doc.title.clone(),
            text: doc.body.clone(),
        })
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, body: &str) -> Document {
        Document {
            title: title.into(),
            body: body.into(),
        }
    }

    #[test]
    fn passages_are_found_by_title_and_the_first_of_two_wins() {
        let store = PassageStore::new(vec![
            doc("Compost", "Garden waste rots."),
            doc("Glass", "Bottles go to the bank."),
            doc("Compost", "A later duplicate."),
        ]);
        assert_eq!(store.len(), 3);
        assert_eq!(
            store.passage("Compost").map(|p| p.text),
            Some("Garden waste rots.".to_string())
        );
        assert_eq!(store.passage("Paper"), None);
    }
}
