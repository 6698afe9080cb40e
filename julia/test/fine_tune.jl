# fine_tune.jl: TransferConfig, freeze/unfreeze and apply_transfer_config, codes and state.

three() = SNNCheckpoint([ones(3, 2), ones(4, 3), ones(1, 4)], ["in", "mid", "out"], [(2, 3), (3, 4), (4, 1)])
fcode(r) = r isa S.CheckpointError ? S.code_id(r) : "accept"
seq(xs...) = Any[xs...]

@testset "fine_tune" begin
    @testset "TransferConfig" begin
        tc(f, b = 0.0, h = 0.01) = fcode(S.transfer_config_result(f, b, h))
        @test tc(-1) == "accept" && tc("mid") == "accept" && tc(big(10)^30) == "accept"
        @test tc(true) == "transfer.freeze_until.type"
        @test tc(1.0) == "transfer.freeze_until.type"
        @test tc(nothing) == "transfer.freeze_until.type"
        @test tc(String(UInt8[0xed, 0xa0, 0x80])) == "transfer.freeze_until.type"
        @test tc(-2) == "transfer.freeze_until.range"
        @test tc(0, true) == "transfer.learning_rate.type"
        @test tc(0, 0.0, "0.1") == "transfer.learning_rate.type"
        @test tc(0, 0.0, nothing) == "transfer.learning_rate.type"
        @test tc(0, -1e-9) == "transfer.learning_rate.range"
        @test tc(0, 0.0, NaN) == "transfer.learning_rate.range"
        @test tc(0, 0.0, Inf) == "transfer.learning_rate.range"
        @test tc(0, -0.0, 3) == "accept"
        # Order: a type error on lr_head beats a range error on lr_backbone.
        @test tc(0, -1.0, "x") == "transfer.learning_rate.type"
        @test tc(-5, "x") == "transfer.freeze_until.range"
        @test_throws CheckpointError TransferConfig(freeze_until = -3)
        @test TransferConfig(freeze_until = "out").freeze_until == "out"
    end
    @testset "freeze_layers" begin
        c = three()
        @test fcode(S.freeze_layers_result!(c, nothing, nothing)) == "transfer.selector.missing"
        @test fcode(S.freeze_layers_result!(c, "in", nothing)) == "transfer.layer_names.type"
        @test fcode(S.freeze_layers_result!(c, seq("in", 1), nothing)) == "transfer.layer_names.type"
        @test fcode(S.freeze_layers_result!(c, seq("in"), true)) == "transfer.layer_index.type"
        @test fcode(S.freeze_layers_result!(c, seq("in"), 1.0)) == "transfer.layer_index.type"
        @test fcode(S.freeze_layers_result!(c, seq("nope"), 5)) == "transfer.layer_names.references"
        @test fcode(S.freeze_layers_result!(c, nothing, 3)) == "transfer.layer_index.range"
        @test fcode(S.freeze_layers_result!(c, nothing, -2)) == "transfer.layer_index.range"
        @test isempty(c.frozen_layers)              # nothing changed by rejected calls
        @test fcode(S.freeze_layers_result!(c, seq(), nothing)) == "accept" && isempty(c.frozen_layers)
        S.freeze_layers_result!(c, S.HostTuple(seq("out")), 0)
        @test c.frozen_layers == ["in", "out"]
        freeze_layers!(c; until_index = 1)
        @test c.frozen_layers == ["in", "mid", "out"]
        @test_throws CheckpointError freeze_layers!(c)
    end
    @testset "unfreeze_layers" begin
        c = three()
        freeze_layers!(c; until_index = 2)
        @test fcode(S.unfreeze_layers_result!(c, nothing, false)) == "transfer.selector.missing"
        @test fcode(S.unfreeze_layers_result!(c, nothing, 1)) == "transfer.selector.missing"   # only true selects
        @test fcode(S.unfreeze_layers_result!(c, seq(2), false)) == "transfer.layer_names.type"
        @test fcode(S.unfreeze_layers_result!(c, seq("in"), 1)) == "transfer.all_layers.type"
        @test fcode(S.unfreeze_layers_result!(c, seq("in"), nothing)) == "transfer.all_layers.type"
        @test fcode(S.unfreeze_layers_result!(c, seq("zz"), true)) == "transfer.layer_names.references"
        @test c.frozen_layers == ["in", "mid", "out"]
        unfreeze_layers!(c; layer_names = ["mid"])
        @test c.frozen_layers == ["in", "out"]
        unfreeze_layers!(c; layer_names = ["mid"])       # not frozen: left alone
        @test c.frozen_layers == ["in", "out"]
        unfreeze_layers!(c; all_layers = true)
        @test isempty(c.frozen_layers)
    end
    @testset "apply_transfer_config" begin
        c = three()
        freeze_layers!(c; layer_names = ["out"])
        rates = apply_transfer_config!(c, TransferConfig(freeze_until = 0, lr_backbone = 1, lr_head = 0.5))
        @test rates == [1.0, 0.5, 1.0] && rates isa Vector{Float64}
        @test c.frozen_layers == ["in", "out"]
        rates = apply_transfer_config!(c, TransferConfig(freeze_until = "mid"))
        @test rates == [0.0, 0.0, 0.0]
        c = three()
        @test fcode(S.apply_transfer_config_result!(c, TransferConfig(freeze_until = "x"))) == "transfer.layer_names.references"
        @test fcode(S.apply_transfer_config_result!(c, TransferConfig(freeze_until = 3))) == "transfer.layer_index.range"
        @test apply_transfer_config!(c, TransferConfig()) == [0.01, 0.01, 0.01]
        @test isempty(c.frozen_layers)
    end
end
