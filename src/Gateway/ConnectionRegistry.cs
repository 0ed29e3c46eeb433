using System.Collections.Concurrent;

namespace OrleansWs.Gateway;

/// <summary>
/// The connections this gateway holds, by peer id: how the cluster's sends, closes and listings find
/// a socket. A connection is in it from before its <c>OnOpen</c> runs until its socket has ended.
/// </summary>
internal sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, WebSocketConnection> _connections = new(StringComparer.Ordinal);

    /// <summary>How many connections are held.</summary>
    public int Count => _connections.Count;

    /// <summary>Holds <paramref name="connection"/>; returns the connection of the same peer it replaces (a resume's old one), if any.</summary>
    public WebSocketConnection? Register(WebSocketConnection connection)
    {
        WebSocketConnection? previous = null;
        _connections.AddOrUpdate(connection.PeerId, connection, (_, old) => (previous = old, connection).connection);
        return ReferenceEquals(previous, connection) ? null : previous;
    }

    /// <summary>Puts <paramref name="previous"/> back in place of <paramref name="connection"/> (a resume that was refused).</summary>
    public void Restore(WebSocketConnection previous, WebSocketConnection connection) =>
        _connections.TryUpdate(previous.PeerId, previous, connection);

    public void Unregister(WebSocketConnection connection) => _connections.TryRemove(new(connection.PeerId, connection));

    public WebSocketConnection? Find(string peerId) => _connections.GetValueOrDefault(peerId);

    /// <summary>The ids of the open peers of <paramref name="namespace"/>, in id order (oldest first: ids are time-ordered).</summary>
    public IReadOnlyList<string> GetOpenPeers(string @namespace)
    {
        var peers = new List<string>();
        foreach (var connection in _connections.Values)
        {
            if (connection.IsOpen && string.Equals(connection.Namespace, @namespace, StringComparison.Ordinal))
            {
                peers.Add(connection.PeerId);
            }
        }

        peers.Sort(StringComparer.Ordinal);
        return peers;
    }

    /// <summary>Starts closing every connection with <paramref name="code"/>; returns how many there were.</summary>
    public int CloseAll(int code, string reason)
    {
        var count = 0;
        foreach (var connection in _connections.Values)
        {
            connection.BeginShutdown(code, reason);
            count++;
        }

        return count;
    }

    /// <summary>Aborts every connection without a close frame.</summary>
    public void TerminateAll()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Terminate();
        }
    }
}
