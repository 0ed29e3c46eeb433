namespace OrleansWs.Internal;

/// <summary>
/// The detached peers of one namespace (the key): peers of an endpoint with resume on whose connection dropped, until
/// they resume or their window ends. Kept in grain storage, so a listing outlives the silo that holds it.
/// </summary>
/// <remarks>
/// Guarantees: <see cref="Add"/> and <see cref="Remove"/> return once the change is on record (changes that arrive
/// during a write share the next one). An entry carries the end of its window, and <see cref="List"/> leaves out those
/// past it, so a removal that never came (its silo died first) stops showing when the window would have ended.
/// </remarks>
public interface IDetachedPeersGrain : IGrainWithStringKey
{
    /// <summary>Lists <paramref name="peerId"/> as detached until <paramref name="untilUtc"/>.</summary>
    Task Add(string peerId, DateTime untilUtc);

    /// <summary>The peer resumed, or ended.</summary>
    Task Remove(string peerId);

    /// <summary>The detached peers whose window has not ended, oldest first (ids are time-ordered).</summary>
    Task<IReadOnlyList<string>> List();
}
