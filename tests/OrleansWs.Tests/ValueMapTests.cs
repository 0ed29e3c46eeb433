using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace OrleansWs.Tests;

public sealed class ValueMapTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static ValueMap Headers(string key) => new(
    [
        KeyValuePair.Create("host", new[] { "example.org" }),
        KeyValuePair.Create("sec-websocket-key", new[] { key }),
        KeyValuePair.Create("x-multi", new[] { "a", "b" }),
        KeyValuePair.Create("x-none", Array.Empty<string>()),
        KeyValuePair.Create("X-Replaced", new[] { "old" }),
        KeyValuePair.Create("x-replaced", new[] { "new" }),
    ]);

    [Fact]
    public void Reads_like_a_case_insensitive_multi_map()
    {
        var map = Headers("k1");
        Assert.Equal("example.org", map["HOST"]);
        Assert.Equal("a", map["x-multi"]);
        Assert.Equal(["a", "b"], map.GetValues("X-Multi"));
        Assert.True(map.Contains("x-none"));
        Assert.Null(map["x-none"]);
        Assert.Empty(map.GetValues("x-none"));
        Assert.Equal("new", map["x-replaced"]);
        Assert.False(map.Contains("missing"));
        Assert.Empty(map.GetValues("missing"));
        Assert.Equal(5, map.Count);
        Assert.Equal(["host", "sec-websocket-key", "x-multi", "x-none", "X-Replaced"], map.Select(e => e.Key)); // the first spelling, as a dictionary keeps it
        Assert.Equal(new[] { new[] { "example.org" }, ["k1"], ["a", "b"], [], ["new"] }, map.Select(e => e.Value));
        Assert.Equal(0, ValueMap.Empty.Count);
        Assert.Equal("", new ValueMap([KeyValuePair.Create("x", new string[] { null! })])["x"]);
        Assert.Null(ValueMap.Empty["x"]);
    }

    [Fact]
    public void Maps_read_by_the_serializer_share_the_names_every_handshake_repeats()
    {
        // A silo keeps each peer's request for life: the serializer must not leave a copy of "host" per peer.
        var serializer = fixture.App.Cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        var first = serializer.Deserialize<ValueMap>(serializer.SerializeToArray(Headers("k1")))!;
        var second = serializer.Deserialize<ValueMap>(serializer.SerializeToArray(Headers("k2")))!;

        Assert.Equal("k2", second["sec-websocket-key"]);
        Assert.Equal(["a", "b"], second.GetValues("x-multi"));
        Assert.True(second.Contains("x-none"));
        Assert.Same(first.First().Key, second.First().Key);
        Assert.NotSame(first.Last().Key, second.Last().Key); // an uncommon name stays the serializer's copy
    }

    [Fact]
    public void A_map_stored_by_an_earlier_version_is_still_read()
    {
        // Earlier versions wrote the map's dictionary as its field 0; a silo reading their peer records must still understand them.
        var serializer = fixture.App.Cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        var earlier = new EarlierValueMap { Values = { ["host"] = ["example.org"], ["x-multi"] = ["a", "b"] } };
        var read = serializer.Deserialize<ValueMap>(serializer.SerializeToArray(earlier))!;

        Assert.Equal("example.org", read["HOST"]);
        Assert.Equal(["a", "b"], read.GetValues("x-multi"));
        Assert.Equal(2, read.Count);
    }

    [Fact]
    public void Pairs_that_list_a_name_apart_are_refused()
    {
        Assert.Throws<InvalidDataException>(() => new ValueMapConverter().ConvertFromSurrogate(new ValueMapSurrogate { Pairs = ["a", "1", "b", "2", "A", "3"] }));
        Assert.Throws<InvalidDataException>(() => new ValueMapConverter().ConvertFromSurrogate(new ValueMapSurrogate { Pairs = ["a"] }));
        Assert.Throws<InvalidDataException>(() => new ValueMapConverter().ConvertFromSurrogate(new ValueMapSurrogate { Pairs = [null, "1"] }));
    }
}

/// <summary>The shape ValueMap had before its pairs layout: a dictionary as field 0.</summary>
[GenerateSerializer]
public sealed class EarlierValueMap
{
    [Id(0)] public Dictionary<string, string[]> Values { get; init; } = new(StringComparer.OrdinalIgnoreCase);
}
