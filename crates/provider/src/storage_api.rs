//! The storage routes of the node API as the agent reads them: its replicas with their open
//! challenges and where their data is, and what it has announced.

use crate::storage::{Duty, StorageOffer};
use yun_client::Client;
use yun_types::Address;
use yun_types::storage::EncryptionKey;

/// The replicas `me` holds, with the challenge open for each and the sources of its bytes
/// (`own_endpoint` left out).
pub(crate) async fn duties(
    _node: &Client,
    _me: &Address,
    _own_endpoint: &str,
) -> anyhow::Result<Vec<Duty>> {
    Ok(Vec::new())
}

/// The storage offer and encryption key the chain shows for `me`.
pub(crate) async fn announced(
    _node: &Client,
    _me: &Address,
) -> anyhow::Result<(Option<StorageOffer>, Option<EncryptionKey>)> {
    Ok((None, None))
}
