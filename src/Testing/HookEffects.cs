using OrleansWs.Internal;

namespace OrleansWs.Testing;

/// <summary>
/// What the hooks of one call asked for on the peer's own connection, in the order its gateway
/// applies it: topic changes, then frames, then a close.
/// </summary>
/// <param name="Frames">Frames for the peer, in the order they were sent.</param>
/// <param name="TopicChanges">Subscribes and unsubscribes, in order.</param>
/// <param name="Close">The close the hooks asked for, if any.</param>
public sealed record HookEffects(IReadOnlyList<Message> Frames, IReadOnlyList<TopicChange> TopicChanges, CloseRequest? Close)
{
    internal static HookEffects From(IReadOnlyList<PeerReply> replies) => new(
        replies.SelectMany(r => r.Frames).ToArray(),
        replies.SelectMany(r => r.TopicChanges).Select(c => new TopicChange(c.Topic, c.Subscribe)).ToArray(),
        replies.Select(r => r.Close).FirstOrDefault(c => c is not null) is { } close ? new CloseRequest(close.Code, close.Reason, close.Terminate) : null);
}

/// <summary>A subscribe (<paramref name="Subscribe"/> true) or unsubscribe a hook asked for.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Subscribe">Whether it is a subscribe.</param>
public sealed record TopicChange(string Topic, bool Subscribe);

/// <summary>A close a hook asked for.</summary>
/// <param name="Code">The close code.</param>
/// <param name="Reason">The close reason.</param>
/// <param name="Terminate">Whether the connection is dropped without a close frame instead.</param>
public sealed record CloseRequest(int Code, string Reason, bool Terminate);
