//! A client of an OpenAI-compatible chat completions endpoint (vLLM, llama.cpp's server,
//! Ollama, or any service speaking the same protocol): `POST {base_url}/chat/completions`
//! with `{model, messages, temperature, max_tokens, stream: false}`, the reply's
//! `choices[0].message.content` taken as the text. The base URL is what such servers print,
//! usually ending in `/v1`. No retries: a caller that waits on a person falls back instead.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where the model is and how long it may take.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// For example `http://127.0.0.1:8000/v1` (vLLM), `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set; never logged.
    pub api_key: Option<String>,
    /// The whole call, connection included.
    pub timeout: Duration,
    /// The longest reply asked for, in tokens.
    pub max_tokens: u32,
}

impl ChatConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        ChatConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(4),
            max_tokens: 400,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("the chat endpoint did not answer in time")]
    Timeout,
    #[error("the chat endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the chat endpoint answered {0}")]
    Status(u16),
    #[error("the chat endpoint's answer is not a chat completion: {0}")]
    Malformed(String),
    #[error("the chat endpoint's answer is too large")]
    TooLarge,
}

/// The largest reply body read, in bytes.
const MAX_REPLY_BYTES: usize = 256 * 1024;

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    temperature: f32,
    max_tokens: u32,
    stream: bool,
}

#[derive(Deserialize)]
struct Reply {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<String>,
}

/// The client; cheap to clone.
#[derive(Debug, Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    config: ChatConfig,
    url: String,
}

impl ChatClient {
    pub fn new(config: ChatConfig) -> Result<Self, ChatError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| ChatError::Unreachable(e.to_string()))?;
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(ChatClient { http, config, url })
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    /// One completion of a system and a user message, at temperature 0.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, ChatError> {
        let body = Request {
            model: &self.config.model,
            messages: [Message { role: "system", content: system }, Message { role: "user", content: user }],
            temperature: 0.0,
            max_tokens: self.config.max_tokens,
            stream: false,
        };
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key);
        }
        let mut resp = req.send().await.map_err(failure)?;
        if !resp.status().is_success() {
            return Err(ChatError::Status(resp.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failure)? {
            if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(ChatError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        let reply: Reply = serde_json::from_slice(&bytes).map_err(|e| ChatError::Malformed(e.to_string()))?;
        reply
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| ChatError::Malformed("no choice with content".into()))
    }
}

fn failure(e: reqwest::Error) -> ChatError {
    if e.is_timeout() { ChatError::Timeout } else { ChatError::Unreachable(e.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use std::sync::{Arc, Mutex};

    /// A local server speaking the protocol, answering with `reply` after `delay`.
    async fn server(
        reply: serde_json::Value,
        status: u16,
        delay: Duration,
    ) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
        let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let s = seen.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<serde_json::Value>| {
                let (s, reply) = (s.clone(), reply.clone());
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                    s.lock().unwrap().push(serde_json::json!({"body": body, "auth": auth}));
                    tokio::time::sleep(delay).await;
                    (axum::http::StatusCode::from_u16(status).unwrap(), axum::Json(reply))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, seen)
    }

    fn completion(text: &str) -> serde_json::Value {
        serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
    }

    #[tokio::test]
    async fn asks_with_the_protocols_shape_and_reads_the_first_choice() {
        let (base, seen) = server(completion("Xin chào"), 200, Duration::ZERO).await;
        let mut cfg = ChatConfig::new(format!("{base}/"), "qwen2.5-7b-instruct");
        cfg.api_key = Some("secret-key".into());
        let client = ChatClient::new(cfg).unwrap();
        assert_eq!(client.complete("system text", "user text").await.unwrap(), "Xin chào");
        let got = seen.lock().unwrap()[0].clone();
        assert_eq!(got["auth"], "Bearer secret-key");
        assert_eq!(got["body"]["model"], "qwen2.5-7b-instruct");
        assert_eq!(got["body"]["stream"], false);
        assert_eq!(got["body"]["temperature"], 0.0);
        assert_eq!(got["body"]["messages"][0], serde_json::json!({"role": "system", "content": "system text"}));
        assert_eq!(got["body"]["messages"][1], serde_json::json!({"role": "user", "content": "user text"}));
    }

    #[tokio::test]
    async fn failures_are_told_apart() {
        let (base, _) = server(completion("late"), 200, Duration::from_millis(800)).await;
        let mut cfg = ChatConfig::new(base, "m");
        cfg.timeout = Duration::from_millis(200);
        assert!(matches!(ChatClient::new(cfg).unwrap().complete("s", "u").await, Err(ChatError::Timeout)));

        let (base, _) = server(serde_json::json!({"error": {"message": "overloaded"}}), 503, Duration::ZERO).await;
        let client = ChatClient::new(ChatConfig::new(base, "m")).unwrap();
        assert!(matches!(client.complete("s", "u").await, Err(ChatError::Status(503))));

        let (base, _) = server(serde_json::json!({"choices": []}), 200, Duration::ZERO).await;
        let client = ChatClient::new(ChatConfig::new(base, "m")).unwrap();
        assert!(matches!(client.complete("s", "u").await, Err(ChatError::Malformed(_))));

        // Nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = format!("http://{}/v1", listener.local_addr().unwrap());
        drop(listener);
        let client = ChatClient::new(ChatConfig::new(dead, "m")).unwrap();
        assert!(matches!(client.complete("s", "u").await, Err(ChatError::Unreachable(_))));
    }
}
