# checkpoint.jl: load_checkpoint runs the phases in spec order and builds the state; construct
# normalizes its arguments; save_checkpoint validates, then writes the pair atomically; the
# public entry points throw.

# data/golden.{json,npz} were written once by the Python reference, from the repository root:
#   .venv/bin/python -c 'import numpy as np
#   from sc_neurocore.transfer import SNNCheckpoint, save_checkpoint
#   save_checkpoint(SNNCheckpoint(
#       weights=[np.array([[1.0, 2.0], [3.0, -0.0], [1e-05, 1e16]]), np.array([[0.1, 5e-324, 1.7976931348623157e308]])],
#       layer_names=["hidden", "out\u00e9\x7f"], layer_sizes=[(2, 3), (3, 1)], neuron_types=["LIF", "LIF"],
#       frozen_layers=["out\u00e9\x7f", "hidden"],
#       metadata={"task": "mnist", "seed": 18446744073709551615, "neg": -9223372036854775808,
#                 "f": [1.0, 0.0001, 123.0, -0.0, 2.5e-05, 1e+22, {"a": {}}, []], "e": "\U0001F600\n\"", "n": None, "t": True}),
#       "julia/test/data/golden", compression="stored")'
"The checkpoint of data/golden.{json,npz}, built here."
function golden_checkpoint()
    md = S.read_json_protocol("""{"task": "mnist", "seed": 18446744073709551615, "neg": -9223372036854775808,
        "f": [1.0, 0.0001, 123.0, -0.0, 2.5e-05, 1e+22, {"a": {}}, []], "e": "\\ud83d\\ude00\\n\\"", "n": null, "t": true}""")
    return SNNCheckpoint([[1.0 2.0; 3.0 -0.0; 1e-5 1e16], [0.1 5e-324 1.7976931348623157e308]], ["hidden", "out\u00e9\x7f"],
                         [(2, 3), (3, 1)]; neuron_types = ["LIF", "LIF"], metadata = md, frozen_layers = ["out\u00e9\x7f", "hidden"])
end

"The temporary files left in a folder (a save must never leave any)."
temporaries(dir) = filter(f -> endswith(f, ".tmp"), readdir(dir))
pair_bytes(base) = (read(base * ".json"), read(base * ".npz"))
"The observable state of a checkpoint, as compact JSON text (compares metadata exactly)."
state_text(c) = S.json_string(S.observe(c))
"The process's umask (read by setting it and setting it back)."
const UMASK = (m = ccall(:umask, Cuint, (Cuint,), 0o022); ccall(:umask, Cuint, (Cuint,), m); m)

