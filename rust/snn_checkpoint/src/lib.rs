//! Strict reader and validator for SNN transfer-learning checkpoints.
//!
//! Every rule comes from `spec/checkpoint.yaml`; every rejection is a [`CheckpointError`] whose
//! [`code`](CheckpointError::code) is the ID of the first violated invariant in spec order.
//!
//! ```no_run
//! let cp = snn_checkpoint::load_checkpoint("models/mnist")?; // models/mnist.json + .npz
//! println!("{} layers, {} parameters", cp.n_layers(), cp.total_params());
//! # Ok::<(), snn_checkpoint::CheckpointError>(())
//! ```
#![deny(missing_docs)]

pub mod checkpoint;
pub mod error;
pub mod fine_tune;
pub mod host;
pub mod json;
pub mod npy;
pub mod testee;
pub mod zip;

pub use checkpoint::{load_checkpoint, Array, SNNCheckpoint};
pub use error::{CheckpointError, Invariant};
pub use fine_tune::{FreezeUntil, TransferConfig};
