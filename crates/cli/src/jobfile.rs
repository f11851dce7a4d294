//! `job.toml`: a job described in a file (program, inputs, arguments, limits, verification,
//! bid, deadline, reduce), read and checked before anything is uploaded or paid for.

use crate::args::{amount, mib, parse_labels};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use yun_types::Amount;
use yun_types::market::{
    REPLICAS_MAX, TASK_ARG_BYTES_MAX, TASK_ARGS_MAX, TASKS_PER_JOB_MAX, Verification,
};

/// Largest job file read.
pub const JOB_FILE_BYTES_MAX: u64 = 1024 * 1024;
/// Largest single input (one task's stdin) or program uploaded.
pub const INPUT_BYTES_MAX: u64 = 256 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    program: PathBuf,
    #[serde(default)]
    args: Vec<String>,
    fuel_per_task: u64,
    memory_mb: u64,
    bid_per_mfuel: String,
    deadline_blocks: u64,
    verification: VerificationFile,
    inputs: InputsFile,
    #[serde(default)]
    required_labels: Vec<String>,
    reduce: Option<ReduceFile>,
}

/// `[verification]`: `policy` and only the numbers that policy takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationFile {
    policy: String,
    k: Option<u8>,
    quorum: Option<u8>,
    target_error_ppm: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputsFile {
    count: Option<u32>,
    files: Option<Vec<PathBuf>>,
    dir: Option<PathBuf>,
    split: Option<SplitFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitFile {
    file: PathBuf,
    pieces: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReduceFile {
    program: PathBuf,
    #[serde(default)]
    args: Vec<String>,
}

/// One task's input: nothing, a whole file, or a piece of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Empty,
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// A checked job file, with paths resolved against the file's directory.
#[derive(Debug, Clone)]
pub struct JobPlan {
    pub program: PathBuf,
    pub tasks: Vec<(Input, Vec<String>)>,
    pub fuel_per_task: u64,
    pub memory_bytes_per_task: u64,
    pub bid_per_mfuel: Amount,
    pub deadline_blocks: u64,
    pub verification: Verification,
    pub required_labels: Vec<yun_types::market::Label>,
    pub reduce: Option<(PathBuf, Vec<String>)>,
}

/// Reads and checks `path`; every error names the field and what to do.
pub fn load(path: &Path) -> anyhow::Result<JobPlan> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading job file {}", path.display()))?
        .len();
    if len > JOB_FILE_BYTES_MAX {
        bail!(
            "{} is {len} bytes; a job file is at most {JOB_FILE_BYTES_MAX}",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)?;
    let file: JobFile =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    plan(file, base).with_context(|| format!("in {}", path.display()))
}

fn plan(f: JobFile, base: &Path) -> anyhow::Result<JobPlan> {
    let program = existing(base, &f.program, "program")?;
    let inputs = inputs(&f.inputs, base)?;
    let count = inputs.len();
    if count == 0 || count > TASKS_PER_JOB_MAX {
        bail!("inputs: {count} tasks; a job has 1 to {TASKS_PER_JOB_MAX}");
    }
    check_args(&f.args, "args")?;
    let tasks = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| (input, substitute(&f.args, i, count)))
        .collect();
    let verification = verification(&f.verification)?;
    if f.fuel_per_task == 0 {
        bail!("fuel_per_task must be at least 1 (measure a task with `yun run`)");
    }
    if f.deadline_blocks == 0 {
        bail!("deadline_blocks must be at least 1");
    }
    let reduce = match f.reduce {
        None => None,
        Some(r) => {
            check_args(&r.args, "reduce.args")?;
            Some((existing(base, &r.program, "reduce.program")?, r.args))
        }
    };
    Ok(JobPlan {
        program,
        tasks,
        fuel_per_task: f.fuel_per_task,
        memory_bytes_per_task: mib(f.memory_mb, "memory_mb")?,
        bid_per_mfuel: amount(&f.bid_per_mfuel, "bid_per_mfuel")?,
        deadline_blocks: f.deadline_blocks,
        verification,
        required_labels: parse_labels(&f.required_labels)?,
        reduce,
    })
}

fn existing(base: &Path, p: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let full = base.join(p);
    if !full.is_file() {
        let hint = if full.extension().is_some_and(|e| e == "wasm") {
            " (build the example jobs with ./scripts/build-guest)"
        } else {
            ""
        };
        bail!("{what}: {} is not a file{hint}", full.display());
    }
    Ok(full)
}

fn inputs(i: &InputsFile, base: &Path) -> anyhow::Result<Vec<Input>> {
    let given = [
        i.count.is_some(),
        i.files.is_some(),
        i.dir.is_some(),
        i.split.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        bail!("[inputs] takes exactly one of: count, files, dir, split");
    }
    if let Some(n) = i.count {
        // Checked before the list is built: `count = 4294967295` would otherwise allocate
        // ~128 GiB of empty inputs before `plan` refuses the count (the job_toml fuzz target).
        if n == 0 || n as usize > TASKS_PER_JOB_MAX {
            bail!("inputs.count: {n} tasks; a job has 1 to {TASKS_PER_JOB_MAX}");
        }
        return Ok(vec![Input::Empty; n as usize]);
    }
    if let Some(files) = &i.files {
        return files
            .iter()
            .map(|f| Ok(Input::File(sized(existing(base, f, "inputs.files")?)?)))
            .collect();
    }
    if let Some(dir) = &i.dir {
        let dir = base.join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("inputs.dir: reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        return files
            .into_iter()
            .map(|f| Ok(Input::File(sized(f)?)))
            .collect();
    }
    let s = i.split.as_ref().expect("one of the four is given");
    let path = sized(existing(base, &s.file, "inputs.split.file")?)?;
    let bytes = std::fs::read(&path)?;
    if s.pieces == 0 || s.pieces as usize > TASKS_PER_JOB_MAX {
        bail!("inputs.split.pieces must be 1 to {TASKS_PER_JOB_MAX}");
    }
    Ok(split_lines(&bytes, s.pieces as usize)
        .into_iter()
        .map(Input::Bytes)
        .collect())
}

fn sized(p: PathBuf) -> anyhow::Result<PathBuf> {
    let len = std::fs::metadata(&p)?.len();
    if len > INPUT_BYTES_MAX {
        bail!(
            "{} is {len} bytes; one input is at most {INPUT_BYTES_MAX} (split it)",
            p.display()
        );
    }
    Ok(p)
}

/// Splits `bytes` into at most `pieces` parts of about equal size, each ending at a line
/// boundary (so no word or record is cut); fewer parts if there are fewer lines.
pub fn split_lines(bytes: &[u8], pieces: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(pieces);
    let mut start = 0;
    for k in 1..=pieces {
        if start >= bytes.len() {
            break;
        }
        let target = (bytes.len() * k / pieces).max(start);
        let end = if k == pieces {
            bytes.len()
        } else {
            bytes[target..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| target + p + 1)
        };
        if end > start {
            out.push(bytes[start..end].to_vec());
        }
        start = end;
    }
    out
}

fn check_args(args: &[String], what: &str) -> anyhow::Result<()> {
    if args.len() > TASK_ARGS_MAX {
        bail!("{what}: {} arguments; at most {TASK_ARGS_MAX}", args.len());
    }
    if let Some(a) = args.iter().find(|a| a.len() + 8 > TASK_ARG_BYTES_MAX) {
        bail!("{what}: `{a}` is too long; an argument is at most {TASK_ARG_BYTES_MAX} bytes");
    }
    Ok(())
}

/// `{index}` and `{count}` in arguments become the task's index and the number of tasks.
pub fn substitute(args: &[String], index: usize, count: usize) -> Vec<String> {
    args.iter()
        .map(|a| {
            a.replace("{index}", &index.to_string())
                .replace("{count}", &count.to_string())
        })
        .collect()
}

fn verification(v: &VerificationFile) -> anyhow::Result<Verification> {
    let extra = |what: &str| {
        anyhow::anyhow!(
            "verification: `{what}` does not apply to policy \"{}\"",
            v.policy
        )
    };
    match v.policy.as_str() {
        "none" => match (v.k, v.quorum, v.target_error_ppm) {
            (None, None, None) => Ok(Verification::None),
            (Some(_), _, _) => Err(extra("k")),
            (_, Some(_), _) => Err(extra("quorum")),
            _ => Err(extra("target_error_ppm")),
        },
        "replicate" => {
            if v.target_error_ppm.is_some() {
                return Err(extra("target_error_ppm"));
            }
            let k =
                v.k.context("verification: replicate needs k (replicas per task)")?;
            let quorum = v.quorum.unwrap_or(k / 2 + 1);
            if k == 0 || k > REPLICAS_MAX || quorum == 0 || quorum > k || 2 * quorum <= k {
                bail!(
                    "verification: k = {k}, quorum = {quorum}; need 1 ≤ k ≤ {REPLICAS_MAX} and a majority quorum (k/2 < quorum ≤ k)"
                );
            }
            Ok(Verification::Replicate { k, quorum })
        }
        "adaptive" => {
            if v.k.is_some() || v.quorum.is_some() {
                return Err(extra(if v.k.is_some() { "k" } else { "quorum" }));
            }
            let t = v
                .target_error_ppm
                .context("verification: adaptive needs target_error_ppm (e.g. 1000 = 0.1 %)")?;
            if t == 0 || t >= 1_000_000 {
                bail!("verification: target_error_ppm must be between 1 and 999999");
            }
            Ok(Verification::Adaptive {
                target_error_ppm: t,
            })
        }
        other => bail!("verification: policy \"{other}\" is not one of none, replicate, adaptive"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lines_cuts_only_after_newlines_and_keeps_every_byte() {
        let text = b"one two\nthree\nfour five six\nseven\n";
        let parts = split_lines(text, 3);
        assert_eq!(parts.concat(), text.to_vec());
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
        assert_eq!(parts.len(), 3);
        assert_eq!(split_lines(b"no newline", 4), vec![b"no newline".to_vec()]);
    }

    #[test]
    fn placeholders_are_substituted_per_task() {
        let args = vec![
            "--strip".to_string(),
            "{index}".into(),
            "--strips={count}".into(),
        ];
        assert_eq!(substitute(&args, 2, 8), vec!["--strip", "2", "--strips=8"]);
    }

    fn write(dir: &Path, body: &str) -> PathBuf {
        std::fs::write(dir.join("prog.wasm"), b"\0asm").unwrap();
        let p = dir.join("job.toml");
        std::fs::write(&p, body).unwrap();
        p
    }

    const HEAD: &str = "program = \"prog.wasm\"\nfuel_per_task = 1000\nmemory_mb = 16\nbid_per_mfuel = \"5\"\ndeadline_blocks = 100\n";

    #[test]
    fn a_valid_file_becomes_a_plan() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            &format!(
                "{HEAD}args = [\"--seed\", \"{{index}}\"]\n[verification]\npolicy = \"replicate\"\nk = 3\nquorum = 2\n[inputs]\ncount = 4\n"
            ),
        );
        let plan = load(&p).unwrap();
        assert_eq!(plan.tasks.len(), 4);
        assert_eq!(plan.tasks[3].1, vec!["--seed", "3"]);
        assert_eq!(
            plan.verification,
            Verification::Replicate { k: 3, quorum: 2 }
        );
        assert_eq!(plan.memory_bytes_per_task, 16 << 20);
    }

    #[test]
    fn a_huge_input_count_is_refused_without_allocating_it() {
        let d = tempfile::tempdir().unwrap();
        let v = "[verification]\npolicy = \"none\"\n";
        let p = write(
            d.path(),
            &format!("{HEAD}{v}[inputs]\ncount = 4294967295\n"),
        );
        let err = format!("{:#}", load(&p).unwrap_err());
        assert!(
            err.contains("inputs.count: 4294967295 tasks; a job has 1 to 1024"),
            "{err}"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let d = tempfile::tempdir().unwrap();
        let err = |body: String| format!("{:#}", load(&write(d.path(), &body)).unwrap_err());
        let v = "[verification]\npolicy = \"none\"\n";
        assert!(
            err(format!("{HEAD}{v}[inputs]\ncount = 2\ndir = \"x\"\n")).contains("exactly one of")
        );
        assert!(err(format!("{HEAD}[verification]\npolicy = \"replicate\"\nk = 4\nquorum = 2\n[inputs]\ncount = 1\n")).contains("majority"));
        assert!(err(format!("{HEAD}{v}[inputs]\ncount = 0\n")).contains("1 to 1024"));
        assert!(
            err(format!("{HEAD}colour = 1\n{v}[inputs]\ncount = 1\n")).contains("unknown field")
        );
        assert!(err(format!("{HEAD}{v}k = 3\n[inputs]\ncount = 1\n")).contains("does not apply"));
        assert!(
            err(format!(
                "{HEAD}[verification]\npolicy = \"majority\"\n[inputs]\ncount = 1\n"
            ))
            .contains("not one of")
        );
        assert!(
            err(format!(
                "{}{v}[inputs]\ncount = 1\n",
                HEAD.replace("prog.wasm", "missing.wasm")
            ))
            .contains("build the example jobs")
        );
    }
}
