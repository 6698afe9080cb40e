//! The fine-tuning API and every `transfer.*` invariant: `TransferConfig`, `freeze_layers`,
//! `unfreeze_layers` and `apply_transfer_config`. The typed functions check the invariants
//! typed values can violate; the `*_host` functions first check the argument types of untyped
//! host values (the protocol's and Python's), in spec order.

use crate::checkpoint::SNNCheckpoint;
use crate::errors::{fail, CheckpointError, Result};
use crate::hostvalue::Host;
use crate::json::Integer;
use crate::limits::LAYER_INDEX_MIN;

/// Which layers a config freezes: layers 0..=k, k an index or a layer's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FreezeUntil {
    /// The named layer's index.
    Name(String),
    /// An index (of any size, as Python's are); -1 freezes nothing.
    Index(Integer),
}

/// A validated transfer-learning configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferConfig {
    /// Freeze layers 0..=k.
    pub freeze_until: FreezeUntil,
    /// Learning rate of frozen layers.
    pub lr_backbone: f64,
    /// Learning rate of trainable layers.
    pub lr_head: f64,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            freeze_until: FreezeUntil::Index((-1).into()),
            lr_backbone: 0.0,
            lr_head: 0.01,
        }
    }
}

/// `transfer.freeze_until.range`: an integer freeze_until is at least -1.
pub fn check_freeze_until(freeze_until: &FreezeUntil) -> Result<()> {
    match freeze_until {
        FreezeUntil::Index(k) if k.cmp_i128(LAYER_INDEX_MIN).is_lt() => {
            Err(fail!(TransferFreezeUntilRange, value = k))
        }
        _ => Ok(()),
    }
}

/// `transfer.learning_rate.range` for one field.
pub fn check_learning_rate(field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(fail!(
            TransferLearningRateRange,
            field = field,
            value = value
        ))
    }
}

impl TransferConfig {
    /// Validates and builds a config.
    pub fn new(freeze_until: FreezeUntil, lr_backbone: f64, lr_head: f64) -> Result<Self> {
        check_freeze_until(&freeze_until)?;
        check_learning_rate("lr_backbone", lr_backbone)?;
        check_learning_rate("lr_head", lr_head)?;
        Ok(TransferConfig {
            freeze_until,
            lr_backbone,
            lr_head,
        })
    }
}

fn unfreeze_selector_missing() -> CheckpointError {
    fail!(
        TransferSelectorMissing,
        operation = "unfreeze_layers",
        selectors = "layer_names or all_layers=True"
    )
}

impl SNNCheckpoint {
    fn check_names(&self, operation: &str, names: &[String]) -> Result<()> {
        match names.iter().find(|n| !self.layer_names().contains(n)) {
            Some(name) => Err(fail!(
                TransferLayerNamesReferences,
                operation = operation,
                name = name
            )),
            None => Ok(()),
        }
    }

    /// How many leading layers index `k` covers (k + 1), if it lies in [-1, n_layers).
    fn check_index(&self, operation: &str, index: &Integer) -> Result<usize> {
        let n = self.n_layers() as i128;
        if index.within(LAYER_INDEX_MIN, n - 1) {
            Ok((index.to_i128().expect("within [-1, n_layers)") + 1) as usize)
        } else {
            Err(fail!(
                TransferLayerIndexRange,
                operation = operation,
                value = index,
                maximum = n - 1
            ))
        }
    }

    fn freeze_first(&mut self, count: usize) {
        let names: Vec<String> = self.layer_names()[..count].to_vec();
        self.frozen_mut().extend(names);
    }

    /// Freezes the named layers and layers 0..=until_index. At least one selector is needed;
    /// nothing changes unless every argument is valid.
    pub fn freeze_layers(
        &mut self,
        layer_names: Option<&[String]>,
        until_index: Option<Integer>,
    ) -> Result<()> {
        if layer_names.is_none() && until_index.is_none() {
            return Err(fail!(
                TransferSelectorMissing,
                operation = "freeze_layers",
                selectors = "layer_names or until_index"
            ));
        }
        let names = layer_names.unwrap_or_default();
        self.check_names("freeze_layers", names)?;
        let count = match until_index {
            Some(k) => self.check_index("freeze_layers", &k)?,
            None => 0,
        };
        self.frozen_mut().extend(names.iter().cloned());
        self.freeze_first(count);
        Ok(())
    }

