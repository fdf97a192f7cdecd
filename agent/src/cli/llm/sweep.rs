//! `hoeveel-agent llm --model A --model B …`: each model measured in turn under
//! the same settings and prompts, one record each, and one table at the end. A
//! model that cannot be loaded or measured is a row that says why; the others are
//! still measured.

use super::{Args, build};
use crate::cli::common;
use crate::run_loop;
use hoeveel_record::stats::Describe;
use hoeveel_record::{PerRequest, Record};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

/// One model's outcome.
enum Row {
    Measured {
        model: String,
        path: PathBuf,
        record: Box<Record>,
        code: u8,
    },
    Failed {
        model: String,
        reason: String,
    },
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let paths = record_paths(args)?;
    let interrupted = run_loop::install_interrupt_handler()?;
    let mut rows = Vec::with_capacity(args.models.len());
    for (i, (model, path)) in args.models.iter().zip(&paths).enumerate() {
        eprintln!(
            "hoeveel-agent: model {}/{}: {model}",
            i + 1,
            args.models.len()
        );
        let row = match build(args, Some(model))
            .and_then(|mut w| common::measure_into(&args.measure, path, w.as_mut()))
        {
            Ok((code, record)) => Row::Measured {
                model: model.clone(),
                path: path.clone(),
                record: Box::new(record),
                code,
            },
            Err(e) => {
                eprintln!("hoeveel-agent: {model} not measured: {e:#}");
                Row::Failed {
                    model: model.clone(),
                    reason: format!("{e:#}"),
                }
            }
        };
        rows.push(row);
        if interrupted.load(Ordering::SeqCst) {
            eprintln!("hoeveel-agent: interrupted; the models after this one are not measured");
            break;
        }
    }
    print!("{}", table(&rows));
    let code = rows
        .iter()
        .map(|r| match r {
            Row::Measured { code, .. } => *code,
            Row::Failed { .. } => 1,
        })
        .max()
        .unwrap_or(0);
    Ok(ExitCode::from(code))
}

/// One record per model: `--output` is then a folder (created), else `./runs`.
fn record_paths(args: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let folder = args.measure.output.clone();
    if let Some(folder) = &folder {
        // As the user who ran sudo, if one did: the folder and those above it
        // that are missing are theirs.
        crate::privilege::UserPaths::from_env()?
            .create_folders(folder)
            .map_err(|e| {
                anyhow::anyhow!(e).context(format!(
                    "--output {}: with several models it is a folder for their records, and it cannot be created",
                    folder.display()
                ))
            })?;
    }
    let mut seen = Vec::new();
    Ok(args
        .models
        .iter()
        .map(|model| {
            let mut slug = slug(model);
            // The same model twice (or two that slug alike) get their own records.
            let n = seen.iter().filter(|s: &&String| **s == slug).count();
            seen.push(slug.clone());
            if n > 0 {
                slug = format!("{slug}-{}", n + 1);
            }
            match &folder {
                // A folder used before keeps its records: new ones get new names.
                Some(f) => common::unused_name(&f.join(format!("llm-{slug}.jsonl"))),
                None => Path::new("runs").join(format!("llm-{slug}-{stamp}.jsonl")),
            }
        })
        .collect())
}

/// A file-name-safe form of a model name or path (`gemma3-270m`, `m.gguf` → `m`).
fn slug(model: &str) -> String {
    let name = match model.strip_suffix(".gguf") {
        Some(stem) => Path::new(stem)
            .file_name()
            .map_or_else(|| stem.to_string(), |s| s.to_string_lossy().into_owned()),
        None => model.to_string(),
    };
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if slug.is_empty() {
        "model".into()
    } else {
        slug
    }
}

fn mean_ci(values: &[f64], scale: f64, digits: usize) -> String {
    match Describe::of(values) {
        Some(d) => match (d.ci_low, d.ci_high) {
            (Some(lo), Some(hi)) => format!(
                "{:.digits$} ({:.digits$}–{:.digits$})",
                d.mean * scale,
                lo * scale,
                hi * scale
            ),
            _ => format!("{:.digits$}", d.mean * scale),
        },
        None => "–".into(),
    }
}

fn table(rows: &[Row]) -> String {
    let header = [
        "model",
        "status",
        "n",
        "energy/request J (95% CI)",
        "energy/output token mJ",
        "tokens/s",
        "first token ms",
        "provenance, basis",
    ];
    let mut lines: Vec<[String; 8]> = Vec::new();
    let mut notes = Vec::new();
    for row in rows {
        match row {
            Row::Measured {
                model,
                path,
                record,
                code,
            } => {
                let p = PerRequest::auto(record);
                lines.push([
                    model.clone(),
                    match code {
                        0 => "ok".into(),
                        3 => "degraded".into(),
                        _ => "failed".into(),
                    },
                    p.energy_j.len().to_string(),
                    mean_ci(&p.energy_j, 1.0, 3),
                    mean_ci(&p.energy_per_output_token_j, 1e3, 2),
                    mean_ci(&p.tokens_per_s, 1.0, 1),
                    mean_ci(&p.time_to_first_token_s, 1e3, 1),
                    format!(
                        "{}, {}",
                        p.provenance.map_or("none", |x| x.as_str()),
                        p.basis.name()
                    ),
                ]);
                notes.push(format!("{model}: {}", path.display()));
            }
            Row::Failed { model, reason } => {
                lines.push([
                    model.clone(),
                    "not measured".into(),
                    "0".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                ]);
                notes.push(format!("{model}: not measured: {reason}"));
            }
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .chain(std::iter::once(header[c].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let render = |cells: &[String]| {
        let mut line = String::from(" ");
        for (cell, w) in cells.iter().zip(&widths) {
            let pad = w.saturating_sub(cell.chars().count());
            line.push_str(&format!(" {cell}{}", " ".repeat(pad)));
            line.push(' ');
        }
        line.trim_end().to_string()
    };
    let mut out = String::from(
        "\nModels compared (same settings and prompts; per request, mean and 95% CI)\n",
    );
    out += &render(&header.map(String::from));
    out.push('\n');
    out += &render(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    out.push('\n');
    for l in &lines {
        out += &render(l);
        out.push('\n');
    }
    out.push_str("\n  Records:\n");
    for n in notes {
        out += &format!("    {n}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("gemma3-270m"), "gemma3-270m");
        assert_eq!(slug("/models/Qwen2.5 0.5B.gguf"), "Qwen2.5-0.5B");
        assert_eq!(slug("ollama:llama3.2:3b"), "ollama-llama3.2-3b");
    }
}
