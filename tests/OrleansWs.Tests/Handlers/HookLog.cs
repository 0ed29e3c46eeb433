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
    public static async Task<HookEvent> WaitFor(string key, string hook, TimeSpan? timeout = null) =>
        (await WaitForCount(key, hook, 1, timeout))[0];

    /// <summary>Waits until <paramref name="key"/> has <paramref name="count"/> events of <paramref name="hook"/> and returns them.</summary>
    public static async Task<IReadOnlyList<HookEvent>> WaitForCount(string key, string hook, int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var changed = _changed.Task;
            var found = For(key).Where(e => e.Hook == hook).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{found.Count} of {count} '{hook}' hooks for {key} within the timeout; saw: {string.Join(", ", For(key).Select(e => e.Hook).Distinct())}.");
            }
        }
    }

    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Gates = new();

    /// <summary>The gate a handler waits at (the "hold" command) until the test opens it.</summary>
    public static TaskCompletionSource Gate(string key) =>
        Gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

public sealed record HookEvent(string Hook, object? Argument);
