using System.Collections.Concurrent;

namespace OrleansWs.Tests.Handlers;

/// <summary>
/// What the test handlers' hooks saw, keyed by peer id (or by the request's 'tag' for upgrades).
/// The cluster runs in the test process, so hooks write here directly; tests wait on it, never sleep.
/// </summary>
public static class HookLog
{
    private static readonly ConcurrentDictionary<string, List<HookEvent>> Events = new();
    private static TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static void Record(string key, string hook, object? argument = null)
    {
        var list = Events.GetOrAdd(key, _ => []);
        lock (list)
        {
            list.Add(new HookEvent(hook, argument));
        }

        Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public static IReadOnlyList<HookEvent> For(string key)
    {
        if (!Events.TryGetValue(key, out var list))
        {
            return [];
        }

        lock (list)
        {
            return [.. list];
        }
    }

    /// <summary>Waits until <paramref name="key"/> has an event of <paramref name="hook"/> and returns it.</summary>
    public static async Task<HookEvent> WaitFor(string key, string hook, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var changed = _changed.Task;
            var found = For(key).FirstOrDefault(e => e.Hook == hook);
            if (found is not null)
            {
                return found;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No '{hook}' hook for {key} within the timeout; saw: {string.Join(", ", For(key).Select(e => e.Hook))}.");
            }
        }
    }
}

public sealed record HookEvent(string Hook, object? Argument);
