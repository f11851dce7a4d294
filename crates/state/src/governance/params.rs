//! Parameter changes: edits of `ChainParams` fields by dotted path, applied through the
//! parameters' JSON form and accepted only if the result passes the checks genesis uses.
//!
//! Why JSON: every field of `ChainParams` (market, staking, storage, fees, governance, the
//! faucet, and whatever is added later) already has a name and a checked decoding there, so
//! one edit names one field and two proposals that touch different fields both take effect.
//! Numbers must be integers (state uses no floats); an amount is written as its decimal.

use crate::genesis_params::check_params;
use serde_json::Value;
use yun_types::governance::ParamEdit;
use yun_types::{ChainParams, TxRejection};

/// Fields no proposal may change: nodes lay out consensus epochs from genesis
/// (`staking.epoch_blocks`), so a changed value would split the network.
pub const FIXED_AT_GENESIS: &[&str] = &["staking.epoch_blocks"];

/// `params` with `edits` applied in order, if the result is parameters genesis would accept.
pub fn apply_edits(params: &ChainParams, edits: &[ParamEdit]) -> Result<ChainParams, TxRejection> {
    if edits.is_empty() {
        return Err(TxRejection::ProposalInvalid);
    }
    let mut json = serde_json::to_value(params).expect("parameters serialize");
    for edit in edits {
        if FIXED_AT_GENESIS.contains(&edit.path.0.as_str()) {
            return Err(TxRejection::ParamChangeInvalid);
        }
        set_path(&mut json, &edit.path.0, &edit.value.0)?;
    }
    let changed: ChainParams =
        serde_json::from_value(json).map_err(|_| TxRejection::ParamChangeInvalid)?;
    check_params(&changed).map_err(|_| TxRejection::ParamChangeInvalid)?;
    Ok(changed)
}

/// Replaces the field at `path` (which must exist and not be a group of fields) with `value`.
fn set_path(json: &mut Value, path: &str, value: &str) -> Result<(), TxRejection> {
    let mut at = json;
    for part in path.split('.') {
        at = at
            .as_object_mut()
            .and_then(|o| o.get_mut(part))
            .ok_or(TxRejection::ParamChangeInvalid)?;
    }
    if at.is_object() {
        return Err(TxRejection::ParamChangeInvalid);
    }
    let new = parse_value(value, at.is_string())?;
    *at = new;
    Ok(())
}

/// The JSON of an edit's value. A field stored as a string (amounts, hashes) also takes a bare
/// word or an integer; any number that is not an integer is refused.
fn parse_value(text: &str, field_is_string: bool) -> Result<Value, TxRejection> {
    let parsed = serde_json::from_str::<Value>(text);
    let value = match parsed {
        Ok(Value::Number(n)) if field_is_string && (n.is_u64() || n.is_i64()) => {
            Value::String(n.to_string())
        }
        Ok(v) => v,
        Err(_) if field_is_string => Value::String(text.to_string()),
        Err(_) => return Err(TxRejection::ParamChangeInvalid),
    };
    if has_non_integer(&value) {
        return Err(TxRejection::ParamChangeInvalid);
    }
    Ok(value)
}

fn has_non_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => !(n.is_u64() || n.is_i64()),
        Value::Array(items) => items.iter().any(has_non_integer),
        Value::Object(fields) => fields.values().any(has_non_integer),
        Value::Null | Value::Bool(_) | Value::String(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default parameters with the one engine class a genesis must admit.
    fn params() -> ChainParams {
        let mut p = ChainParams::default();
        p.market.engine_classes = vec![yun_types::Hash32::digest(b"a class")];
        p
    }

    fn edit(path: &str, value: &str) -> ParamEdit {
        ParamEdit {
            path: path.into(),
            value: value.into(),
        }
    }

    #[test]
    fn edits_change_only_the_fields_they_name() {
        let p = params();
        let q = apply_edits(
            &p,
            &[
                edit("market.price_step_divisor", "16"),
                edit("min_fee", "2000"),
                edit("governance.quorum_bps", "5000"),
            ],
        )
        .unwrap();
        assert_eq!(q.market.price_step_divisor, 16);
        assert_eq!(q.min_fee.base_units(), 2_000);
        assert_eq!(q.governance.quorum_bps, 5_000);
        let mut back = q.clone();
        back.market.price_step_divisor = p.market.price_step_divisor;
        back.min_fee = p.min_fee;
        back.governance.quorum_bps = p.governance.quorum_bps;
        assert_eq!(back, p);
    }

    #[test]
    fn unknown_fields_wrong_types_floats_and_bad_ranges_are_refused() {
        let p = params();
        for (path, value) in [
            ("market.no_such_field", "1"),
            ("market", "1"),
            ("market.price_step_divisor", "1.5"),
            ("market.price_step_divisor", "1e3"),
            ("market.price_step_divisor", "true"),
            ("market.price_step_divisor", "70000"),
            ("fee_burn_bps", "10001"),
            ("staking.epoch_blocks", "1"),
            ("staking.epoch_blocks", "200"),
            ("min_fee", "-3"),
        ] {
            assert_eq!(
                apply_edits(&p, &[edit(path, value)]),
                Err(TxRejection::ParamChangeInvalid),
                "{path}={value}"
            );
        }
        assert_eq!(apply_edits(&p, &[]), Err(TxRejection::ProposalInvalid));
    }
}
