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

    /// <summary>A listing of <paramref name="peers"/>, missing the peers of <paramref name="unansweredGateways"/> gateways.</summary>
    public PeerListing(IReadOnlyList<string> peers, int unansweredGateways = 0)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentOutOfRangeException.ThrowIfNegative(unansweredGateways);
        (_peers, UnansweredGateways) = (peers, unansweredGateways);
    }

    /// <summary>How many live gateways did not answer in time; their peers are not listed.</summary>
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
