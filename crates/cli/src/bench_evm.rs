//! `yun bench evm`: Ethereum transactions through the whole node, as a wallet sends them.
//! It funds many secp256k1 accounts at genesis, deploys a plain ERC-20 (`BenchToken`, from
//! `examples/contracts/`), hands each account tokens, then sends signed raw transactions
//! (native-value transfers, then ERC-20 `transfer` calls) at full speed and measures how
//! many finalized per second. Afterwards it reads the recipient's balances back over the
//! JSON-RPC, so a run whose transactions reverted cannot pass for a fast one.

use crate::bench::{BenchNet, TransfersArgs};
use crate::output::Output;
use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address as EthAddr, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, sol};
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};
use yun_client::Client;
use yun_types::evm::{EthAddress, GenesisEvmAccount};
use yun_types::{Amount, Genesis, SignedTx, TxId};

sol! {
    function transfer(address to, uint256 value) returns (bool);
    function balanceOf(address owner) returns (uint256);
}

/// `BenchToken`'s creation code, compiled from `examples/contracts/BenchToken.sol` by
/// `examples/contracts/scripts/build.mjs` (whose `--check`, run by the tests, fails if the
/// two differ).
const BENCH_TOKEN_BIN: &str = include_str!("../../../examples/contracts/build/BenchToken.bin");

/// Opening EVM balance of each sender and of the deployer: 10 "ether", room for any run.
const SENDER_WEI: u128 = 10_000_000_000_000_000_000;
/// Gas each kind of transaction asks for: a plain transfer's 21,000, and room for an ERC-20
/// transfer (about 35 k to a holder, 52 k to a new one).
const NATIVE_GAS: u64 = 21_000;
const TOKEN_GAS: u64 = 80_000;
const DEPLOY_GAS: u64 = 2_000_000;
/// Tokens each sender gets, and the total minted (in the token's smallest unit).
const TOKENS_PER_SENDER: u64 = 1_000_000_000;
/// Offered load assumed when pre-signing a full-speed phase, in tx/s.
const PRESIGN_TX_PER_SEC: u64 = 15_000;
/// Seeds of the deployer's and the senders' keys (test keys, derived in the open).
const DEPLOYER_SEED: u64 = 9_000_000;
const SENDER_SEED_BASE: u64 = 9_000_001;
/// Where every transfer goes: one fixed address, so its balance counts what arrived.
const RECIPIENT: EthAddr = EthAddr::repeat_byte(0x77);
/// How long the setup (deploy, hand out tokens) may take to finalize.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// The bench's test key number `seed`: a secp256k1 key from the seed's blake3 hash.
fn key(seed: u64) -> PrivateKeySigner {
    let bytes = blake3::hash(&seed.to_le_bytes());
    PrivateKeySigner::from_slice(bytes.as_bytes()).expect("a blake3 hash is a valid key")
}

fn eth_address(a: EthAddr) -> EthAddress {
    EthAddress(a.into_array())
}

/// A signed legacy transaction in its relay envelope, as `eth_sendRawTransaction` admits it.
struct Signer<'a> {
    chain_id: &'a str,
    eth_chain_id: u64,
    gas_price: u128,
}

impl Signer<'_> {
    fn sign(
        &self,
        key: &PrivateKeySigner,
        nonce: u64,
        to: TxKind,
        value: u128,
        gas_limit: u64,
        input: Vec<u8>,
    ) -> anyhow::Result<SignedTx> {
        let tx = TxLegacy {
            chain_id: Some(self.eth_chain_id),
            nonce,
            gas_price: self.gas_price,
            gas_limit,
            to,
            value: U256::from(value),
            input: Bytes::from(input),
        };
        let sig = key.sign_hash_sync(&tx.signature_hash())?;
        let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
        let (stx, _) = yun_state::evm::wrap(self.chain_id, raw)
            .map_err(|r| anyhow::anyhow!("the bench built an invalid transaction: {r:?}"))?;
        Ok(stx)
    }
}

/// What a phase sends: native value, or ERC-20 `transfer` calls to `token`.
#[derive(Clone, Copy)]
enum Load {
    Native,
    Token(EthAddr),
}

impl Load {
    fn name(self) -> &'static str {
        match self {
            Load::Native => "native-value transfers",
            Load::Token(_) => "ERC-20 transfer calls",
        }
    }
}

