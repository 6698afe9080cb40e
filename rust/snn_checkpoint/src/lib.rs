//! Strict reader, validator and writer for SNN transfer-learning checkpoints.
//!
//! Every rule comes from `spec/checkpoint.yaml`; every rejection is a [`CheckpointError`] whose
//! [`code`](CheckpointError::code) is the ID of the first violated invariant in spec order.
//! The modules follow the project's shared map: `errors`, `limits`, `json` (+ `json_write`),
//! `zip`, `npy`, `fields`, `checkpoint`, `fine_tune`, `hostvalue`, `testee`.
//!
//! ```no_run
//! use snn_checkpoint::{Compression, Level};
//! let cp = snn_checkpoint::load_checkpoint("models/mnist")?; // models/mnist.json + .npz
//! println!("{} layers, {} parameters", cp.n_layers(), cp.total_params());
//! snn_checkpoint::save_checkpoint(&cp, "models/copy", Compression::Stored, Level::FASTEST)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod checkpoint;
pub mod errors;
pub mod fields;
pub mod fine_tune;
pub mod hostvalue;
mod isal;
pub mod json;
pub mod json_write;
pub mod limits;
pub mod npy;
pub mod testee;
pub mod zip;

pub use checkpoint::{load_checkpoint, save_checkpoint, Array, SNNCheckpoint};
pub use errors::{CheckpointError, Invariant, SaveError};
pub use fine_tune::{FreezeUntil, TransferConfig};
pub use zip::{Compression, Level};
