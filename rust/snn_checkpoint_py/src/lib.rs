//! Python bindings of `snn_checkpoint`: everything Python sees is listed in the one
//! `#[pymodule]` at the bottom. Every rejection raises `CheckpointError(ValueError)` whose
//! `.code` is the spec invariant ID.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple,
};

use snn_checkpoint::hostvalue::Host;
use snn_checkpoint::json::{self, Integer, Json};
use snn_checkpoint::testee::{self, Reply};
use snn_checkpoint::{checkpoint, fine_tune, Array, Compression, Level, SNNCheckpoint, SaveError};

create_exception!(
    _native,
    CheckpointError,
    PyValueError,
    "A checkpoint rule was violated; `.code` is the spec invariant ID."
);

/// Python containers nesting deeper than this become opaque values (which every surface
/// refuses) instead of recursing without bound (a list can contain itself).
const MAX_HOST_DEPTH: usize = 1000;

fn raise(py: Python<'_>, e: snn_checkpoint::CheckpointError) -> PyErr {
    let err = CheckpointError::new_err(e.message.clone());
    if let Err(set) = err.value(py).setattr("code", e.code()) {
        return set;
    }
    err
}

/// What a numpy scalar (`numpy.generic`) stands for: the Python number it holds, where the
/// reference takes `numbers.Integral` / `numbers.Real` (weights, layer sizes, the fine-tuning
/// arguments), or an object of no JSON meaning, where it takes only `int`, `float` and `bool`
/// themselves (metadata; `numpy.float64` is a `float` there too).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NumpyScalars {
    Numbers,
    Opaque,
}

/// Converts a Python value into the host model the construct and fine-tuning surfaces check.
fn to_host(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Host> {
    convert(obj, depth, NumpyScalars::Numbers)
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize, scalars: NumpyScalars) -> PyResult<Host> {
    if depth > MAX_HOST_DEPTH {
        return Ok(Host::Opaque("too deeply nested".into()));
    }
    let items = |it: Vec<Bound<'_, PyAny>>| -> PyResult<Vec<Host>> {
        it.iter().map(|x| convert(x, depth + 1, scalars)).collect()
    };
    if obj.is_none() {
        return Ok(Host::None);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Host::Bool(obj.extract::<bool>()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(Host::Int(exact_int(obj)?));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Host::Float(obj.extract::<f64>()?));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Host::Str(s.to_string_lossy().into_owned()));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Ok(Host::List(items(l.iter().collect())?));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Ok(Host::Tuple(items(t.iter().collect())?));
    }
    if let Ok(s) = obj.cast::<PySet>() {
        return Ok(Host::Set(items(s.iter().collect())?));
    }
    if let Ok(s) = obj.cast::<PyFrozenSet>() {
        return Ok(Host::Set(items(s.iter().collect())?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Host::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut members = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            members.push((
                convert(&k, depth + 1, scalars)?,
                convert(&v, depth + 1, scalars)?,
            ));
        }
        return Ok(Host::Dict(members));
    }
    if obj.hasattr("__array_interface__")? && obj.hasattr("dtype")? {
        let generic = obj.py().import("numpy")?.getattr("generic")?;
        return match obj.is_instance(&generic)? {
            true if scalars == NumpyScalars::Numbers => numpy_scalar(obj),
            true => Ok(Host::Opaque(obj.get_type().name()?.to_string())),
            false => numpy_array(obj),
        };
    }
    Ok(Host::Opaque(obj.get_type().name()?.to_string()))
}

/// `int(obj)` exactly: its plain decimal text, whatever a subclass's `__str__` says.
fn exact_int(obj: &Bound<'_, PyAny>) -> PyResult<Integer> {
    let text = obj
        .py()
        .get_type::<PyInt>()
        .call1((obj,))?
        .str()?
        .to_string();
    Ok(Integer::parse(&text).expect("str(int) is an integer literal"))
}

/// A numpy scalar as the Python value it holds: numpy's bool is a boolean, its integers are
/// ints and its floats are floats (as the reference counts them); anything else is opaque.
fn numpy_scalar(obj: &Bound<'_, PyAny>) -> PyResult<Host> {
    let kind: String = obj.getattr("dtype")?.getattr("kind")?.extract()?;
    Ok(match kind.as_str() {
        "b" => Host::Bool(obj.is_truthy()?),
        "i" | "u" => Host::Int(exact_int(obj)?),
        "f" => Host::Float(obj.extract::<f64>()?),
        _ => Host::Opaque(obj.get_type().name()?.to_string()),
    })
}