@testset "checkpoint" begin
    @testset "load: the valid pair" begin
        base = write_pair(valid_doc(), valid_zip())
        c = S.load_checkpoint(base)
        @test S.n_layers(c) == 2 && S.total_params(c) == 9
        @test c.weights == [W1, W2]
        @test S.weight_sha256(c) == [ref_digest(W1), ref_digest(W2)]
        # Pairs written by the Python reference (numpy.savez_compressed: zip64 local headers).
        t = S.load_checkpoint(joinpath(@__DIR__, "data", "tiny"))
        @test S.weight_sha256(t) == ["5915b4d4c6d583e8c1df2ab9a8f6b3a9a72ef135a790aaf158c6f989e4c4e7a5",
                                     "b33514c4483c8e88cbb58b9f60fab3ab5ed240e986a213346888c9a53d63c4d5"]
        @test t.metadata["rate"] === 0.5 && t.metadata["n"] === 3
        # data/zeros-deflated.{json,npz}: 4 layers of 2^21 zeros, deflated by the reference (ISA-L
        # level 1; benchmarks/large/data.py, 64 MiB zeros). The last compressed bytes of a member
        # leave more output inside zlib than one inflate chunk holds: it must be drained.
        z = S.load_checkpoint(joinpath(@__DIR__, "data", "zeros-deflated"))
        @test S.n_layers(z) == 4 && all(w -> size(w) in ((2048, 1024), (1024, 2048)) && all(iszero, w), z.weights)
        # Suffixes are appended: "model.v1" reads model.v1.json.
        dir = mktempdir()
        write(joinpath(dir, "model.v1.json"), S.json_string(valid_doc()))
        write(joinpath(dir, "model.v1.npz"), valid_zip())
        @test load_code(joinpath(dir, "model.v1")) == "accept"
        # Empty checkpoint: a zip with no members.
        @test load_code(doc_for(String[], Tuple{Int,Int}[]), first(build_zip(Member[]))) == "accept"
        # Stored members, frozen layers normalized, archive_sha256 honoured.
        d = setkey!(valid_doc(), "frozen_layers", Any["out", "hidden", "out"])
        z = first(build_zip([Member("layer_0.npy", npy_matrix(W1), 0), Member("layer_1.npy", npy_matrix(W2), 0)]))
        setkey!(d, "archive_sha256", bytes2hex(SHA.sha256(z)))
        c = S.load_checkpoint(write_pair(d, z))
        @test c.frozen_layers == ["hidden", "out"]
        @test_throws CheckpointError S.load_checkpoint(write_pair(setkey!(d, "archive_sha256", "0"^64), z))
    end
    @testset "load: the phases in spec order" begin
        @test load_code(mktempdir() * "/nothing") == "json.file.present"
        dir = mktempdir(); mkdir(joinpath(dir, "x.json")); write(joinpath(dir, "x.npz"), valid_zip())
        @test load_code(joinpath(dir, "x")) == "json.file.present"
        @test load_code("{\"a\": NaN}", valid_zip()) == "json.nonfinite"
        # A number beyond the JSON range is refused before total_params is compared.
        @test load_code(setkey!(valid_doc(), "total_params", big(2)^64), valid_zip()) == "json.number.range"
        @test load_code(setkey!(valid_doc(), "total_params", big(2)^64 - 1), valid_zip()) == "checkpoint.total_params.consistent"
        @test load_code("[1, 2]", valid_zip()) == "schema.root.type"
        # Schema and checkpoint values are judged before the archive is even looked at.
        @test load_code(setkey!(valid_doc(), "layer_names", 1), nothing) == "schema.layer_names.type"
        @test load_code(setkey!(valid_doc(), "n_layers", 1), nothing) == "checkpoint.n_layers.consistent"
        @test load_code(valid_doc(), nothing) == "archive.file.present"
        @test load_code(valid_doc(), first(build_zip(valid_members()[1:1]))) == "archive.members.missing"
        bad_magic = vcat(UInt8[0x00], npy_matrix(W2)[2:end])
        @test load_code(valid_doc(), first(build_zip([Member("layer_0.npy", npy_matrix(W1)), Member("layer_1.npy", bad_magic)]))) ==
              "array.npy.magic"
        nanw = copy(W1); nanw[2, 1] = NaN
        @test load_code(valid_doc(), first(build_zip([Member("layer_0.npy", npy_matrix(nanw)), Member("layer_1.npy", npy_matrix(W2))]))) ==
              "array.finite"
        err = try S.load_checkpoint(write_pair(valid_doc(), nothing)) catch e; e end
        @test code_id(err) == "archive.file.present" && occursin("checkpoint.npz", err.message)
    end
    @testset "load: metadata integers are kept and reported exactly" begin
        md = """{"seed": 18446744073709551615, "t_ns": 1764547200123456789, "neg": -9223372036854775808}"""
        text = replace(S.json_string(valid_doc()), "\"metadata\":{}" => "\"metadata\":$md")
        c = S.load_checkpoint(write_pair(text, valid_zip()))
        @test c.metadata["seed"] === Int128(typemax(UInt64)) && c.metadata["neg"] === typemin(Int64)
        @test occursin("\"metadata\":{\"seed\":18446744073709551615,\"t_ns\":1764547200123456789,\"neg\":-9223372036854775808}",
                       S.json_string(S.observe(c)))
        nested = """{"a": [9223372036854775808, {"b": [-9223372036854775808, 18446744073709551615]}]}"""
        c = S.load_checkpoint(write_pair(replace(S.json_string(valid_doc()), "\"metadata\":{}" => "\"metadata\":$nested"), valid_zip()))
        @test S.json_string(c.metadata) == replace(nested, " " => "")
        for lit in ("18446744073709551616", "-9223372036854775809", "-237462374673276894279832749832423479823246327846")
            bad = replace(S.json_string(valid_doc()), "\"metadata\":{}" => "\"metadata\":{\"a\":[$lit]}")
            @test load_code(bad, valid_zip()) == "json.number.range"
        end
    end
    @testset "construct" begin
        @test ccode(state()) == "accept"
        c = S.construct_checkpoint(hv(state(extra = """, "frozen_layers": {"\$tuple": ["out", "hidden"]}, "metadata": {"a": [1, 2.5, null, {"b": "c"}]}""")))
        @test c.frozen_layers == ["hidden", "out"] && c.weights[1] == [1.0 2.0; 3.0 4.0; 5.0 6.0]
        @test S.weight_sha256(c)[2] == ref_digest(W2)
        @test c.metadata == hv("""{"a": [1, 2.5, null, {"b": "c"}]}""")
        @test ccode(state(names = """{"\$tuple": ["hidden", "out"]}""", sizes = """[{"\$tuple": [2, 3]}, [3, 1]]""")) == "accept"
        @test_throws ArgumentError S.construct_checkpoint(hv("""{"weights": [], "layer_names": []}"""))
        # The public constructor throws; native Julia matrices and Dicts are accepted.
        c = SNNCheckpoint([W1, W2], ["hidden", "out"], [(2, 3), (3, 1)]; metadata = Dict("k" => [1, 2]))
        @test S.weight_sha256(c) == [ref_digest(W1), ref_digest(W2)]
        @test S.json_string(c.metadata) == "{\"k\":[1,2]}"
        @test_throws CheckpointError SNNCheckpoint([W1], ["hidden", "out"], [(2, 3), (3, 1)])
        err = try SNNCheckpoint([W1, W2], ["hidden", "hidden"], [(2, 3), (3, 1)]) catch e; e end
        @test code_id(err) == "checkpoint.layer_names.unique" && occursin("hidden", err.message)
        @test_throws CheckpointError SNNCheckpoint([trues(3, 2), W2], ["hidden", "out"], [(2, 3), (3, 1)])
    end
    @testset "save: round trip and the suffix rule" begin
        c = SNNCheckpoint([W1, W2], ["hidden", "out"], [(2, 3), (3, 1)]; neuron_types = ["LIF", "ALIF"],
                          metadata = Dict("seed" => typemax(UInt64), "lr" => 1e-5), frozen_layers = ["out"])
        for compression in ("stored", "deflate")
            dir = mktempdir()
            base = joinpath(dir, "new", "sub", "model.v1")         # parent folders are created
            saved = save_checkpoint(c, base; compression = compression)
            @test readdir(dirname(base)) == ["model.v1.json", "model.v1.npz"]    # appended, not substituted
            @test filemode(base * ".json") & 0o777 == filemode(base * ".npz") & 0o777 == 0o666 & ~UMASK
            json, npz = pair_bytes(base)
            @test saved == (npz = (sha256 = bytes2hex(SHA.sha256(npz)), size = length(npz)),
                            json = (sha256 = bytes2hex(SHA.sha256(json)), size = length(json)))
            @test endswith(String(copy(json)), "\n  \"archive_sha256\": \"$(saved.npz.sha256)\"\n}")
            back = S.load_checkpoint(base)
            @test back.weights == c.weights && S.weight_sha256(back) == S.weight_sha256(c)
            @test state_text(back) == state_text(c)
            # Saving again over the pair replaces it (stored: with the same bytes).
            save_checkpoint(back, base; compression = compression)
            compression == "stored" && @test pair_bytes(base) == (json, npz)
            @test isempty(temporaries(dirname(base)))
        end
        # The files get the permissions of any new file: 0666 less the umask.
        previous = ccall(:umask, Cuint, (Cuint,), 0o027)
        try
            base = joinpath(mktempdir(), "masked")
            save_checkpoint(c, base)
            @test filemode(base * ".json") & 0o777 == filemode(base * ".npz") & 0o777 == 0o640
        finally
            ccall(:umask, Cuint, (Cuint,), previous)
        end
        # A base without a folder is relative to the working folder; an empty checkpoint saves.
        cd(mktempdir()) do
            save_checkpoint(SNNCheckpoint(S.RowMajor[], String[], Tuple{Int,Int}[]), "empty")
            @test readdir() == ["empty.json", "empty.npz"] && S.n_layers(S.load_checkpoint("empty")) == 0
        end
    end
    @testset "save: byte-identical to the Python reference (stored)" begin
        golden = joinpath(@__DIR__, "data", "golden")
        base = joinpath(mktempdir(), "golden")
        save_checkpoint(golden_checkpoint(), base; compression = "stored")
        @test pair_bytes(base) == pair_bytes(golden)
        # What is loaded from the reference's pair saves to the same bytes.
        save_checkpoint(S.load_checkpoint(golden), base; compression = "stored")
        @test pair_bytes(base) == pair_bytes(golden)
        # Deflated: the same document but for the digest line, and the same state loads.
        save_checkpoint(golden_checkpoint(), base)
        digest_line = r"\n  \"archive_sha256\": \"[0-9a-f]{64}\""
        @test replace(String(read(base * ".json")), digest_line => "") == replace(String(read(golden * ".json")), digest_line => "")
        @test state_text(S.load_checkpoint(base)) == state_text(S.load_checkpoint(golden))
    end
    @testset "save: refusal writes nothing" begin
        dir = mktempdir()
        base = joinpath(dir, "pair")
        save_checkpoint(golden_checkpoint(), base)
        before = pair_bytes(base)
        "The code of saving `c` to a new folder and over `base`; nothing may appear or change."
        function refused(c)
            fresh = joinpath(mktempdir(), "not", "created")
            err = try save_checkpoint(c, fresh) catch e; e end
            @test !ispath(dirname(fresh))
            @test (try save_checkpoint(c, base) catch e; e end) isa CheckpointError
            @test pair_bytes(base) == before && readdir(dir) == ["pair.json", "pair.npz"]
            return err isa CheckpointError ? code_id(err) : err
        end
        # Fields changed after construction are judged again, with the construct codes in spec order.
        c = golden_checkpoint(); c.layer_names[2] = "hidden"
        @test refused(c) == "checkpoint.layer_names.unique"
        c = golden_checkpoint(); c.weights[2][1, 2] = NaN
        @test refused(c) == "array.finite"
        c = golden_checkpoint(); c.weights[1] = S.row_major(W2)
        @test refused(c) == "array.shape.match"
        c = golden_checkpoint(); push!(c.frozen_layers, "nowhere")
        @test refused(c) == "checkpoint.frozen_layers.references"
        c = golden_checkpoint(); push!(c.metadata.pairs, "big" => big(2)^64)
        @test refused(c) == "schema.metadata.type"
        c = golden_checkpoint(); c.layer_sizes[1] = (0, 3)
        @test refused(c) == "checkpoint.layer_sizes.range"
        # Unvalidated constructor arguments (the testee's save with a state) are refused the same way.
        r = S.save_checkpoint_result(S.construct_values(hv(state(names = """["hidden"]"""))), joinpath(dir, "x"), "stored")
        @test r isa CheckpointError && code_id(r) == "checkpoint.layer_sizes.count" && readdir(dir) == ["pair.json", "pair.npz"]
        @test_throws ArgumentError save_checkpoint(golden_checkpoint(), joinpath(dir, "x"); compression = "zstd")
        @test readdir(dir) == ["pair.json", "pair.npz"]
    end
    @testset "save: a failed save leaves the previous pair and no temporary file" begin
        dir = mktempdir()
        base = joinpath(dir, "pair")
        old = golden_checkpoint()
        save_checkpoint(old, base)
        before = pair_bytes(base)
        new = SNNCheckpoint([W1, W2], ["hidden", "out"], [(2, 3), (3, 1)])
        # A destination that cannot be created: a folder on the way is a regular file.
        blocker = joinpath(dir, "file")
        write(blocker, "x")
        @test_throws Base.IOError save_checkpoint(new, joinpath(blocker, "sub", "pair"))
        # "The write fails half-way" for one of the two files, through an injected writer.
        failing(suffix) = (produce, path) -> S.write_temporary(path) do io
            result = produce(io)
            endswith(path, suffix) && error("disk full (forced)")
            return result
        end
        values = S.construct_values(new)
        @test_throws ErrorException S.save_checkpoint_result(values, base, "deflate"; write_file = failing(".npz"))
        @test pair_bytes(base) == before && readdir(dir) == ["file", "pair.json", "pair.npz"]
        # Both files are written and fsynced before either is renamed: a failure writing the
        # document leaves the old pair (and no temporary file).
        @test_throws ErrorException S.save_checkpoint_result(values, base, "deflate"; write_file = failing(".json"))
        @test pair_bytes(base) == before && readdir(dir) == ["file", "pair.json", "pair.npz"]
        # A crash between the two renames leaves the new archive beside the old document, which
        # archive_sha256 turns into archive.digest instead of the wrong weights.
        save_checkpoint(new, joinpath(dir, "newer"))
        cp(joinpath(dir, "newer.npz"), base * ".npz"; force = true)
        @test load_code(base) == "archive.digest"
        rm(joinpath(dir, "newer.npz")); rm(joinpath(dir, "newer.json")); write(base * ".npz", before[2])
        # The rename itself fails (the document's name is taken by a folder): its temporary goes too.
        rm(base * ".json"); mkpath(joinpath(base * ".json", "inside"))
        @test_throws SystemError save_checkpoint(old, base)
        @test isempty(temporaries(dir)) && isdir(base * ".json")
        @test load_code(base) == "json.file.present"
    end
