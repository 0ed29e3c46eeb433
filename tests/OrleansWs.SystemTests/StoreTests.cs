using Xunit.Abstractions;

namespace OrleansWs.SystemTests;

/// <summary>The cluster scenarios with membership and peer state in Redis.</summary>
[Collection(nameof(LocalCluster))]
public sealed class RedisClusterTests(LocalCluster cluster, ITestOutputHelper output) : ClusterScenarios(cluster, output);

/// <summary>What lands in Redis.</summary>
[Collection(nameof(LocalCluster))]
public sealed class RedisStoreTests(LocalCluster cluster)
{
    [Fact]
    public async Task A_peer_key_lives_exactly_as_long_as_the_peer()
    {
        var (client, peerId) = await cluster.ConnectAndIdentify(
            () => cluster.Connect(cluster.LoadBalancer, $"/ws/chat?room={Testing.WebSocketTestApp.UniqueName("room")}"));
        var key = peerId[(peerId.IndexOf('/') + 1)..];
        await WaitForKeys(1, key);

        // Closed: OnClose ran and the runtime cleared the state, which deletes the key rather than leave an empty hash.
        await client.DisposeAsync();
        await WaitForKeys(0, key);
    }

    private async Task WaitForKeys(int expected, string key)
    {
        var deadline = DateTime.UtcNow + LocalCluster.Timeout;
        int keys;
        while ((keys = await cluster.StoredRecords("peer", key)) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Redis holds {keys} keys of peer {key}, expected {expected}.");
            await Task.Delay(100);
        }
    }
}

/// <summary>The same scenarios with membership and peer state in PostgreSQL, and what lands in its tables.</summary>
[Collection(nameof(PostgresCluster))]
public sealed class PostgresClusterTests(PostgresCluster cluster, ITestOutputHelper output) : ClusterScenarios(cluster, output)
{
    [Fact]
    public async Task Both_silos_are_members_and_a_peer_state_row_lives_exactly_as_long_as_the_peer()
    {
        Assert.Equal(2L, await cluster.Scalar<long>("SELECT count(*) FROM ows_cluster_member WHERE status = 3"));

        var (client, peerId) = await cluster.ConnectAndIdentify(
            () => cluster.Connect(cluster.LoadBalancer, $"/ws/chat?room={Testing.WebSocketTestApp.UniqueName("room")}"));
        var (n0, n1) = StorageKey(peerId);
        await WaitForRows(1, "SELECT count(*) FROM ows_grain_state WHERE grain_type = 'peer' AND id_n0 = @n0 AND id_n1 = @n1 AND payload IS NOT NULL", n0, n1);

        // Closed: OnClose ran and the runtime cleared the state, which deletes the row.
        await client.DisposeAsync();
        await WaitForRows(0, "SELECT count(*) FROM ows_grain_state WHERE id_n0 = @n0 AND id_n1 = @n1", n0, n1);
    }

    private async Task WaitForRows(long expected, string count, long n0, long n1)
    {
        var deadline = DateTime.UtcNow + LocalCluster.Timeout;
        long rows;
        while ((rows = await cluster.Scalar<long>(count, ("n0", n0), ("n1", n1))) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{count} gave {rows}, expected {expected}.");
            await Task.Delay(100);
        }
    }

    // Orleans' ADO.NET storage keys a grain whose key is a GUID by the GUID's two 64-bit halves.
    private static (long N0, long N1) StorageKey(string peerId)
    {
        var bytes = Guid.ParseExact(peerId[(peerId.IndexOf('/') + 1)..], "N").ToByteArray();
        return (BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8));
    }
}
