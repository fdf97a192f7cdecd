//! LLM requests to an OpenAI-compatible server: `POST <endpoint>/chat/completions`
//! (llama.cpp's `llama-server`, llama-cpp-python, vLLM, LM Studio, ...), streamed
//! as server-sent events (`data: {chunk}` lines, ending with `data: [DONE]`) or not.
//!
//! Token counts come from the answer's `usage`. When streaming, the request asks
//! for `stream_options: {"include_usage": true}`, but some servers (llama-cpp-python
//! among them) send no usage in a stream at all. Then the output tokens are counted
//! as the content chunks received (these servers send one token per chunk) and the
//! record says so: `details.output_tokens_source` is `content chunks`, and the
//! prompt token count is left out rather than guessed.
//!
//! `prepare` sends one unmeasured one-token request: it checks that the server
//! answers for this model before anything is measured, and learns whether the
//! server reports usage when streaming, for the record.

use super::concurrent;
use super::http::{self, Lines};
use super::prompts::PromptSet;
use super::{Chat, Generation, Sampling, decode_rate, label};
use crate::workload::{Outcome, RunContext, Workload, WorkloadError};
use hoeveel_record::{Probe, WorkloadInfo, WorkloadKind};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The API base, e.g. `http://127.0.0.1:8080/v1`.
    pub endpoint: String,
    /// The server's model name.
    pub model: String,
    pub prompts: PromptSet,
    /// Measure prefill probes (`max_tokens` 1) after the requests.
    pub split_prefill: bool,
    /// Requests sent at once per repetition (1: one request per repetition).
    pub concurrency: u32,
    /// Mark the steady state of the concurrent requests (`--protocol ml-energy`).
    pub steady_state: bool,
    pub sampling: Sampling,
    pub stream: bool,
    pub timeout_s: f64,
}

/// Where the output token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `usage.completion_tokens`, reported by the server.
    Usage,
    /// The number of streamed chunks with content: the server sent no usage.
    ContentChunks,
}

impl TokenSource {
    fn describe(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage.completion_tokens (server-reported)",
            TokenSource::ContentChunks => {
                "content chunks: the server sent no usage in its stream, so each streamed chunk \
                 with content is counted as one token (prompt tokens unknown)"
            }
        }
    }
}

pub struct OpenAiClient {
    settings: Settings,
    agent: ureq::Agent,
    url: String,
    /// Learnt from the answers; `None` until the first one.
    token_source: Option<TokenSource>,
    /// Requests made so far (warm-ups included): which prompt comes next.
    requests: u64,
}

/// What one answer gave.
struct Answer {
    generation: Generation,
    source: TokenSource,
}

impl OpenAiClient {
    pub fn new(mut settings: Settings) -> anyhow::Result<Self> {
        settings.endpoint = http::normalise_endpoint(&settings.endpoint)?;
        if settings.sampling.max_tokens == 0 {
            anyhow::bail!("--max-tokens must be at least 1");
        }
        let url = if settings.endpoint.ends_with("/chat/completions") {
            settings.endpoint.clone()
        } else {
            format!("{}/chat/completions", settings.endpoint)
        };
        Ok(Self {
            agent: http::agent(settings.timeout_s),
            url,
            settings,
            token_source: None,
            requests: 0,
        })
    }

    pub fn token_source(&self) -> Option<TokenSource> {
        self.token_source
    }

    /// A server that changes its mind mid-run: the record says the weaker source.
    fn note_token_source(&mut self, source: TokenSource) {
        if self.token_source != Some(source)
            && (source == TokenSource::ContentChunks || self.token_source.is_none())
        {
            self.token_source = Some(source);
        }
    }

    fn request_body(&self, prompt: &str, max_tokens: u32) -> Value {
        let s = &self.settings;
        let mut body = json!({
            "model": s.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": s.sampling.temperature,
            "seed": s.sampling.seed,
            "stream": s.stream,
        });
        if s.stream
            && let Some(map) = body.as_object_mut()
        {
            map.insert("stream_options".into(), json!({"include_usage": true}));
        }
        body
    }

    /// The next prompt of the set, as one request of at most `max_tokens`; with
    /// the prompt's index when the set has several.
    fn ask(
        &mut self,
        max_tokens: u32,
        ctx: &RunContext<'_>,
    ) -> Result<(Answer, Option<u64>), WorkloadError> {
        let n = self.requests;
        self.requests += 1;
        let (prompt, index) = self.settings.prompts.turn(n);
        Ok((self.request(prompt, max_tokens, ctx, &|| ())?, index))
    }

