namespace OrleansWs;

/// <summary>What a <see cref="Peer"/> asks of the gateway that holds its socket while a hook runs.</summary>
internal interface IPeerSocket
{
    /// <summary>Bytes waiting in the socket's send queue now; -1 when the gateway cannot say (gone, or too slow to answer).</summary>
    Task<long> GetBufferedAmount();

    /// <summary>
    /// Commits <paramref name="effects"/> so far (state, cluster effects, frames), then whether the send queue
    /// drained to <paramref name="threshold"/> bytes within <paramref name="timeout"/>; the gateway answers when it does.
    /// </summary>
    Task<bool> WaitForDrain(PeerEffects effects, long threshold, TimeSpan timeout);

    /// <summary>
    /// Subscribes (or unsubscribes) the socket at its gateway now, after delivering the frames <paramref name="effects"/>
    /// holds (a commit point); nothing when the socket is gone or closing.
    /// </summary>
    Task ChangeTopic(PeerEffects effects, string topic, bool subscribe);
}
