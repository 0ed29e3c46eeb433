using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using OrleansWs.Internal;

namespace OrleansWs.Internal;

/// <summary>The cluster implementation of <see cref="IWebSocketPeers"/>, over an Orleans client or a silo's own.</summary>
internal sealed partial class WebSocketPeers : IWebSocketPeers
{
    private static readonly TimeSpan GatewayQueryTimeout = RuntimeTimeouts.GatewayAnswer;
    private readonly IClusterClient _client;
    private readonly ITopicPublisher _topics;
    private readonly ILogger<WebSocketPeers> _logger;

    /// <summary>Creates the service over <paramref name="client"/>, publishing through <paramref name="topics"/>.</summary>
    public WebSocketPeers(IClusterClient client, ITopicPublisher topics, ILogger<WebSocketPeers> logger)
    {
        _client = client;
        _topics = topics;
        _logger = logger;
    }

    /// <inheritdoc />
    public Task Publish(string topic, Message message) => _topics.Publish(topic, [message], default);

    /// <inheritdoc />
    public Task Publish(string topic, Message message, string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        return _topics.Publish(topic, [message], new PublishOptions(ExcludePeerId: null, @namespace));
    }

    /// <inheritdoc />
    public async Task<bool> Send(string peerId, Message message) => await SendTo(peerId, message) != PeerPresence.NotOpen;

    /// <inheritdoc />
    public Task<PeerPresence> SendTo(string peerId, Message message) => Peer(peerId).Send(message);

    /// <inheritdoc />
    public Task<bool> Close(string peerId, int code = CloseCodes.Normal, string reason = "")
    {
        CloseCodes.Validate(code, reason);
        return Peer(peerId).Close(code, reason);
    }

    /// <inheritdoc />
    public Task<bool> Terminate(string peerId) => Peer(peerId).Terminate();

    /// <inheritdoc />
    public Task<IReadOnlyList<string>?> GetTopics(string peerId) => Peer(peerId).GetTopics();

    /// <inheritdoc />
    public async Task<PeerListing> GetPeers(string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        var detached = AskDetached(@namespace);
        var gateways = await _client.GetGrain<IGatewayRegistryGrain>(0).GetLive();
        var answers = await Task.WhenAll(gateways.Select(g => AskGateway(g, @namespace)));
        var all = answers.SelectMany(a => a ?? []).ToList();
        all.Sort(StringComparer.Ordinal);
        var away = await detached;
        return new PeerListing(all, answers.Count(a => a is null) + (away is null ? 1 : 0), away);
    }

    // Null when the list could not be read in time.
    private async Task<IReadOnlyList<string>?> AskDetached(string @namespace)
    {
        try
        {
            return await _client.GetGrain<IDetachedPeersGrain>(@namespace).List().WaitAsync(GatewayQueryTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogDetachedUnreadable(ex);
            return null;
        }
    }

    // Null when the gateway did not answer: one that died but whose lease has not yet run out, or one too slow.
    private async Task<IReadOnlyList<string>?> AskGateway(IGatewayDelivery gateway, string @namespace)
    {
        try
        {
            return await gateway.GetOpenPeers(@namespace).WaitAsync(GatewayQueryTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogGatewayUnreachable(ex);
            return null;
        }
    }

    private IPeerGrain Peer(string peerId) => _client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId));

    [LoggerMessage(EventId = 2, EventName = "DetachedPeersUnreadable", Level = LogLevel.Warning, Message = "The list of detached peers could not be read; a listing without them says it is not whole.")]
    private partial void LogDetachedUnreadable(Exception exception);

    [LoggerMessage(EventId = 1, EventName = "GatewayUnreachable", Level = LogLevel.Warning, Message = "A gateway did not answer a peer listing; its peers are left out and the listing says it is not whole.")]
    private partial void LogGatewayUnreachable(Exception exception);
}