end

@testset "save: level, and large layers through the streaming reader" begin
    dir = mktempdir()
    c = golden_checkpoint()
    # Levels: an integer from 1 to 9; anything else is refused before anything is written.
    for bad in (0, 10, -1, 1.0, true, "1", nothing)
        @test_throws ArgumentError save_checkpoint(c, joinpath(dir, "bad", "x"); level = bad)
    end
    @test !ispath(joinpath(dir, "bad"))
    for level in (1, 9)
        save_checkpoint(c, joinpath(dir, "l$level"); level = level)
        @test load_checkpoint(joinpath(dir, "l$level")).weights == c.weights
    end
    # Layers larger than a read of the pass and an inflate output (1 MiB each), in
    # both compressions and with a layer count that crosses chunk edges at odd offsets.
    big = S.row_major(reshape([sin(k) * 1e3 for k in 1:(700 * 1001)], 700, 1001))
    small = S.row_major(reshape(collect(1.0:6.0), 2, 3))
    w = SNNCheckpoint([big, small], ["a", "b"], [(1001, 700), (3, 2)])
    for compression in ("stored", "deflate")
        base = joinpath(dir, "big-" * compression)
        saved = save_checkpoint(w, base; compression = compression)
        @test saved.npz.sha256 == bytes2hex(SHA.sha256(read(base * ".npz")))
        back = load_checkpoint(base)
        @test back.weights == w.weights && S.weight_sha256(back) == [ref_digest(Matrix(big)), ref_digest(Matrix(small))]
    end
    # Deflated members of several inflate outputs: big-endian data is converted from the inflate
    # buffer, little-endian data inflated straight into the values; both read the same matrix.
    for descr in (">f8", "<f8")
        flat = vec(permutedims(Matrix(big)))
        raw = collect(reinterpret(UInt8, descr == ">f8" ? hton.(flat) : htol.(flat)))
        npy = npy_bytes("{'descr': '$descr', 'fortran_order': False, 'shape': (700, 1001), }", raw)
        base = write_pair(doc_for(["a"], [(1001, 700)]), first(build_zip([Member("layer_0.npy", npy)])))
        @test load_checkpoint(base).weights == [big]
        rm(dirname(base); recursive = true)
    end
    rm(dir; recursive = true)
