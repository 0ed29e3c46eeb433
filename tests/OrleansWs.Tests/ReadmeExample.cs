// The handler example of README.md, compiled and run by ReadmeExampleTests. Keep the two identical.
// begin readme
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using OrleansWs;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;

[GrainType("room-chat")]
public sealed class RoomChatHandler : WebSocketHandler<RoomChatState>
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) =>
        ValueTask.FromResult(request.Query["room"] is { Length: > 0 }
            ? Accept()
            : Reject(400, "room is required"));

    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"]!;                 // persisted per peer
        State.Nick = peer.Query["nick"] ?? "anonymous";
        await peer.Subscribe(State.Room);
        await peer.Send($"welcome to {State.Room}, {State.Nick}");
    }

    public override Task OnMessage(Peer peer, Message message) =>
        peer.Publish(State.Room, $"{State.Nick}: {message.Text()}");   // to the others in the room

    public override Task OnClose(Peer peer, CloseDetails details) =>
        peer.Publish(State.Room, $"{State.Nick} left ({details.Code})");
}

[GenerateSerializer]
public sealed class RoomChatState
{
    [Id(0)] public string Room { get; set; } = "";
    [Id(1)] public string Nick { get; set; } = "";
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
        app.MapWebSocketHandler<RoomChatHandler>("/ws/chat");
        return app;
    }
}
// end readme
