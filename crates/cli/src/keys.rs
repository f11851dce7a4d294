//! Account keys on the client: BIP-39 mnemonics, encrypted keystore files, dev accounts.
//! Private keys are only ever used here to sign; nothing sends them to a node.

use crate::keystore_v3;
use anyhow::{Context, bail};
use bip39::Mnemonic;
use commonware_codec::DecodeExt;
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use yun_node::private_file::write_private_file;
use yun_types::Address;

/// Environment variable holding the keystore passphrase, for scripts.
pub const PASSPHRASE_ENV: &str = "YUN_PASSPHRASE";
/// Environment variable holding a mnemonic for `yun keys import`, for scripts.
pub const MNEMONIC_ENV: &str = "YUN_MNEMONIC";
/// Longest key name.
const KEY_NAME_BYTES_MAX: usize = 64;

/// `$YUN_HOME`, or `~/.yun`.
pub fn yun_home() -> PathBuf {
    if let Ok(h) = std::env::var("YUN_HOME") {
        return PathBuf::from(h);
    }
    std::env::var("HOME")
        .map(|h| PathBuf::from(h).join(".yun"))
        .unwrap_or_else(|_| PathBuf::from(".yun"))
}

/// The account key a mnemonic stands for: blake3's key derivation over the BIP-39 seed, with a
/// context string that names the scheme, so the same words never yield keys for another use.
pub fn key_from_mnemonic(m: &Mnemonic) -> PrivateKey {
    let seed = m.to_seed("");
    let secret = blake3::derive_key("yun 2026 account key ed25519 v1", &seed);
    PrivateKey::decode(commonware_codec::Copying(&secret[..]))
        .expect("32 bytes are an ed25519 secret")
}

pub fn address_of(key: &PrivateKey) -> Address {
    Address::from_public_key(&key.public_key())
}

/// The account's x25519 encryption identity: derived from its signing secret with its own
/// context (`yun_client::seal::SealIdentity::derive`), so it is stored encrypted exactly as
/// the signing key is (inside the same keystore entry), never leaves this machine, and the
/// mnemonic restores it with the key. A provider agent derives its own the same way.
pub fn encryption_identity(key: &PrivateKey) -> yun_client::seal::SealIdentity {
    yun_client::seal::SealIdentity::derive(&commonware_codec::Encode::encode(key))
}

/// A fresh 24-word mnemonic from the OS random generator.
pub fn new_mnemonic() -> Mnemonic {
    let mut entropy = [0u8; 32];
    rand08::RngCore::fill_bytes(&mut rand08::rngs::OsRng, &mut entropy);
    Mnemonic::from_entropy(&entropy).expect("32 bytes of entropy make 24 words")
}

