using Orleans.Runtime;

namespace OrleansWs.Internal;

/// <summary>
/// Peer ids are the peer grain's id written out, <c>{handler grain type}/{uuid v7}</c>: unique across
/// gateways, time-ordered, and enough to reach the peer from anywhere without a lookup.
/// </summary>
internal static class PeerIds
{
    /// <summary>A fresh id for a peer of the handler grain type <paramref name="handlerType"/>.</summary>
    public static string New(string handlerType) => $"{handlerType}/{Guid.CreateVersion7():N}";

    /// <summary>Whether <paramref name="key"/> is a peer id's key as <see cref="New"/> makes them (32 hexadecimal digits).</summary>
    public static bool IsKey(string key) => key.Length == 32 && key.All(char.IsAsciiHexDigitLower);

    /// <summary>The grain id behind <paramref name="peerId"/>.</summary>
    /// <exception cref="FormatException"><paramref name="peerId"/> is not a peer id.</exception>
    public static GrainId ToGrainId(string peerId)
    {
        var slash = peerId.IndexOf('/');
        if (slash <= 0 || slash == peerId.Length - 1)
        {
            throw new FormatException($"'{peerId}' is not a peer id (expected 'handlertype/key').");
        }

        return GrainId.Create(peerId[..slash], peerId[(slash + 1)..]);
    }

    /// <summary>The handler grain type of <paramref name="peerId"/>.</summary>
    public static string HandlerType(string peerId) => ToGrainId(peerId).Type.ToString()!;
}
