# json_write.jl: the writer spells values as Python's json.dumps does; floats read back exactly.

@testset "json_write" begin
    @testset "floats: Python's repr" begin
        # Pairs checked against CPython 3.11's repr().
        for (x, text) in ((1.0, "1.0"), (-0.0, "-0.0"), (0.0, "0.0"), (0.01, "0.01"), (1e-5, "1e-05"),
                          (2.5e-5, "2.5e-05"), (0.0001, "0.0001"), (1e21, "1e+21"), (1e16, "1e+16"),
                          (1e15, "1000000000000000.0"), (12345678901234567.0, "1.2345678901234568e+16"),
                          (0.30000000000000004, "0.30000000000000004"), (123456.789, "123456.789"),
                          (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
                          (-1.5e-300, "-1.5e-300"), (100.0, "100.0"))
            @test S.format_float(x) == text
        end
        for x in (5e-324, 1.7976931348623157e308, 2.2250738585072011e-308, 0.1, 1e16, 123456.789, -7.25e-11)
            @test S.strtod(S.format_float(x)) === x
        end
        @test_throws ArgumentError S.format_float(NaN)
        @test_throws ArgumentError S.format_float(-Inf)
    end
    @testset "strings: ASCII with json.dumps's escapes" begin
        @test S.json_string(Any[1, 2.0, nothing, true, "a\"\\\n\u01\u7f"]) == "[1,2.0,null,true,\"a\\\"\\\\\\n\\u0001\u7f\"]"
        @test S.json_string("\b\f\r\t") == "\"\\b\\f\\r\\t\""
        @test S.json_string("é😀") == "\"\\u00e9\\ud83d\\ude00\""
        @test S.json_string(String(UInt8[0xed, 0xa0, 0x80])) == "\"\\ud800\""      # a lone surrogate (WTF-8)
        @test S.json_string(String(UInt8[0xff])) == "\"\\ufffd\""
    end
    @testset "integers and containers" begin
        @test S.json_string(typemin(Int64)) == "-9223372036854775808"
        @test S.json_string(big(10)^30) == "1000000000000000000000000000000"
        doc = S.JObject(Pair{String,Any}["k" => Any[1, 2.5, S.JObject()], "é" => "x"])
        @test S.json_string(doc) == "{\"k\":[1,2.5,{}],\"\\u00e9\":\"x\"}"
        @test S.read_json_protocol(S.json_string(doc)) == doc
    end
end
