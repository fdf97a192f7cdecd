//! The prompts an LLM workload asks: one question, or a set that repetitions
//! cycle through, so that a figure is an average over prompts rather than the
//! cost of one.
//!
//! A prompt file has one prompt per line (blank lines skipped), or is JSON Lines
//! with a string field `prompt` on every line (when its first non-blank line
//! starts with `{`). One set ships with hoeveel: `everyday`, 20 questions in the
//! workshop's domain (waste, energy, municipal services), written for this
//! project (`profiles/prompts/everyday.txt`).

use hoeveel_record::capped::{CappedError, read_file_text_at_most};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The shipped prompt set, by name.
pub const SHIPPED: [(&str, &str); 1] = [(
    "everyday",
    include_str!("../../../../profiles/prompts/everyday.txt"),
)];

/// Largest prompt file read: far above any prompt set, far below memory trouble.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a prompt with a NUL is refused where it is read rather than when it is
/// asked: neither llama.cpp's C strings nor a server's JSON carry it faithfully.
const NUL_IN_PROMPT: &str = "the prompt holds a NUL character (\\0), which no model is asked";

/// Where the prompts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--prompt TEXT`.
    Single,
    /// A shipped set, by name.
    Shipped(&'static str),
    /// A file.
    File(PathBuf),
    /// Text parsed under a name (a test's set).
    Text(String),
}

/// One prompt or several, asked in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSet {
    pub source: Source,
    prompts: Vec<String>,
    /// SHA-256 of the file or shipped text, so the record pins the set.
    sha256: Option<String>,
}

/// Why a prompt file cannot be used; each names the file and, where it applies,
/// the line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptsError {
    #[error("{path}: cannot read the prompt file: {message}")]
    Unreadable { path: String, message: String },
    /// Over [`MAX_FILE_BYTES`]; `bytes` is the file's size where it has one (a
    /// regular file), `None` for a pipe or device, read only to the cap plus one.
    #[error("{path}: {} is more than the {MAX_FILE_BYTES} bytes a prompt file may have", size_text(*.bytes))]
    TooLarge { path: String, bytes: Option<u64> },
    #[error("{path}: has no prompts (only blank lines)")]
    Empty { path: String },
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

impl PromptSet {
    pub fn single(prompt: &str) -> PromptSet {
        PromptSet {
            source: Source::Single,
            prompts: vec![prompt.to_string()],
            sha256: None,
        }
    }

    /// A shipped set's name (`everyday`), or a path to a prompt file.
    pub fn load(name_or_path: &str) -> Result<PromptSet, PromptsError> {
        if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            let mut set = PromptSet::parse(name, text)?;
            set.source = Source::Shipped(name);
            return Ok(set);
        }
        let path = Path::new(name_or_path);
        let shown = path.display().to_string();
        let unreadable = |e: std::io::Error| PromptsError::Unreadable {
            path: shown.clone(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no such file (the shipped sets are: {})",
                    SHIPPED.map(|(n, _)| n).join(", ")
                )
            } else {
                e.to_string()
            },
        };
        // Capped whatever the file is: a pipe or a device has no size to check.
        let text = read_file_text_at_most(path, MAX_FILE_BYTES).map_err(|e| match e {
            CappedError::TooLarge { size_bytes, .. } => PromptsError::TooLarge {
                path: shown.clone(),
                bytes: size_bytes,
            },
            CappedError::Io(e) => unreadable(e),
            not_utf8 @ CappedError::NotUtf8 { .. } => PromptsError::Unreadable {
                path: shown.clone(),
                message: not_utf8.to_string(),
            },
        })?;
        let mut set = PromptSet::parse(&shown, &text)?;
        set.source = Source::File(path.to_path_buf());
        Ok(set)
    }

    /// Parses a prompt file's text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<PromptSet, PromptsError> {
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty())
            .collect();
        let Some((_, first)) = lines.first() else {
            return Err(PromptsError::Empty {
                path: path.to_string(),
            });
        };
        let json_lines = first.starts_with('{');
        let mut prompts = Vec::with_capacity(lines.len());
        for (line, content) in lines {
            let at = |message: String| PromptsError::Line {
                path: path.to_string(),
                line,
                message,
            };
            if !json_lines {
                if content.contains('\0') {
                    return Err(at(NUL_IN_PROMPT.into()));
                }
                prompts.push(content.to_string());
                continue;
            }
            let value: Value = serde_json::from_str(content).map_err(|e| {
                at(format!(
                    "not JSON ({e}); a JSON Lines prompt file has one object with a `prompt` string on every line"
                ))
            })?;
            match value.get("prompt") {
                Some(Value::String(p)) if p.contains('\0') => {
                    return Err(at(NUL_IN_PROMPT.into()));
                }
                Some(Value::String(p)) if !p.trim().is_empty() => prompts.push(p.clone()),
                Some(Value::String(_)) => return Err(at("`prompt` is empty".into())),
                Some(_) => return Err(at("`prompt` is not a string".into())),
                None => return Err(at("no `prompt` field".into())),
            }
        }
        Ok(PromptSet {
            source: Source::Text(path.to_string()),
            prompts,
            sha256: Some(hex(&Sha256::digest(text.as_bytes()))),
        })
    }

    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    pub fn all(&self) -> &[String] {
        &self.prompts
    }

    /// The prompt of the `n`-th request (0-based): the set in turn, from the start
    /// again after its last prompt.
    pub fn nth(&self, n: u64) -> &str {
        &self.prompts[(n % self.prompts.len() as u64) as usize]
    }

    /// The `n`-th request's prompt, and its index when the set has several (what
    /// the record says of each request).
    pub fn turn(&self, n: u64) -> (&str, Option<u64>) {
        (
            self.nth(n),
            (self.prompts.len() > 1).then(|| self.index_of_nth(n)),
        )
    }

    /// Its index in the set for the `n`-th request.
    pub fn index_of_nth(&self, n: u64) -> u64 {
        n % self.prompts.len() as u64
    }

    /// What the label says: the prompt itself, or the set.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Single => self.prompts[0].clone(),
            Source::Shipped(name) => format!("{} prompts of the shipped set `{name}`", self.len()),
            Source::Text(name) => format!("{} prompts from {name}", self.len()),
            Source::File(path) => format!(
                "{} prompts from {}",
                self.len(),
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
        }
    }

    /// What the record's workload details say.
    pub fn to_json(&self) -> Value {
        match &self.source {
            Source::Single => json!(self.prompts[0]),
            source => json!({
                "set": match source {
                    Source::Shipped(name) => (*name).to_string(),
                    Source::File(path) => path.display().to_string(),
                    Source::Text(name) => name.clone(),
                    Source::Single => String::new(),
                },
                "count": self.len(),
                "sha256": self.sha256,
                "order": "repetitions (warm-ups included) take the prompts in turn, from the first again after the last",
                "prompts": self.prompts,
            }),
        }
    }
}

