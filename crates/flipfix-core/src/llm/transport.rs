//! What every provider's client shares: one HTTP attempt classified into
//! success, retryable or fatal, and the bounded retry loop around it that
//! tells the caller about every attempt (for usage accounting).

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::{ApiAttempt, LlmError, RetryPolicy, ToolAnswer};
use crate::workflow::TokenUsage;

/// What each provider's client holds: one HTTP client (with the request
/// timeout), the API's base URL and the retry policy.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    pub http: reqwest::Client,
    /// Without a trailing slash.
    pub base_url: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl Endpoint {
    pub fn new(base_url: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, LlmError> {
        // No redirects: a redirect could carry the key to another host, and
        // an API that moved is a configuration to fix, not to follow.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| LlmError::Network(err.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout,
            retry,
        })
    }

    /// A call to this endpoint, named for logs and refusals.
    pub fn call(
        &self,
        api: &'static str,
        key_name: &'static str,
        request_id_header: &'static str,
    ) -> Call<'_> {
        Call {
            api,
            key_name,
            request_id_header,
            host: host_of(&self.base_url),
            timeout: self.timeout,
            retry: &self.retry,
        }
    }

    /// Refuses to send `key_name` over plain `http://` to anything but a
    /// loopback address: on the way it could be read by anyone in between.
    pub fn check_key_transport(&self, key_name: &'static str) -> Result<(), LlmError> {
        check_key_transport(&self.base_url, key_name)
    }
}

/// Refuses to send `key_name` to `base_url` over plain `http://` unless it
/// is a loopback address (also used by `doctor` before its key checks).
pub fn check_key_transport(base_url: &str, key_name: &'static str) -> Result<(), LlmError> {
    let url = url::Url::parse(base_url).ok();
    let plain = url.as_ref().is_some_and(|u| u.scheme() == "http");
    if plain && !url.as_ref().is_some_and(is_loopback) {
        return Err(LlmError::KeyOverPlainHttp {
            key: key_name,
            host: host_of(base_url),
        });
    }
    Ok(())
}

/// The host (and port) of `url`, for refusals and logs; never its path or query.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| "an unknown host".to_string())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// One provider's request, ready to send (and to send again).
pub(super) struct Call<'a> {
    /// For logs: "Anthropic API", "OpenAI-compatible API".
    pub api: &'static str,
    /// The secret that authenticates it, named in refusals.
    pub key_name: &'static str,
    /// The header that carries the provider's request id.
    pub request_id_header: &'static str,
    /// The API's host, named when it answers with a redirect.
    pub host: String,
    pub timeout: Duration,
    pub retry: &'a RetryPolicy,
}

/// Reads a 200 body: the usage it reports (accounted even when the rest is
/// unusable) and the tool answer.
pub(super) type Reader<'r> = dyn Fn(Value, Option<String>, u32) -> (Option<TokenUsage>, Result<ToolAnswer, LlmError>)
    + Send
    + Sync
    + 'r;

