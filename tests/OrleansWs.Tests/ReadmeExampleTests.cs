using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Testing;

namespace OrleansWs.Tests;

public sealed class ReadmeExampleTests
{
    [Fact]
    public void The_README_shows_the_example_that_compiles_here()
    {
        var example = Between(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ReadmeExample.cs")), "// begin readme\n", "// end readme");
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "README.md"));
        Assert.Contains("```csharp\n" + example + "```", readme.Replace("\r\n", "\n"));
    }

    [Fact]
    public void The_example_app_builds()
    {
        var app = RoomChatApp.Build(["--urls", "http://127.0.0.1:0"]);
        Assert.NotNull(app.Services.GetService(typeof(IWebSocketPeers)));
    }

    [Fact]
    public async Task The_example_handler_chats_through_real_sockets()
    {
        await using var app = await WebSocketTestApp.StartAsync(o =>
        {
            o.Gateways = 2;
            o.MapEndpoints = e =>
            {
                e.MapWebSocketHandler<RoomChatHandler>("/ws/chat/{room}");
                e.MapGet("/ws/chat/{room}", (string room, IWebSocketPeers peers) => peers.GetPeers($"/ws/chat/{room}"));
            };
        });
        using var rejected = await app.Probe("/ws/chat/r");
        Assert.Equal(400, (int)rejected.StatusCode);

        await using var ann = await app.Connect("/ws/chat/r?nick=ann", gateway: 0);
        Assert.Equal("welcome to /ws/chat/r, ann", await ann.ReceiveText());
        await using var bob = await app.Connect("/ws/chat/r?nick=bob", gateway: 1);
        Assert.Equal("welcome to /ws/chat/r, bob", await bob.ReceiveText());
        await using var eve = await app.Connect("/ws/chat/elsewhere?nick=eve", gateway: 1);
        Assert.Equal("welcome to /ws/chat/elsewhere, eve", await eve.ReceiveText());

        using var inRoom = await app.Probe("/ws/chat/r", webSocket: false);
        Assert.Equal(2, (await inRoom.Content.ReadFromJsonAsync<string[]>())!.Length);

        await ann.SendText("hello");
        Assert.Equal("ann: hello", await bob.ReceiveText());
        await bob.Close();
        Assert.Equal("bob left (1000)", await ann.ReceiveText());
        await eve.ExpectNoMessage(TimeSpan.FromMilliseconds(200));
    }

    private static string Between(string text, string start, string end)
    {
        text = text.Replace("\r\n", "\n");
        var from = text.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return text[from..text.IndexOf(end, from, StringComparison.Ordinal)];
    }
}
