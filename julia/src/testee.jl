# The testee protocol (docs/protocol.md): JSON Lines on stdin/stdout, one answer per request,
# flushed. run_case is shared with the corpus test, so the unit tests judge exactly what the
# harness sees.

const CAPABILITIES = ["load", "construct", "freeze_layers", "unfreeze_layers",
                      "transfer_config", "apply_transfer_config", "save", "timing"]

"The observable state of an accepted operation."
function observe(c::SNNCheckpoint)
    return JObject(Pair{String,Any}[
        "n_layers" => n_layers(c),
        "total_params" => total_params(c),
        "layer_names" => c.layer_names,
        "layer_sizes" => [Any[i, o] for (i, o) in c.layer_sizes],
        "neuron_types" => c.neuron_types,
        "frozen_layers" => c.frozen_layers,
        "metadata" => c.metadata,
        "weight_sha256" => weight_sha256(c)])
end

"An argument of an operation: absent takes `default`; an explicit null stays `nothing`."
function argument(obj, key::String, default)
    obj === JSON_ABSENT && return default
    obj isa JObject || throw(ArgumentError("operation arguments must be an object"))
    v = get(obj, key, JSON_ABSENT)
    return v === JSON_ABSENT ? default : decode_host_value(v)
end

function check_argument_names(obj, allowed, what)
    obj === JSON_ABSENT && return
    obj isa JObject || throw(ArgumentError("$what must be an object"))
    for k in keys(obj)
        k in allowed || throw(ArgumentError("unexpected $what argument $(repr(k))"))
    end
end

function config_of(op::JObject)
    cfg = get(op, "config", JSON_ABSENT)
    check_argument_names(cfg, ("freeze_until", "lr_backbone", "lr_head"), "config")
    return transfer_config_result(argument(cfg, "freeze_until", -1), argument(cfg, "lr_backbone", 0.0),
                                    argument(cfg, "lr_head", 0.01))
end

"""
Runs one operation: a CheckpointError, or (new checkpoint, payload, observed): the accepted
answer's fields, and whether they go into the checkpoint's observable state, which the caller
computes afterwards (outside the operation's timing).
"""
function run_op(op::JObject, root::String, ckpt)
    name = op["op"]
    if name == "load"
        r = load_checkpoint_result(joinpath(root, op["base"]))
        r isa CheckpointError && return r
        return r, Pair{String,Any}[], true
    elseif name == "construct"
        state = decode_host_value(op["state"])
        state isa JObject || throw(ArgumentError("construct state must be an object"))
        check_argument_names(state, ("weights", "layer_names", "layer_sizes", "neuron_types", "metadata", "frozen_layers"), "state")
        r = construct_checkpoint(state)
        r isa CheckpointError && return r
        return r, Pair{String,Any}[], true
    elseif name == "transfer_config"
        cfg = config_of(op)
        cfg isa CheckpointError && return cfg
        return ckpt, Pair{String,Any}["config" => JObject(Pair{String,Any}[
            "freeze_until" => cfg.freeze_until,
            "lr_backbone" => Float64(cfg.lr_backbone),
            "lr_head" => Float64(cfg.lr_head)])], false
    elseif name == "save"
        return save_op(op, ckpt)
    end
    ckpt === nothing && throw(ArgumentError("$(repr(name)) needs a checkpoint: a case starts with load or construct"))
    if name == "freeze_layers"
        args = get(op, "args", JSON_ABSENT)
        check_argument_names(args, ("layer_names", "until_index"), "freeze_layers")
        r = freeze_layers_result!(ckpt, argument(args, "layer_names", nothing), argument(args, "until_index", nothing))
    elseif name == "unfreeze_layers"
        args = get(op, "args", JSON_ABSENT)
        check_argument_names(args, ("layer_names", "all_layers"), "unfreeze_layers")
        r = unfreeze_layers_result!(ckpt, argument(args, "layer_names", nothing), argument(args, "all_layers", false))
    elseif name == "apply_transfer_config"
        cfg = config_of(op)
        cfg isa CheckpointError && return cfg
        rates = apply_transfer_config_result!(ckpt, cfg)
        rates isa CheckpointError && return rates
        return ckpt, Pair{String,Any}["learning_rates" => rates], true
    else
        throw(ArgumentError("unknown operation $(repr(name))"))
    end
    r isa CheckpointError && return r
    return ckpt, Pair{String,Any}[], true
