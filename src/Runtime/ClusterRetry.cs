using Orleans.Runtime;

namespace OrleansWs.Internal;

/// <summary>
/// Retries a cluster call that Orleans rejected before delivering it (<see cref="OrleansMessageRejectionException"/>:
/// e.g. the target silo just died and the cluster has not yet noticed). Such a call never ran, so
/// repeating it cannot apply it twice. Timeouts and other failures are not retried: the call may
/// have run, and its effects (a hook's sends and publishes) must not happen twice. That includes
/// <see cref="SiloUnavailableException"/>, a rejection Orleans raises for calls already in flight
/// when their silo died.
/// </summary>
internal static class ClusterRetry
{
    /// <summary>How long rejected calls are retried by default: a little over a silo's failure detection.</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Runs <paramref name="call"/>, repeating it while it is rejected, for at most <paramref name="limit"/>; an
    /// <paramref name="idempotent"/> call (one that has its effect once however often it runs) also when its silo died.
    /// </summary>
    public static async Task<T> WhenRejected<T>(Func<Task<T>> call, TimeSpan? limit = null, CancellationToken cancellationToken = default, bool idempotent = false)
    {
        var deadline = DateTime.UtcNow + (limit ?? DefaultLimit);
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (OrleansMessageRejectionException ex) when ((idempotent || ex is not SiloUnavailableException) && DateTime.UtcNow + delay < deadline)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
    }

    /// <summary>Runs <paramref name="call"/>, repeating it while it is rejected, for at most <paramref name="limit"/>.</summary>
    public static Task WhenRejected(Func<Task> call, TimeSpan? limit = null, CancellationToken cancellationToken = default) =>
        WhenRejected(async () =>
        {
            await call();
            return true;
        }, limit, cancellationToken);
}