/// `per_account` transactions of `load` from each sender starting at its nonce in
/// `first_nonces`, in round-major order (every sender's k-th before anyone's k+1-th), signed
/// on all cores.
fn presign(
    signer: &Signer<'_>,
    senders: &[PrivateKeySigner],
    first_nonces: &[u64],
    per_account: u64,
    load: Load,
) -> anyhow::Result<Vec<SignedTx>> {
    let bar = ProgressBar::new(per_account * senders.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "pre-signing {bar:40} {pos}/{len}",
    )?);
    let one = |key: &PrivateKeySigner, nonce: u64| match load {
        Load::Native => signer.sign(key, nonce, TxKind::Call(RECIPIENT), 1, NATIVE_GAS, vec![]),
        Load::Token(token) => signer.sign(
            key,
            nonce,
            TxKind::Call(token),
            0,
            TOKEN_GAS,
            transferCall {
                to: RECIPIENT,
                value: U256::from(1),
            }
            .abi_encode(),
        ),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let rounds: Vec<(u64, Vec<SignedTx>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (one, bar) = (&one, &bar);
                scope.spawn(move || -> anyhow::Result<Vec<(u64, Vec<SignedTx>)>> {
                    let mut out = Vec::new();
                    for round in (t..per_account).step_by(threads as usize) {
                        let txs = senders
                            .iter()
                            .zip(first_nonces)
                            .map(|(k, first)| one(k, first + round))
                            .collect::<anyhow::Result<Vec<_>>>()?;
                        bar.inc(txs.len() as u64);
                        out.push((round, txs));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("signer thread"))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect())
    })?;
    bar.finish_and_clear();
    let mut rounds = rounds;
    rounds.sort_by_key(|(n, _)| *n);
    Ok(rounds.into_iter().flat_map(|(_, r)| r).collect())
}

/// Adds the deployer and the senders to the genesis file in `dir`, each with [`SENDER_WEI`].
fn fund_in_genesis(dir: &std::path::Path, accounts: &[EthAddr]) -> anyhow::Result<()> {
    let path = dir.join("genesis.json");
    let mut genesis: Genesis = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    genesis
        .evm_accounts
        .extend(accounts.iter().map(|a| GenesisEvmAccount {
            address: eth_address(*a),
            balance: Amount::new(SENDER_WEI),
        }));
    std::fs::write(&path, serde_json::to_string_pretty(&genesis)?)?;
    Ok(())
}

pub fn evm(args: TransfersArgs) -> anyhow::Result<()> {
    let dir = crate::bench::tempfile_dir()?;
    let deployer = key(DEPLOYER_SEED);
    let senders: Vec<PrivateKeySigner> = (0..args.accounts as u64)
        .map(|i| key(SENDER_SEED_BASE + i))
        .collect();
    let funded: Vec<EthAddr> = std::iter::once(&deployer)
        .chain(&senders)
        .map(|k| k.address())
        .collect();
    let net = BenchNet::start(&dir, &args, &[], &|d| fund_in_genesis(d, &funded))?;
    if args.output == Output::Text {
        println!(
            "yun bench evm — {} validator(s), {} senders — {}",
            args.validators.max(1),
            senders.len(),
            crate::bench::machine()
        );
    }
    let args = &args;
    let phases = crate::bench::drive(&dir, net, move |urls| async move {
        run_phases(&urls, &deployer, &senders, args).await
    })?;
    crate::bench::print_json_report(args, &phases)
}

/// Deploys the token, hands it out, then runs the native phase and the ERC-20 phase, each
/// checked against the recipient's balance afterwards.
async fn run_phases(
    urls: &[String],
    deployer: &PrivateKeySigner,
    senders: &[PrivateKeySigner],
    args: &TransfersArgs,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let client = Client::new(&urls[0]);
    let status = client.status().await?;
    let rpc = format!("{}/eth", urls[0]);
    let eth_chain_id = u64::try_from(rpc_quantity(&rpc, "eth_chainId").await?)?;
    let gas_price = rpc_quantity(&rpc, "eth_gasPrice").await?;
    let signer = Signer {
        chain_id: &status.chain_id,
        eth_chain_id,
        gas_price,
    };
    let token = setup_token(&client, &signer, deployer, senders).await?;
    let per_account = (PRESIGN_TX_PER_SEC * args.duration).div_ceil(senders.len() as u64);
    let mut phases = Vec::new();
    // No sender has sent anything yet: the native phase starts at nonce 0.
    let mut next_nonces = vec![0; senders.len()];
    for load in [Load::Native, Load::Token(token)] {
        let txs = presign(&signer, senders, &next_nonces, per_account.max(1), load)?;
        eprintln!("{}: {} pre-signed", load.name(), txs.len());
        let before = recipient_balance(&rpc, load).await?;
        let mut phase =
            crate::bench::run_signed_load(urls, txs, senders.len(), args.rate, args).await?;
        let after = recipient_balance(&rpc, load).await?;
        let finalized = phase["finalized"].as_u64().unwrap_or(0);
        let arrived = after.saturating_sub(before);
        if arrived != u128::from(finalized) {
            bail!(
                "{}: {finalized} finalized but the recipient gained {arrived}: some transactions reverted",
                load.name()
            );
        }
        phase["load"] = serde_json::json!(load.name());
        if args.output == Output::Text {
            println!("\n  load              {}", load.name());
            crate::bench::print_phase(&phase);
            println!("  checked           the recipient gained exactly {arrived}");
        }
        phases.push(phase);
        // A phase ends at its deadline with the senders at different nonces: the next one
        // starts each where it stands (counting what still waits in the mempool).
        next_nonces = pending_nonces(&rpc, senders).await?;
    }
    Ok(phases)
}