    /// Unfreezes the named layers (names not frozen are left alone), or all layers.
    pub fn unfreeze_layers(
        &mut self,
        layer_names: Option<&[String]>,
        all_layers: bool,
    ) -> Result<()> {
        if layer_names.is_none() && !all_layers {
            return Err(unfreeze_selector_missing());
        }
        let names = layer_names.unwrap_or_default();
        self.check_names("unfreeze_layers", names)?;
        if all_layers {
            self.frozen_mut().clear();
        } else {
            for n in names {
                self.frozen_mut().remove(n);
            }
        }
        Ok(())
    }

    /// Freezes layers 0..=k (never unfreezes) and returns one learning rate per layer.
    pub fn apply_transfer_config(&mut self, config: &TransferConfig) -> Result<Vec<f64>> {
        check_freeze_until(&config.freeze_until)?;
        check_learning_rate("lr_backbone", config.lr_backbone)?;
        check_learning_rate("lr_head", config.lr_head)?;
        let operation = "apply_transfer_config";
        let count = match &config.freeze_until {
            FreezeUntil::Name(name) => {
                self.check_names(operation, std::slice::from_ref(name))?;
                self.layer_names()
                    .iter()
                    .position(|n| n == name)
                    .expect("name checked")
                    + 1
            }
            FreezeUntil::Index(k) => self.check_index(operation, k)?,
        };
        self.freeze_first(count);
        Ok(self
            .layer_names()
            .iter()
            .map(|n| {
                if self.is_frozen(n) {
                    config.lr_backbone
                } else {
                    config.lr_head
                }
            })
            .collect())
    }
}

// ---- untyped arguments (host values): the transfer.*.type invariants first ----

/// `layer_names` of freeze/unfreeze: absent, or a list of strings.
fn layer_names_argument(operation: &str, v: Option<&Host>) -> Result<Option<Vec<String>>> {
    v.map(|v| {
        v.strings().map_err(|detail| {
            fail!(
                TransferLayerNamesType,
                operation = operation,
                detail = detail
            )
        })
    })
    .transpose()
}

/// `freeze_layers` over host values (None = not given; pass null selectors as None).
pub fn freeze_layers_host(
    cp: &mut SNNCheckpoint,
    names: Option<Host>,
    until: Option<Host>,
) -> Result<()> {
    // With neither selector there is no type to check: the typed call reports the missing one.
    let names = layer_names_argument("freeze_layers", names.as_ref())?;
    let until = match until {
        None => None,
        Some(Host::Int(v)) => Some(v),
        Some(other) => return Err(fail!(TransferLayerIndexType, got = other.type_name())),
    };
    cp.freeze_layers(names.as_deref(), until)
}

/// `unfreeze_layers` over host values (None = not given; all_layers defaults to false).
pub fn unfreeze_layers_host(
    cp: &mut SNNCheckpoint,
    names: Option<Host>,
    all: Option<Host>,
) -> Result<()> {
    let all = all.unwrap_or(Host::Bool(false));
    // "all_layers=True" selects; any other value (a wrong type included) does not.
    if names.is_none() && all != Host::Bool(true) {
        return Err(unfreeze_selector_missing());
    }
    let names = layer_names_argument("unfreeze_layers", names.as_ref())?;
    let Host::Bool(all) = all else {
        return Err(fail!(TransferAllLayersType, got = all.type_name()));
    };
    cp.unfreeze_layers(names.as_deref(), all)
}

/// A `TransferConfig` from host values (None = the default), checked in spec order.
pub fn transfer_config_host(
    freeze_until: Option<Host>,
    lr_backbone: Option<Host>,
    lr_head: Option<Host>,
) -> Result<TransferConfig> {
    let freeze_until = match freeze_until {
        None => FreezeUntil::Index((-1).into()),
        Some(Host::Int(v)) => FreezeUntil::Index(v),
        Some(Host::Str(s)) => FreezeUntil::Name(s),
        Some(other) => return Err(fail!(TransferFreezeUntilType, got = other.type_name())),
    };
    check_freeze_until(&freeze_until)?;
    let mut rates = [0.0, 0.01];
    for ((slot, field), value) in rates
        .iter_mut()
        .zip(["lr_backbone", "lr_head"])
        .zip([lr_backbone, lr_head])
    {
        match value {
            None => {}
            Some(v @ (Host::Int(_) | Host::Float(_))) => *slot = v.as_f64().expect("numeric"),
            Some(other) => {
                return Err(fail!(
                    TransferLearningRateType,
                    field = field,
                    got = other.type_name()
                ))
            }
        }
    }
    TransferConfig::new(freeze_until, rates[0], rates[1])
}
