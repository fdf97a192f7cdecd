//! LLM requests to an Ollama server through its native API
//! (<https://github.com/ollama/ollama/blob/main/docs/api.md>): `POST /api/chat`, or
//! `POST /api/generate` with `--generate`, streamed (NDJSON, one object per line,
//! the last with `"done": true`) or not.
//!
//! Token counts are the server's own: `prompt_eval_count` and `eval_count`; the
//! decode rate is `eval_count / eval_duration` (nanoseconds), also the server's.
//! Time to first token needs streaming: the client's clock at the first
//! non-empty piece of content.
//!
//! `prepare` loads the model into the server's memory with an empty
//! `/api/generate` request (the API's documented way to load a model), so the
//! first measured request is not a cold start (measured as `model_load` with
//! `--include-load`).

use super::concurrent;
use super::http::{self, Lines};
use super::prompts::PromptSet;
use super::{Chat, Generation, Sampling, label};
use crate::workload::{Outcome, RunContext, Workload, WorkloadError};
use hoeveel_record::{Probe, WorkloadInfo, WorkloadKind};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `http://host:port`, without `/api`.
    pub endpoint: String,
    /// The server's model name, e.g. `llama3.2:3b`.
    pub model: String,
    pub prompts: PromptSet,
    /// Measure prefill probes (`num_predict` 1) after the requests.
    pub split_prefill: bool,
    /// Requests sent at once per repetition (1: one request per repetition).
    pub concurrency: u32,
    /// Mark the steady state of the concurrent requests (`--protocol ml-energy`).
    pub steady_state: bool,
    pub sampling: Sampling,
    pub stream: bool,
    /// `/api/generate` (raw prompt, the server applies the template) instead of `/api/chat`.
    pub generate: bool,
    /// `num_ctx`, when given.
    pub context_tokens: Option<u32>,
    /// `num_thread`, when given.
    pub threads: Option<u32>,
    pub include_load: bool,
    pub timeout_s: f64,
}

pub struct OllamaClient {
    settings: Settings,
    agent: ureq::Agent,
    url: String,
    /// Requests made so far (warm-ups included): which prompt comes next.
    requests: u64,
}

impl OllamaClient {
    pub fn new(mut settings: Settings) -> anyhow::Result<Self> {
        settings.endpoint = http::normalise_endpoint(&settings.endpoint)?;
        if settings.sampling.max_tokens == 0 {
            anyhow::bail!("--max-tokens must be at least 1");
        }
        let path = if settings.generate {
            "/api/generate"
        } else {
            "/api/chat"
        };
        let url = format!("{}{path}", settings.endpoint);
        Ok(Self {
            agent: http::agent(settings.timeout_s),
            url,
            settings,
            requests: 0,
        })
    }

    fn options(&self, max_tokens: u32) -> Value {
        let s = &self.settings;
        let mut options = json!({
            "temperature": s.sampling.temperature,
            "seed": s.sampling.seed,
            "num_predict": max_tokens,
        });
        if let Some(map) = options.as_object_mut() {
            if let Some(n) = s.context_tokens {
                map.insert("num_ctx".into(), json!(n));
            }
            if let Some(n) = s.threads {
                map.insert("num_thread".into(), json!(n));
            }
        }
        options
    }

    fn request_body(&self, prompt: &str, max_tokens: u32) -> Value {
        let s = &self.settings;
        if s.generate {
            json!({
                "model": s.model,
                "prompt": prompt,
                "stream": s.stream,
                "options": self.options(max_tokens),
            })
        } else {
            json!({
                "model": s.model,
                "messages": [{"role": "user", "content": prompt}],
                "stream": s.stream,
                "options": self.options(max_tokens),
            })
        }
    }

    /// The next prompt of the set, as one request of at most `max_tokens`.
    fn ask(&mut self, max_tokens: u32, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let n = self.requests;
        self.requests += 1;
        let (prompt, index) = self.settings.prompts.turn(n);
        self.request(prompt, max_tokens, ctx, &|| ())
            .map(|g| g.into_outcome(index))
    }

