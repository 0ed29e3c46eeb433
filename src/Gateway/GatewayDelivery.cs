using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>The observer through which the cluster reaches this gateway's sockets.</summary>
internal sealed class GatewayDelivery(ConnectionRegistry connections) : IGatewayDelivery
{
    public async Task<bool> Apply(string peerId, PeerReply effects)
    {
        if (connections.Find(peerId) is not { } connection)
        {
            return false;
        }

        await connection.Apply(effects);
        return true;
    }

    public Task<long> GetBufferedAmount(string peerId) => Task.FromResult(connections.Find(peerId)?.BufferedAmount ?? -1);

    public Task<bool> WaitForDrain(string peerId, long threshold, TimeSpan timeout) =>
        connections.Find(peerId)?.WaitForDrain(threshold, timeout) ?? Task.FromResult(false);

    public Task<IReadOnlyList<string>> GetOpenPeers(string @namespace) => Task.FromResult(connections.GetOpenPeers(@namespace));
}
