//! Yun job: counts words; prints `word\tcount` lines sorted by word.
//!
//! Input: stdin, or if stdin is empty every file in `/in` in name order. With `--merge` the
//! inputs are themselves `word\tcount` tables (outputs of earlier runs) and are added up: the
//! reduce step of a map/reduce word count. As a job's reduce program, `/in` holds each task's
//! stdout as `/in/NNNNN.stdout`; when such files exist only they are read, so other task
//! outputs or stray files cannot break the merge, and otherwise every file is (as before).

use std::collections::BTreeMap;

fn main() {
    let merge = yun_guest::flag("merge");
    let stdin = yun_guest::input();
    let inputs: Vec<(String, Vec<u8>)> = if stdin.is_empty() {
        let task_stdouts: Vec<String> = if merge {
            yun_guest::task_outputs("stdout")
                .into_iter()
                .map(|(_, name)| name)
                .collect()
        } else {
            Vec::new()
        };
        let names = if task_stdouts.is_empty() {
            yun_guest::list_in()
        } else {
            task_stdouts
        };
        names
            .into_iter()
            .map(|name| {
                let bytes =
                    yun_guest::read_in(&name).unwrap_or_else(|e| panic!("reading /in/{name}: {e}"));
                (name, bytes)
            })
            .collect()
    } else {
        vec![("<stdin>".to_owned(), stdin)]
    };

    let mut total = BTreeMap::new();
    for (name, bytes) in inputs {
        let part = if merge {
            let text = std::str::from_utf8(&bytes)
                .unwrap_or_else(|e| panic!("{name}: count table is not UTF-8: {e}"));
            yun_kernels::parse_counts(text).unwrap_or_else(|e| panic!("{name}: {e}"))
        } else {
            yun_kernels::word_count(&bytes)
        };
        yun_kernels::merge_counts(&mut total, part);
    }
    yun_guest::emit(yun_kernels::format_counts(&total).as_bytes());
}
