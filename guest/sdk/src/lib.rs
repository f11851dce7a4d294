//! Helpers for writing Yun jobs: a job is a wasm32-wasip1 command, and these wrap the sandbox
//! contract so a job reads its arguments and inputs and writes its outputs in a line each.
//!
//! # The sandbox contract
//!
//! What the host gives every module:
//! - **argv**: `argv[0]` is the program name, then the task's arguments ([`args`], [`arg`]).
//! - **stdin**: the task's input bytes ([`input`]).
//! - **stdout**: captured; it is part of the verified output ([`emit`], [`emit_line`]).
//! - **stderr**: captured for diagnostics only (panic messages land here).
//! - **`/in`**: a read-only preopened directory with the task's input files ([`read_in`],
//!   [`list_in`]).
//! - **`/out`**: a writable preopened directory; the files left there are collected as
//!   outputs ([`write_out`]).
//! - No environment variables, fixed clocks, and `random_get` seeded deterministically by the
//!   host from the task ([`seed`]).
//!
//! # Reduce programs
//!
//! After every task of a job is verified, the requester may run a *reduce* program locally
//! over all the outputs. It gets no stdin and one flat file per output entry in `/in`: task
//! `i`'s stdout is `/in/{i:05}.stdout` (e.g. `/in/00003.stdout`) and its `/out/NAME` is
//! `/in/{i:05}.NAME` (a nested name with `/` replaced by `.`), so names sort in task order.
//! [`task_outputs`] lists one entry across the tasks.
//!
//! Every run of the same task must produce the same outputs, because other nodes re-run it to
//! verify. So: never iterate a `HashMap` into output (use `BTreeMap` or sort), and take all
//! randomness from [`seed`].
//!
//! The helpers also work in a native build (tests, debugging): paths are then the host's real
//! `/in` and `/out`, and [`seed`] returns [`NATIVE_SEED`].

use std::fmt::Display;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::str::FromStr;

/// The directory holding the task's input files.
pub const IN_DIR: &str = "/in";
/// The directory whose files are collected as the task's outputs.
pub const OUT_DIR: &str = "/out";
/// What [`seed`] returns outside the sandbox, where there is no task to seed from.
pub const NATIVE_SEED: u64 = 0;

/// All of stdin: the task's input bytes (empty if it has none).
///
/// # Panics
/// If stdin cannot be read, which in the sandbox means the host is broken.
pub fn input() -> Vec<u8> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .expect("reading stdin");
    buf
}

/// The task's arguments, without `argv[0]`.
pub fn args() -> Vec<String> {
    std::env::args().skip(1).collect()
}

/// The value of flag `--name`, given as `--name=value` or `--name value`, parsed as `T`;
/// `default` when the flag is absent. The last occurrence wins.
///
/// # Panics
/// With a message naming the flag if its value is missing or does not parse: a bad argument
/// is the task author's mistake, and a trap with a clear stderr line is the right report.
/// The panic points at the caller's line, not at this crate.
#[track_caller]
pub fn arg<T: FromStr>(name: &str, default: T) -> T
where
    T::Err: Display,
{
    arg_opt(name).unwrap_or(default)
}

/// Like [`arg`], but `None` when the flag is absent (for defaults that cost something to
/// compute, such as [`seed`]).
#[track_caller]
pub fn arg_opt<T: FromStr>(name: &str) -> Option<T>
where
    T::Err: Display,
{
    let raw = find_flag(&args(), name)?;
    let Some(raw) = raw else {
        panic!("flag --{name} needs a value: --{name}=VALUE or --{name} VALUE");
    };
    match raw.parse() {
        Ok(v) => Some(v),
        Err(e) => panic!("flag --{name}: cannot parse {raw:?}: {e}"),
    }
}

/// Whether the boolean flag `--name` is set: `--name`, `--name=true` or `--name=false`.
///
/// # Panics
/// If it is given any other `=value`.
#[track_caller]
pub fn flag(name: &str) -> bool {
    let args = args();
    let prefix = format!("--{name}");
    let mut set = false;
    for a in &args {
        if *a == prefix {
            set = true;
        } else if let Some(v) = a.strip_prefix(&prefix).and_then(|r| r.strip_prefix('=')) {
            set = match v {
                "true" => true,
                "false" => false,
                _ => panic!("flag --{name}: expected true or false, got {v:?}"),
            };
        }
    }
    set
}

/// Finds `--name`: `None` if absent, `Some(None)` if present without a value, else its value.
/// A following argument counts as the value unless it is itself a `--flag`, so negative
/// numbers (`--x0 -2`) work.
fn find_flag(args: &[String], name: &str) -> Option<Option<String>> {
    let prefix = format!("--{name}");
    let mut found = None;
    for (i, a) in args.iter().enumerate() {
        if *a == prefix {
            let next = args.get(i + 1).filter(|v| !v.starts_with("--")).cloned();
            found = Some(next);
        } else if let Some(v) = a.strip_prefix(&prefix).and_then(|r| r.strip_prefix('=')) {
            found = Some(Some(v.to_owned()));
        }
    }
    found
}

