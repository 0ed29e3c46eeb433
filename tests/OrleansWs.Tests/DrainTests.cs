using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>crossws' waitForDrain: a hook can wait for its peer's send queue to empty.</summary>
public sealed class DrainTests(DrainTests.Fixture fixture) : IClassFixture<DrainTests.Fixture>
{
    public sealed class Fixture : AppFixture
    {
        protected override void Configure(WebSocketTestAppOptions options)
        {
            var baseline = options.ConfigureGatewayOptions;
            options.ConfigureGatewayOptions = g =>
            {
                baseline?.Invoke(g);
                g.MaxSendQueueBytes = 64L * 1024 * 1024;
            };
        }
    }

    private readonly WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_peer_that_reads_drains()
    {
        var (client, _) = await _app.OpenRecording();
        await client.SendText("drain:5000");
        Assert.Equal("drained:True", await client.ReceiveText());
    }

    [Fact]
    public async Task A_peer_that_never_reads_does_not_drain_within_the_timeout()
    {
        var tag = AppExtensions.NewTag();
        await using var stuck = await _app.ConnectRaw($"/ws/rec?tag={tag}", receiveBufferSize: 4096, neverRead: true);
        var peerId = ((UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!).PeerId;
        await HookLog.WaitFor(peerId, "open");

        // 16 MiB: far more than socket buffers on loopback can hold, well under the queue cap.
        var chunk = Message.FromBytes(new byte[16 * 1024]);
        for (var i = 0; i < 1024; i++)
        {
            Assert.True(await _app.Peers.Send(peerId, chunk));
        }

        await stuck.SendFrame(0x81, "drain:300"u8.ToArray());
        Assert.False((bool)(await HookLog.WaitFor(peerId, "drained")).Argument!);
    }
}
