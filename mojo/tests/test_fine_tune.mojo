"""Tests for fine_tune.mojo: TransferConfig, freeze/unfreeze and apply_transfer_config, every transfer.* code."""

from std.testing import assert_equal, assert_true, TestSuite

from checkpoint import Checkpoint, construct_checkpoint
from fine_tune import transfer_config, apply_transfer_config, freeze_layers, unfreeze_layers
from support import host, valid_state


def _checkpoint() raises -> Checkpoint:
    # Layers "a" and "b"; "b" is frozen.
    var values = host(valid_state())
    return construct_checkpoint(values, values.root)


def _config_code(text: String) raises -> String:
    var values = host(text)
    try:
        _ = transfer_config(values, values.root)
        return "accept"
    except e:
        return e.code


def _apply_code(text: String) raises -> String:
    var cp = _checkpoint()
    var values = host(text)
    try:
        _ = apply_transfer_config(cp, values, values.root)
        return "accept"
    except e:
        return e.code


def _freeze_code(text: String) raises -> String:
    var cp = _checkpoint()
    var values = host(text)
    try:
        freeze_layers(cp, values, values.root)
        return "accept"
    except e:
        return e.code


def _unfreeze_code(text: String) raises -> String:
    var cp = _checkpoint()
    var values = host(text)
    try:
        unfreeze_layers(cp, values, values.root)
        return "accept"
    except e:
        return e.code


def test_transfer_config_defaults_and_output() raises:
    var values = host("{}")
    var cfg = transfer_config(values, values.root)
    var out = String()
    cfg.write_json(out)
    assert_equal(out, '{"freeze_until": -1, "lr_backbone": 0.0, "lr_head": 0.01}')
    values = host('{"freeze_until": "a", "lr_backbone": 1, "lr_head": 100000000000000000000}')
    cfg = transfer_config(values, values.root)
    out = String()
    cfg.write_json(out)
    assert_equal(out, '{"freeze_until": "a", "lr_backbone": 1.0, "lr_head": 1e+20}')


def test_transfer_config_codes() raises:
    assert_equal(_config_code('{"freeze_until": 1.5}'), "transfer.freeze_until.type")
    assert_equal(_config_code('{"freeze_until": true}'), "transfer.freeze_until.type")
    assert_equal(_config_code('{"freeze_until": null}'), "transfer.freeze_until.type")
    assert_equal(_config_code('{"freeze_until": -2}'), "transfer.freeze_until.range")
    assert_equal(_config_code('{"freeze_until": -2, "lr_head": "x"}'), "transfer.freeze_until.range")
    assert_equal(_config_code('{"lr_backbone": false}'), "transfer.learning_rate.type")
    assert_equal(_config_code('{"lr_head": "0.1"}'), "transfer.learning_rate.type")
    # Type is checked on both rates before range.
    assert_equal(_config_code('{"lr_backbone": -1, "lr_head": []}'), "transfer.learning_rate.type")
    assert_equal(_config_code('{"lr_backbone": -5e-324}'), "transfer.learning_rate.range")
    assert_equal(_config_code('{"lr_head": {"$float": "Infinity"}}'), "transfer.learning_rate.range")
    assert_equal(_config_code('{"lr_head": -0.0}'), "accept")


def test_apply_transfer_config() raises:
    var cp = _checkpoint()
    var values = host('{"freeze_until": "a", "lr_backbone": 0.0, "lr_head": 0.5}')
    var rates = apply_transfer_config(cp, values, values.root)
    assert_equal(len(rates), 2)
    assert_equal(rates[0], 0.0)
    assert_equal(rates[1], 0.0)  # "b" was frozen already
    assert_equal(len(cp.frozen_layers), 2)
    assert_equal(_apply_code('{"freeze_until": "ghost"}'), "transfer.layer_names.references")
    assert_equal(_apply_code('{"freeze_until": 2}'), "transfer.layer_index.range")
    assert_equal(_apply_code('{"freeze_until": 1}'), "accept")
    assert_equal(_apply_code('{"freeze_until": -3}'), "transfer.freeze_until.range")
    # Indices beyond int64 are out of range, not wrapped into it.
    assert_equal(_apply_code('{"freeze_until": 18446744073709551617}'), "transfer.layer_index.range")
    assert_equal(_apply_code('{"freeze_until": -18446744073709551617}'), "transfer.freeze_until.range")
    assert_equal(_freeze_code('{"until_index": 18446744073709551616}'), "transfer.layer_index.range")
    assert_equal(_freeze_code('{"until_index": -100000000000000000000000}'), "transfer.layer_index.range")
    var wide = host('{"freeze_until": 18446744073709551617}')
    var out = String()
    transfer_config(wide, wide.root).write_json(out)
    assert_true(out.startswith('{"freeze_until": 18446744073709551617,'), out)


def test_freeze_layers() raises:
    assert_equal(_freeze_code("{}"), "transfer.selector.missing")
    assert_equal(_freeze_code('{"layer_names": null, "until_index": null}'), "transfer.selector.missing")
    assert_equal(_freeze_code('{"layer_names": "a"}'), "transfer.layer_names.type")
    assert_equal(_freeze_code('{"layer_names": [1]}'), "transfer.layer_names.type")
    assert_equal(_freeze_code('{"layer_names": {"$tuple": ["a"]}}'), "accept")
    assert_equal(_freeze_code('{"until_index": true}'), "transfer.layer_index.type")
    assert_equal(_freeze_code('{"layer_names": ["ghost"], "until_index": 7}'), "transfer.layer_names.references")
    assert_equal(_freeze_code('{"until_index": 2}'), "transfer.layer_index.range")
    assert_equal(_freeze_code('{"until_index": -2}'), "transfer.layer_index.range")
    var cp = _checkpoint()
    var values = host('{"until_index": 0}')
    freeze_layers(cp, values, values.root)
    assert_equal(len(cp.frozen_layers), 2)
    assert_equal(cp.frozen_layers[0], "a")


def test_unfreeze_layers() raises:
    assert_equal(_unfreeze_code("{}"), "transfer.selector.missing")
    assert_equal(_unfreeze_code('{"all_layers": false}'), "transfer.selector.missing")
    # Only a real True selects: 1 is no selector, and with names it is the wrong type.
    assert_equal(_unfreeze_code('{"all_layers": 1}'), "transfer.selector.missing")
    assert_equal(_unfreeze_code('{"layer_names": [], "all_layers": 1}'), "transfer.all_layers.type")
    assert_equal(_unfreeze_code('{"layer_names": "b"}'), "transfer.layer_names.type")
    assert_equal(_unfreeze_code('{"layer_names": ["ghost"]}'), "transfer.layer_names.references")
    var cp = _checkpoint()
    var values = host('{"layer_names": ["a", "b"]}')
    unfreeze_layers(cp, values, values.root)
    assert_equal(len(cp.frozen_layers), 0)
    cp = _checkpoint()
    values = host('{"all_layers": true}')
    unfreeze_layers(cp, values, values.root)
    assert_equal(len(cp.frozen_layers), 0)


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