/// Reads input file `name` from `/in`.
pub fn read_in(name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(PathBuf::from(IN_DIR).join(name))
}

/// Names of the regular files in `/in`, sorted (directory order is not deterministic);
/// empty if `/in` does not exist.
pub fn list_in() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(IN_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// The reduce inputs holding output entry `entry` of each task (`"stdout"`, or the name of a
/// `/out` file with `/` as `.`), as `(task index, file name in /in)` in task order; see
/// [the reduce layout](crate#reduce-programs). Other files in `/in` are ignored, so a stray
/// file cannot be mistaken for a task's output.
pub fn task_outputs(entry: &str) -> Vec<(u64, String)> {
    select_task_outputs(list_in(), entry)
}

/// [`task_outputs`] over a given list of names: those of the form `DIGITS.entry`, sorted by
/// the number (not the text, so task 100000 still follows task 99999).
fn select_task_outputs(names: Vec<String>, entry: &str) -> Vec<(u64, String)> {
    let mut found: Vec<(u64, String)> = names
        .into_iter()
        .filter_map(|name| {
            let index = name.strip_suffix(entry)?.strip_suffix('.')?;
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((index.parse().ok()?, name))
        })
        .collect();
    found.sort();
    found
}

/// Writes output file `name` into `/out`, replacing any earlier file of that name.
pub fn write_out(name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(PathBuf::from(OUT_DIR).join(name), bytes)
}

/// Writes `bytes` to stdout (the verified output) and flushes.
///
/// # Panics
/// If stdout cannot be written, which in the sandbox means the output limit was hit or the
/// host is broken: either way the task has failed.
pub fn emit(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).expect("writing stdout");
    out.flush().expect("flushing stdout");
}

/// Writes `line` and a newline to stdout (see [`emit`]).
pub fn emit_line(line: &str) {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    emit(&buf);
}

/// The task's seed: 64 bits from WASI `random_get`, which the host seeds from the task, so
/// every run of the same task gets the same value. Outside the sandbox: [`NATIVE_SEED`].
///
/// Call it once and feed your own PRNG: successive `random_get` calls continue one stream, so
/// the value depends on how much randomness was drawn before.
pub fn seed() -> u64 {
    #[cfg(target_os = "wasi")]
    {
        getrandom::u64().expect("WASI random_get")
    }
    #[cfg(not(target_os = "wasi"))]
    {
        NATIVE_SEED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_both_flag_forms() {
        let a = argv(&["--n=5", "--seed", "7", "--x0", "-2.5", "--verbose", "--m"]);
        assert_eq!(find_flag(&a, "n"), Some(Some("5".into())));
        assert_eq!(find_flag(&a, "seed"), Some(Some("7".into())));
        assert_eq!(find_flag(&a, "x0"), Some(Some("-2.5".into())));
        assert_eq!(find_flag(&a, "verbose"), Some(None));
        assert_eq!(find_flag(&a, "m"), Some(None));
        assert_eq!(find_flag(&a, "missing"), None);
        // A flag whose name is a prefix of another is not confused with it.
        assert_eq!(find_flag(&argv(&["--nn=1"]), "n"), None);
        // The last occurrence wins.
        assert_eq!(
            find_flag(&argv(&["--n=1", "--n=2"]), "n"),
            Some(Some("2".into()))
        );
    }

    #[test]
    fn selects_one_entry_of_each_task_in_task_order() {
        let names = argv(&[
            "00000.stdout",
            "00000.strip.raw",
            "00002.stdout",
            "100000.stdout",
            "99999.stdout",
            "00001.raw",
            "notes.stdout",
            ".stdout",
            "00001stdout",
            "x00001.stdout",
            "00003.stdout.bak",
        ]);
        let got = select_task_outputs(names.clone(), "stdout");
        let want = [
            (0, "00000.stdout"),
            (2, "00002.stdout"),
            (99999, "99999.stdout"),
        ]
        .into_iter()
        .chain([(100000, "100000.stdout")])
        .map(|(i, n)| (i, n.to_string()))
        .collect::<Vec<_>>();
        assert_eq!(got, want);
        // `raw` is not `strip.raw`: the prefix before the entry must be the bare index.
        assert_eq!(
            select_task_outputs(names.clone(), "strip.raw"),
            vec![(0, "00000.strip.raw".to_string())]
        );
        assert_eq!(
            select_task_outputs(names, "raw"),
            vec![(1, "00001.raw".to_string())]
        );
    }

    #[test]
    fn defaults_when_absent() {
        // The test harness's own arguments never use these names.
        assert_eq!(arg("yun-test-absent", 42u64), 42);
        assert_eq!(arg_opt::<u64>("yun-test-absent"), None);
        assert!(!flag("yun-test-absent"));
        assert_eq!(seed(), NATIVE_SEED);
    }
}
