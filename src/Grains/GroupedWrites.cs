namespace OrleansWs;

/// <summary>
/// A reentrant grain's writes of its whole state, grouped: every change made while a write is in flight goes in the
/// next one, shared by every caller until it starts, so a burst of changes costs a few writes, not one each. One write
/// runs at a time, so interleaved callers never write with the same ETag.
/// </summary>
/// <param name="write">Stores a copy of the state as it is now (a storage provider may serialize off the grain's thread).</param>
/// <param name="failed">After a write failed: the stored ETag is unknown, so the grain usually lets its activation go.</param>
internal sealed class GroupedWrites(Func<Task> write, Action failed)
{
    private Task _writing = Task.CompletedTask;
    private Task? _next;

    /// <summary>Whether a write that has not started yet is asked for.</summary>
    public bool Pending => _next is not null;

    /// <summary>The write in flight, or the last one.</summary>
    public Task Current => _writing;

    /// <summary>Completes once what the state holds now is stored.</summary>
    public Task Write() => _next ??= WriteAfter(_writing);

    /// <summary>Completes once the writes already asked for have landed (for a change that is on record already).</summary>
    public Task Written() => _next ?? _writing;

    /// <summary>Awaits <paramref name="write"/>, whose failure its own callers have seen.</summary>
    public static async Task Settled(Task write)
    {
        try
        {
            await write;
        }
        catch (OrleansException)
        {
            // Its callers have seen it.
        }
    }

    private async Task WriteAfter(Task previous)
    {
        await Settled(previous);

        // Yielded first, so that the caller's assignment of _next is in place before it is cleared here.
        await Task.Yield();
        _next = null;
        var writing = write();
        _writing = writing;
        try
        {
            await writing;
        }
        catch (OrleansException)
        {
            failed();
            throw;
        }
    }
}
