//! The fine-tuning API: `TransferConfig`, `freeze_layers`, `unfreeze_layers` and
//! `apply_transfer_config`. Argument *types* are checked where values arrive untyped (see
//! `host`); these typed functions check the remaining invariants in spec order.

use crate::checkpoint::SNNCheckpoint;
use crate::error::{repr, Result};
use crate::fail;

/// Which layers a config freezes: layers 0..=k, k an index or a layer's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FreezeUntil {
    /// The named layer's index.
    Name(String),
    /// An index; -1 freezes nothing.
    Index(i128),
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
            freeze_until: FreezeUntil::Index(-1),
            lr_backbone: 0.0,
            lr_head: 0.01,
        }
    }
}

/// `transfer.freeze_until.range`: an integer freeze_until is at least -1.
pub fn check_freeze_until(freeze_until: &FreezeUntil) -> Result<()> {
    match freeze_until {
        FreezeUntil::Index(k) if *k < -1 => Err(fail!(
            TransferFreezeUntilRange,
            "TransferConfig freeze_until must be >= -1, got {k}"
        )),
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
            "TransferConfig {field} must be finite and >= 0, got {value}"
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

impl SNNCheckpoint {
    fn check_names(&self, operation: &str, names: &[String]) -> Result<()> {
        match names.iter().find(|n| !self.layer_names().contains(n)) {
            Some(n) => Err(fail!(
                TransferLayerNamesReferences,
                "{operation}: {} is not a layer of this checkpoint",
                repr(n)
            )),
            None => Ok(()),
        }
    }

    fn check_index(&self, operation: &str, index: i128) -> Result<usize> {
        let n = self.n_layers() as i128;
        if (-1..n).contains(&index) {
            Ok((index + 1) as usize)
        } else {
            Err(fail!(
                TransferLayerIndexRange,
                "{operation}: layer index {index} is outside [-1, {}]",
                n - 1
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
        until_index: Option<i128>,
    ) -> Result<()> {
        if layer_names.is_none() && until_index.is_none() {
            return Err(fail!(
                TransferSelectorMissing,
                "freeze_layers needs layer_names or until_index"
            ));
        }
        let names = layer_names.unwrap_or_default();
        self.check_names("freeze_layers", names)?;
        let count = match until_index {
            Some(k) => self.check_index("freeze_layers", k)?,
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
            return Err(fail!(
                TransferSelectorMissing,
                "unfreeze_layers needs layer_names or all_layers=True"
            ));
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
            FreezeUntil::Index(k) => self.check_index(operation, *k)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Array;
    use crate::json::Json;

    fn cp() -> SNNCheckpoint {
        let w = || Array {
            shape: vec![1, 1],
            data: vec![1.0],
        };
        SNNCheckpoint::new(
            vec![w(), w(), w()],
            vec!["in".into(), "mid".into(), "out".into()],
            vec![(1, 1); 3],
            vec![],
            Json::Object(vec![]),
            vec![],
        )
        .unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn freeze_and_unfreeze() {
        let mut c = cp();
        c.freeze_layers(Some(&s(&["out"])), Some(0)).unwrap();
        assert_eq!(c.frozen_layers(), s(&["in", "out"]));
        c.unfreeze_layers(Some(&s(&["out", "mid"])), false).unwrap();
        assert_eq!(c.frozen_layers(), s(&["in"]));
        c.unfreeze_layers(None, true).unwrap();
        assert!(c.frozen_layers().is_empty());
    }

    #[test]
    fn freeze_errors_leave_state_alone() {
        let mut c = cp();
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(
            code(c.freeze_layers(None, None)),
            "transfer.selector.missing"
        );
        assert_eq!(
            code(c.freeze_layers(Some(&s(&["in", "x"])), Some(9))),
            "transfer.layer_names.references"
        );
        assert_eq!(
            code(c.freeze_layers(Some(&s(&["in"])), Some(3))),
            "transfer.layer_index.range"
        );
        assert_eq!(
            code(c.freeze_layers(None, Some(-2))),
            "transfer.layer_index.range"
        );
        assert_eq!(
            code(c.unfreeze_layers(None, false)),
            "transfer.selector.missing"
        );
        assert_eq!(
            code(c.unfreeze_layers(Some(&s(&["x"])), false)),
            "transfer.layer_names.references"
        );
        assert!(c.frozen_layers().is_empty());
        c.freeze_layers(None, Some(-1)).unwrap();
        assert!(c.frozen_layers().is_empty());
    }

    #[test]
    fn config_validation() {
        let code = |f, b, h| TransferConfig::new(f, b, h).unwrap_err().code();
        assert_eq!(
            code(FreezeUntil::Index(-2), 0.0, 0.1),
            "transfer.freeze_until.range"
        );
        assert_eq!(
            code(FreezeUntil::Index(0), -0.5, 0.1),
            "transfer.learning_rate.range"
        );
        assert_eq!(
            code(FreezeUntil::Index(0), 0.0, f64::NAN),
            "transfer.learning_rate.range"
        );
        assert_eq!(
            code(FreezeUntil::Index(0), 0.0, f64::INFINITY),
            "transfer.learning_rate.range"
        );
        assert!(TransferConfig::new(FreezeUntil::Index(0), -0.0, 0.0).is_ok());
    }

    #[test]
    fn apply_returns_rates_per_layer() {
        let mut c = cp();
        c.freeze_layers(Some(&s(&["out"])), None).unwrap();
        let cfg = TransferConfig::new(FreezeUntil::Name("in".into()), 0.0, 0.5).unwrap();
        assert_eq!(c.apply_transfer_config(&cfg).unwrap(), vec![0.0, 0.5, 0.0]);
        let bad = TransferConfig::new(FreezeUntil::Name("nope".into()), 0.0, 0.5).unwrap();
        assert_eq!(
            c.apply_transfer_config(&bad).unwrap_err().code(),
            "transfer.layer_names.references"
        );
        let far = TransferConfig::new(FreezeUntil::Index(3), 0.0, 0.5).unwrap();
        assert_eq!(
            c.apply_transfer_config(&far).unwrap_err().code(),
            "transfer.layer_index.range"
        );
    }
}
