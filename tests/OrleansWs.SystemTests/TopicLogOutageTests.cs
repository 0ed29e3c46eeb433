using OrleansWs.Testing;

namespace OrleansWs.SystemTests;

/// <summary>The topic log (here Redis, also the store) goes down and comes back. Owns its cluster.</summary>
public sealed class TopicLogOutageTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    [Fact]
    public async Task Publishes_fail_fast_while_the_log_is_down_echo_carries_on_and_delivery_resumes_when_it_is_back()
    {
        var room = WebSocketTestApp.UniqueName("outage");
        await using var subscriber = await cluster.Connect(cluster.Gateway(1), $"/ws/chat?room={room}");
        await using var echo = await cluster.Connect(cluster.Gateway(1), "/ws/echo");
        await using (var early = await cluster.Connect(cluster.Gateway(2), $"/ws/chat?room={room}"))
        {
            await early.SendText("before");
            Assert.Equal("before", await subscriber.ReceiveText());

            await cluster.Script(LocalCluster.Timeout, "kill", "redis");

            // A hook that publishes fails at once, before its state is written, with a reason; echo goes on.
            await early.SendText("during");
            var closed = await early.ExpectClose(1011, TimeSpan.FromSeconds(10));
            Assert.Equal("topics unavailable", closed.Reason);
            await echo.SendText("still here");
            Assert.Equal("still here", await echo.ReceiveText());
        }

        // Redis comes back with what its append-only file kept; the readers pick up where they stood.
        await cluster.Script(TimeSpan.FromMinutes(1), "start", "redis");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string? heard = null;
        for (var attempt = 0; heard is null; attempt++)
        {
            try
            {
                await using var late = await cluster.Connect(cluster.Gateway(2), $"/ws/chat?room={room}");
                await late.SendText($"after-{attempt}");
                heard = await subscriber.ReceiveText(TimeSpan.FromSeconds(3));
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // Not yet: the cluster is still reconnecting to Redis.
            }
        }

        // The subscriber, connected throughout, hears the room again, and never the publish that failed.
        Assert.StartsWith("after-", heard);
    }
}
