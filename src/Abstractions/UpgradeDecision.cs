namespace OrleansWs;

/// <summary>
/// The answer of the <c>upgrade</c> hook: accept (optionally choosing a sub-protocol, adding response
/// headers such as cookies, and giving the peer an initial context) or reject with an HTTP response.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class UpgradeDecision
{
    private static readonly IReadOnlyDictionary<string, string> NoValues = new Dictionary<string, string>();

    /// <summary>Whether the connection is accepted.</summary>
    [Id(0)] public bool Accepted { get; init; }

    /// <summary>The HTTP status of a rejection (ignored when accepted).</summary>
    [Id(1)] public int Status { get; init; }

    /// <summary>Headers to add to the response: the 101 of an acceptance or the rejection.</summary>
    [Id(2)] public IReadOnlyDictionary<string, string> Headers { get; init; } = NoValues;

    /// <summary>The body of a rejection, sent as UTF-8 text.</summary>
    [Id(3)] public string? Body { get; init; }

    /// <summary>The chosen sub-protocol; must be one the client requested.</summary>
    [Id(4)] public string? Protocol { get; init; }

    /// <summary>The peer's initial context (crossws' <c>peer.context</c>), kept for the life of the connection.</summary>
    [Id(5)] public IReadOnlyDictionary<string, string> Context { get; init; } = NoValues;

    /// <summary>Accepts the connection.</summary>
    public static UpgradeDecision Accept(
        string? protocol = null,
        IReadOnlyDictionary<string, string>? headers = null,
        IReadOnlyDictionary<string, string>? context = null) =>
        new() { Accepted = true, Status = 101, Protocol = protocol, Headers = headers ?? NoValues, Context = context ?? NoValues };

    /// <summary>Rejects the connection with an HTTP response; no peer, state or activation is left behind.</summary>
    public static UpgradeDecision Reject(int status, string? body = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A rejection needs a 4xx or 5xx status.");
        }

        return new() { Accepted = false, Status = status, Body = body, Headers = headers ?? NoValues };
    }
}
