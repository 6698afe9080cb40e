//! The testee protocol (docs/protocol.md): one JSON request per line in, one answer per line
//! out. The executor is a library function so that the binary and the Python bindings (the
//! in-process testee) run exactly the same code.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::checkpoint::{load_checkpoint, SNNCheckpoint};
use crate::fine_tune::FreezeUntil;
use crate::host::{self, HostError};
use crate::json::{self, Json};

/// The protocol version spoken.
pub const PROTOCOL: i64 = 1;
/// The spec version implemented.
pub const SPEC_VERSION: i64 = 1;
/// The operations supported.
pub const CAPABILITIES: [&str; 6] = [
    "load",
    "construct",
    "freeze_layers",
    "unfreeze_layers",
    "transfer_config",
    "apply_transfer_config",
];
/// Requests nesting deeper than this are refused before parsing (the tree is dropped
/// recursively, so unbounded depth could overflow the stack).
const MAX_REQUEST_DEPTH: usize = 2048;

/// The compiler this crate was built with, e.g. "rustc 1.95.0 (...)".
pub const RUNTIME: &str = env!("SNN_RUSTC_VERSION");

fn obj(members: Vec<(&str, Json)>) -> Json {
    Json::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn strings(items: &[String]) -> Json {
    Json::Array(items.iter().cloned().map(Json::String).collect())
}

/// The `hello` answer.
pub fn hello(implementation: &str) -> String {
    obj(vec![
        ("implementation", Json::str(implementation)),
        ("version", Json::str(env!("CARGO_PKG_VERSION"))),
        ("runtime", Json::str(RUNTIME)),
        ("spec_version", Json::int(SPEC_VERSION)),
        ("protocol", Json::int(PROTOCOL)),
        (
            "capabilities",
            Json::Array(CAPABILITIES.iter().map(|c| Json::str(*c)).collect()),
        ),
    ])
    .to_text()
}

/// The observable state of a checkpoint.
pub fn state_json(cp: &SNNCheckpoint) -> Json {
    obj(vec![
        ("n_layers", Json::int(cp.n_layers() as i64)),
        ("total_params", Json::int(cp.total_params())),
        ("layer_names", strings(cp.layer_names())),
        (
            "layer_sizes",
            Json::Array(
                cp.layer_sizes()
                    .iter()
                    .map(|&(i, o)| Json::Array(vec![Json::int(i), Json::int(o)]))
                    .collect(),
            ),
        ),
        ("neuron_types", strings(cp.neuron_types())),
        ("frozen_layers", strings(&cp.frozen_layers())),
        ("metadata", cp.metadata().clone()),
        ("weight_sha256", strings(&cp.weight_sha256())),
    ])
}

enum Outcome {
    /// An accepted operation's state.
    Accept(Json),
    /// An accepted transfer_config: it reports the config instead of a state.
    Config(Json),
    Reject(crate::error::CheckpointError),
}

fn execute(op: &Json, root: &Path, current: &mut Option<SNNCheckpoint>) -> Result<Outcome, String> {
    let name = match op.get("op") {
        Some(Json::String(s)) => s.as_str(),
        _ => return Err("operation without an \"op\" name".into()),
    };
    let missing = || format!("{name} before any load or construct");
    let result: Result<Json, HostError> = match name {
        "load" => {
            let Some(Json::String(base)) = op.get("base") else {
                return Err("load needs a base path".into());
            };
            load_checkpoint(root.join(base))
                .map(|cp| {
                    let s = state_json(&cp);
                    *current = Some(cp);
                    s
                })
                .map_err(HostError::from)
        }
        "construct" => host::construct(op).map(|cp| {
            let s = state_json(&cp);
            *current = Some(cp);
            s
        }),
        "freeze_layers" => {
            let cp = current.as_mut().ok_or_else(missing)?;
            host::freeze_layers(cp, op).map(|()| state_json(cp))
        }
        "unfreeze_layers" => {
            let cp = current.as_mut().ok_or_else(missing)?;
            host::unfreeze_layers(cp, op).map(|()| state_json(cp))
        }
        "transfer_config" => {
            return match host::transfer_config(op) {
                Ok(cfg) => {
                    let freeze_until = match cfg.freeze_until {
                        FreezeUntil::Name(n) => Json::String(n),
                        FreezeUntil::Index(k) => Json::int(k),
                    };
                    Ok(Outcome::Config(obj(vec![
                        ("freeze_until", freeze_until),
                        ("lr_backbone", Json::float(cfg.lr_backbone)),
                        ("lr_head", Json::float(cfg.lr_head)),
                    ])))
                }
                Err(HostError::Reject(e)) => Ok(Outcome::Reject(e)),
                Err(HostError::Malformed(m)) => Err(m),
            };
        }
        "apply_transfer_config" => {
            let cp = current.as_mut().ok_or_else(missing)?;
            host::transfer_config(op).and_then(|cfg| {
                let rates = cp.apply_transfer_config(&cfg)?;
                let Json::Object(mut members) = state_json(cp) else {
                    unreachable!("state is an object")
                };
                members.push((
                    "learning_rates".into(),
                    Json::Array(rates.into_iter().map(Json::float).collect()),
                ));
                Ok(Json::Object(members))
            })
        }
        other => return Err(format!("unknown operation {other:?}")),
    };
    match result {
        Ok(state) => Ok(Outcome::Accept(state)),
        Err(HostError::Reject(e)) => Ok(Outcome::Reject(e)),
        Err(HostError::Malformed(m)) => Err(m),
    }
}

fn errored(id: Json, message: &str, context: &str) -> Json {
    obj(vec![
        ("id", id),
        (
            "errored",
            obj(vec![
                ("message", Json::str(message)),
                ("context", Json::str(context)),
            ]),
        ),
    ])
}

fn run_case_value(case: &Json) -> Json {
    let id = case.get("id").cloned().unwrap_or(Json::Null);
    let (Some(Json::String(root)), Some(Json::Array(ops))) = (case.get("root"), case.get("ops"))
    else {
        return errored(id, "case needs a root string and an ops list", "");
    };
    let root = Path::new(root);
    let mut current = None;
    let mut results = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let op_name = op.get("op").cloned().unwrap_or(Json::Null);
        match catch_unwind(AssertUnwindSafe(|| execute(op, root, &mut current))) {
            Ok(Ok(Outcome::Accept(state))) => results.push(obj(vec![
                ("op", op_name),
                ("verdict", Json::str("accept")),
                ("state", state),
            ])),
            Ok(Ok(Outcome::Config(config))) => results.push(obj(vec![
                ("op", op_name),
                ("verdict", Json::str("accept")),
                ("config", config),
            ])),
            Ok(Ok(Outcome::Reject(e))) => {
                results.push(obj(vec![
                    ("op", op_name),
                    ("verdict", Json::str("reject")),
                    ("code", Json::str(e.code())),
                    ("message", Json::str(e.message)),
                ]));
                break;
            }
            Ok(Err(m)) => return errored(id, &m, &format!("operation {index}")),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                return errored(id, &format!("panic: {what}"), &format!("operation {index}"));
            }
        }
    }
    obj(vec![("id", id), ("results", Json::Array(results))])
}