/// A numpy array: numeric kinds widen to float64, anything else is refused downstream.
fn numpy_array(obj: &Bound<'_, PyAny>) -> PyResult<Host> {
    let kind: String = obj.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "f" | "i" | "u") {
        return Ok(Host::Opaque(format!(
            "numpy.ndarray of dtype kind {kind:?}"
        )));
    }
    let shape: Vec<usize> = obj.getattr("shape")?.extract()?;
    let data: Vec<f64> = obj
        .call_method1("astype", ("float64",))?
        .call_method0("ravel")?
        .call_method0("tolist")?
        .extract()?;
    Ok(Host::Array(Array { shape, data }))
}

fn optional(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Host>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => to_host(o, 0).map(Some),
    }
}

fn to_py(py: Python<'_>, v: &Json) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Json::Null => py.None(),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Json::Number(t) if json::is_integer_literal(t) => {
            match Integer::parse(t).and_then(|i| i.to_i128()) {
                Some(v) => v.into_pyobject(py)?.into_any().unbind(),
                // Beyond i128 (never in a validated checkpoint): Python's int reads the text.
                None => py.get_type::<PyInt>().call1((t.as_str(),))?.unbind(),
            }
        }
        Json::Number(t) => PyFloat::new(py, t.parse::<f64>().unwrap_or(f64::NAN))
            .into_any()
            .unbind(),
        Json::String(s) => PyString::new(py, s).into_any().unbind(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Json::Object(members) => {
            let dict = PyDict::new(py);
            for (k, item) in members {
                dict.set_item(k, to_py(py, item)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

/// A validated checkpoint.
#[pyclass(name = "Checkpoint", module = "snn_checkpoint_rs")]
struct PyCheckpoint {
    inner: SNNCheckpoint,
}

#[pymethods]
impl PyCheckpoint {
    /// The number of layers.
    #[getter]
    fn n_layers(&self) -> usize {
        self.inner.n_layers()
    }

    /// The sum of input_features * output_features.
    #[getter]
    fn total_params(&self) -> i128 {
        self.inner.total_params()
    }

    /// The layer names.
    #[getter]
    fn layer_names(&self) -> Vec<String> {
        self.inner.layer_names().to_vec()
    }

    /// (input_features, output_features) per layer.
    #[getter]
    fn layer_sizes(&self) -> Vec<(i64, i64)> {
        self.inner.layer_sizes().to_vec()
    }

    /// Neuron model names (empty, or one per layer).
    #[getter]
    fn neuron_types(&self) -> Vec<String> {
        self.inner.neuron_types().to_vec()
    }

    /// Frozen layer names, sorted and unique.
    #[getter]
    fn frozen_layers(&self) -> Vec<String> {
        self.inner.frozen_layers()
    }

    /// The user's metadata.
    #[getter]
    fn metadata(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, self.inner.metadata())
    }

    /// Per-layer SHA-256 of the float64 little-endian row-major weights.
    #[getter]
    fn weight_sha256(&self) -> Vec<String> {
        self.inner.weight_sha256()
    }

    /// The weight matrices as nested lists of floats, (output_features, input_features) each.
    #[getter]
    fn weights(&self) -> Vec<Vec<Vec<f64>>> {
        self.inner
            .weights()
            .iter()
            .map(|w| {
                w.data
                    .chunks(w.shape[1].max(1))
                    .map(<[f64]>::to_vec)
                    .collect()
            })
            .collect()
    }

    /// The observable state, as the testee protocol reports it.
    fn state(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &testee::state_json(&self.inner))
    }

    /// Adds the named layers and layers 0..until_index to the frozen set.
    #[pyo3(signature = (layer_names=None, until_index=None))]
    fn freeze_layers(
        &mut self,
        py: Python<'_>,
        layer_names: Option<&Bound<'_, PyAny>>,
        until_index: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (names, until) = (optional(layer_names)?, optional(until_index)?);
        fine_tune::freeze_layers_host(&mut self.inner, names, until).map_err(|e| raise(py, e))
    }

    /// Removes the named layers (or all layers) from the frozen set.
    #[pyo3(signature = (layer_names=None, all_layers=None))]
    fn unfreeze_layers(
        &mut self,
        py: Python<'_>,
        layer_names: Option<&Bound<'_, PyAny>>,
        all_layers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (names, all) = (optional(layer_names)?, optional(all_layers)?);
        fine_tune::unfreeze_layers_host(&mut self.inner, names, all).map_err(|e| raise(py, e))
    }

    fn __repr__(&self) -> String {
        format!(
            "Checkpoint(n_layers={}, total_params={}, layer_names={:?})",
            self.inner.n_layers(),
            self.inner.total_params(),
            self.inner.layer_names()
        )
    }
}

/// Loads BASE.json and BASE.npz (the suffixes are appended to `base` as given).
#[pyfunction]
fn load_checkpoint(py: Python<'_>, base: std::path::PathBuf) -> PyResult<PyCheckpoint> {
    let result = py.detach(|| snn_checkpoint::load_checkpoint(&base));
    result
        .map(|inner| PyCheckpoint { inner })
        .map_err(|e| raise(py, e))
}

/// Writes BASE.npz and BASE.json, each atomically, creating the parent folders (spec `save`);
/// `compression` is "deflate" or "stored", `level` the deflate level, an int from 1 to 9.
/// Raises ValueError for another compression or level (nothing written), CheckpointError for
/// an invalid checkpoint (nothing written), OSError when the file system fails.
#[pyfunction]
#[pyo3(signature = (checkpoint, base, compression="deflate", level=LevelArg(Level::FASTEST)))]
fn save_checkpoint(
    py: Python<'_>,
    checkpoint: &PyCheckpoint,
    base: std::path::PathBuf,
    compression: &str,
    level: LevelArg,
) -> PyResult<()> {
    let compression: Compression = compression.parse().map_err(PyValueError::new_err)?;
    let inner = &checkpoint.inner;
    let result = py.detach(|| snn_checkpoint::save_checkpoint(inner, &base, compression, level.0));
    result.map_err(|e| match e {
        SaveError::Invalid(e) => raise(py, e),
        SaveError::Io(e) => e.into(),
    })
}

/// A deflate level argument: an int (not a bool) from 1 to 9, else ValueError.
struct LevelArg(Level);

impl<'a, 'py> FromPyObject<'a, 'py> for LevelArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        let refused =
            || PyValueError::new_err(format!("level must be an integer from 1 to 9, not {obj}"));
        if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
            return Err(refused());
        }
        let n: i128 = obj.extract().map_err(|_| refused())?;
        Level::new(n).map(LevelArg).map_err(PyValueError::new_err)
    }
}

