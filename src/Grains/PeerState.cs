using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansWs.Hosting;

namespace OrleansWs;

/// <summary>
/// A peer's record in grain storage, read only when a call needs it. Orleans' persistent state reads
/// on every activation, but an activation made by <c>Connect</c> is a new peer (its id was just made
/// on the gateway), so that read always found nothing: one storage round trip per connect for no
/// answer. An activation made by any other call (the peer's grain was collected while it was idle)
/// reads before that call runs. Writing a new peer without reading still cannot overwrite one that
/// exists: the write carries no ETag, which the storage providers accept only for a record that is not there.
/// </summary>
internal sealed partial class PeerState<T>(IGrainStorage storage, GrainId grainId, ILogger logger, string stateName = OrleansWsStorage.PeerRecordStateName)
    : IPersistentState<T> where T : new()
{
    private readonly GrainState<T> _state = new(new T());

    public T State
    {
        get => _state.State!;
        set => _state.State = value;
    }

    public string? Etag => _state.ETag;

    public bool RecordExists => _state.RecordExists;

    public Task ReadStateAsync() => Run(storage.ReadStateAsync, "read");

    public Task WriteStateAsync() => Run(storage.WriteStateAsync, "write");

    public Task ClearStateAsync() => Run(storage.ClearStateAsync, "clear");

    // As Orleans' own persistent state: the failure is logged here, and reaches the caller as an
    // OrleansException (an InconsistentStateException, an ETag conflict, is one already).
    private async Task Run(Func<string, GrainId, IGrainState<T>, Task> operation, string name)
    {
        try
        {
            await operation(stateName, grainId, _state);
        }
        catch (Exception ex)
        {
            LogErrorStorageFailed(logger, ex, name, grainId);
            if (ex is OrleansException)
            {
                throw;
            }

            throw new OrleansException($"Grain storage failed to {name} the record of {grainId}.", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage failed to {Operation} the record of {GrainId}")]
    private static partial void LogErrorStorageFailed(ILogger logger, Exception exception, string operation, GrainId grainId);
}
