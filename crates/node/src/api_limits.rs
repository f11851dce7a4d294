//! The API's protective limits as the node's `[api]` config section sets them, with defaults
//! safe for a public node and a higher, still finite, rate for loopback clients.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[api]` in `node.toml`: what one client, and all clients together, may ask of the API.
/// Every refusal these limits cause is a numbered `ApiErrorKind` (117–122).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiLimitsConfig {
    /// Sustained requests per second one IP address (an IPv6 /64) may send.
    pub requests_per_second_per_ip: u32,
    /// Requests one IP address may send at once above the sustained rate.
    pub burst_per_ip: u32,
    /// The same for loopback clients (the node operator's CLI, `yun devnet` tools and
    /// `yun bench`, which hammer the API from 127.0.0.1): higher, but finite.
    pub loopback_requests_per_second: u32,
    pub loopback_burst: u32,
    /// Requests being answered at once, from everybody; more wait for a turn.
    pub concurrent_requests_max: u32,
    /// How long a request waits for a turn before it is refused `Overloaded`.
    pub concurrency_wait_ms: u64,
    /// The whole of a request, headers, body and answer (event streams and blob downloads
    /// count until their answer starts), except blob uploads.
    pub request_timeout_ms: u64,
    /// The whole of one `POST /v1/blobs` (a large blob on a slow link takes minutes; the
    /// client gives up after 15).
    pub blob_upload_timeout_ms: u64,
    /// From a connection's first byte to the end of a request's headers.
    pub header_read_timeout_ms: u64,
    /// The longest silence between two pieces of a request body.
    pub body_idle_timeout_ms: u64,
    /// Open `GET /v1/events` streams, from everybody.
    pub event_subscribers_max: u32,
    /// Origins (`scheme://host:port`) besides the node's own that may write (POST) from a
    /// browser. Reads are open to every origin; writes from other pages are refused.
    pub write_origins: Vec<String>,
}

impl Default for ApiLimitsConfig {
    fn default() -> Self {
        ApiLimitsConfig {
            requests_per_second_per_ip: 50,
            burst_per_ip: 100,
            loopback_requests_per_second: 20_000,
            loopback_burst: 40_000,
            concurrent_requests_max: 512,
            concurrency_wait_ms: 2_000,
            request_timeout_ms: 30_000,
            blob_upload_timeout_ms: 15 * 60 * 1_000,
            header_read_timeout_ms: 20_000,
            body_idle_timeout_ms: 10_000,
            event_subscribers_max: 256,
            write_origins: Vec::new(),
        }
    }
}

impl ApiLimitsConfig {
    /// Refuses a zero limit, which would refuse every request (or wait forever).
    pub fn check(&self) -> anyhow::Result<()> {
        let named = [
            (
                "requests_per_second_per_ip",
                u64::from(self.requests_per_second_per_ip),
            ),
            ("burst_per_ip", u64::from(self.burst_per_ip)),
            (
                "loopback_requests_per_second",
                u64::from(self.loopback_requests_per_second),
            ),
            ("loopback_burst", u64::from(self.loopback_burst)),
            (
                "concurrent_requests_max",
                u64::from(self.concurrent_requests_max),
            ),
            ("concurrency_wait_ms", self.concurrency_wait_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("blob_upload_timeout_ms", self.blob_upload_timeout_ms),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_idle_timeout_ms", self.body_idle_timeout_ms),
            (
                "event_subscribers_max",
                u64::from(self.event_subscribers_max),
            ),
        ];
        if let Some((name, _)) = named.iter().find(|(_, v)| *v == 0) {
            anyhow::bail!("[api] {name} must be above zero");
        }
        Ok(())
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn blob_upload_timeout(&self) -> Duration {
        Duration::from_millis(self.blob_upload_timeout_ms)
    }

    pub(crate) fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub(crate) fn body_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.body_idle_timeout_ms)
    }

    pub(crate) fn concurrency_wait(&self) -> Duration {
        Duration::from_millis(self.concurrency_wait_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_a_zero_limit_is_named() {
        assert!(ApiLimitsConfig::default().check().is_ok());
        let zero = ApiLimitsConfig {
            event_subscribers_max: 0,
            ..ApiLimitsConfig::default()
        };
        let err = zero.check().unwrap_err().to_string();
        assert!(err.contains("event_subscribers_max"), "{err}");
    }

    #[test]
    fn a_config_without_an_api_section_gets_the_defaults() {
        let cfg: ApiLimitsConfig = toml::from_str("burst_per_ip = 7").unwrap();
        assert_eq!(cfg.burst_per_ip, 7);
        assert_eq!(
            cfg.requests_per_second_per_ip,
            ApiLimitsConfig::default().requests_per_second_per_ip
        );
    }
}