/// Encrypted key files in a directory: `NAME` (Web3 Secret Storage v3 JSON, scrypt +
/// AES-128-CTR, `keystore_v3`) and `NAME.address` beside it, so listing needs no passphrase.
#[derive(Debug)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    pub fn open(dir: &Path) -> anyhow::Result<Keystore> {
        // Only the owner may list or read the keystore: the files are encrypted, but a copied
        // file can be attacked offline for as long as the attacker likes. The directory is
        // created 0700 (an older, wider one is restricted).
        yun_node::private_file::create_private_dir(dir)?;
        Ok(Keystore {
            dir: dir.to_path_buf(),
        })
    }

    fn check_name(name: &str) -> anyhow::Result<()> {
        if name.is_empty()
            || name.len() > KEY_NAME_BYTES_MAX
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!(
                "key names are 1-{KEY_NAME_BYTES_MAX} characters of letters, digits, '-' and '_'"
            );
        }
        Ok(())
    }

    /// Stores the key `mnemonic` stands for as `name`, encrypted under `passphrase`; an empty
    /// passphrase only with `insecure` (it would protect nothing).
    pub fn add(
        &self,
        name: &str,
        mnemonic: &Mnemonic,
        passphrase: &str,
        insecure: bool,
    ) -> anyhow::Result<Address> {
        self.add_with_cost(
            name,
            mnemonic,
            passphrase,
            insecure,
            keystore_v3::SCRYPT_LOG_N,
        )
    }

    /// [`Keystore::add`] at a given scrypt cost (tests use a cheap one).
    fn add_with_cost(
        &self,
        name: &str,
        mnemonic: &Mnemonic,
        passphrase: &str,
        insecure: bool,
        scrypt_log_n: u8,
    ) -> anyhow::Result<Address> {
        Self::check_name(name)?;
        check_new_passphrase(passphrase, insecure)?;
        if self.dir.join(name).exists() {
            bail!(
                "a key named {name} exists already; pick another name or delete {}",
                self.dir.join(name).display()
            );
        }
        let key = key_from_mnemonic(mnemonic);
        let secret = blake3::derive_key("yun 2026 account key ed25519 v1", &mnemonic.to_seed(""));
        let json =
            keystore_v3::encrypt(&secret, passphrase, scrypt_log_n, &mut rand08::rngs::OsRng)?;
        // Each file is created 0600 and renamed into place whole: never readable by others,
        // never half written.
        write_private_file(&self.dir.join(name), &json)?;
        let address = address_of(&key);
        write_private_file(
            &self.dir.join(format!("{name}.address")),
            address.to_string().as_bytes(),
        )?;
        Ok(address)
    }

    pub fn list(&self) -> anyhow::Result<Vec<(String, Address)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("address") {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                let address = std::fs::read_to_string(&path)?.trim().parse()?;
                out.push((name, address));
            }
        }
        out.sort();
        Ok(out)
    }

    pub fn address(&self, name: &str) -> anyhow::Result<Option<Address>> {
        let path = self.dir.join(format!("{name}.address"));
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(std::fs::read_to_string(&path)?.trim().parse()?))
    }

    pub fn unlock(&self, name: &str, passphrase: &str) -> anyhow::Result<PrivateKey> {
        let secret = eth_keystore::decrypt_key(self.dir.join(name), passphrase)
            .map_err(|e| anyhow::anyhow!("cannot unlock key {name}: {e} (wrong passphrase?)"))?;
        PrivateKey::decode(commonware_codec::Copying(&secret[..]))
            .map_err(|e| anyhow::anyhow!("key {name} is corrupt: {e}"))
    }
}

/// Refuses a passphrase for a new key that would protect nothing, unless the caller said
/// `--insecure`.
pub fn check_new_passphrase(passphrase: &str, insecure: bool) -> anyhow::Result<()> {
    if passphrase.is_empty() && !insecure {
        bail!(
            "an empty passphrase would leave the key readable by anyone who copies its file; \
             choose one (or set YUN_PASSPHRASE in scripts), or pass --insecure for a throwaway key"
        );
    }
    Ok(())
}

/// The passphrase from `YUN_PASSPHRASE`, or asked for on the terminal.
pub fn passphrase(confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(p);
    }
    let p = rpassword::prompt_password("passphrase: ")
        .context("reading the passphrase (or set YUN_PASSPHRASE)")?;
    if confirm && rpassword::prompt_password("again: ")? != p {
        bail!("the two passphrases differ");
    }
    Ok(p)
}

/// A devnet's pre-funded account, stored in plain text in the devnet's data directory: these
/// keys guard nothing of value, like anvil's and Hardhat's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevAccount {
    pub name: String,
    pub address: Address,
    pub mnemonic: String,
}

/// The i-th dev account: the same words on every machine, so scripts can rely on them.
pub fn dev_account(i: usize) -> DevAccount {
    let entropy = blake3::derive_key("yun 2026 devnet account entropy", &(i as u64).to_le_bytes());
    let m = Mnemonic::from_entropy(&entropy).expect("32 bytes of entropy");
    DevAccount {
        name: format!("dev{i}"),
        address: address_of(&key_from_mnemonic(&m)),
        mnemonic: m.to_string(),
    }
}