fn parse_request(text: &str) -> Result<Json, String> {
    if json::lexical_depth(text.as_bytes()) > MAX_REQUEST_DEPTH {
        return Err(format!(
            "request nests deeper than {MAX_REQUEST_DEPTH} levels"
        ));
    }
    json::parse(text, json::Mode::Lenient).map_err(|p| format!("request is not JSON: {p:?}"))
}

/// Runs one case given as the JSON text of `{"id", "root", "ops"}`; returns the answer's JSON
/// text without `seq` (`{"id", "results"}` or `{"id", "errored"}`).
pub fn run_case(case_json: &str) -> String {
    match parse_request(case_json) {
        Ok(case) => run_case_value(&case).to_text(),
        Err(m) => errored(Json::Null, &m, "run_case").to_text(),
    }
}

/// What the request loop should do after a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Print this answer line and continue.
    Answer(String),
    /// Print this answer line and exit with status 0.
    Stop(String),
}

/// Handles one request line.
pub fn handle_line(line: &str, implementation: &str) -> Reply {
    let req = match parse_request(line) {
        Ok(r) => r,
        Err(m) => return Reply::Answer(errored(Json::Null, &m, "request").to_text()),
    };
    match req.get("cmd") {
        Some(Json::String(c)) if c == "hello" => Reply::Answer(hello(implementation)),
        Some(Json::String(c)) if c == "stop" => {
            Reply::Stop(obj(vec![("stopped", Json::Bool(true))]).to_text())
        }
        Some(Json::String(c)) if c == "run" => {
            let seq = req.get("seq").cloned().unwrap_or(Json::Null);
            let answer = match req.get("case") {
                Some(case) => run_case_value(case),
                None => errored(Json::Null, "run request without a case", "request"),
            };
            let Json::Object(mut members) = answer else {
                unreachable!("answers are objects")
            };
            members.insert(0, ("seq".into(), seq));
            Reply::Answer(Json::Object(members).to_text())
        }
        _ => Reply::Answer(
            errored(
                Json::Null,
                &format!(
                    "unknown request {}",
                    req.get("cmd").map_or("(no cmd)".into(), Json::to_text)
                ),
                "request",
            )
            .to_text(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_stop() {
        let Reply::Answer(h) = handle_line(r#"{"cmd": "hello", "protocol": 1}"#, "rust") else {
            panic!("hello answers")
        };
        let h = json::parse(&h, json::Mode::Strict).unwrap();
        assert_eq!(h.get("implementation"), Some(&Json::str("rust")));
        assert_eq!(h.get("protocol"), Some(&Json::int(1)));
        assert_eq!(
            handle_line(r#"{"cmd": "stop"}"#, "rust"),
            Reply::Stop(r#"{"stopped":true}"#.into())
        );
    }

    #[test]
    fn runs_a_case_and_stops_at_the_first_rejection() {
        let line = r#"{"cmd": "run", "seq": 7, "case": {"id": "c1", "root": "/nonexistent", "ops": [
            {"op": "construct", "state": {"weights": [{"$array": {"shape": [1, 1], "data": [0.5]}}],
                                          "layer_names": ["a"], "layer_sizes": [[1, 1]],
                                          "metadata": {"lr": 0.25, "n": 3}}},
            {"op": "apply_transfer_config", "config": {"freeze_until": 0, "lr_head": 1}},
            {"op": "freeze_layers", "args": {"layer_names": ["zz"]}},
            {"op": "unfreeze_layers", "args": {"all_layers": true}}]}}"#;
        let Reply::Answer(a) = handle_line(line, "rust") else {
            panic!()
        };
        let a = json::parse(&a, json::Mode::Strict).unwrap();
        assert_eq!(a.get("seq"), Some(&Json::int(7)));
        let Some(Json::Array(results)) = a.get("results") else {
            panic!("{a:?}")
        };
        assert_eq!(results.len(), 3);
        let state = results[1].get("state").unwrap();
        assert_eq!(state.get("learning_rates").unwrap().to_text(), "[0.0]");
        assert_eq!(state.get("frozen_layers").unwrap().to_text(), r#"["a"]"#);
        assert_eq!(
            state.get("metadata").unwrap().to_text(),
            r#"{"lr":0.25,"n":3}"#
        );
        assert_eq!(
            results[2].get("code"),
            Some(&Json::str("transfer.layer_names.references"))
        );
    }

    #[test]
    fn load_of_a_missing_file_is_a_verdict_and_bad_requests_are_errored() {
        let a = run_case(
            r#"{"id": "m", "root": "/nonexistent", "ops": [{"op": "load", "base": "x/checkpoint"}]}"#,
        );
        assert!(a.contains("\"code\":\"json.file.present\""), "{a}");
        let a = run_case(r#"{"id": "m", "root": "/", "ops": [{"op": "frobnicate"}]}"#);
        assert!(a.contains("\"errored\""), "{a}");
        let a = run_case("not json");
        assert!(a.contains("\"errored\""), "{a}");
        let deep = "[".repeat(100_000);
        assert!(run_case(&deep).contains("\"errored\""));
    }
}
