using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// What every connection of one gateway shares, in one object so that an idle socket keeps a single
/// reference to it: the cluster client, the options, the connection registry, the gateway's lease and
/// delivery path, and the topic fan-out. On shutdown it closes every socket with 1001 before Kestrel
/// stops, so each gets a close frame.
/// </summary>
internal sealed class GatewayRuntime
{
    public GatewayRuntime(
        IClusterClient client,
        ConnectionRegistry connections,
        GatewayLease lease,
        ITopicSubscriber topics,
        ITopicHistory history,
        Microsoft.Extensions.Options.IOptions<WebSocketGatewayOptions> options,
        ILoggerFactory loggerFactory,
        IHostApplicationLifetime lifetime)
    {
        Client = client;
        Connections = connections;
        Lease = lease;
        Options = options.Value;
        ConnectionLogger = loggerFactory.CreateLogger<WebSocketConnection>();
        History = history;
        Topics = new TopicFanout<WebSocketConnection>(topics, loggerFactory.CreateLogger<TopicFanout<WebSocketConnection>>());
        var logger = loggerFactory.CreateLogger<GatewayRuntime>();
        // ApplicationStopping fires before Kestrel stops, so sockets still get a close frame.
        lifetime.ApplicationStopping.Register(() =>
        {
            if (connections.Count > 0)
            {
                Log.ShuttingDown(logger, lease.Id, connections.CloseAll(CloseCodes.GoingAway, "server shutting down"));
            }
        });
    }

    public IClusterClient Client { get; }

    public WebSocketGatewayOptions Options { get; }

    /// <summary>Shared by every connection, so an idle socket does not hold a logger of its own.</summary>
    public ILogger ConnectionLogger { get; }

    public ConnectionRegistry Connections { get; }

    public GatewayLease Lease { get; }

    public TopicFanout<WebSocketConnection> Topics { get; }

    /// <summary>The topics' history, from which a resumed peer gets what was published while it was away.</summary>
    public ITopicHistory History { get; }
}
