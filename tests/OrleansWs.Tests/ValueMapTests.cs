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
        Assert.Equal(["host", "sec-websocket-key", "x-multi", "x-none", "x-replaced"], map.Select(e => e.Key));
        Assert.Equal(new[] { new[] { "example.org" }, ["k1"], ["a", "b"], [], ["new"] }, map.Select(e => e.Value));
        Assert.Equal(0, ValueMap.Empty.Count);
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
}
