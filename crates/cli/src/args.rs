//! Arguments many commands share: the client options, and parsers for amounts, sizes and labels.

use crate::keys;
use crate::output::Output;
use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;
use yun_types::market::{
    JobId, LABEL_BYTES_MAX, LABELS_MAX, Label, REPLICAS_MAX, Text, URL_BYTES_MAX, Verification,
};
use yun_types::{Amount, Hash32};

const MIB: u64 = 1024 * 1024;

/// Options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct ClientOpts {
    /// Node API to talk to.
    #[arg(
        long,
        global = true,
        env = "YUN_NODE",
        default_value = "http://127.0.0.1:8645"
    )]
    pub node: String,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// A devnet data directory, where its provider accounts' names (provider0 …) are looked
    /// up; dev accounts (dev0 …) come from the node's genesis without it.
    #[arg(long, global = true, env = "YUN_DEVNET_DIR")]
    pub devnet_dir: Option<PathBuf>,
}

impl ClientOpts {
    /// Where dev account names are looked up: this node's genesis, and the devnet directory.
    pub fn dev_lookup(&self) -> keys::DevLookup {
        keys::DevLookup {
            node: self.node.clone(),
            devnet_dir: self.devnet_dir(),
        }
    }

    pub fn devnet_dir(&self) -> PathBuf {
        self.devnet_dir
            .clone()
            .unwrap_or_else(|| keys::yun_home().join("devnet"))
    }
}

/// `key=value` into a label, within the wire limits.
pub fn parse_label(s: &str) -> anyhow::Result<Label> {
    let Some((k, v)) = s.split_once('=') else {
        bail!("a label is key=value, got `{s}`");
    };
    if k.is_empty() || k.len() > LABEL_BYTES_MAX || v.len() > LABEL_BYTES_MAX {
        bail!(
            "label `{s}`: key of 1-{LABEL_BYTES_MAX} bytes and value of at most {LABEL_BYTES_MAX}"
        );
    }
    Ok(Label {
        key: k.into(),
        value: v.into(),
    })
}

