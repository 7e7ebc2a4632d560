//! Small formatting helpers shared by the commands.

use std::time::Duration;

/// `1h 2m 3s`-style rounding to whole seconds; `permanent` for `None`, `expired` for zero.
pub fn remaining(left: Option<Duration>) -> String {
    match left {
        None => "permanent".into(),
        Some(d) if d.is_zero() => "expired".into(),
        Some(d) => humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string(),
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values always serialize")
    );
}

/// Prints items one per line, or as a JSON array of strings.
pub fn print_list<T: std::fmt::Display>(items: &[T], json: bool) {
    if json {
        let strings: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        print_json(&serde_json::json!(strings));
    } else {
        for i in items {
            println!("{i}");
        }
    }
}
