using OrleansWs.Gateway.Hosting;
using OrleansWs.Testing;

namespace NickChat;

/// <summary>
/// One app for the whole collection: starting a cluster costs about a second, so tests share it and
/// keep apart by using rooms nobody else uses (<see cref="WebSocketTestApp.UniqueName"/>).
/// </summary>
// begin readme
public sealed class ChatApp : IAsyncLifetime
{
    public WebSocketTestApp App { get; private set; } = null!;

    public async Task InitializeAsync() =>
        App = await WebSocketTestApp.StartAsync(o =>
        {
            o.Silos = 2;
            o.Gateways = 2;
            o.MapEndpoints = e => e.MapWebSocketHandler<NickChatHandler>("/ws/nickchat");
        });

    public async Task DisposeAsync() => await App.DisposeAsync();
}

[CollectionDefinition(nameof(ChatApp))]
public sealed class ChatAppCollection : ICollectionFixture<ChatApp>;
// end readme