pub const DEV_ACCOUNTS_FILE: &str = "dev-accounts.json";

/// Where dev account names are looked up: the node the command talks to (its genesis says
/// whether it is a dev chain, and how many `devN` it has) and a devnet data directory whose
/// `dev-accounts.json` also names the devnet's provider accounts.
#[derive(Debug, Clone)]
pub struct DevLookup {
    pub node: String,
    pub devnet_dir: PathBuf,
}

/// Finds the signing key `name`: `@PATH` is a node's key file (hex, as `yun localnet` and
/// `yun devnet` write them: a validator's account is its consensus key), else the keystore's
/// key of that name (a real key always wins), else a dev account, if the node is a dev chain.
pub async fn signer(name: &str, dev: &DevLookup) -> anyhow::Result<PrivateKey> {
    if let Some(path) = name.strip_prefix('@') {
        return yun_node::run::read_key(Path::new(path));
    }
    let store = Keystore::open(&yun_home().join("keys"))?;
    signer_in(&store, name, dev, || passphrase(false)).await
}

/// [`signer`] for a name, given the keystore and how to ask for its passphrase: the keystore's
/// key when it has one (even one named like a dev account), else a dev account.
async fn signer_in(
    store: &Keystore,
    name: &str,
    dev: &DevLookup,
    passphrase: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<PrivateKey> {
    if store.address(name)?.is_some() {
        return store.unlock(name, &passphrase()?);
    }
    let account = dev_account_named(name, dev).await?;
    let m: Mnemonic = account.mnemonic.parse().context("dev account mnemonic")?;
    Ok(key_from_mnemonic(&m))
}

/// An address given directly (`yun1…`) or by key or dev-account name.
pub async fn resolve_address(s: &str, dev: &DevLookup) -> anyhow::Result<Address> {
    match s.parse::<Address>() {
        Ok(a) => return Ok(a),
        // Meant as an address, not a name: say what is wrong with it.
        Err(e) if s.starts_with("yun1") => bail!("`{s}` is not a valid yun1… address: {e}"),
        Err(_) => {}
    }
    if let Some(a) = Keystore::open(&yun_home().join("keys"))?.address(s)? {
        return Ok(a);
    }
    Ok(dev_account_named(s, dev).await?.address)
}

/// `devN` as the index of a dev account.
fn dev_index(name: &str) -> Option<usize> {
    let n = name.strip_prefix("dev")?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// The dev account `name` of the chain `dev.node` runs. Dev names resolve only on a chain
/// whose genesis marks dev accounts, and only to accounts that genesis funded: a devnet
/// directory left over from another chain never signs for this one.
async fn dev_account_named(name: &str, dev: &DevLookup) -> anyhow::Result<DevAccount> {
    let genesis = yun_client::Client::new(&dev.node)
        .genesis()
        .await
        .with_context(|| {
            format!(
                "no key named `{name}` on this machine, and the node at {} did not answer to say whether it is a dev chain: start `yun devnet`, pass `--node URL`, or create the key with `yun keys new {name}`",
                dev.node
            )
        })?;
    dev_account_in_genesis(name, &genesis, dev)
}

/// The dev account `name` if `genesis` marks dev accounts and funded it (from the devnet
/// directory's accounts file, else `devN`).
fn dev_account_in_genesis(
    name: &str,
    genesis: &yun_types::Genesis,
    dev: &DevLookup,
) -> anyhow::Result<DevAccount> {
    if genesis.dev_accounts == 0 {
        bail!(
            "no key named `{name}`: the chain at {} (`{}`) is not a dev chain, so dev accounts (dev0 …) do not exist there; create a key with `yun keys new {name}` or import one with `yun keys import {name}`",
            dev.node,
            genesis.chain_id
        );
    }
    let funded = |a: &Address| genesis.accounts.iter().any(|g| g.address == *a);
    if let Some(a) = dev_file_account(name, &dev.devnet_dir)?.filter(|a| funded(&a.address)) {
        return Ok(a);
    }
    match dev_index(name) {
        Some(i) if i < genesis.dev_accounts as usize && funded(&dev_account(i).address) => {
            Ok(dev_account(i))
        }
        _ => bail!(
            "no key named `{name}`: the dev chain at {} has dev0 … dev{}; other names are keystore keys (`yun keys new {name}`) or, for a devnet's providers, found with `--devnet-dir DIR` (or YUN_DEVNET_DIR)",
            dev.node,
            genesis.dev_accounts - 1
        ),
    }
}

/// The account `name` in a devnet directory's accounts file, if the file exists and has it.
fn dev_file_account(name: &str, devnet_dir: &Path) -> anyhow::Result<Option<DevAccount>> {
    let dev_file = devnet_dir.join(DEV_ACCOUNTS_FILE);
    if !dev_file.exists() {
        return Ok(None);
    }
    let accounts: Vec<DevAccount> = serde_json::from_str(&std::fs::read_to_string(&dev_file)?)
        .with_context(|| format!("reading {}", dev_file.display()))?;
    Ok(accounts.into_iter().find(|a| a.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cheap scrypt cost, so the tests do not spend 256 MiB and half a second per key.
    const TEST_LOG_N: u8 = 10;

    #[test]
    fn keystore_round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::open(dir.path()).unwrap();
        let m = new_mnemonic();
        let addr = ks
            .add_with_cost("alice", &m, "pw", false, TEST_LOG_N)
            .unwrap();
        assert_eq!(ks.list().unwrap(), vec![("alice".to_string(), addr)]);
        assert_eq!(address_of(&ks.unlock("alice", "pw").unwrap()), addr);
        assert!(ks.unlock("alice", "wrong").is_err());
        assert!(
            ks.add_with_cost("alice", &m, "pw", false, TEST_LOG_N)
                .is_err(),
            "names are unique"
        );
        assert!(
            ks.add_with_cost("../evil", &m, "pw", false, TEST_LOG_N)
                .is_err(),
            "names cannot escape the directory"
        );
    }

    #[cfg(unix)]
    #[test]
    fn keystore_dir_is_0700_and_entries_0600_with_no_temporary_left() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("fresh/keys");
        let ks = Keystore::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "created the owner's alone");
        ks.add_with_cost("alice", &new_mnemonic(), "pw", false, TEST_LOG_N)
            .unwrap();
        assert_eq!(mode(&dir.join("alice")), 0o600);
        assert_eq!(mode(&dir.join("alice.address")), 0o600);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["alice", "alice.address"]);
        // A directory left wider by an older version is restricted on open.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Keystore::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_empty_passphrase_is_refused_unless_insecure() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::open(dir.path()).unwrap();
        let m = new_mnemonic();
        let err = ks
            .add_with_cost("bob", &m, "", false, TEST_LOG_N)
            .unwrap_err();
        assert!(err.to_string().contains("--insecure"), "{err}");
        assert!(ks.address("bob").unwrap().is_none(), "nothing was written");
        let addr = ks.add_with_cost("bob", &m, "", true, TEST_LOG_N).unwrap();
        assert_eq!(address_of(&ks.unlock("bob", "").unwrap()), addr);
    }

    #[test]
    fn new_entries_use_the_stronger_scrypt_and_light_ones_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::open(dir.path()).unwrap();
        let m = new_mnemonic();
        // The default cost, as `yun keys new` writes it.
        let addr = ks.add("new", &m, "pw", false).unwrap();
        let json = std::fs::read(dir.path().join("new")).unwrap();
        let n = keystore_v3::scrypt_n(&json).unwrap();
        assert_eq!(n, 1 << keystore_v3::SCRYPT_LOG_N);
        assert!(n > 1 << 13, "stronger than geth's light");
        assert_eq!(address_of(&ks.unlock("new", "pw").unwrap()), addr);
        // An entry eth-keystore wrote (geth's light setting, N = 2^13), as before this change.
        let secret = blake3::derive_key("yun 2026 account key ed25519 v1", &m.to_seed(""));
        eth_keystore::encrypt_key(
            dir.path(),
            &mut rand08::rngs::OsRng,
            secret,
            "pw",
            Some("old"),
        )
        .unwrap();
        std::fs::write(dir.path().join("old.address"), addr.to_string()).unwrap();
        let json = std::fs::read(dir.path().join("old")).unwrap();
        assert_eq!(keystore_v3::scrypt_n(&json), Some(1 << 13));
        assert_eq!(address_of(&ks.unlock("old", "pw").unwrap()), addr);
    }

    fn unreachable_node() -> DevLookup {
        DevLookup {
            node: "http://127.0.0.1:9".into(),
            devnet_dir: PathBuf::from("/nonexistent"),
        }
    }

    #[tokio::test]
    async fn a_keystore_key_named_dev0_wins_over_the_dev_account() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::open(dir.path()).unwrap();
        let mine = ks
            .add_with_cost("dev0", &new_mnemonic(), "pw", false, TEST_LOG_N)
            .unwrap();
        assert_ne!(mine, dev_account(0).address);
        // No node is asked: the keystore's key is found first.
        let key = signer_in(&ks, "dev0", &unreachable_node(), || Ok("pw".into()))
            .await
            .unwrap();
        assert_eq!(address_of(&key), mine);
        // Without it, dev0 would need the node to say it is a dev chain.
        let empty = tempfile::tempdir().unwrap();
        let none = Keystore::open(empty.path()).unwrap();
        let Err(err) = signer_in(&none, "dev0", &unreachable_node(), || Ok("pw".into())).await
        else {
            panic!("no key and no node to ask, yet a key was found");
        };
        assert!(format!("{err:#}").contains("did not answer"), "{err:#}");
    }

    fn genesis_funding_dev_accounts(dev_accounts: u32) -> yun_types::Genesis {
        let accounts = (0..2)
            .map(|i| yun_types::genesis::GenesisAccount {
                address: dev_account(i).address,
                balance: yun_types::Amount::new(1_000_000),
            })
            .collect();
        yun_types::Genesis {
            chain_id: "keys-test".into(),
            genesis_time_ms: 0,
            accounts,
            validators: vec![],
            params: yun_types::ChainParams::default(),
            dev_accounts,
            evm_accounts: Vec::new(),
        }
    }

    #[test]
    fn dev_names_are_refused_on_a_genesis_that_marks_no_dev_accounts() {
        let dev = unreachable_node();
        let err = dev_account_in_genesis("dev0", &genesis_funding_dev_accounts(0), &dev)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a dev chain"), "{err}");
        // The same funded addresses on a dev genesis resolve, and only the marked ones.
        let dev_genesis = genesis_funding_dev_accounts(2);
        let a = dev_account_in_genesis("dev1", &dev_genesis, &dev).unwrap();
        assert_eq!(a.address, dev_account(1).address);
        assert!(dev_account_in_genesis("dev2", &dev_genesis, &dev).is_err());
    }

    #[test]
    fn dev_names_are_dev_then_digits() {
        assert_eq!(dev_index("dev0"), Some(0));
        assert_eq!(dev_index("dev12"), Some(12));
        assert_eq!(dev_index("dev"), None);
        assert_eq!(dev_index("devx"), None);
        assert_eq!(dev_index("dev-1"), None);
        assert_eq!(dev_index("provider0"), None);
    }

    #[test]
    fn dev_accounts_are_stable_and_distinct() {
        assert_eq!(dev_account(0).address, dev_account(0).address);
        assert_ne!(dev_account(0).address, dev_account(1).address);
    }
}
