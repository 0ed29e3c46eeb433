using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>The observer through which the cluster reaches this gateway's sockets.</summary>
internal sealed class GatewayDelivery(ConnectionRegistry connections) : IGatewayDelivery
{
    public Task Deliver(string peerId, Message message)
    {
        connections.Find(peerId)?.Enqueue(message);
        return Task.CompletedTask;
    }

    public Task Close(string peerId, int code, string reason)
    {
        connections.Find(peerId)?.BeginClose(code, reason);
        return Task.CompletedTask;
    }

    public Task Terminate(string peerId)
    {
        connections.Find(peerId)?.Terminate();
        return Task.CompletedTask;
    }

    public Task<long> GetBufferedAmount(string peerId) => Task.FromResult(connections.Find(peerId)?.BufferedAmount ?? -1);

    public Task<bool> WaitForDrain(string peerId, long threshold, TimeSpan timeout) =>
        connections.Find(peerId)?.WaitForDrain(threshold, timeout) ?? Task.FromResult(false);

    public Task<IReadOnlyList<string>> GetOpenPeers(string handlerType) => Task.FromResult(connections.GetOpenPeers(handlerType));
}