    /// One request; `on_token` is called at every streamed piece of content.
    fn request(
        &self,
        prompt: &str,
        max_tokens: u32,
        ctx: &RunContext<'_>,
        on_token: &dyn Fn(),
    ) -> Result<Generation, WorkloadError> {
        let start = Instant::now();
        let response = http::post_json(
            &self.agent,
            &self.url,
            &self.request_body(prompt, max_tokens),
        )?;
        let mut lines = Lines::new(response, &self.url);
        let generate = self.settings.generate;
        let mut answer = Answer::default();
        let mut first_token_s = None;
        let mut pieces: u64 = 0;
        if !self.settings.stream {
            // One JSON object (compact on the wire; the API docs show it pretty-printed).
            answer = Answer::whole(&self.url, &lines.rest()?, generate)?;
        }
        while self.settings.stream
            && let Some(line) = lines.next_line()?
        {
            if ctx.interrupted.load(Ordering::Relaxed) {
                return Err(WorkloadError::Interrupted);
            }
            if answer.push_line(&self.url, &line, generate)? {
                pieces += 1;
                if pieces > http::streamed_token_cap(max_tokens) {
                    return Err(http::too_many_tokens(&self.url, max_tokens));
                }
                on_token();
                if first_token_s.is_none() {
                    first_token_s = Some(start.elapsed().as_secs_f64());
                }
            }
            if answer.is_done() {
                break;
            }
        }
        let mut generation = answer.finish(&self.url, lines.bytes)?;
        generation.time_to_first_token_s = first_token_s;
        Ok(generation)
    }
}

/// The piece of generated text in one response object: `response` from
/// `/api/generate`, `message.content` from `/api/chat`.
pub fn content(object: &Value, generate: bool) -> Option<String> {
    let piece = if generate {
        object.get("response")
    } else {
        object.get("message").and_then(|m| m.get("content"))
    };
    piece.and_then(Value::as_str).map(str::to_string)
}

/// An answer, taken in as the one object of a whole answer or one NDJSON line of
/// a streamed one at a time.
#[derive(Debug, Default)]
pub struct Answer {
    pub text: String,
    /// The last object: the final one (`"done": true`) of a complete answer.
    last: Option<Value>,
}

impl Answer {
    /// A whole (not streamed) answer from `url`; `generate` for `/api/generate`.
    pub fn whole(url: &str, body: &str, generate: bool) -> Result<Answer, WorkloadError> {
        let object = http::parse_object(url, body)?;
        Ok(Answer {
            text: content(&object, generate).unwrap_or_default(),
            last: Some(object),
        })
    }

    /// Takes one line of a stream from `url`; `true` when it carried non-empty content.
    pub fn push_line(
        &mut self,
        url: &str,
        line: &str,
        generate: bool,
    ) -> Result<bool, WorkloadError> {
        if line.trim().is_empty() {
            return Ok(false);
        }
        let object = http::parse_object(url, line)?;
        let mut content_found = false;
        if let Some(piece) = content(&object, generate) {
            content_found = !piece.is_empty();
            self.text.push_str(&piece);
        }
        if is_done(&object) {
            self.last = Some(object);
        }
        Ok(content_found)
    }

    /// Whether the final message has arrived: nothing after it is read.
    pub fn is_done(&self) -> bool {
        self.last.as_ref().is_some_and(is_done)
    }

    /// The generation the final message reports (token counts and decode rate
    /// are the server's); fails without a final message. `bytes` received, for
    /// the message and the record; the time to first token is the client's to set.
    pub fn finish(self, url: &str, bytes: u64) -> Result<Generation, WorkloadError> {
        let done = match self.last {
            Some(object) if is_done(&object) => object,
            _ => {
                return Err(http::failed(format!(
                    "the answer from {url} ended before its final (\"done\": true) message, after {bytes} bytes"
                )));
            }
        };
        http::check_served(
            url,
            &self.text,
            done.get("done_reason").and_then(Value::as_str),
            &["stop", "length"],
        )?;
        let count = |key: &str| done.get(key).and_then(Value::as_u64);
        let eval_count = count("eval_count");
        let tokens_per_s = match (eval_count, count("eval_duration")) {
            (Some(n), Some(ns)) if ns > 0 => Some(n as f64 / (ns as f64 * 1e-9)),
            _ => None,
        };
        Ok(Generation {
            prompt_tokens: count("prompt_eval_count"),
            output_tokens: eval_count,
            time_to_first_token_s: None,
            tokens_per_s,
            response_bytes: Some(bytes),
            text: self.text,
        })
    }
}

