using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using OrleansWs.Gateway;
using OrleansWs.Hosting;

namespace OrleansWs.Testing;

/// <summary>How a <see cref="WebSocketTestApp"/> is put together.</summary>
public sealed class WebSocketTestAppOptions
{
    /// <summary>Silos in the in-process cluster. Default: 1.</summary>
    public int Silos { get; set; } = 1;

    /// <summary>Gateways (each a real Kestrel server on 127.0.0.1 with a free port). Default: 1.</summary>
    public int Gateways { get; set; } = 1;

    /// <summary>Maps the application's WebSocket endpoints on every gateway, e.g. <c>e =&gt; e.MapWebSocketHandler&lt;ChatHandler&gt;("/ws/chat")</c>.</summary>
    public Action<IEndpointRouteBuilder>? MapEndpoints { get; set; }

    /// <summary>Adds the application's own silo configuration (storage, services, …).</summary>
    public Action<ISiloBuilder>? ConfigureSilo { get; set; }

    /// <summary>Changes OrleansWs' silo options.</summary>
    public Action<OrleansWsSiloOptions>? ConfigureSiloOptions { get; set; }

    /// <summary>Changes the gateways' options.</summary>
    public Action<WebSocketGatewayOptions>? ConfigureGatewayOptions { get; set; }

    /// <summary>Adds services or middleware to every gateway's builder (authentication, CORS, …).</summary>
    public Action<WebApplicationBuilder>? ConfigureGatewayBuilder { get; set; }

    /// <summary>Adds middleware to every gateway before its endpoints are mapped.</summary>
    public Action<WebApplication>? ConfigureGatewayApp { get; set; }

    /// <summary>
    /// Grain storages kept outside the silos and shared by all of them, so state survives a silo kill
    /// as it would in a real store. Default: "OrleansWs" (peer state) and "PubSubStore" (topic
    /// subscriptions). Add the names of your own storages, or clear it to bring your own.
    /// </summary>
    public IList<string> SharedStorage { get; } = [Hosting.OrleansWsStorage.PeerState, Hosting.OrleansWsStorage.PubSub];

    /// <summary>Default timeout of every wait in the kit's clients. Default: 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
