//! Word counting for a map/reduce job: count, format, parse and merge (the text kernel).

use std::collections::BTreeMap;

/// Counts words in `text`: maximal runs of ASCII letters and digits, lowercased. Every other
/// byte (punctuation, whitespace, any non-ASCII byte) separates words, so the result does not
/// depend on the text being valid UTF-8. A `BTreeMap` keeps the order deterministic.
pub fn word_count(text: &[u8]) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut lower = Vec::new();
    for word in text.split(|b| !b.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        lower.clear();
        lower.extend(word.iter().map(u8::to_ascii_lowercase));
        // ASCII only, so the lowercased bytes are always valid UTF-8.
        let word = std::str::from_utf8(&lower).expect("ASCII is UTF-8");
        // Look up by `&str` first: repeated words, the common case, then allocate nothing.
        match counts.get_mut(word) {
            Some(c) => *c = c.saturating_add(1),
            None => {
                counts.insert(word.to_owned(), 1);
            }
        }
    }
    counts
}

/// The table as `word\tcount\n` lines in byte order of the words.
pub fn format_counts(counts: &BTreeMap<String, u64>) -> String {
    let mut out = String::new();
    for (word, count) in counts {
        out.push_str(word);
        out.push('\t');
        out.push_str(&count.to_string());
        out.push('\n');
    }
    out
}

/// Parses `format_counts` output back into a table; a word seen twice has its counts added.
/// Empty lines are skipped.
pub fn parse_counts(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut counts = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (word, count) = line
            .split_once('\t')
            .ok_or_else(|| format!("line {}: expected `word<TAB>count`", i + 1))?;
        let count: u64 = count
            .parse()
            .map_err(|e| format!("line {}: bad count {count:?}: {e}", i + 1))?;
        add(&mut counts, word.to_owned(), count);
    }
    Ok(counts)
}

/// Adds `part` into `total` (the reduce step).
pub fn merge_counts(total: &mut BTreeMap<String, u64>, part: BTreeMap<String, u64>) {
    for (word, count) in part {
        add(total, word, count);
    }
}

fn add(counts: &mut BTreeMap<String, u64>, word: String, n: u64) {
    let c = counts.entry(word).or_insert(0);
    // Saturate rather than wrap: overflow is not realistic, but must stay well defined.
    *c = c.saturating_add(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|&(w, c)| (w.to_owned(), c)).collect()
    }

    #[test]
    fn counts_lowercased_alphanumeric_runs() {
        let counts = word_count(b"The cat; the CAT, the hat!\n2 cats \xff\xfeok-ok");
        let expected = table(&[
            ("2", 1),
            ("cat", 2),
            ("cats", 1),
            ("hat", 1),
            ("ok", 2),
            ("the", 3),
        ]);
        assert_eq!(counts, expected);
        assert!(word_count(b"").is_empty());
        assert!(word_count(b" ,.\n").is_empty());
    }

    #[test]
    fn format_is_sorted_tab_separated() {
        let counts = word_count(b"b a b");
        assert_eq!(format_counts(&counts), "a\t1\nb\t2\n");
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let counts = word_count(b"one two two three three three");
        assert_eq!(parse_counts(&format_counts(&counts)).unwrap(), counts);
        assert!(parse_counts("word 3\n").is_err());
        assert!(parse_counts("word\tmany\n").is_err());
    }

    #[test]
    fn merge_adds_counts() {
        let mut total = word_count(b"a b");
        merge_counts(&mut total, word_count(b"b c"));
        assert_eq!(total, table(&[("a", 1), ("b", 2), ("c", 1)]));
    }
}
