using System.Collections;

namespace OrleansWs;

/// <summary>
/// The open peers of a namespace, oldest connection first, and whether the listing is whole: every live gateway
/// answered. A gateway that did not (it died and its lease has not run out yet, or it was too slow) is counted in
/// <see cref="UnansweredGateways"/>, and its peers are missing; the listing never says it is whole when it is not.
/// </summary>
public sealed class PeerListing : IReadOnlyList<string>
{
    private readonly IReadOnlyList<string> _peers;

    /// <summary>
    /// A listing of <paramref name="peers"/> with a connection and <paramref name="detached"/> ones (none when null),
    /// missing the peers of <paramref name="unansweredGateways"/> gateways.
    /// </summary>
    public PeerListing(IReadOnlyList<string> peers, int unansweredGateways = 0, IReadOnlyList<string>? detached = null)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentOutOfRangeException.ThrowIfNegative(unansweredGateways);
        (_peers, Detached, UnansweredGateways) = (peers, detached ?? [], unansweredGateways);
    }

    /// <summary>
    /// The namespace's detached peers (their connection dropped with resume on; they wait for their client within the
    /// resume window), oldest first. Not in the list itself, which holds the peers with a connection.
    /// </summary>
    public IReadOnlyList<string> Detached { get; }

    /// <summary>
    /// How many live gateways did not answer in time (their peers are not listed), plus one when the list of detached
    /// peers could not be read.
    /// </summary>
    public int UnansweredGateways { get; }

    /// <summary>Every live gateway answered: these are all the open peers of the namespace.</summary>
    public bool IsComplete => UnansweredGateways == 0;

    /// <inheritdoc />
    public int Count => _peers.Count;

    /// <inheritdoc />
    public string this[int index] => _peers[index];

    /// <inheritdoc />
    public IEnumerator<string> GetEnumerator() => _peers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
