//! The Rust testee: speaks docs/protocol.md on stdin/stdout.
//!
//! Usage: `snn-testee [--name NAME]` (NAME defaults to "rust").

use std::io::{BufRead, Write};

use snn_checkpoint::testee::{handle_line, Reply};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut name = String::from("rust");
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--name", Some(n)) => name = n,
            _ => {
                eprintln!("usage: snn-testee [--name NAME]");
                std::process::exit(2);
            }
        }
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("snn-testee: cannot read stdin: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let (text, stop) = match handle_line(&line, &name) {
            Reply::Answer(t) => (t, false),
            Reply::Stop(t) => (t, true),
        };
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            eprintln!("snn-testee: stdout closed");
            break;
        }
        if stop {
            break;
        }
    }
}
