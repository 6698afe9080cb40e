# Freezing layers and turning a TransferConfig into per-layer learning rates. Every function
# validates all of its arguments (transfer.* invariants in spec order) before it changes the
# checkpoint, so a rejected call leaves the checkpoint as it was.

"""
    TransferConfig(; freeze_until = -1, lr_backbone = 0.0, lr_head = 0.01)

How to fine-tune: freeze layers 0..k (k an index, or a layer name's index; -1 freezes
nothing); frozen layers train at `lr_backbone`, the others at `lr_head`. Throws
`CheckpointError` (transfer.freeze_until.*, transfer.learning_rate.*).
"""
struct TransferConfig
    freeze_until::Union{String,Integer}
    lr_backbone::Real
    lr_head::Real
    # Unchecked; use transfer_config_result or the keyword constructor.
    TransferConfig(f, b, h, ::Val{:unchecked}) = new(f, b, h)
end

TransferConfig(; freeze_until = -1, lr_backbone = 0.0, lr_head = 0.01) =
    unwrap(transfer_config_result(freeze_until, lr_backbone, lr_head))

"Validates the three fields in spec order; returns a TransferConfig or the error."
function transfer_config_result(freeze_until, lr_backbone, lr_head)
    (is_int(freeze_until) || is_text(freeze_until)) ||
        return CheckpointError(TRANSFER_FREEZE_UNTIL_TYPE; got = host_type_name(freeze_until))
    if is_int(freeze_until) && freeze_until < LAYER_INDEX_MIN
        return CheckpointError(TRANSFER_FREEZE_UNTIL_RANGE; value = freeze_until)
    end
    rates = (("lr_backbone", lr_backbone), ("lr_head", lr_head))
    for (field, rate) in rates
        is_number(rate) || return CheckpointError(TRANSFER_LEARNING_RATE_TYPE; field = field, got = host_type_name(rate))
    end
    for (field, rate) in rates
        (isfinite(Float64(rate)) && rate >= 0) ||
            return CheckpointError(TRANSFER_LEARNING_RATE_RANGE; field = field, value = rate)
    end
    return TransferConfig(freeze_until isa AbstractString ? String(freeze_until) : freeze_until,
                          lr_backbone, lr_head, Val(:unchecked))
end

function check_names(operation::String, layer_names)
    layer_names === nothing && return String[]
    is_seq(layer_names, :construct) && !(layer_names isa AbstractString) ||
        return CheckpointError(TRANSFER_LAYER_NAMES_TYPE; operation = operation, detail = "got $(host_type_name(layer_names))")
    out = String[]
    for (i, name) in enumerate(seq_items(layer_names))
        is_text(name) || return CheckpointError(TRANSFER_LAYER_NAMES_TYPE; operation = operation,
                                                detail = "item $(i - 1) is $(host_type_name(name))")
        push!(out, String(name))
    end
    return out
end

function check_known(operation::String, c::SNNCheckpoint, names)
    for name in names
        name in c.layer_names || return CheckpointError(TRANSFER_LAYER_NAMES_REFERENCES; operation = operation, name = name)
    end
    return nothing
end

function check_index(operation::String, c::SNNCheckpoint, index::Integer)
    LAYER_INDEX_MIN <= index < n_layers(c) || return CheckpointError(TRANSFER_LAYER_INDEX_RANGE;
        operation = operation, value = index, maximum = n_layers(c) - 1)
    return nothing
end

"""
    freeze_layers_result!(c, layer_names, until_index) -> c or CheckpointError

Adds the named layers and layers 0..until_index to the frozen set (`nothing` = not given).
"""
function freeze_layers_result!(c::SNNCheckpoint, layer_names, until_index)
    op = "freeze_layers"
    layer_names === nothing && until_index === nothing &&
        return CheckpointError(TRANSFER_SELECTOR_MISSING; operation = op, selectors = "layer_names or until_index")
    names = check_names(op, layer_names)
    names isa CheckpointError && return names
    until_index === nothing || is_int(until_index) ||
        return CheckpointError(TRANSFER_LAYER_INDEX_TYPE; got = host_type_name(until_index))
    e = check_known(op, c, names)
    e === nothing || return e
    if until_index !== nothing
        e = check_index(op, c, until_index)
        e === nothing || return e
        append!(names, c.layer_names[1:Int(until_index)+1])
    end
    c.frozen_layers = sort!(unique(vcat(c.frozen_layers, names)))
    return c
end

"""
    unfreeze_layers_result!(c, layer_names, all_layers) -> c or CheckpointError

Removes the named layers (those not frozen are left alone), or every layer when `all_layers`.
"""
function unfreeze_layers_result!(c::SNNCheckpoint, layer_names, all_layers)
    op = "unfreeze_layers"
    # Python's `all_layers is not True`: only the boolean true selects.
    layer_names === nothing && all_layers !== true &&
        return CheckpointError(TRANSFER_SELECTOR_MISSING; operation = op, selectors = "layer_names or all_layers=True")
    names = check_names(op, layer_names)
    names isa CheckpointError && return names
    all_layers isa Bool || return CheckpointError(TRANSFER_ALL_LAYERS_TYPE; got = host_type_name(all_layers))
    e = check_known(op, c, names)
    e === nothing || return e
    removed = all_layers ? c.layer_names : names
    c.frozen_layers = filter(n -> !(n in removed), c.frozen_layers)
    return c
end

"""
    apply_transfer_config_result!(c, config) -> Vector{Float64} or CheckpointError

Freezes layers 0..k as the config says (nothing is unfrozen) and returns one learning rate per
layer: lr_backbone for a frozen layer, lr_head otherwise.
"""
function apply_transfer_config_result!(c::SNNCheckpoint, cfg::TransferConfig)
    op = "apply_transfer_config"
    checked = transfer_config_result(cfg.freeze_until, cfg.lr_backbone, cfg.lr_head)
    checked isa CheckpointError && return checked
    until = cfg.freeze_until
    if until isa String
        e = check_known(op, c, (until,))
        e === nothing || return e
        index = findfirst(==(until), c.layer_names) - 1
    else
        e = check_index(op, c, until)
        e === nothing || return e
        index = Int(until)
    end
    c.frozen_layers = sort!(unique(vcat(c.frozen_layers, c.layer_names[1:index+1])))
    frozen = Set(c.frozen_layers)
    return Float64[name in frozen ? Float64(cfg.lr_backbone) : Float64(cfg.lr_head) for name in c.layer_names]
end

"Public: freeze layers (throws CheckpointError)."
freeze_layers!(c::SNNCheckpoint; layer_names = nothing, until_index = nothing) =
    unwrap(freeze_layers_result!(c, layer_names, until_index))

"Public: unfreeze layers (throws CheckpointError)."
unfreeze_layers!(c::SNNCheckpoint; layer_names = nothing, all_layers = false) =
    unwrap(unfreeze_layers_result!(c, layer_names, all_layers))

"Public: apply a TransferConfig; returns the per-layer learning rates (throws CheckpointError)."
apply_transfer_config!(c::SNNCheckpoint, cfg::TransferConfig) = unwrap(apply_transfer_config_result!(c, cfg))
