//! Reads and checks a GGUF file's header before llama.cpp sees it.
//!
//! llama.cpp rejects most damaged files with an error, but some corruptions make it
//! abort the whole process (an `GGML_ASSERT` in the loader), which would take an
//! already-written record down with it. So the agent walks the header itself first:
//! magic, version, every key/value pair and every tensor description, with each
//! length checked against the file size. What it learns on the way (architecture,
//! name, file type, parameter count) also identifies the model in the record
//! before the model is loaded.
//!
//! Format: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// `GGUF` as it appears in the first four bytes of the file.
const MAGIC: [u8; 4] = *b"GGUF";
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
/// `general.alignment` when the file does not set it (gguf.md, "File Structure").
const DEFAULT_ALIGNMENT: u64 = 32;
/// No key or string value in a real model comes near this; a larger length is damage.
const MAX_STRING_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a GGUF file (it starts with {found:02x?}, a GGUF file starts with \"GGUF\")")]
    NotGguf { found: Vec<u8> },
    #[error("GGUF version {0} is not supported (versions 2 and 3 are)")]
    UnsupportedVersion(u32),
    #[error("damaged GGUF header: {0}")]
    Damaged(String),
}

/// What the header says about the model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GgufHeader {
    pub version: u32,
    pub tensor_count: u64,
    pub kv_count: u64,
    /// `general.architecture`, e.g. `llama`, `gemma3`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.file_type`: llama.cpp's `llama_ftype`, see [`file_type_name`].
    pub file_type: Option<u32>,
    /// `<architecture>.context_length`: the context the model was trained with.
    pub context_length: Option<u64>,
    /// Whether `tokenizer.chat_template` is present.
    pub has_chat_template: bool,
    /// Sum over tensors of the product of their dimensions.
    pub parameters: u64,
}

/// Reads and checks the header of the GGUF file at `path`.
pub fn read_header(path: &Path) -> Result<GgufHeader, GgufError> {
    let file = File::open(path)?;
    let file_len_bytes = file.metadata()?.len();
    read_header_from(BufReader::new(file), file_len_bytes)
}

/// Reads and checks a GGUF header from `input`, positioned at the start of a file
/// of length `file_len_bytes` (which bounds every count and offset in the header).
pub fn read_header_from(
    input: impl Read + Seek,
    file_len_bytes: u64,
) -> Result<GgufHeader, GgufError> {
    let mut reader = Reader {
        inner: input,
        pos: 0,
        file_len_bytes,
    };
    reader.header()
}

/// Name of a `general.file_type` value: llama.cpp's `enum llama_ftype` in `include/llama.h`.
pub fn file_type_name(file_type: u32) -> Option<&'static str> {
    Some(match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => return None,
    })
}

/// GGUF value types (gguf.md, `gguf_metadata_value_type`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// Size of a fixed-size value; `None` for strings and arrays.
    fn fixed_size(self) -> Option<u64> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }
}

/// A value the agent keeps; everything else is skipped after its length is checked.
enum Value {
    Unsigned(u64),
    Text(String),
    Other,
}

struct Reader<R> {
    inner: R,
    pos: u64,
    file_len_bytes: u64,
}