end

"""
The `save` operation: the current checkpoint, or the `state` given inline, built without
validation so that the writer's own validation is what refuses it. Nothing changes.
"""
function save_op(op::JObject, ckpt)
    if haskey(op, "state")
        state = decode_host_value(op["state"])
        state isa JObject || throw(ArgumentError("save state must be an object"))
        values = construct_values(state)
    else
        ckpt === nothing && throw(ArgumentError("\"save\" needs a checkpoint or a state"))
        values = construct_values(ckpt)
    end
    saved = save_checkpoint_result(values, op["out"], get(op, "compression", "deflate"), get(op, "level", 1))
    saved isa CheckpointError && return saved
    return ckpt, Pair{String,Any}["saved" => saved], false
end

"""
    run_case(case; timing = false) -> one result per operation run

With `timing`, each result also holds `seconds`: the operation's own wall time (monotonic
clock), without computing the observable state or encoding the answer.
"""
function run_case(case::JObject; timing::Bool = false)
    root = case["root"]
    results = Any[]
    ckpt = nothing
    for op in case["ops"]
        began = time_ns()
        r = run_op(op, root, ckpt)
        seconds = Pair{String,Any}["seconds" => (time_ns() - began) / 1e9]
        if r isa CheckpointError
            push!(results, JObject(Pair{String,Any}["op" => op["op"], "verdict" => "reject",
                                                      "code" => code_id(r), "message" => r.message,
                                                      (timing ? seconds : ())...]))
            break
        end
        ckpt, payload, observed = r
        if observed
            state = observe(ckpt)
            append!(state.pairs, payload)
            payload = Pair{String,Any}["state" => state]
        end
        push!(results, JObject(Pair{String,Any}["op" => op["op"], "verdict" => "accept", payload...,
                                                 (timing ? seconds : ())...]))
    end
    return results
end

function answer(io::IO, value)
    write(io, json_string(value), '\n')
    flush(io)
end

"A case that allocates this many bytes is collected after (release_memory)."
const RELEASE_AFTER_BYTES = 32 << 20

"""
After a case that allocated RELEASE_AFTER_BYTES or more (a large checkpoint): a full collection,
then glibc's `malloc_trim`, so that the next case starts from the idle footprint. Julia 1.5's GC
would otherwise free that checkpoint only once the next case had allocated enough to trigger a
collection (a load+save request after a load held up to both: x1.33-1.76 the data), and glibc
keeps freed chunks inside its heap. Small cases (the corpus) pay nothing.
"""
function release_memory(allocated_before::Int64)
    Base.gc_bytes() - allocated_before < RELEASE_AFTER_BYTES && return
    GC.gc()
    ccall(:malloc_trim, Cint, (Csize_t,), 0)
    return
end

