//! An encrypted job end to end on an in-process devnet: `yun job submit --encrypt` encrypts
//! the inputs to a fresh job key, shares the key with each provider the chain draws, the
//! replicas agree on digests of the plaintext while each keeps only ciphertext, the network
//! reduce decrypts the map outputs, and `yun job results` decrypts and checks everything
//! against the verified digests. No plaintext reaches the node's or any provider's files.

mod support;

use std::path::Path;
use support::{Devnet, files_containing, guest};
use yun_types::api::{JobStatus, TaskPhase};
use yun_types::market::JobId;

const PROVIDERS: usize = 3;
const MARKER: &str = "zqxsecretmarker7f3a";

fn encrypted_wordcount_job(dir: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("a.txt"), format!("apple {MARKER} apple\n")).unwrap();
    std::fs::write(dir.join("b.txt"), format!("{MARKER} pear\n")).unwrap();
    let wc = guest("wordcount");
    let body = format!(
        "program = {wc:?}\nfuel_per_task = 100000000\nmemory_mb = 32\nbid_per_mfuel = \"1000\"\n\
         deadline_blocks = 400\n[verification]\npolicy = \"replicate\"\nk = 2\nquorum = 2\n\
         [inputs]\nfiles = [\"a.txt\", \"b.txt\"]\n[reduce]\nprogram = {wc:?}\nargs = [\"--merge\"]\n"
    );
    let path = dir.join("job.toml");
    std::fs::write(&path, body).unwrap();
    path
}

/// Runs the `yun` binary against the devnet on the requester's machine (`home` is its
/// `YUN_HOME`, where job keys are kept) and returns its JSON answer.
async fn yun(net: &Devnet, home: &Path, args: &[&str]) -> serde_json::Value {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_yun"));
    cmd.args(args)
        .args(["--output", "json", "--node"])
        .arg(net.node.api_url())
        .arg("--devnet-dir")
        .arg(net.dir.path())
        .env("YUN_HOME", home.join("yun-home"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "yun {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_encrypted_job_settles_verified_decrypts_here_and_leaves_no_plaintext_elsewhere() {
    let net = Devnet::start(PROVIDERS, 200, |g| {
        g["params"]["market"]["commit_window_blocks"] = 30.into();
    });
    // The requester's own machine: job file, inputs, outputs and its job keys.
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..PROVIDERS {
            agents.push(net.agent(i).await);
        }
        let out = home.path().join("out");
        let job_file = encrypted_wordcount_job(home.path());
        let report = yun(
            &net,
            home.path(),
            &[
                "job",
                "submit",
                job_file.to_str().unwrap(),
                "--encrypt",
                "--from",
                "dev0",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .await;
        let id: JobId = report["job"].as_str().unwrap().parse().unwrap();
        let job = net.client.job(&id).await.unwrap();
        assert_eq!(job.job.status, JobStatus::Settled);
        assert_eq!(
            job.job.tasks_verified, 3,
            "both maps and the reduce: {job:?}"
        );
        let public = job.job.spec.encryption_key.expect("posted as encrypted");

        // Outputs decrypted here, each checked against its verified plaintext digest.
        let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
        assert_eq!(
            read("tasks/00000/stdout"),
            format!("apple\t2\n{MARKER}\t1\n")
        );
        assert_eq!(
            read("tasks/00001/stdout"),
            format!("pear\t1\n{MARKER}\t1\n")
        );
        let reduced = format!("apple\t2\npear\t1\n{MARKER}\t2\n");
        assert_eq!(report["reduce_stdout"].as_str(), Some(reduced.as_str()));
        // Replicas agreed on the digest of the plaintext output: the same run here, on the
        // plaintext input, gives the verified digest.
        let TaskPhase::Verified { verdict } = job.tasks[0].task.phase else {
            panic!("task 0 verified")
        };
        let task = yun_exec::Task {
            args: Vec::new(),
            stdin: std::fs::read(home.path().join("a.txt")).unwrap(),
            files: Vec::new(),
            seed: yun_types::market::task_seed(&yun_types::market::TaskRef {
                job: job.id,
                index: 0,
            }),
            fuel: job.job.spec.fuel_per_task,
            memory_bytes_max: job.job.spec.memory_bytes_per_task,
        };
        let sandbox = yun_exec::Sandbox::new(yun_exec::SandboxConfig::default()).unwrap();
        let program = std::fs::read(guest("wordcount")).unwrap();
        let local = tokio::task::spawn_blocking(move || sandbox.run_module(&program, &task))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(verdict.output_digest.0, local.output_digest);

        // The key stays on this machine, readable by its owner only.
        let key_file = home
            .path()
            .join("yun-home/job-keys")
            .join(format!("{public}.key"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Every provider's data (stores, journals, sealed outputs, scratch) and the node's.
        for i in 0..PROVIDERS {
            let found = files_containing(&net.provider_dir(i), MARKER.as_bytes());
            assert!(found.is_empty(), "plaintext at provider {i}: {found:?}");
        }
        let found = files_containing(net.dir.path(), MARKER.as_bytes());
        assert!(found.is_empty(), "plaintext in the devnet: {found:?}");
        // The search does find the marker where plaintext is: the requester's machine.
        assert!(!files_containing(&out, MARKER.as_bytes()).is_empty());

        // `yun job results` later decrypts again from the kept key.
        let again = home.path().join("again");
        yun(
            &net,
            home.path(),
            &[
                "job",
                "results",
                &id.to_string(),
                "--out",
                again.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(
            std::fs::read_to_string(again.join("reduce/stdout")).unwrap(),
            reduced
        );
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
}
