using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace OrleansWs.Testing;

/// <summary>
/// Grain storage shared by every silo of one test app and kept outside all of them, so state
/// survives a silo kill as it would in Redis or PostgreSQL (Orleans' memory storage keeps it in
/// grains, which die with their silo). Honours ETags like a real store.
/// </summary>
internal sealed class SharedGrainStorage(SharedGrainStorage.Store store, Serializer serializer) : IGrainStorage
{
    /// <summary>The records, as bytes, shared by the storage of every silo.</summary>
    internal sealed class Store
    {
        public ConcurrentDictionary<(string StateName, GrainId GrainId), (byte[] State, string ETag)> Records { get; } = new();
    }

    private ConcurrentDictionary<(string StateName, GrainId GrainId), (byte[] State, string ETag)> Records => store.Records;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (Records.TryGetValue((stateName, grainId), out var record))
        {
            grainState.State = serializer.Deserialize<T>(record.State);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var etag = Guid.NewGuid().ToString("N");
        // A copy, as a real store keeps: later changes the grain makes without writing are not stored.
        var bytes = serializer.SerializeToArray(grainState.State);
        lock (store)
        {
            CheckETag(key, grainState.ETag);
            Records[key] = (bytes, etag);
        }

        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        lock (store)
        {
            CheckETag(key, grainState.ETag);
            Records.TryRemove(key, out _);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
        return Task.CompletedTask;
    }

    private void CheckETag((string, GrainId) key, string? expected)
    {
        var current = Records.TryGetValue(key, out var record) ? record.ETag : null;
        if (current != expected)
        {
            throw new InconsistentStateException($"ETag mismatch for {key}: stored {current ?? "none"}, given {expected ?? "none"}.", current, expected);
        }
    }
}