fn size_text(bytes: Option<u64>) -> String {
    match bytes {
        Some(bytes) => format!("{bytes} bytes"),
        None => "what it streams".to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_file_over_the_limit_is_refused_unread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.txt");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(1_000_000_000).expect("sparse");
        let err = PromptSet::load(path.to_str().expect("utf-8 path")).expect_err("too large");
        assert!(
            matches!(
                err,
                PromptsError::TooLarge {
                    bytes: Some(1_000_000_000),
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("huge.txt"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_with_no_size_is_read_only_to_the_cap() {
        // /dev/zero reports a size of 0 and streams without end: the size check
        // alone let it grow until memory ran out.
        let err = PromptSet::load("/dev/zero").expect_err("endless");
        assert!(
            matches!(err, PromptsError::TooLarge { bytes: None, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("/dev/zero"), "{err}");
    }

    #[test]
    fn a_nul_in_a_prompt_is_refused_with_its_file_and_line() {
        let err = PromptSet::parse("p.txt", "fine\nbad\0prompt\n").expect_err("NUL");
        assert!(matches!(err, PromptsError::Line { line: 2, .. }), "{err}");
        assert!(err.to_string().starts_with("p.txt:2: "), "{err}");
        let err = PromptSet::parse("p.jsonl", "{\"prompt\": \"a\\u0000b\"}\n").expect_err("NUL");
        assert!(matches!(err, PromptsError::Line { line: 1, .. }), "{err}");
    }

    #[test]
    fn plain_lines_are_prompts_and_blank_lines_are_skipped() {
        let set = PromptSet::parse("p.txt", "What is compost?\n\n  Who empties the bins?  \n")
            .expect("valid");
        assert_eq!(set.all(), ["What is compost?", "Who empties the bins?"]);
        assert_eq!(set.nth(0), "What is compost?");
        assert_eq!(set.nth(1), "Who empties the bins?");
        assert_eq!(set.nth(2), "What is compost?", "cycles");
        assert_eq!(set.index_of_nth(5), 1);
    }

    #[test]
    fn json_lines_take_the_prompt_field() {
        let set = PromptSet::parse(
            "p.jsonl",
            "{\"prompt\": \"What is a heat pump?\", \"id\": 1}\n{\"prompt\": \"Why sort glass?\"}\n",
        )
        .expect("valid");
        assert_eq!(set.all(), ["What is a heat pump?", "Why sort glass?"]);
    }

    #[test]
    fn an_empty_file_is_an_error_naming_it() {
        let err = PromptSet::parse("empty.txt", "\n \n").expect_err("empty");
        assert_eq!(
            err.to_string(),
            "empty.txt: has no prompts (only blank lines)"
        );
    }

    #[test]
    fn a_line_that_is_not_json_is_named_by_file_and_line() {
        let err =
            PromptSet::parse("p.jsonl", "{\"prompt\": \"ok\"}\n\nnot json\n").expect_err("bad");
        assert!(err.to_string().starts_with("p.jsonl:3: not JSON"), "{err}");
        let err = PromptSet::parse("p.jsonl", "{\"prompt\": \"ok\"}\n{\"text\": \"x\"}\n")
            .expect_err("no field");
        assert_eq!(err.to_string(), "p.jsonl:2: no `prompt` field");
        let err = PromptSet::parse("p.jsonl", "{\"prompt\": 3}\n").expect_err("not a string");
        assert_eq!(err.to_string(), "p.jsonl:1: `prompt` is not a string");
    }

    #[test]
    fn the_shipped_set_has_twenty_distinct_questions() {
        let set = PromptSet::load("everyday").expect("shipped");
        assert_eq!(set.len(), 20);
        let mut distinct = set.all().to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 20);
        assert!(set.all().iter().all(|p| p.ends_with('?')));
        assert_eq!(set.describe(), "20 prompts of the shipped set `everyday`");
    }

    #[test]
    fn a_missing_file_names_the_shipped_sets() {
        let err = PromptSet::load("/no/such/prompts.txt").expect_err("missing");
        assert_eq!(
            err.to_string(),
            "/no/such/prompts.txt: cannot read the prompt file: no such file (the shipped sets are: everyday)"
        );
    }
}
