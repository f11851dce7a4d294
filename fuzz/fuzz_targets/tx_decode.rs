//! Fuzzes the signed-transaction codec the API and gossip decode untrusted bytes with: anything
//! that decodes re-encodes to exactly the input (one transaction, one encoding, one id), decodes
//! again to the same value, and renders as the API's JSON view without a panic.
#![no_main]

use commonware_codec::{Decode as _, Encode as _};
use libfuzzer_sys::fuzz_target;
use yun_types::api::TxView;
use yun_types::{Action, SignedTx};

fuzz_target!(|data: &[u8]| {
    let Ok(stx) = SignedTx::decode_untrusted(data) else {
        return;
    };
    let encoded = stx.encode();
    assert_eq!(
        &encoded[..],
        data,
        "a decoded transaction re-encodes to its input"
    );
    let again = SignedTx::decode_cfg(commonware_codec::Copying(&encoded[..]), &())
        .expect("a re-encoded transaction decodes");
    assert_eq!(again, stx);
    assert_eq!(again.id(), stx.id());
    let _ = stx.verify_signature();
    let _ = stx.sender();
    let _ = stx.tx.action.name();
    if let Action::ReportEquivocation { evidence } = &stx.tx.action {
        let _ = evidence.epoch();
    }
    let view = TxView::from(&stx);
    serde_json::to_string(&view).expect("a transaction view serialises");
});
