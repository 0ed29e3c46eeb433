using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Gateway;

namespace OrleansWs.Tests;

public sealed class MessageTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly Testing.WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_thousand_pipelined_messages_arrive_at_the_grain_and_back_in_order()
    {
        await using var client = await _app.Connect("/ws/echo");
        const int count = 1000;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await client.SendText(i.ToString());
            }
        });

        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i.ToString(), await client.ReceiveText());
        }

        await sending;
    }

    private const int FloodCount = 400;

    // Holds the peer's grain in a hook, then has the client send 24 MB, which cannot all leave it
    // while the grain is held: the gateway queues at most MaxInboundBytes (4 MB), then stops
    // reading, and TCP flow control stops the client. (Unbounded, the gateway takes all 24 MB in
    // about 0.15 s here.)
    private static async Task<(TaskCompletionSource Gate, Task Sending)> HoldGrainAndFlood(Testing.TestClient client, string peerId)
    {
        var gate = Handlers.HookLog.Gate(peerId);
        await client.SendText("hold");
        await Handlers.HookLog.WaitFor(peerId, "message");
        var padding = new string('x', 60 * 1024);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < FloodCount; i++)
            {
                await client.SendText($"quiet:{i}:{padding}");
            }
        });
        await Task.WhenAny(sending, Task.Delay(TimeSpan.FromSeconds(1)));
        Assert.False(sending.IsCompleted, "the gateway read 24 MB for a grain that was busy");
        return (gate, sending);
    }

    [Fact]
    public async Task A_busy_grain_stops_the_gateway_reading_and_every_message_still_arrives_in_order()
    {
        var (client, peerId) = await _app.OpenRecording();
        var (gate, sending) = await HoldGrainAndFlood(client, peerId);

        gate.SetResult();
        await sending;
        var seen = await Handlers.HookLog.WaitForCount(peerId, "message", FloodCount + 1, TimeSpan.FromSeconds(30));
        Assert.Equal(
            Enumerable.Range(0, FloodCount).Select(i => i.ToString()),
            seen.Skip(1).Select(e => ((Message)e.Argument!).Text().Split(':')[1]));
    }

    [Fact]
    public async Task A_peer_terminated_while_the_gateway_waits_for_its_busy_grain_leaves_the_gateway_at_once()
    {
        var (client, peerId) = await _app.OpenRecording();
        var (gate, sending) = await HoldGrainAndFlood(client, peerId);

        // The receive loop waits for the grain to make room; terminating must not wait for the grain too.
        var connections = _app.Gateways[0].App.Services.GetRequiredService<ConnectionRegistry>();
        connections.Find(peerId)!.Terminate();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (connections.Find(peerId) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Null(connections.Find(peerId));
        await Assert.ThrowsAnyAsync<Exception>(() => sending);
        gate.SetResult();
        var closed = (CloseDetails)(await Handlers.HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(CloseCodes.Abnormal, closed.Code);
    }

    [Fact]
    public async Task The_grain_sees_pipelined_messages_in_order()
    {
        var (client, peerId) = await _app.OpenRecording();
        for (var i = 0; i < 300; i++)
        {
            await client.SendBinary(BitConverter.GetBytes(i));
        }

        for (var i = 0; i < 300; i++)
        {
            Assert.Equal(i, BitConverter.ToInt32(await client.ReceiveBinary()));
        }

        var seen = Handlers.HookLog.For(peerId).Where(e => e.Hook == "message").Select(e => BitConverter.ToInt32(((Message)e.Argument!).Data)).ToList();
        Assert.Equal(Enumerable.Range(0, 300), seen);
    }

    [Fact]
    public async Task Text_stays_text_and_binary_stays_binary()
    {
        await using var client = await _app.Connect("/ws/echo");
        await client.SendText("héllo wörld ✓");
        var text = await client.Receive();
        Assert.True(text.IsText);
        Assert.Equal("héllo wörld ✓", text.Text);

        var bytes = new byte[] { 0, 1, 2, 255, 0xC3 };
        await client.SendBinary(bytes);
        var binary = await client.Receive();
        Assert.False(binary.IsText);
        Assert.Equal(bytes, binary.Data);

        await client.SendText("");
        var empty = await client.Receive();
        Assert.True(empty.IsText);
        Assert.Empty(empty.Data);
    }

    [Fact]
    public async Task Fragmented_and_large_messages_arrive_whole()
    {
        await using var client = await _app.Connect("/ws/echo");
        var large = Encoding.UTF8.GetBytes(new string('x', AppFixture.MaxMessageSize));
        await client.SendFragmented(large, WebSocketMessageType.Text, 1000);
        var echoed = await client.Receive();
        Assert.True(echoed.IsText);
        Assert.Equal(large, echoed.Data);

        var binary = Enumerable.Range(0, 20_000).Select(i => (byte)i).ToArray();
        await client.SendFragmented(binary, WebSocketMessageType.Binary, 333);
        Assert.Equal(binary, await client.ReceiveBinary());
    }

    [Fact]
    public async Task Json_round_trips_through_the_message_api()
    {
        var message = Message.FromJson(new { Name = "a", Count = 2 });
        Assert.True(message.IsText);
        Assert.Equal("{\"name\":\"a\",\"count\":2}", message.Text());
        Assert.Equal(2, message.Json<System.Text.Json.JsonElement>().GetProperty("count").GetInt32());

        await using var client = await _app.Connect("/ws/echo");
        await client.SendJson(new { Name = "b" });
        Assert.Equal("{\"name\":\"b\"}", await client.ReceiveText());
    }

    [Fact]
    public void Text_of_bytes_that_are_not_UTF8_decodes_leniently_and_TextStrict_throws()
    {
        var message = Message.FromBytes([0x68, 0xC3, 0x28, 0x69]);
        Assert.Equal("h\uFFFD(i", message.Text());
        Assert.Throws<System.Text.DecoderFallbackException>(() => message.TextStrict());
        Assert.Equal("hi", Message.FromText("hi").TextStrict());
    }
}