    /// One request; `on_token` is called at every streamed content chunk.
    fn request(
        &self,
        prompt: &str,
        max_tokens: u32,
        ctx: &RunContext<'_>,
        on_token: &dyn Fn(),
    ) -> Result<Answer, WorkloadError> {
        let start = Instant::now();
        let response = http::post_json(
            &self.agent,
            &self.url,
            &self.request_body(prompt, max_tokens),
        )?;
        let mut lines = Lines::new(response, &self.url);
        if !self.settings.stream {
            let (text, usage) = parse_answer(&self.url, &lines.rest()?)?;
            let end_s = start.elapsed().as_secs_f64();
            return Ok(Answer {
                generation: Generation {
                    prompt_tokens: usage.prompt_tokens,
                    output_tokens: Some(usage.completion_tokens),
                    time_to_first_token_s: None,
                    // Without streaming only the whole request is timed.
                    tokens_per_s: (end_s > 0.0).then(|| usage.completion_tokens as f64 / end_s),
                    response_bytes: Some(lines.bytes),
                    text,
                },
                source: TokenSource::Usage,
            });
        }

        let mut stream = Stream::default();
        let mut first_token_s = None;
        let mut last_token_s = None;
        while let Some(line) = lines.next_line()? {
            if ctx.interrupted.load(Ordering::Relaxed) {
                return Err(WorkloadError::Interrupted);
            }
            if stream.push_line(&self.url, &line)? {
                on_token();
                if stream.chunks > http::streamed_token_cap(max_tokens) {
                    return Err(http::too_many_tokens(&self.url, max_tokens));
                }
                let now_s = start.elapsed().as_secs_f64();
                first_token_s.get_or_insert(now_s);
                last_token_s = Some(now_s);
            }
            if stream.finished {
                break;
            }
        }
        let tokens = stream.tokens(&self.url, lines.bytes)?;
        let tokens_per_s = match (first_token_s, last_token_s) {
            (Some(first), Some(last)) => decode_rate(tokens.output_tokens, first, last),
            _ => None,
        };
        Ok(Answer {
            generation: Generation {
                prompt_tokens: tokens.prompt_tokens,
                output_tokens: Some(tokens.output_tokens),
                time_to_first_token_s: first_token_s,
                tokens_per_s,
                response_bytes: Some(lines.bytes),
                text: stream.text,
            },
            source: tokens.source,
        })
    }
}

/// The content and the usage of a whole (not streamed) answer from `url`.
pub fn parse_answer(url: &str, body: &str) -> Result<(String, Usage), WorkloadError> {
    let object = http::parse_object(url, body)?;
    let text = object
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let usage = Usage::of(&object).ok_or_else(|| {
        http::failed(format!(
            "{url} answered without `usage`, so the tokens cannot be counted"
        ))
    })?;
    http::check_served(url, &text, finish_reason(&object).as_deref(), &SERVED)?;
    Ok((text, usage))
}

/// The first choice's `finish_reason`, when the object gives one.
fn finish_reason(object: &Value) -> Option<String> {
    object
        .pointer("/choices/0/finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A streamed answer, taken in one server-sent-event line at a time.
#[derive(Debug, Default)]
pub struct Stream {
    pub text: String,
    /// Chunks with content.
    pub chunks: u64,
    /// The last usage the stream reported.
    pub usage: Option<Usage>,
    /// `data: [DONE]` has arrived: nothing after it is read.
    pub finished: bool,
    /// The last `finish_reason` the stream gave (`stop`, `length`, …).
    pub finish_reason: Option<String>,
}

/// The finish reasons of an answer served whole.
pub const SERVED: [&str; 2] = ["stop", "length"];

/// The token counts of a streamed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTokens {
    pub prompt_tokens: Option<u64>,
    pub output_tokens: u64,
    pub source: TokenSource,
}

impl Stream {
    /// Takes one line of the stream from `url`, without its line ending; `true`
    /// when it carried content.
    pub fn push_line(&mut self, url: &str, line: &str) -> Result<bool, WorkloadError> {
        // Server-sent events: only `data:` lines matter (comments, `event:` and
        // blank separators do not).
        let Some(data) = line.strip_prefix("data:") else {
            return Ok(false);
        };
        let data = data.trim();
        if data == "[DONE]" {
            self.finished = true;
            return Ok(false);
        }
        let object = http::parse_object(url, data)?;
        let mut content = false;
        if let Some(piece) = object
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            content = true;
            self.chunks += 1;
            self.text.push_str(piece);
        }
        if let Some(found) = Usage::of(&object) {
            self.usage = Some(found);
        }
        if let Some(reason) = finish_reason(&object) {
            self.finish_reason = Some(reason);
        }
        Ok(content)
    }

    /// The token counts, from the usage when the server sent one, else from the
    /// content chunks; fails when the stream did not end with `data: [DONE]`
    /// (`bytes` received, for the message).
    pub fn tokens(&self, url: &str, bytes: u64) -> Result<StreamTokens, WorkloadError> {
        if !self.finished {
            return Err(http::failed(format!(
                "the stream from {url} ended without `data: [DONE]`, after {bytes} bytes"
            )));
        }
        http::check_served(url, &self.text, self.finish_reason.as_deref(), &SERVED)?;
        Ok(match self.usage {
            Some(u) => StreamTokens {
                prompt_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
                source: TokenSource::Usage,
            },
            None => StreamTokens {
                prompt_tokens: None,
                output_tokens: self.chunks,
                source: TokenSource::ContentChunks,
            },
        })
    }
}