/// Each sender's next nonce, counting its transactions still waiting in the mempool.
async fn pending_nonces(rpc: &str, senders: &[PrivateKeySigner]) -> anyhow::Result<Vec<u64>> {
    let mut nonces = Vec::with_capacity(senders.len());
    // In JSON-RPC batches as large as the node takes, not one request per sender.
    for chunk in senders.chunks(yun_node::eth_rpc::ETH_BATCH_CALLS_MAX) {
        let batch: Vec<serde_json::Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, k)| {
                serde_json::json!({"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionCount",
                    "params": [format!("{:#x}", k.address()), "pending"]})
            })
            .collect();
        let replies: Vec<serde_json::Value> = reqwest::Client::new()
            .post(rpc)
            .json(&batch)
            .send()
            .await?
            .json()
            .await?;
        let mut by_id = vec![None; chunk.len()];
        for r in replies {
            let id = r["id"].as_u64().context("a batch reply without an id")? as usize;
            let n = r["result"]
                .as_str()
                .with_context(|| format!("nonce query: {r}"))?;
            let slot = by_id
                .get_mut(id)
                .context("a batch reply with an unknown id")?;
            *slot = Some(u64::from_str_radix(n.trim_start_matches("0x"), 16)?);
        }
        for n in by_id {
            nonces.push(n.context("a batch reply is missing")?);
        }
    }
    Ok(nonces)
}

/// Deploys `BenchToken` from `deployer` and sends each sender its tokens; waits until all of
/// it finalized and returns the token's address.
async fn setup_token(
    client: &Client,
    signer: &Signer<'_>,
    deployer: &PrivateKeySigner,
    senders: &[PrivateKeySigner],
) -> anyhow::Result<EthAddr> {
    let supply = U256::from(TOKENS_PER_SENDER) * U256::from(senders.len() as u64);
    let mut code = hex::decode(BENCH_TOKEN_BIN.trim()).context("BenchToken.bin is hex")?;
    code.extend_from_slice(&supply.to_be_bytes::<32>());
    let token = deployer.address().create(0);
    let mut txs = vec![signer.sign(deployer, 0, TxKind::Create, 0, DEPLOY_GAS, code)?];
    for (i, s) in senders.iter().enumerate() {
        let call = transferCall {
            to: s.address(),
            value: U256::from(TOKENS_PER_SENDER),
        };
        txs.push(signer.sign(
            deployer,
            i as u64 + 1,
            TxKind::Call(token),
            0,
            TOKEN_GAS,
            call.abi_encode(),
        )?);
    }
    eprintln!(
        "setup: deploying BenchToken and handing it to {} senders",
        senders.len()
    );
    for chunk in txs.chunks(500) {
        for r in client.submit_batch(chunk).await? {
            if r.id.is_none() {
                bail!("setup transaction refused: {:?}", r.error);
            }
        }
    }
    let last: TxId = txs.last().expect("the deploy at least").id();
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        let st = client.tx(&last).await?;
        match st.state {
            yun_types::api::TxState::Committed => break,
            yun_types::api::TxState::Rejected => bail!("setup transaction dropped: {st:?}"),
            yun_types::api::TxState::Pending if Instant::now() > deadline => {
                bail!("the setup did not finalize within {SETUP_TIMEOUT:?}")
            }
            yun_types::api::TxState::Pending => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    Ok(token)
}

/// The recipient's balance of what `load` sends: wei, or tokens.
async fn recipient_balance(rpc: &str, load: Load) -> anyhow::Result<u128> {
    let v = match load {
        Load::Native => {
            rpc_call(
                rpc,
                "eth_getBalance",
                serde_json::json!([format!("{RECIPIENT:#x}"), "latest"]),
            )
            .await?
        }
        Load::Token(token) => {
            let data = balanceOfCall { owner: RECIPIENT }.abi_encode();
            rpc_call(
                rpc,
                "eth_call",
                serde_json::json!([{
                    "to": format!("{token:#x}"),
                    "data": format!("0x{}", hex::encode(data)),
                }, "latest"]),
            )
            .await?
        }
    };
    let text = v
        .as_str()
        .context("a hex quantity")?
        .trim_start_matches("0x");
    let n = U256::from_str_radix(if text.is_empty() { "0" } else { text }, 16)?;
    Ok(n.saturating_to::<u128>())
}

/// A method without parameters that answers a hex quantity (`eth_chainId`, `eth_gasPrice`).
async fn rpc_quantity(rpc: &str, method: &str) -> anyhow::Result<u128> {
    let v = rpc_call(rpc, method, serde_json::json!([])).await?;
    let text = v
        .as_str()
        .context("a hex quantity")?
        .trim_start_matches("0x");
    Ok(u128::from_str_radix(text, 16)?)
}

/// One JSON-RPC call; an error reply becomes an error.
async fn rpc_call(
    url: &str,
    method: &str,
    params: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply: serde_json::Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    if let Some(e) = reply.get("error") {
        bail!("{method}: {e}");
    }
    Ok(reply["result"].clone())
}
