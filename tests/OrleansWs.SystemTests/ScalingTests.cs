using OrleansWs.Testing;
using Xunit.Abstractions;

namespace OrleansWs.SystemTests;

/// <summary>
/// Gateways added and removed with <c>scripts/cluster.sh scale</c> while a room is busy: the load balancer follows,
/// and peers on the gateways that stay miss nothing.
/// </summary>
[Collection(nameof(LocalCluster))]
public sealed class ScalingTests(LocalCluster cluster, ITestOutputHelper output)
{
    // A bound on the stream (one publish every 10 ms or so: over two minutes), which the test stops long before.
    private const int MaxPublishes = 12_000;

    [Fact]
    public async Task A_gateway_added_and_removed_under_traffic_takes_nothing_from_peers_on_the_others()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var path = $"/ws/chat?room={room}";
        await using var publisher = await cluster.Connect(cluster.Gateway(1), path);
        var steady = new List<NumberedStream> { await NumberedStream.Connect(cluster, cluster.Gateway(1), path), await NumberedStream.Connect(cluster, cluster.Gateway(2), path) };
        var joined = new List<NumberedStream>();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var traffic = Task.Run(async () =>
        {
            // A numbered stream, bounded in count and time.
            while (!stop.IsCancellationRequested && sent < MaxPublishes)
            {
                await publisher.SendText((sent + 1).ToString());
                sent++;
                await Task.Delay(10);
            }
        });

        try
        {
            await cluster.Script(TimeSpan.FromMinutes(2), "scale", "gateway", "3");
            Assert.Equal($"ok gateways {cluster.GatewayHttp(1).Port} {cluster.GatewayHttp(2).Port} {cluster.GatewayHttp(3).Port}",
                await UpstreamsSeenByANewClient());

            // Round robin over three gateways: two of six new connections land on the new one.
            for (var i = 0; i < 6; i++)
            {
                joined.Add(await NumberedStream.Connect(cluster, cluster.LoadBalancer, path));
            }

            await WaitForTraffic(joined, Math.Min(sent + 20, MaxPublishes));
            await cluster.Script(TimeSpan.FromMinutes(2), "scale", "gateway", "2");
            Assert.Equal($"ok gateways {cluster.GatewayHttp(1).Port} {cluster.GatewayHttp(2).Port}",
                await UpstreamsSeenByANewClient());

            // New connections go to the gateways that are left, and hear the room.
            await using var late = await NumberedStream.Connect(cluster, cluster.LoadBalancer, path);
            await using var later = await NumberedStream.Connect(cluster, cluster.LoadBalancer, path);
            await WaitForTraffic([late, later], Math.Min(sent + 20, MaxPublishes));
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
            await cluster.Script(TimeSpan.FromMinutes(2), "scale", "gateway", "2");
        }

        output.WriteLine($"{sent} publishes while a third gateway came and went");
        try
        {
            foreach (var peer in steady)
            {
                await peer.ReadUntil(sent);
                Assert.Equal((1, sent, null), (peer.First, peer.Last, peer.End));
            }

            // The new gateway's peers were closed with 1001 when it left; everyone else heard every publish from the
            // one they joined at, without a gap.
            foreach (var peer in joined)
            {
                await peer.ReadUntil(sent);
                Assert.True(peer.First > 0, "a peer that joined heard nothing");
                if (peer.End is { } close)
                {
                    Assert.Equal((1001, "server shutting down"), (close.Code, close.Reason));
                    output.WriteLine($"on the removed gateway: heard {peer.First}..{peer.Last}");
                }
                else
                {
                    Assert.Equal(sent, peer.Last);
                }
            }

            Assert.InRange(joined.Count(p => p.End is not null), 1, 3);
        }
        finally
        {
            foreach (var peer in steady.Concat(joined))
            {
                await peer.DisposeAsync();
            }
        }
    }

    private static async Task WaitForTraffic(IEnumerable<NumberedStream> streams, int n)
    {
        foreach (var stream in streams)
        {
            await stream.ReadUntil(n);
        }
    }

    /// <summary>
    /// A client's view of the room's numbered stream: each number after the first it hears must follow the one
    /// before it, up to the last one sent or to a close.
    /// </summary>
    private sealed class NumberedStream(TestClient client) : IAsyncDisposable
    {
        public int First { get; private set; }

        public int Last { get; private set; }

        public TestClient.ClosedByServer? End { get; private set; }

        public static async Task<NumberedStream> Connect(LocalCluster cluster, Uri server, string path) =>
            new(await cluster.Connect(server, path));

        public async Task ReadUntil(int n)
        {
            while (Last < n && End is null)
            {
                switch (await client.ReceiveAny())
                {
                    case TestClient.ReceivedMessage message:
                        var number = int.Parse(message.Text);
                        Assert.True(Last == 0 || number == Last + 1, $"{client.Uri}: heard {number} after {Last}");
                        (First, Last) = (First == 0 ? number : First, number);
                        break;
                    case TestClient.ClosedByServer close:
                        End = close;
                        break;
                    case var other:
                        Assert.Fail($"{client.Uri}: {other} after {Last}");
                        break;
                }
            }
        }

        public ValueTask DisposeAsync() => client.DisposeAsync();
    }

    // On a connection of its own: after a reload, a kept-alive connection may still be served by an old nginx worker,
    // with the old upstream list, while every new client gets the new one (which the script waited for).
    private async Task<string> UpstreamsSeenByANewClient()
    {
        using var fresh = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await fresh.GetStringAsync(new Uri(cluster.LoadBalancerHttp, "/healthz"));
    }
}
