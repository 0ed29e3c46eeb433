using OrleansWs.Hosting;

namespace OrleansWs;

/// <summary>
/// Names the grain storage a handler keeps its peers' state in. Without it the storage named
/// <see cref="OrleansWsStorage.PeerState"/> ("OrleansWs") is used.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class PeerStorageAttribute(string storageName) : Attribute
{
    /// <summary>The grain storage provider name.</summary>
    public string StorageName { get; } = storageName;
}
