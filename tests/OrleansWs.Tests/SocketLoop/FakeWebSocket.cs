using System.Net.WebSockets;

namespace OrleansWs.Tests.SocketLoop;

/// <summary>
/// A WebSocket that records what is written to it. Writes complete at once, or wait while
/// <see cref="Hold"/> is set (a client that reads slowly); it counts writes that overlap.
/// </summary>
internal sealed class FakeWebSocket : WebSocket
{
    private readonly Lock _lock = new();
    private readonly List<(WebSocketMessageType Type, byte[] Data)> _sent = [];
    private int _inFlight;
    private WebSocketState _state = WebSocketState.Open;

    /// <summary>While set, every write waits for it.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>When set, every write yields before it completes (an asynchronous completion).</summary>
    public bool YieldOnWrite { get; set; }

    /// <summary>The most writes that were in progress at once.</summary>
    public int MaxConcurrentWrites { get; private set; }

    public (WebSocketCloseStatus Status, string? Reason)? CloseSent { get; private set; }

    public bool Aborted { get; private set; }

    public IReadOnlyList<(WebSocketMessageType Type, byte[] Data)> Sent
    {
        get
        {
            lock (_lock)
            {
                return [.. _sent];
            }
        }
    }

    public IReadOnlyList<string> SentTexts => Sent.Select(s => System.Text.Encoding.UTF8.GetString(s.Data)).ToList();

    public override WebSocketCloseStatus? CloseStatus => null;

    public override string? CloseStatusDescription => null;

    public override WebSocketState State => _state;

    public override string? SubProtocol => null;

    public override void Abort()
    {
        Aborted = true;
        _state = WebSocketState.Aborted;
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        CloseSent = (closeStatus, statusDescription);
        _state = WebSocketState.CloseSent;
        return Task.CompletedTask;
    }

    public override void Dispose()
    {
    }

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    public override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        lock (_lock)
        {
            MaxConcurrentWrites = Math.Max(MaxConcurrentWrites, inFlight);
        }

        try
        {
            if (Hold is { } hold)
            {
                await hold.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            else if (YieldOnWrite)
            {
                await Task.Yield();
            }

            lock (_lock)
            {
                _sent.Add((messageType, buffer.ToArray()));
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