/// Validates in-memory values as the SNNCheckpoint constructor does.
#[pyfunction]
#[pyo3(signature = (weights, layer_names, layer_sizes, neuron_types=None, metadata=None, frozen_layers=None))]
fn validate(
    py: Python<'_>,
    weights: &Bound<'_, PyAny>,
    layer_names: &Bound<'_, PyAny>,
    layer_sizes: &Bound<'_, PyAny>,
    neuron_types: Option<&Bound<'_, PyAny>>,
    metadata: Option<&Bound<'_, PyAny>>,
    frozen_layers: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyCheckpoint> {
    checkpoint::construct_host(
        to_host(weights, 0)?,
        to_host(layer_names, 0)?,
        to_host(layer_sizes, 0)?,
        optional(neuron_types)?,
        metadata
            .filter(|o| !o.is_none())
            .map(|o| convert(o, 0, NumpyScalars::Opaque))
            .transpose()?,
        optional(frozen_layers)?,
    )
    .map(|inner| PyCheckpoint { inner })
    .map_err(|e| raise(py, e))
}

/// Validates a TransferConfig, freezes layers 0..k of `checkpoint` and returns one learning
/// rate per layer.
#[pyfunction]
#[pyo3(signature = (checkpoint, freeze_until=None, lr_backbone=None, lr_head=None))]
fn apply_transfer_config(
    py: Python<'_>,
    checkpoint: &mut PyCheckpoint,
    freeze_until: Option<&Bound<'_, PyAny>>,
    lr_backbone: Option<&Bound<'_, PyAny>>,
    lr_head: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<f64>> {
    let config = fine_tune::transfer_config_host(
        optional(freeze_until)?,
        optional(lr_backbone)?,
        optional(lr_head)?,
    )
    .map_err(|e| raise(py, e))?;
    checkpoint
        .inner
        .apply_transfer_config(&config)
        .map_err(|e| raise(py, e))
}

/// Runs one protocol case (`{"id", "root", "ops"}` as JSON text); returns the answer's JSON
/// text without `seq`.
#[pyfunction]
fn run_case(py: Python<'_>, case_json: String) -> String {
    py.detach(|| testee::run_case(&case_json))
}

/// Handles one protocol request line; returns (answer line, stop?).
#[pyfunction]
#[pyo3(signature = (line, implementation="rust-inprocess"))]
fn handle_line(py: Python<'_>, line: String, implementation: &str) -> (String, bool) {
    let implementation = implementation.to_string();
    py.detach(move || match testee::handle_line(&line, &implementation) {
        Reply::Answer(a) => (a, false),
        Reply::Stop(a) => (a, true),
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CheckpointError", m.py().get_type::<CheckpointError>())?;
    m.add_class::<PyCheckpoint>()?;
    m.add_function(wrap_pyfunction!(load_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(save_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(apply_transfer_config, m)?)?;
    m.add_function(wrap_pyfunction!(run_case, m)?)?;
    m.add_function(wrap_pyfunction!(handle_line, m)?)?;
    m.add("SPEC_VERSION", testee::SPEC_VERSION)?;
    m.add("PROTOCOL", testee::PROTOCOL)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
