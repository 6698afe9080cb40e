//! The testee protocol (docs/protocol.md): one JSON request per line in, one answer per line
//! out. The executor is a library function so that the binary and the Python bindings (the
//! in-process testee) run exactly the same code.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use crate::checkpoint::{
    self, load_checkpoint, save_checkpoint, sha256_of, with_suffix, SNNCheckpoint,
};
use crate::errors::{CheckpointError, SaveError};
use crate::fine_tune::{self, FreezeUntil, TransferConfig};
use crate::hostvalue::{self, Host};
use crate::json::{self, Json};
use crate::zip::{Compression, Level};

/// The protocol version spoken.
pub const PROTOCOL: i64 = 1;
/// The spec version implemented.
pub const SPEC_VERSION: i64 = 2;
/// The operations supported, and `timing` (a run request's `"timing": true` adds each
/// operation's wall time, `seconds`, to its result).
pub const CAPABILITIES: [&str; 8] = [
    "load",
    "construct",
    "freeze_layers",
    "unfreeze_layers",
    "transfer_config",
    "apply_transfer_config",
    "save",
    "timing",
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

/// The observable state of a checkpoint: the document's fields and the weight digests.
pub fn state_json(cp: &SNNCheckpoint) -> Json {
    let mut members = cp.document_fields();
    members.push(("weight_sha256".into(), strings(&cp.weight_sha256())));
    Json::Object(members)
}

/// What an accepted operation reports, computed after the operation (and its timing).
enum Outcome {
    /// The current checkpoint's state (load, construct, freeze, unfreeze).
    State,
    /// apply_transfer_config: the state and the learning rates.
    Rates(Vec<f64>),
    /// An accepted transfer_config reports the config instead of a state.
    Config(TransferConfig),
    /// An accepted save reports the files it wrote at this base path.
    Saved(String),
}

/// Why an operation was not accepted.
enum Failure {
    /// A verdict: the operation violates an invariant.
    Reject(CheckpointError),
    /// The request itself is malformed (an unknown tag, a missing required argument), or the
    /// file system failed a save: the testee answers `errored`.
    Errored(String),
}

impl From<CheckpointError> for Failure {
    fn from(e: CheckpointError) -> Self {
        Failure::Reject(e)
    }
}

type Step<T> = Result<T, Failure>;

fn malformed<T>(message: impl Into<String>) -> Step<T> {
    Err(Failure::Errored(message.into()))
}

fn execute(op: &Json, root: &Path, current: &mut Option<SNNCheckpoint>) -> Step<Outcome> {
    let Some(Json::String(name)) = op.get("op") else {
        return malformed("operation without an \"op\" name");
    };
    let missing = || Failure::Errored(format!("{name} before any load or construct"));
    let mut replace = |cp: SNNCheckpoint| {
        *current = Some(cp);
        Outcome::State
    };
    Ok(match name.as_str() {
        "load" => {
            let Some(Json::String(base)) = op.get("base") else {
                return malformed("load needs a base path");
            };
            replace(load_checkpoint(root.join(base))?)
        }
        "construct" => replace(construct(op)?),
        "freeze_layers" => {
            let cp = current.as_mut().ok_or_else(missing)?;
            let args = arguments_object(op, "args")?;
            let (names, until) = (
                argument(args, "layer_names")?,
                argument(args, "until_index")?,
            );
            fine_tune::freeze_layers_host(cp, selector(names), selector(until))?;
            Outcome::State
        }
        "unfreeze_layers" => {
            let cp = current.as_mut().ok_or_else(missing)?;
            let args = arguments_object(op, "args")?;
            let (names, all) = (
                argument(args, "layer_names")?,
                argument(args, "all_layers")?,
            );
            fine_tune::unfreeze_layers_host(cp, selector(names), all)?;
            Outcome::State
        }
        "transfer_config" => Outcome::Config(transfer_config(op)?),
        "save" => Outcome::Saved(save(op, current.as_ref())?),
        "apply_transfer_config" => {
            let cp = current.as_mut().ok_or_else(missing)?;
            Outcome::Rates(cp.apply_transfer_config(&transfer_config(op)?)?)
        }
        other => return malformed(format!("unknown operation {other:?}")),
    })
}

/// An accepted operation's result member: the state (with the learning rates), the config,
/// or the files saved.
fn report(outcome: Outcome, current: Option<&SNNCheckpoint>) -> Step<(&'static str, Json)> {
    let state = || state_json(current.expect("the operation left a checkpoint"));
    Ok(match outcome {
        Outcome::State => ("state", state()),
        Outcome::Rates(rates) => {
            let Json::Object(mut state) = state() else {
                unreachable!("a state is an object")
            };
            let rates = Json::Array(rates.into_iter().map(Json::float).collect());
            state.push(("learning_rates".into(), rates));
            ("state", Json::Object(state))
        }
        Outcome::Config(config) => ("config", config_json(&config)),
        Outcome::Saved(out) => ("saved", saved_files(&out)?),
    })
}

/// The `construct` operation: decodes `state` and builds the checkpoint.
fn construct(op: &Json) -> Step<SNNCheckpoint> {
    let Some(state @ Json::Object(_)) = op.get("state") else {
        return malformed("construct needs a state object");
    };
    let state = Some(state);
    let required = |key: &str| -> Step<Host> {
        argument(state, key)?
            .ok_or_else(|| Failure::Errored(format!("construct state lacks {key}")))
    };
    Ok(checkpoint::construct_host(
        required("weights")?,
        required("layer_names")?,
        required("layer_sizes")?,
        argument(state, "neuron_types")?,
        argument(state, "metadata")?,
        argument(state, "frozen_layers")?,
    )?)
}

/// The `save` operation: writes the current checkpoint, or the `state` given inline, to `out`
/// (+ .npz, .json); returns `out`. An inline state goes through the constructor, whose refusal
/// is the writer's (a checkpoint cannot exist unchecked): then no file or folder is made.
fn save(op: &Json, current: Option<&SNNCheckpoint>) -> Step<String> {
    let Some(Json::String(out)) = op.get("out") else {
        return malformed("save needs an out path");
    };
    let compression = match op.get("compression") {
        None => Compression::default(),
        Some(Json::String(c)) => c.parse().map_err(Failure::Errored)?,
        Some(_) => return malformed("compression must be a string"),
    };
    let level = match op.get("level") {
        None => Level::default(),
        Some(Json::Number(n)) => n
            .parse()
            .map_err(|_| format!("level must be an integer from 1 to 9, not {n}"))
            .and_then(Level::new)
            .map_err(Failure::Errored)?,
        Some(other) => {
            return malformed(format!("level must be an integer, not {}", other.to_text()))
        }
    };
    let inline;
    let checkpoint = match op.get("state") {
        Some(_) => {
            inline = construct(op)?;
            &inline
        }
        None => current.ok_or_else(|| Failure::Errored("save needs a checkpoint".into()))?,
    };
    save_checkpoint(checkpoint, out, compression, level).map_err(|e| match e {
        SaveError::Invalid(e) => Failure::Reject(e),
        SaveError::Io(e) => Failure::Errored(format!("cannot save to {out}: {e}")),
    })?;
    Ok(out.clone())
}

/// The digests and sizes of the pair saved at `out`.
fn saved_files(out: &str) -> Step<Json> {
    let file = |suffix: &str| -> Step<Json> {
        let (digest, size) = File::open(with_suffix(Path::new(out), suffix))
            .and_then(|file| sha256_of(&file))
            .map_err(|e| Failure::Errored(format!("cannot read back {out}{suffix}: {e}")))?;
        Ok(obj(vec![
            ("sha256", Json::String(digest)),
            ("size", Json::int(i128::from(size))),
        ]))
    };
    Ok(obj(vec![("npz", file(".npz")?), ("json", file(".json")?)]))
}

/// The `config` of transfer_config and apply_transfer_config, validated.
fn transfer_config(op: &Json) -> Step<TransferConfig> {
    let config = arguments_object(op, "config")?;
    Ok(fine_tune::transfer_config_host(
        argument(config, "freeze_until")?,
        argument(config, "lr_backbone")?,
        argument(config, "lr_head")?,
    )?)
}

fn config_json(config: &TransferConfig) -> Json {
    let freeze_until = match &config.freeze_until {
        FreezeUntil::Name(n) => Json::str(n.as_str()),
        FreezeUntil::Index(k) => Json::Number(k.to_string()),
    };
    obj(vec![
        ("freeze_until", freeze_until),
        ("lr_backbone", Json::float(config.lr_backbone)),
        ("lr_head", Json::float(config.lr_head)),
    ])
}

/// An operation's arguments object (`state`, `args`, `config`); absent or null is empty.
fn arguments_object<'a>(op: &'a Json, key: &str) -> Step<Option<&'a Json>> {
    match op.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(o @ Json::Object(_)) => Ok(Some(o)),
        Some(_) => malformed(format!("{key} must be an object")),
    }
}