pub(crate) fn parse_labels(list: &[String]) -> anyhow::Result<Vec<Label>> {
    if list.len() > LABELS_MAX {
        bail!("at most {LABELS_MAX} labels");
    }
    let mut labels = list
        .iter()
        .map(|s| parse_label(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    labels.sort();
    labels.dedup();
    Ok(labels)
}

pub(crate) fn endpoint(s: &str) -> anyhow::Result<Text> {
    if !(s.starts_with("http://") || s.starts_with("https://")) || s.len() > URL_BYTES_MAX {
        bail!("the endpoint is an http:// or https:// URL of at most {URL_BYTES_MAX} bytes");
    }
    Ok(s.into())
}

pub(crate) fn mib(n: u64, what: &str) -> anyhow::Result<u64> {
    n.checked_mul(MIB)
        .with_context(|| format!("{what}: {n} MiB is too large"))
}

pub(crate) fn amount(s: &str, what: &str) -> anyhow::Result<Amount> {
    s.parse()
        .map_err(|e| anyhow::anyhow!("{what} `{s}` is not an amount in base units: {e}"))
}

pub(crate) fn hash(s: &str, what: &str) -> anyhow::Result<Hash32> {
    s.parse()
        .map_err(|e| anyhow::anyhow!("{what} `{s}` is not 64 hex characters: {e}"))
}

pub(crate) fn job_id(s: &str) -> anyhow::Result<JobId> {
    s.parse()
        .context("a job id is the 64-hex id of the transaction that posted it")
}

/// `none`, `k=K[,q=Q]` or `adaptive=TARGET` (a fraction in (0, 1), e.g. `1e-3` or `0.001`,
/// to one part per million).
pub fn parse_verification(s: &str) -> anyhow::Result<Verification> {
    let s = s.trim();
    if s == "none" {
        return Ok(Verification::None);
    }
    if let Some(target) = s.strip_prefix("adaptive=") {
        return Ok(Verification::Adaptive {
            target_error_ppm: parse_ppm(target)?,
        });
    }
    let (mut k, mut q) = (None, None);
    for part in s.split(',') {
        let (name, value) = part
            .split_once('=')
            .with_context(|| format!("`{s}`: expected none, k=3, k=3,q=2 or adaptive=1e-3"))?;
        let value: u8 = value
            .trim()
            .parse()
            .with_context(|| format!("`{part}`: not a small number"))?;
        match name.trim() {
            "k" => k = Some(value),
            "q" | "quorum" => q = Some(value),
            other => bail!("`{other}`: expected k or q (as in k=3,q=2)"),
        }
    }
    let k = k.with_context(|| format!("`{s}`: replication needs k (as in k=3)"))?;
    let quorum = q.unwrap_or(k / 2 + 1);
    if k == 0 || k > REPLICAS_MAX || quorum == 0 || quorum > k {
        bail!("replication needs 1 <= q <= k <= {REPLICAS_MAX}, got k={k}, q={quorum}");
    }
    Ok(Verification::Replicate { k, quorum })
}

/// A decimal fraction (`0.001`, `1e-3`, `2.5E-4`) as parts per million, without floating
/// point: mantissa digits × 10^(exponent − fraction digits + 6) must be a whole number in
/// 1..=999,999.
pub fn parse_ppm(s: &str) -> anyhow::Result<u32> {
    let bad = || anyhow::anyhow!("adaptive target `{s}` is not a number like 1e-3 or 0.001");
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let range = || anyhow::anyhow!("adaptive target `{s}` must be above 0 and below 1");
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Err(range());
    }
    let (digits, trailing_zeros) = {
        let t = digits.trim_end_matches('0');
        (t, (digits.len() - t.len()) as i64)
    };
    let shift = i64::from(exp) - frac.len() as i64 + 6 + trailing_zeros;
    // The value is digits × 10^(shift − 6); at least 1 ppm and below 1e6 ppm.
    if digits.len() as i64 + shift > 7 {
        return Err(range());
    }
    if shift < 0 {
        bail!("adaptive target `{s}` is finer than one part per million (1e-6)");
    }
    let ppm: u64 = digits.parse::<u64>().map_err(|_| bad())? * 10u64.pow(shift as u32);
    if ppm == 0 || ppm >= 1_000_000 {
        return Err(range());
    }
    Ok(ppm as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_forms() {
        assert_eq!(parse_verification("none").unwrap(), Verification::None);
        assert_eq!(
            parse_verification("k=3").unwrap(),
            Verification::Replicate { k: 3, quorum: 2 }
        );
        assert_eq!(
            parse_verification("k=3,q=3").unwrap(),
            Verification::Replicate { k: 3, quorum: 3 }
        );
        assert_eq!(
            parse_verification("adaptive=1e-3").unwrap(),
            Verification::Adaptive {
                target_error_ppm: 1_000
            }
        );
        for bad in [
            "k=0",
            "k=3,q=4",
            "k=10",
            "q=2",
            "x=1",
            "adaptive=1",
            "adaptive=0",
            "",
        ] {
            assert!(parse_verification(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ppm_without_floats() {
        for (s, ppm) in [
            ("1e-3", 1_000),
            ("0.001", 1_000),
            ("2.5E-4", 250),
            ("1e-6", 1),
            (".5", 500_000),
            ("0.999999", 999_999),
            ("10e-3", 10_000),
            ("100e-8", 1),
        ] {
            assert_eq!(parse_ppm(s).unwrap(), ppm, "{s}");
        }
        for s in [
            "0", "1", "1.0", "2", "1e0", "1e-7", "1.5e-6", "-1e-3", "abc", "1e", "e-3", "1e999",
            "0e5",
        ] {
            assert!(parse_ppm(s).is_err(), "{s} accepted");
        }
    }

    #[test]
    fn labels() {
        let l = parse_label("region=eu").unwrap();
        assert_eq!((l.key.0.as_str(), l.value.0.as_str()), ("region", "eu"));
        assert!(parse_label("noequals").is_err());
        assert!(parse_label("=v").is_err());
    }
}
