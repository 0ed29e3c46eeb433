namespace OrleansWs.SystemTests;

/// <summary>Shutdown stays bounded when Redis is gone. Owns its cluster: the test stops processes it does not restart.</summary>
public sealed class RedisOutageTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    [Fact]
    public async Task Gateways_and_silos_shut_down_by_themselves_with_Redis_down()
    {
        await using var client = await cluster.Connect(cluster.Gateway(1), "/ws/chat?room=outage");
        await cluster.Script(LocalCluster.Timeout, "kill", "redis");

        var gateway = await cluster.Script(TimeSpan.FromMinutes(1), "stop", "gateway1");
        Assert.Contains("gateway1 exited after SIGTERM", gateway);
        await client.ExpectClose(1001);

        var silo = await cluster.Script(TimeSpan.FromMinutes(1), "stop", "silo1");
        Assert.Contains("silo1 exited after SIGTERM", silo);
    }
}