/// An argument: None when absent (it takes its default); an explicit null is passed on as
/// `Host::None`, as the protocol says.
fn argument(obj: Option<&Json>, key: &str) -> Step<Option<Host>> {
    match obj.and_then(|o| o.get(key)) {
        None => Ok(None),
        Some(v) => hostvalue::decode(v).map(Some).map_err(Failure::Errored),
    }
}

/// A selector argument, where None (absent or null) means "not given".
fn selector(v: Option<Host>) -> Option<Host> {
    v.filter(|h| *h != Host::None)
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

/// Runs a case; with `timing`, each result gets the operation's wall time in `seconds`
/// (without the state or files it reports).
fn run_case_value(case: &Json, timing: bool) -> Json {
    let id = case.get("id").cloned().unwrap_or(Json::Null);
    let (Some(Json::String(root)), Some(Json::Array(ops))) = (case.get("root"), case.get("ops"))
    else {
        return errored(id, "case needs a root string and an ops list", "");
    };
    let root = Path::new(root);
    let mut current = None;
    let mut results = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let mut result = vec![("op", op.get("op").cloned().unwrap_or(Json::Null))];
        let context = || format!("operation {index}");
        let mut seconds = 0.0;
        let run = || {
            let started = Instant::now();
            let outcome = execute(op, root, &mut current);
            seconds = started.elapsed().as_secs_f64();
            outcome.and_then(|outcome| report(outcome, current.as_ref()))
        };
        let answer = catch_unwind(AssertUnwindSafe(run));
        let timed = timing.then(|| ("seconds", Json::float(seconds)));
        match answer {
            Ok(Ok(member)) => {
                result.push(("verdict", Json::str("accept")));
                result.push(member);
                result.extend(timed);
                results.push(obj(result));
            }
            Ok(Err(Failure::Reject(e))) => {
                result.push(("verdict", Json::str("reject")));
                result.push(("code", Json::str(e.code())));
                result.push(("message", Json::str(e.message)));
                result.extend(timed);
                results.push(obj(result));
                break;
            }
            Ok(Err(Failure::Errored(m))) => return errored(id, &m, &context()),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                return errored(id, &format!("panic: {what}"), &context());
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
        Ok(case) => run_case_value(&case, false).to_text(),
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
            let timing = req.get("timing") == Some(&Json::Bool(true));
            let answer = match req.get("case") {
                Some(case) => run_case_value(case, timing),
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