function serve(input::IO = stdin, output::IO = stdout)
    while !eof(input)
        line = readline(input)
        isempty(strip(line)) && continue
        local request
        try
            request = read_json_protocol(line)
            request isa JObject || throw(ArgumentError("a request must be a JSON object"))
        catch err
            println(stderr, "testee: unreadable request: ", sprint(showerror, err))
            answer(output, JObject(Pair{String,Any}["errored" => JObject(Pair{String,Any}[
                "message" => sprint(showerror, err), "context" => "reading the request"])]))
            continue
        end
        cmd = get(request, "cmd", nothing)
        if cmd == "hello"
            answer(output, JObject(Pair{String,Any}[
                "implementation" => "julia", "version" => VERSION_STRING,
                "runtime" => "julia $(VERSION)", "spec_version" => SPEC_VERSION, "protocol" => 1,
                "capabilities" => CAPABILITIES]))
        elseif cmd == "run"
            seq = get(request, "seq", nothing)
            case = get(request, "case", nothing)
            id = case isa JObject ? get(case, "id", nothing) : nothing
            reply = Pair{String,Any}["seq" => seq, "id" => id]
            allocated = Base.gc_bytes()
            try
                case isa JObject || throw(ArgumentError("run needs a case object"))
                push!(reply, "results" => run_case(case; timing = get(request, "timing", false) === true))
            catch err
                # Our own failure, never a verdict.
                bt = catch_backtrace()
                println(stderr, "testee: case $(id) errored: ", sprint(showerror, err))
                push!(reply, "errored" => JObject(Pair{String,Any}[
                    "message" => sprint(showerror, err),
                    "context" => sprint(Base.show_backtrace, bt)[1:min(end, 2000)]]))
            end
            answer(output, JObject(reply))
            release_memory(allocated)
        elseif cmd == "stop"
            answer(output, JObject(Pair{String,Any}["stopped" => true]))
            return
        else
            answer(output, JObject(Pair{String,Any}["errored" => JObject(Pair{String,Any}[
                "message" => "unknown command $(repr(cmd))", "context" => "dispatch"])]))
        end
    end
end


"Serves a fixed set of requests (every operation, accepted and rejected) into a buffer."
function precompile_workload()
    data = normpath(joinpath(@__DIR__, "..", "test", "data"))
    state = "{\"weights\":[{\"\$array\":{\"shape\":[1,2],\"data\":[0.5,{\"\$float\":\"NaN\"}]}}, [[1, 2.5]]]," *
            "\"layer_names\":[\"a\",\"b\"],\"layer_sizes\":[[2,1],{\"\$tuple\":[2,1]}]," *
            "\"metadata\":{\"k\":[1,2.5,null,true,\"s\",18446744073709551615,{\"\$set\":[1]}]}}"
    good = replace(state, "{\"\$float\":\"NaN\"}" => "-0.25")
    good = replace(good, ",{\"\$set\":[1]}" => "")
    out = mktempdir()
    requests = """
        {"cmd":"hello","protocol":1}
        {"cmd":"run","seq":1,"case":{"id":"w1","root":$(json_string(data)),"ops":[{"op":"load","base":"tiny"},{"op":"freeze_layers","args":{"layer_names":["hidden"],"until_index":0}},{"op":"unfreeze_layers","args":{"all_layers":true}},{"op":"apply_transfer_config","config":{"freeze_until":"hidden","lr_backbone":0,"lr_head":0.5}},{"op":"transfer_config","config":{"freeze_until":-2}}]}}
        {"cmd":"run","seq":2,"case":{"id":"w2","root":$(json_string(data)),"ops":[{"op":"load","base":"missing"}]}}
        {"cmd":"run","seq":3,"case":{"id":"w3","root":"/","ops":[{"op":"construct","state":$state}]}}
        {"cmd":"run","seq":4,"case":{"id":"w4","root":"/","ops":[{"op":"construct","state":$good},{"op":"unfreeze_layers","args":{"layer_names":["zz"]}}]}}
        {"cmd":"run","seq":5,"case":{"id":"w5","root":"/","ops":[{"op":"construct","state":$good},{"op":"save","out":$(json_string(out * "/s")),"compression":"stored"},{"op":"save","out":$(json_string(out * "/d"))}]}}
        {"cmd":"run","seq":6,"case":{"id":"w6","root":"/","ops":[{"op":"save","out":$(json_string(out * "/r")),"state":$state}]}}
        {"cmd":"stop"}
        """
    try
        serve(IOBuffer(requests), IOBuffer())
    finally
        rm(out; recursive = true, force = true)
    end
    return nothing
end
