// begin readme
using OrleansWs.Testing;

namespace NickChat;

[Collection(nameof(ChatApp))]
public sealed class NickChatTests(ChatApp chat)
{
    private readonly WebSocketTestApp _app = chat.App;

    [Fact]
    public async Task Peers_on_different_gateways_chat_by_nickname()
    {
        var room = WebSocketTestApp.UniqueName("room");
        await using var ann = await _app.Connect($"/ws/nickchat?nick=ann&room={room}", gateway: 0);
        Assert.Equal("welcome ann", await ann.ReceiveText());
        await using var bob = await _app.Connect($"/ws/nickchat?nick=bob&room={room}", gateway: 1);
        Assert.Equal("welcome bob", await bob.ReceiveText());
        Assert.Equal("* bob joined", await ann.ReceiveText());

        await ann.SendText("hi bob");
        Assert.Equal("ann: hi bob", await bob.ReceiveText());
        await ann.ExpectNoMessage(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_nickname_survives_the_loss_of_the_silo_that_held_it()
    {
        var room = WebSocketTestApp.UniqueName("room");
        await using var ann = await _app.Connect($"/ws/nickchat?nick=ann&room={room}");
        await ann.ReceiveText();
        var annId = ann.PeerId!;                         // the kit's gateways tell each client its peer id
        await ann.SendText("/nick anna");
        Assert.Equal("you are anna", await ann.ReceiveText());

        var silo = _app.SiloOf(annId)!;
        await _app.KillSiloAsync(silo);
        await _app.WaitForClusterToSettle(afterKill: true);
        await _app.StartSiloAsync();        // back to two silos for the other tests
        await _app.WaitForClusterToSettle();

        await ann.SendText("/whoami");
        Assert.Equal($"anna in {room}, renamed 1 times", await ann.ReceiveText());
    }
}
// end readme

public sealed class NickChatUnitTests
{
    [Fact]
    public async Task Renaming_changes_the_state_and_tells_the_room()
    {
        var peer = new HandlerHarness<NickChatHandler, NickState>("nickchat");
        await peer.Connect("/ws/nickchat?nick=ann&room=r");
        var reply = await peer.Receive("/nick anna");

        Assert.Equal("you are anna", reply.Frames.Single().Text());
        Assert.Equal("anna", peer.State.Nick);
        Assert.Equal("* ann is now anna", peer.Published.Last().Message.Text());
        Assert.Equal("r", peer.Published.Last().Topic);
    }

    [Fact]
    public async Task A_missing_nickname_is_rejected()
    {
        var peer = new HandlerHarness<NickChatHandler, NickState>("nickchat");
        var opened = await peer.Connect("/ws/nickchat");
        Assert.Equal(400, opened.Decision.Status);
        Assert.False(peer.StateStored);
    }
}

public sealed class TestingDocTests
{
    [Theory]
    [InlineData("NickChatTests.cs")]
    [InlineData("ChatApp.cs")]
    public void Docs_testing_shows_this_code(string file)
    {
        var source = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, file)).Replace("\r\n", "\n");
        var from = source.IndexOf("// begin readme\n", StringComparison.Ordinal) + "// begin readme\n".Length;
        var example = source[from..source.IndexOf("// end readme", StringComparison.Ordinal)];
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "testing.md")).Replace("\r\n", "\n");
        Assert.Contains("```csharp\n" + example + "```", doc);
    }
}
