// The handler example of README.md, compiled and run by ReadmeExampleTests. Keep the two identical.
// begin readme
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using OrleansWs;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;

// Each room is a namespace (by default a peer's upgrade path): /ws/chat/lobby never hears /ws/chat/dev.
[GrainType("room-chat")]
public sealed class RoomChatHandler : WebSocketHandler<RoomChatState>
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) =>
        ValueTask.FromResult(request.Query["nick"] is { Length: > 0 }
            ? Accept()
            : Reject(400, "nick is required"));

    public override async Task OnOpen(Peer peer)
    {
        State.Nick = peer.Query["nick"]!;                   // persisted per peer
        await peer.Subscribe("chat");
        await peer.Send($"welcome to {peer.Namespace}, {State.Nick}");
    }

    public override Task OnMessage(Peer peer, Message message) =>
        peer.Publish("chat", $"{State.Nick}: {message.Text()}");   // to the others in its namespace

    public override Task OnClose(Peer peer, CloseDetails details) =>
        peer.Publish("chat", $"{State.Nick} left ({details.Code})");
}

[GenerateSerializer]
public sealed class RoomChatState
{
    [Id(0)] public string Nick { get; set; } = "";
}

public static class RoomChatApp
{
    // One process: a silo and the gateway endpoints, as src/Silo does.
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering();
            silo.AddMemoryGrainStorage("OrleansWs");      // peer state
            silo.AddMemoryGrainStorage("PubSubStore");    // topic subscriptions
            silo.AddOrleansWs();
        });
        builder.Services.AddWebSocketGateway(options => options.MaxMessageSize = 64 * 1024);

        var app = builder.Build();
        app.MapWebSocketHandler<RoomChatHandler>("/ws/chat/{room}");
        // Plain HTTP on the same route (the upgrade still reaches the handler): who is in the room, on every gateway.
        app.MapGet("/ws/chat/{room}", (string room, IWebSocketPeers peers) => peers.GetPeers($"/ws/chat/{room}"));
        return app;
    }
}
// end readme