impl<R: Read + Seek> Reader<R> {
    fn header(&mut self) -> Result<GgufHeader, GgufError> {
        let mut magic = [0u8; 4];
        if self.file_len_bytes < 4 {
            let mut found = Vec::new();
            self.inner.read_to_end(&mut found)?;
            return Err(GgufError::NotGguf { found });
        }
        self.inner.read_exact(&mut magic)?;
        self.pos = 4;
        if magic != MAGIC {
            return Err(GgufError::NotGguf {
                found: magic.to_vec(),
            });
        }
        let version = self.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = self.u64("tensor count")?;
        let kv_count = self.u64("key/value count")?;
        // Each key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes,
        // each tensor description at least 8 + 4 + 4 + 8 bytes.
        self.plausible_count(kv_count, 13, "key/value count")?;
        self.plausible_count(tensor_count, 24, "tensor count")?;

        let mut header = GgufHeader {
            version,
            tensor_count,
            kv_count,
            ..GgufHeader::default()
        };
        let mut alignment = DEFAULT_ALIGNMENT;
        let mut context_lengths: Vec<(String, u64)> = Vec::new();
        for index in 0..kv_count {
            let key = self.string(&format!("key of pair {index}"))?;
            let type_id = self.u32(&format!("type of `{key}`"))?;
            let value_type = ValueType::from_id(type_id).ok_or_else(|| {
                GgufError::Damaged(format!("`{key}` has unknown value type {type_id}"))
            })?;
            let value = self.value(value_type, &key)?;
            match (key.as_str(), value) {
                ("general.architecture", Value::Text(text)) => header.architecture = Some(text),
                ("general.name", Value::Text(text)) => header.name = Some(text),
                ("general.file_type", Value::Unsigned(n)) => {
                    header.file_type = u32::try_from(n).ok();
                }
                ("general.alignment", Value::Unsigned(n)) => {
                    if n == 0 || !n.is_power_of_two() {
                        return Err(GgufError::Damaged(format!(
                            "general.alignment is {n}, not a power of two"
                        )));
                    }
                    alignment = n;
                }
                ("tokenizer.chat_template", _) => header.has_chat_template = true,
                (other, Value::Unsigned(n)) if other.ends_with(".context_length") => {
                    context_lengths.push((other.to_string(), n));
                }
                _ => {}
            }
        }
        if let Some(arch) = &header.architecture {
            let wanted = format!("{arch}.context_length");
            header.context_length = context_lengths
                .iter()
                .find(|(key, _)| *key == wanted)
                .map(|(_, n)| *n);
        }

        let mut tensor_ends: Vec<(String, u64)> = Vec::new();
        for index in 0..tensor_count {
            let name = self.string(&format!("name of tensor {index}"))?;
            let n_dims = self.u32(&format!("dimension count of tensor `{name}`"))?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(GgufError::Damaged(format!(
                    "tensor `{name}` has {n_dims} dimensions (1 to {MAX_DIMS} are possible)"
                )));
            }
            let mut elements: u64 = 1;
            for _ in 0..n_dims {
                let dim = self.u64(&format!("a dimension of tensor `{name}`"))?;
                elements = elements.checked_mul(dim).ok_or_else(|| {
                    GgufError::Damaged(format!("tensor `{name}` has an impossible size"))
                })?;
            }
            let _ggml_type = self.u32(&format!("type of tensor `{name}`"))?;
            let offset = self.u64(&format!("offset of tensor `{name}`"))?;
            header.parameters = header.parameters.saturating_add(elements);
            tensor_ends.push((name, offset));
        }
        let data_start = self.pos.div_ceil(alignment) * alignment;
        for (name, offset) in tensor_ends {
            let start = data_start.checked_add(offset);
            if start.is_none_or(|start| start >= self.file_len_bytes) {
                return Err(GgufError::Damaged(format!(
                    "tensor `{name}` starts at byte {data_start} + {offset}, past the end of the \
                     {}-byte file (truncated download?)",
                    self.file_len_bytes
                )));
            }
        }
        Ok(header)
    }

    fn plausible_count(&self, count: u64, min_bytes: u64, what: &str) -> Result<(), GgufError> {
        let remaining = self.file_len_bytes.saturating_sub(self.pos);
        if count.saturating_mul(min_bytes) > remaining {
            return Err(GgufError::Damaged(format!(
                "{what} {count} cannot fit in the {remaining} bytes that follow"
            )));
        }
        Ok(())
    }

    fn value(&mut self, value_type: ValueType, key: &str) -> Result<Value, GgufError> {
        Ok(match value_type {
            ValueType::U8 => Value::Unsigned(u64::from(self.bytes::<1>(key)?[0])),
            ValueType::U16 => Value::Unsigned(u64::from(u16::from_le_bytes(self.bytes(key)?))),
            ValueType::U32 => Value::Unsigned(u64::from(self.u32(key)?)),
            ValueType::U64 => Value::Unsigned(self.u64(key)?),
            ValueType::I32 => {
                let n = i32::from_le_bytes(self.bytes(key)?);
                u64::try_from(n).map_or(Value::Other, Value::Unsigned)
            }
            ValueType::String => Value::Text(self.string(key)?),
            ValueType::Array => {
                let element_id = self.u32(key)?;
                let element_type = ValueType::from_id(element_id).ok_or_else(|| {
                    GgufError::Damaged(format!("`{key}` is an array of unknown type {element_id}"))
                })?;
                let count = self.u64(key)?;
                match element_type.fixed_size() {
                    Some(size) => {
                        let total = count.checked_mul(size).ok_or_else(|| {
                            GgufError::Damaged(format!("`{key}` has an impossible length"))
                        })?;
                        self.skip(total, key)?;
                    }
                    None if element_type == ValueType::String => {
                        self.plausible_count(count, 8, key)?;
                        for _ in 0..count {
                            let len = self.u64(key)?;
                            self.skip(len, key)?;
                        }
                    }
                    None => {
                        return Err(GgufError::Damaged(format!(
                            "`{key}` is an array of arrays, which GGUF does not allow"
                        )));
                    }
                }
                Value::Other
            }
            other => {
                let size = other.fixed_size().unwrap_or(0);
                self.skip(size, key)?;
                Value::Other
            }
        })
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        self.ensure_remaining(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf)?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        if len > MAX_STRING_BYTES {
            return Err(GgufError::Damaged(format!(
                "{what}: a string of {len} bytes"
            )));
        }
        self.ensure_remaining(len, what)?;
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        self.inner.read_exact(&mut buf)?;
        self.pos += len;
        String::from_utf8(buf).map_err(|_| GgufError::Damaged(format!("{what} is not valid UTF-8")))
    }

    fn skip(&mut self, len: u64, what: &str) -> Result<(), GgufError> {
        self.ensure_remaining(len, what)?;
        let offset = i64::try_from(len)
            .map_err(|_| GgufError::Damaged(format!("{what}: a length of {len} bytes")))?;
        self.inner.seek_relative(offset)?;
        self.pos += len;
        Ok(())
    }

    fn ensure_remaining(&self, len: u64, what: &str) -> Result<(), GgufError> {
        if self.pos.saturating_add(len) > self.file_len_bytes {
            return Err(GgufError::Damaged(format!(
                "{what} runs past the end of the {}-byte file at byte {} (truncated download?)",
                self.file_len_bytes, self.pos
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds a small, valid GGUF v3 file: two key/value pairs and two tensors.
    pub(crate) fn tiny_gguf() -> Vec<u8> {
        fn string(out: &mut Vec<u8>, text: &str) {
            out.extend_from_slice(&(text.len() as u64).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let mut out = Vec::new();
        out.extend_from_slice(b"GGUF");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&2u64.to_le_bytes()); // tensors
        out.extend_from_slice(&4u64.to_le_bytes()); // key/value pairs
        string(&mut out, "general.architecture");
        out.extend_from_slice(&8u32.to_le_bytes());
        string(&mut out, "llama");
        string(&mut out, "general.file_type");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&3u32.to_le_bytes());
        string(&mut out, "llama.context_length");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&2048u32.to_le_bytes());
        string(&mut out, "tokenizer.ggml.tokens");
        out.extend_from_slice(&9u32.to_le_bytes());
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&2u64.to_le_bytes());
        string(&mut out, "a");
        string(&mut out, "bc");
        for (name, dims, offset) in [("w1", vec![4u64, 8], 0u64), ("w2", vec![16], 128)] {
            string(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&0u32.to_le_bytes()); // F32
            out.extend_from_slice(&offset.to_le_bytes());
        }
        while out.len() % 32 != 0 {
            out.push(0);
        }
        out.extend(std::iter::repeat_n(0u8, 4 * (32 + 16)));
        out
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(bytes).expect("write");
        file
    }

    #[test]
    fn reads_a_valid_header() {
        let file = write(&tiny_gguf());
        let header = read_header(file.path()).expect("valid");
        assert_eq!(header.version, 3);
        assert_eq!(header.architecture.as_deref(), Some("llama"));
        assert_eq!(header.file_type.and_then(file_type_name), Some("Q4_1"));
        assert_eq!(header.context_length, Some(2048));
        assert_eq!(header.parameters, 4 * 8 + 16);
        assert!(!header.has_chat_template);
    }

    #[test]
    fn refuses_a_file_that_is_not_gguf() {
        let file = write(b"<html>not found</html>");
        let err = read_header(file.path()).expect_err("not gguf");
        assert!(matches!(err, GgufError::NotGguf { .. }), "{err}");
        let empty = write(b"");
        assert!(matches!(
            read_header(empty.path()),
            Err(GgufError::NotGguf { .. })
        ));
    }

    #[test]
    fn refuses_an_unknown_version() {
        let mut bytes = tiny_gguf();
        bytes[4..8].copy_from_slice(&99u32.to_le_bytes());
        let err = read_header(write(&bytes).path()).expect_err("bad version");
        assert!(matches!(err, GgufError::UnsupportedVersion(99)), "{err}");
    }

    #[test]
    fn refuses_every_truncation_of_the_header() {
        let bytes = tiny_gguf();
        for len in [8, 20, 30, 60, 100, 150, 200] {
            let err = read_header(write(&bytes[..len]).path()).expect_err("truncated");
            assert!(matches!(err, GgufError::Damaged(_)), "len {len}: {err}");
        }
        // Header intact but tensor data cut off.
        let cut = bytes.len() - 4 * 32;
        let err = read_header(write(&bytes[..cut]).path()).expect_err("data cut");
        assert!(err.to_string().contains("past the end"), "{err}");
    }

    #[test]
    fn refuses_absurd_counts_and_lengths() {
        let mut bytes = tiny_gguf();
        bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = read_header(write(&bytes).path()).expect_err("kv count");
        assert!(err.to_string().contains("key/value count"), "{err}");

        let mut bytes = tiny_gguf();
        bytes[24..32].copy_from_slice(&(1u64 << 62).to_le_bytes());
        let err = read_header(write(&bytes).path()).expect_err("key length");
        assert!(matches!(err, GgufError::Damaged(_)), "{err}");
    }
}
