//! The devnet's Ethereum test accounts: ten secp256k1 keys derived from a public mnemonic
//! (BIP-44 `m/44'/60'/0'/0/i`, as anvil and Hardhat derive theirs), funded at genesis.

use alloy_signer_local::MnemonicBuilder;
use yun_types::evm::EthAddress;

/// The mnemonic the devnet's Ethereum accounts derive from. Public test words: every key
/// derived from them is known to everyone.
pub const ETH_DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// How many Ethereum dev accounts the devnet funds.
pub const ETH_DEV_ACCOUNTS: u32 = 10;
/// Opening EVM balance of each, in base units (one base unit is one wei): 1,000 "ether".
pub const ETH_DEV_BALANCE: u128 = 1_000_000_000_000_000_000_000;

/// One derived account: its address and its private key (hex, `0x`-prefixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthDevAccount {
    pub address: EthAddress,
    pub private_key: String,
}

/// The first `n` accounts of [`ETH_DEV_MNEMONIC`].
pub fn eth_dev_accounts(n: u32) -> anyhow::Result<Vec<EthDevAccount>> {
    (0..n)
        .map(|i| {
            let signer = MnemonicBuilder::from_phrase(ETH_DEV_MNEMONIC)
                .index(i)?
                .build()?;
            Ok(EthDevAccount {
                address: EthAddress(signer.address().into_array()),
                private_key: format!("0x{}", hex::encode(signer.to_bytes())),
            })
        })
        .collect()
}

/// What `yun devnet` prints about them, marked as test keys.
pub fn banner(rpc_url: &str, accounts: &[EthDevAccount]) -> String {
    let mut out = format!(
        "Ethereum JSON-RPC: {rpc_url}\n\
         Ethereum test accounts (TEST KEYS, public: never send real value to them)\n\
         mnemonic: {ETH_DEV_MNEMONIC}\n"
    );
    for (i, a) in accounts.iter().enumerate() {
        out.push_str(&format!("  ({i}) {}  key {}\n", a.address, a.private_key));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivation is BIP-44's: account 0 of these words is the address every Ethereum
    /// tool derives from them.
    #[test]
    fn the_first_account_is_the_well_known_one() {
        let a = eth_dev_accounts(2).unwrap();
        assert_eq!(
            a[0].address.to_string(),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        assert_ne!(a[0].address, a[1].address);
    }
}