end

# Reads every .npz given with Python's zipfile (CRC-checked) and numpy.load; prints a line per
# file: its members' methods, then each array's shape and the SHA-256 of its row-major float64 bytes.
const PY_READ_NPZ = """
import hashlib, sys, zipfile
import numpy as np
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, path
        methods = [str(i.compress_type) for i in z.infolist()]
    with np.load(path, allow_pickle=False) as npz:
        arrays = [npz[k] for k in sorted(npz.files, key=lambda k: int(k.split("_")[1]))]
    print(",".join(methods), *("%dx%d:%s" % (a.shape + (hashlib.sha256(np.ascontiguousarray(a, "<f8").tobytes()).hexdigest(),)) for a in arrays))
"""

@testset "save: ISA-L deflate at levels 1, 6, 9, read back by Julia and by Python's zipfile and numpy" begin
    dir = mktempdir()
    # Multi-MiB layers: random (ISA-L falls back to stored blocks), highly repetitive (long
    # matches), and a small one; the levels map to ISA-L's 1, 2 and 3.
    noise = S.row_major(randn(640, 700))
    steps = S.row_major(reshape([Float64(k % 97) for k in 1:(512 * 1024)], 512, 1024))
    small = S.row_major(reshape(collect(1.0:6.0), 2, 3))
    w = SNNCheckpoint([noise, steps, small], ["a", "b", "c"], [(700, 640), (1024, 512), (3, 2)])
    want = join(["8,8,8"; ["$(size(m, 1))x$(size(m, 2)):$d" for (m, d) in zip((noise, steps, small), S.weight_sha256(w))]], " ")
    bases = [joinpath(dir, "level$level") for level in (1, 6, 9)]
    for (level, base) in zip((1, 6, 9), bases)
        saved = save_checkpoint(w, base; level = level)
        npz = read(base * ".npz")
        @test saved.npz.sha256 == bytes2hex(SHA.sha256(npz))
        @test length(npz) < 8 * (640 * 700 + 512 * 1024) ÷ 2 + 8 * 640 * 700   # the repetitive layer shrank
        back = load_checkpoint(base)
        @test back.weights == w.weights && S.weight_sha256(back) == S.weight_sha256(w)
    end
    python = joinpath(@__DIR__, "..", "..", ".venv", "bin", "python")
    lines = readlines(`$python -c $PY_READ_NPZ $(map(b -> b * ".npz", bases))`)
    @test lines == [want, want, want]
    rm(dir; recursive = true)
end