impl Call<'_> {
    /// Sends with `send` (one fresh request per attempt), retrying 429, 5xx
    /// and lost connections within the policy; every attempt is pushed to
    /// `attempts`.
    pub async fn run<F, Fut>(
        &self,
        send: F,
        read: &Reader<'_>,
        attempts: &mut Vec<ApiAttempt>,
    ) -> Result<ToolAnswer, LlmError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<reqwest::Response, reqwest::Error>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (error, retry_after) = match self.once(send().await).await {
                Ok((body, request_id)) => {
                    let (usage, parsed) = read(body, request_id.clone(), attempt);
                    attempts.push(ApiAttempt {
                        outcome: match &parsed {
                            Ok(_) => "ok".into(),
                            Err(err) => format!("unusable: {err}"),
                        },
                        request_id,
                        usage,
                    });
                    return parsed;
                }
                Err(failed) => {
                    attempts.push(ApiAttempt {
                        outcome: failed.describe(),
                        request_id: failed.request_id.clone(),
                        usage: None,
                    });
                    match failed.kind {
                        Attempt::Fatal(err) => return Err(err),
                        Attempt::Retryable {
                            status,
                            retry_after,
                        } => {
                            let error = match status {
                                0 => LlmError::Network(format!(
                                    "no connection after {attempt} attempts"
                                )),
                                429 => LlmError::RateLimited { attempts: attempt },
                                _ => LlmError::Overloaded {
                                    status,
                                    attempts: attempt,
                                },
                            };
                            (error, retry_after)
                        }
                    }
                }
            };
            let backoff = self.backoff(attempt);
            // The server knows best when it will have room again.
            let wait = retry_after.unwrap_or(backoff);
            let out_of_time = started.elapsed() + wait > self.retry.max_total;
            if attempt >= self.retry.max_attempts || wait > self.retry.max_delay || out_of_time {
                tracing::warn!(api = self.api, error = %error, "giving up on the model API");
                return Err(error);
            }
            tracing::info!(api = self.api, attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying the model API");
            tokio::time::sleep(wait).await;
        }
    }

    /// Exponential backoff with full jitter between half and all of it.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.retry.max_delay);
        exp.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    /// One attempt's answer: the JSON body, or why it failed and whether
    /// that may pass.
    async fn once(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<(Value, Option<String>), FailedAttempt> {
        let response = sent.map_err(|err| self.transport_error(err, None))?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header(self.request_id_header);
        let location = header("location");
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = response
            .text()
            .await
            .map_err(|err| self.transport_error(err, request_id.clone()))?;
        tracing::info!(
            api = self.api,
            status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or("-"),
            "model API answered"
        );
        let failed = |kind| FailedAttempt {
            kind,
            status: Some(status.as_u16()),
            request_id: request_id.clone(),
        };
        if status.is_success() {
            let json = serde_json::from_str(&text).map_err(|err| {
                failed(Attempt::Fatal(LlmError::BadResponse(format!(
                    "not JSON: {err}"
                ))))
            })?;
            return Ok((json, request_id));
        }
        let code = status.as_u16();
        if status.is_redirection() {
            let to = location.map(|location| {
                // A relative Location stays on the API's host.
                url::Url::parse(&location)
                    .ok()
                    .map_or_else(|| self.host.clone(), |u| host_of(u.as_str()))
            });
            return Err(failed(Attempt::Fatal(LlmError::Redirected {
                status: code,
                host: self.host.clone(),
                to: to.unwrap_or_else(|| "nowhere (no Location)".to_string()),
            })));
        }
        Err(failed(match status {
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Attempt::Retryable {
                status: code,
                retry_after,
            },
            // Anthropic's "overloaded".
            _ if code == 529 => Attempt::Retryable {
                status: code,
                retry_after,
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Attempt::Fatal(LlmError::Unauthorized {
                    status: code,
                    key: self.key_name,
                })
            }
            _ => Attempt::Fatal(LlmError::Rejected {
                status: code,
                message: api_error_message(&text),
            }),
        }))
    }

    fn transport_error(&self, err: reqwest::Error, request_id: Option<String>) -> FailedAttempt {
        let kind = if err.is_timeout() {
            Attempt::Fatal(LlmError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            })
        } else {
            // Connection trouble may pass: retried like an overloaded
            // service (status 0 marks it), within the same bounds.
            Attempt::Retryable {
                status: 0,
                retry_after: None,
            }
        };
        FailedAttempt {
            kind,
            status: None,
            request_id,
        }
    }
}

enum Attempt {
    Retryable {
        status: u16,
        retry_after: Option<Duration>,
    },
    Fatal(LlmError),
}

struct FailedAttempt {
    kind: Attempt,
    status: Option<u16>,
    request_id: Option<String>,
}

impl FailedAttempt {
    fn describe(&self) -> String {
        match (&self.kind, self.status) {
            (Attempt::Fatal(LlmError::Timeout { .. }), _) => "timeout".into(),
            (Attempt::Fatal(LlmError::BadResponse(reason)), _) => format!("unusable: {reason}"),
            (_, Some(status)) => format!("HTTP {status}"),
            (_, None) => "no connection".into(),
        }
    }
}

/// The message of an API error body, cut short (it goes to logs): Anthropic
/// and OpenAI put it at `error.message`, vLLM at `message`, some servers
/// make `error` the message itself.
pub(super) fn api_error_message(text: &str) -> String {
    let json = serde_json::from_str::<Value>(text).ok();
    let message = json
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
        })
        .map(str::to_string)
        .unwrap_or_else(|| text.to_string());
    crate::text::truncate_chars(&message, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_found_in_every_shape() {
        assert_eq!(
            api_error_message(
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"a"}}"#
            ),
            "a"
        );
        assert_eq!(
            api_error_message(
                r#"{"object":"error","message":"b","type":"BadRequestError","code":400}"#
            ),
            "b"
        );
        assert_eq!(api_error_message(r#"{"error":"c"}"#), "c");
        assert_eq!(api_error_message("plain"), "plain");
    }
}