/// An answer's `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: u64,
}

impl Usage {
    fn of(object: &Value) -> Option<Self> {
        let usage = object.get("usage")?;
        Some(Self {
            prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_u64),
            completion_tokens: usage.get("completion_tokens").and_then(Value::as_u64)?,
        })
    }
}

impl Chat for OpenAiClient {
    fn chat(&mut self, prompt: &str, ctx: &RunContext<'_>) -> Result<Generation, WorkloadError> {
        let answer = self.request(prompt, self.settings.sampling.max_tokens, ctx, &|| ())?;
        self.note_token_source(answer.source);
        Ok(answer.generation)
    }
}

impl Workload for OpenAiClient {
    fn info(&self) -> WorkloadInfo {
        let s = &self.settings;
        let source = match self.token_source {
            Some(source) => source.describe(),
            None if s.stream => {
                "usage.completion_tokens if the server sends it in the stream, else content chunks"
            }
            None => TokenSource::Usage.describe(),
        };
        WorkloadInfo {
            kind: WorkloadKind::Llm,
            label: label("OpenAI-compatible server", &s.model, &s.prompts),
            batching: (s.concurrency > 1).then(|| {
                format!(
                    "{} requests sent to the server at once per repetition (one thread each); energy per request = repetition energy / {}",
                    s.concurrency, s.concurrency
                )
            }),
            details: json!({
                "engine": "OpenAI-compatible server (/chat/completions)",
                "endpoint": s.endpoint,
                "url": self.url,
                "model": s.model,
                "stream": s.stream,
                "sampling": s.sampling.to_json(),
                "prompt": s.prompts.to_json(),
                "concurrency": s.concurrency,
                "protocol": s.steady_state.then_some("ml-energy"),
                "timeout_s": s.timeout_s,
                "output_tokens_source": source,
                "metrics": {
                    "time_to_first_token_s": if s.stream { "client clock: request sent to first content chunk" } else { "not measured without --stream" },
                    "tokens_per_s": if s.stream { "(output_tokens - 1) / (last content chunk - first content chunk)" } else { "output_tokens / whole request (prompt evaluation included)" },
                },
                "energy_scope": "this machine: the agent's client and the server, when the server runs here",
            }),
        }
    }

    fn prepare(&mut self) -> anyhow::Result<()> {
        let never = std::sync::atomic::AtomicBool::new(false);
        let ctx = RunContext::new(&never);
        let first = self.settings.prompts.nth(0).to_string();
        let answer = self.request(&first, 1, &ctx, &|| ()).map_err(|e| {
            anyhow::anyhow!(
                "the server at {} did not answer a first request for model `{}`: {e}",
                self.settings.endpoint,
                self.settings.model
            )
        })?;
        self.token_source = Some(answer.source);
        Ok(())
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        if self.settings.concurrency > 1 {
            let (first, n) = (self.requests, self.settings.concurrency);
            self.requests += u64::from(n);
            let max_tokens = self.settings.sampling.max_tokens;
            let this = &*self;
            let steady = this.settings.steady_state;
            return concurrent::ask_set(
                &this.settings.prompts,
                first,
                n,
                steady,
                ctx,
                |prompt, on_token| {
                    this.request(prompt, max_tokens, ctx, on_token)
                        .map(|a| a.generation)
                },
            );
        }
        let (answer, index) = self.ask(self.settings.sampling.max_tokens, ctx)?;
        self.note_token_source(answer.source);
        Ok(answer.generation.into_outcome(index))
    }

    fn probe(&self) -> Option<Probe> {
        self.settings.split_prefill.then_some(Probe::Prefill)
    }

    fn run_probe(&mut self, probe: Probe, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let Probe::Prefill = probe;
        let (answer, index) = self.ask(1, ctx)?;
        Ok(answer.generation.into_outcome(index))
    }
}
