using System.Diagnostics;
using System.Net;
using OrleansWs.Testing;
using Xunit.Abstractions;

namespace OrleansWs.SystemTests;

/// <summary>
/// The scaled topology under real faults, run once per store (<see cref="RedisClusterTests"/>,
/// <see cref="PostgresClusterTests"/>). The tests of a store share one cluster and run one at a time;
/// each restores any process it stops, and uses its own room.
/// </summary>
public abstract class ClusterScenarios(LocalCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private static string Room() => WebSocketTestApp.UniqueName("room");

    [Fact]
    public async Task Chat_crosses_gateways_directly_and_through_the_load_balancer()
    {
        var room = Room();
        await using var a = await cluster.Connect(cluster.Gateway(1), $"/ws/chat?room={room}");
        await using var b = await cluster.Connect(cluster.Gateway(2), $"/ws/chat?room={room}");
        await using var c = await cluster.Connect(cluster.LoadBalancer, $"/ws/chat?room={room}");
        await using var d = await cluster.Connect(cluster.LoadBalancer, $"/ws/chat?room={room}");

        await a.SendText("from gateway 1");
        foreach (var other in new[] { b, c, d })
        {
            Assert.Equal("from gateway 1", await other.ReceiveText());
        }

        await c.SendText("from the load balancer");
        foreach (var other in new[] { a, b, d })
        {
            Assert.Equal("from the load balancer", await other.ReceiveText());
        }

        await Task.WhenAll(a.ExpectNoMessage(Quiet), c.ExpectNoMessage(Quiet));
    }

    [Fact]
    public async Task A_room_grain_called_from_hooks_is_shared_across_gateways_and_kept_in_the_store()
    {
        // src/Silo stores the demo's counters with silo.AddOrleansWsStorage("rooms"): in the cluster's store.
        var room = Room();
        await using var a = await cluster.Connect(cluster.Gateway(1), $"/ws/counter?room={room}");
        Assert.Equal("value 0", await a.ReceiveText());
        await using var b = await cluster.Connect(cluster.Gateway(2), $"/ws/counter?room={room}");
        Assert.Equal("value 0", await b.ReceiveText());
        Assert.Equal(0, await cluster.StoredRecords("counter", room));

        await a.SendText("inc");
        Assert.Equal("value 1", await a.ReceiveText());
        Assert.Equal("value 1", await b.ReceiveText());
        await b.SendText("inc");
        Assert.Equal("value 2", await b.ReceiveText());
        Assert.Equal("value 2", await a.ReceiveText());
        Assert.Equal(1, await cluster.StoredRecords("counter", room));
    }

    [Fact]
    public async Task A_send_by_peer_id_reaches_the_peer_on_another_gateway()
    {
        var (far, farId) = await cluster.ConnectAndIdentify(() => cluster.Connect(cluster.Gateway(2), $"/ws/chat?room={Room()}"));
        await using var _ = far;
        using var response = await cluster.Http.PostAsync(
            new Uri(cluster.GatewayHttp(1), $"/api/peer/send?id={Uri.EscapeDataString(farId)}"),
            new StringContent("\"sent by id through gateway 1\"", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("sent by id through gateway 1", await far.ReceiveText());
    }

    [Fact]
    public async Task Killing_a_gateway_closes_its_peers_within_the_lease_and_spares_the_other()
    {
        var room = Room();
        var (doomed, doomedId) = await cluster.ConnectAndIdentify(() => cluster.Connect(cluster.Gateway(2), $"/ws/chat?room={room}"));
        await using var __ = doomed;
        await using var survivor = await cluster.Connect(cluster.Gateway(1), $"/ws/chat?room={room}");
        Assert.Equal(HttpStatusCode.OK, await cluster.TopicsStatus(1, doomedId));

        var clock = Stopwatch.StartNew();
        await cluster.Script(LocalCluster.Timeout, "kill", "gateway2");
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => doomed.Receive());

            // Within the lease the dead gateway still counts as live; the listing cannot reach it and says so.
            using var listing = await cluster.Http.GetAsync(new Uri(cluster.GatewayHttp(1), "/api/peers?namespace=/ws/chat"));
            Assert.Equal(["1"], listing.Headers.GetValues("OrleansWs-Unanswered-Gateways"));

            // OnClose ran and cleared the peer: the cluster no longer knows it.
            while (await cluster.TopicsStatus(1, doomedId) != HttpStatusCode.NotFound)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "The dead gateway's peer was not closed within 20 s.");
                await Task.Delay(100);
            }

            output.WriteLine($"{cluster.Store}: peer of a killed gateway closed after {clock.Elapsed.TotalSeconds:F1} s (lease 5 s)");

            // Reconnecting through the load balancer lands on the live gateway.
            await using var back = await cluster.Connect(cluster.LoadBalancer, $"/ws/chat?room={room}");
            await back.SendText("back");
            Assert.Equal("back", await survivor.ReceiveText());
        }
        finally
        {
            await cluster.Script(TimeSpan.FromMinutes(1), "start", "gateway2");
        }
    }

    [Fact]
    public async Task Killing_a_silo_keeps_sockets_open_and_state_and_traffic_resume() =>
        await WithRoomOfSix(async peers =>
        {
            var clock = Stopwatch.StartNew();
            await cluster.Script(LocalCluster.Timeout, "kill", "silo2");

            // Whatever silo held each chat grain (its room is in the store), traffic resumes once the
            // cluster has noticed; probes sent before that may be lost with the silo.
            var resumed = await Resume(peers[0], peers[1], clock);
            output.WriteLine($"{cluster.Store}: topic traffic resumed {resumed.TotalSeconds:F1} s after kill -9 of a silo");
            foreach (var other in peers.Skip(2))
            {
                await Drain(other);
            }

            await EveryoneHearsEveryone(peers, "after kill");
        });

    // Topics ride a durable log: a publish the API answered 202 reaches every subscriber connected throughout, once,
    // while each silo in turn is killed and restarted (the partitions' grains and readers die with them).
    [Fact]
    public async Task Publishes_answered_202_reach_every_subscriber_once_while_each_silo_is_killed_and_restarted()
    {
        var room = Room();
        var subscribers = new List<TestClient>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                subscribers.Add(await cluster.Connect(cluster.Gateway(1 + (i % 2)), $"/ws/chat?room={room}"));
            }

            var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
            using var publishing = new CancellationTokenSource();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(40) };
            var sends = new List<Task>();
            var publisher = Task.Run(async () =>
            {
                // 50 publishes a second, each on its own: one that waits on a dead silo holds up no other.
                for (var i = 0; !publishing.IsCancellationRequested; i++)
                {
                    var text = $"m{i}";
                    sends.Add(Task.Run(async () =>
                    {
                        try
                        {
                            using var body = new StringContent($"\"{text}\"", System.Text.Encoding.UTF8, "application/json");
                            using var answer = await http.PostAsync(new Uri(cluster.GatewayHttp(1 + (text.Length % 2)), $"/api/topics/publish?topic={room}"), body);
                            if (answer.StatusCode == HttpStatusCode.Accepted)
                            {
                                accepted.Add(text);
                            }
                        }
                        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                        {
                            // Not answered: not promised.
                        }
                    }));
                    await Task.Delay(20);
                }
            });

            foreach (var silo in new[] { "silo1", "silo2" })
            {
                await Task.Delay(2000);
                await cluster.Script(LocalCluster.Timeout, "kill", silo);
                await Task.Delay(2000);
                await cluster.Script(TimeSpan.FromMinutes(1), "start", silo);
            }

            await Task.Delay(2000);
            await publishing.CancelAsync();
            await publisher;
            await Task.WhenAll(sends);
            Assert.True(accepted.Count > 100, $"only {accepted.Count} publishes were answered 202");

            var promised = accepted.ToHashSet();
            foreach (var subscriber in subscribers)
            {
                var got = new List<string>();
                while (!promised.IsSubsetOf(got))
                {
                    var next = await subscriber.Receive(TimeSpan.FromSeconds(30));
                    got.Add(next.Text);
                }

                await subscriber.ExpectNoMessage(Quiet);
                Assert.Equal(got.Count, got.Distinct().Count());
            }

            output.WriteLine($"{cluster.Store}: {promised.Count} publishes answered 202, each delivered once to {subscribers.Count} subscribers across two silo kills");
        }
        finally
        {
            foreach (var subscriber in subscribers)
            {
                await subscriber.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Stopping_a_silo_gracefully_hands_its_grains_over_without_closing_anyone() =>
        await WithRoomOfSix(async peers =>
        {
            var stopped = await cluster.Script(TimeSpan.FromMinutes(1), "stop", "silo2");
            Assert.Contains("silo2 exited after SIGTERM", stopped);

            // No frame is lost and no socket closes: every grain's state was written, so it resumes elsewhere.
            await EveryoneHearsEveryone(peers, "after stop");
        });

    // Six chat peers in one room, alternating gateways; silo2 is running again afterwards.
    private async Task WithRoomOfSix(Func<List<TestClient>, Task> test)
    {
        var room = Room();
        var peers = new List<TestClient>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                peers.Add(await cluster.Connect(cluster.Gateway(1 + i % 2), $"/ws/chat?room={room}"));
            }

            await test(peers);
        }
        finally
        {
            foreach (var p in peers)
            {
                await p.DisposeAsync();
            }

            await cluster.Script(TimeSpan.FromMinutes(1), "start", "silo2");
        }
    }

    private static async Task EveryoneHearsEveryone(List<TestClient> peers, string label)
    {
        for (var i = 0; i < peers.Count; i++)
        {
            await peers[i].SendText($"{label} {i}");
            foreach (var other in peers.Where((_, j) => j != i))
            {
                Assert.Equal($"{label} {i}", await other.ReceiveText());
            }
        }
    }

    [Fact]
    public async Task A_gateway_restarted_gracefully_closes_with_1001_and_serves_again()
    {
        await using var client = await cluster.Connect(cluster.Gateway(1), $"/ws/chat?room={Room()}");
        var stopping = cluster.Script(TimeSpan.FromMinutes(1), "stop", "gateway1");
        var closed = await client.ExpectClose(1001);
        Assert.Equal("server shutting down", closed.Reason);
        await stopping;
        await cluster.Script(TimeSpan.FromMinutes(1), "start", "gateway1");

        var room = Room();
        await using var a = await cluster.Connect(cluster.Gateway(1), $"/ws/chat?room={room}");
        await using var b = await cluster.Connect(cluster.Gateway(2), $"/ws/chat?room={room}");
        await a.SendText("after restart");
        Assert.Equal("after restart", await b.ReceiveText());
    }

    // Reads the probes that were delayed rather than lost, until a quiet half second.
    private static async Task Drain(TestClient client)
    {
        while (true)
        {
            try
            {
                Assert.Equal("probe", await client.ReceiveText(TimeSpan.FromMilliseconds(500)));
            }
            catch (TimeoutException)
            {
                return;
            }
        }
    }

    // Sends probes from one peer until the other hears one; probes before that may be lost with the silo.
    private static async Task<TimeSpan> Resume(TestClient from, TestClient to, Stopwatch clock)
    {
        for (var probe = 0; clock.Elapsed < TimeSpan.FromSeconds(30); probe++)
        {
            await from.SendText("probe");
            try
            {
                Assert.Equal("probe", await to.ReceiveText(TimeSpan.FromMilliseconds(500)));
                var resumed = clock.Elapsed;
                await Drain(to);
                return resumed;
            }
            catch (TimeoutException)
            {
            }
        }

        throw new TimeoutException("Topic traffic did not resume within 30 s of the silo kill.");
    }
}
