using System.Threading.Channels;
using OrleansWs.Client;

namespace OrleansWs.Testing;

// A TestClient that speaks the resume protocol (docs/protocol.md) through OrleansWs.Client: the same waits and
// assertions, across drops and resumes.
public sealed partial class TestClient
{
    private readonly Channel<bool> _resumes = Channel.CreateUnbounded<bool>();

    /// <summary>The resumable client under a client made by <see cref="ConnectResumableAsync"/>; otherwise <see langword="null"/>.</summary>
    public ResumableWebSocket? Resumable => _resumable;

    /// <summary>
    /// Connects to <paramref name="uri"/> with resume: a drop (<see cref="Abort"/>, a gateway that dies or stops)
    /// reconnects and resumes the same peer, and the waits read its messages once and in order across it.
    /// </summary>
    public static async Task<TestClient> ConnectResumableAsync(Uri uri, TimeSpan timeout, ResumableWebSocketOptions? options = null)
    {
        options ??= new ResumableWebSocketOptions();
        options.ConnectTimeout = timeout;
        var resumable = await ResumableWebSocket.ConnectAsync(uri, options);
        var client = new TestClient(null, resumable, uri, timeout);
        resumable.Resumed += (_, e) => client._resumes.Writer.TryWrite(e.Recovered);
        return client;
    }

    /// <summary>Waits for the next resume of a resumable client; whether it recovered everything (<c>recovered</c>).</summary>
    public async Task<bool> WaitForResume(TimeSpan? timeout = null)
    {
        var limit = timeout ?? _timeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            return await _resumes.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(WithServerErrors($"Waited {limit.TotalMilliseconds} ms for a resume of {PeerId} at {Uri}; none came."));
        }
    }

    private async Task ReadResumable(ResumableWebSocket resumable)
    {
        var closed = new TaskCompletionSource<ClosedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        resumable.Closed += (_, e) => closed.TrySetResult(e);
        try
        {
            await foreach (var message in resumable.ReadAllAsync())
            {
                _received.Writer.TryWrite(new ReceivedMessage(message.Data.ToArray(), message.IsText));
            }

            // The end for good: the server's close, or the client gave up reconnecting.
            var end = await closed.Task.WaitAsync(_timeout);
            _received.Writer.TryWrite(end.CloseStatus is { } code ? new ClosedByServer(code, end.Reason ?? "") : new ConnectionLost(end.Reason ?? "gave up reconnecting"));
        }
        catch (TimeoutException)
        {
            _received.Writer.TryWrite(new ConnectionLost("ended without a close"));
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }
}