fn is_done(object: &Value) -> bool {
    object.get("done").and_then(Value::as_bool) == Some(true)
}

impl Chat for OllamaClient {
    fn chat(&mut self, prompt: &str, ctx: &RunContext<'_>) -> Result<Generation, WorkloadError> {
        self.request(prompt, self.settings.sampling.max_tokens, ctx, &|| ())
    }
}

impl Workload for OllamaClient {
    fn info(&self) -> WorkloadInfo {
        let s = &self.settings;
        WorkloadInfo {
            kind: WorkloadKind::Llm,
            label: label("Ollama server", &s.model, &s.prompts),
            batching: (s.concurrency > 1).then(|| {
                format!(
                    "{} requests sent to the server at once per repetition (one thread each); energy per request = repetition energy / {}",
                    s.concurrency, s.concurrency
                )
            }),
            details: json!({
                "engine": "Ollama server (native API)",
                "endpoint": s.endpoint,
                "api": if s.generate { "/api/generate" } else { "/api/chat" },
                "model": s.model,
                "stream": s.stream,
                "options": self.options(s.sampling.max_tokens),
                "sampling": s.sampling.to_json(),
                "prompt": s.prompts.to_json(),
                "concurrency": s.concurrency,
                "protocol": s.steady_state.then_some("ml-energy"),
                "timeout_s": s.timeout_s,
                "metrics": {
                    "prompt_tokens": "server-reported prompt_eval_count (smaller when the server reuses its prompt cache)",
                    "output_tokens": "server-reported eval_count",
                    "tokens_per_s": "server-reported eval_count / eval_duration",
                    "time_to_first_token_s": if s.stream { "client clock: request sent to first non-empty content" } else { "not measured without --stream" },
                },
                "energy_scope": "this machine: the agent's client and the server, when the server runs here",
            }),
        }
    }

    fn prepare_phase(&self) -> Option<&'static str> {
        self.settings.include_load.then_some("model_load")
    }

    fn prepare(&mut self) -> anyhow::Result<()> {
        let url = format!("{}/api/generate", self.settings.endpoint);
        let body = json!({"model": self.settings.model, "stream": false});
        let response = http::post_json(&self.agent, &url, &body).map_err(|e| {
            anyhow::anyhow!(
                "loading model {} into the Ollama server: {e}",
                self.settings.model
            )
        })?;
        // Read the answer through so that the load has finished.
        Lines::new(response, &url)
            .rest()
            .map_err(|e| anyhow::anyhow!("loading model {}: {e}", self.settings.model))?;
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
                |prompt, on_token| this.request(prompt, max_tokens, ctx, on_token),
            );
        }
        self.ask(self.settings.sampling.max_tokens, ctx)
    }

    fn probe(&self) -> Option<Probe> {
        self.settings.split_prefill.then_some(Probe::Prefill)
    }

    fn run_probe(&mut self, probe: Probe, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let Probe::Prefill = probe;
        self.ask(1, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DONE: &str =
        r#""done":true,"prompt_eval_count":8,"eval_count":3,"eval_duration":1000000"#;

    #[test]
    fn an_empty_or_cut_ollama_answer_is_not_a_request_served() {
        let url = "http://127.0.0.1:11434/api/chat";
        let served =
            format!(r#"{{"message":{{"content":"Compost."}},"done_reason":"stop",{DONE}}}"#);
        let answer = Answer::whole(url, &served, false).expect("an answer");
        assert_eq!(
            answer.finish(url, 100).expect("served").output_tokens,
            Some(3)
        );
        let empty = format!(r#"{{"message":{{"content":""}},"done_reason":"stop",{DONE}}}"#);
        let err = Answer::whole(url, &empty, false)
            .expect("an answer")
            .finish(url, 100)
            .expect_err("empty");
        assert!(
            matches!(&err, WorkloadError::Failed { message, .. } if message.contains(http::EMPTY_ANSWER)),
            "{err:?}"
        );
        let cut = format!(r#"{{"message":{{"content":"Half"}},"done_reason":"unload",{DONE}}}"#);
        let err = Answer::whole(url, &cut, false)
            .expect("an answer")
            .finish(url, 100)
            .expect_err("cut");
        assert!(
            matches!(&err, WorkloadError::Failed { message, .. } if message.contains("finish reason `unload`")),
            "{err:?}"
        );
    }
}
