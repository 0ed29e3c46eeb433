namespace OrleansWs;

/// <summary>
/// What <c>OnError</c> gets for a hook that published while the topic log was unreachable or full: the hook failed before its
/// state was written, none of its publishes, sends or closes left, and the peer is closed with 1011 <c>topics unavailable</c>.
/// </summary>
public sealed class TopicLogUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public TopicLogUnavailableException()
        : base("The topic log is unreachable or full: this hook's publishes were not made and its state was not written.")
    {
    }
}
